"""Storing a campaign's list: file rows → E.164 numbers → verdicts → contacts or exclusions.

Every data row of the file ends in exactly one table, written once:

- `contacts`, PENDING (not cleaned yet) or READY (kept, due at `due_at`);
- `list_exclusions`, with the mask of every cleaning rule that matched.

With a cleaning policy the list is cleaned as it is stored: the numbers are staged in a
temporary table (COPY on PostgreSQL), every rule is evaluated there in one statement
(`campaigns.storage.setclean`), and each row is written to the table its verdict sends it
to. Without one (a CRM source cleans later, batch by batch) only the rules no policy can
switch off decide: unreadable numbers and repeats are excluded, the rest wait in contacts.

Rows are read as `campaigns.intake.iter_rows` reads them (same row numbers, phone cells,
attributes and problems; CSV files through a faster reader of their own, tested against
it) and numbers are normalised by `campaigns.fastphone.normalise_many`, in `workers` worker
processes for long lists, chunk by chunk in list order, while this process reads the next
chunk and PostgreSQL ingests the last. Only the final rows touch the indexed tables, with
COPY (multi-row inserts) on PostgreSQL.
"""

from __future__ import annotations

import csv
import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import compress, islice
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from campaigns.errors import ValidationError
from campaigns.fastphone import normalise_columns
from campaigns.intake import EMPTY_ROW, FORMULA, NO_NUMBER, ListFile, ListRow, iter_rows
from campaigns.ledger import CleaningTally, LoadedList
from campaigns.model import (
    PROBLEMS_SHOWN,
    CleaningPolicy,
    ContactState,
    ExclusionReason,
    RowProblem,
)
from campaigns.rules import REASON_BITS, reasons_of, rule_tag
from campaigns.storage.setclean import PG_SETTINGS, SOURCE_COLUMNS, masks_in_order, set_local

_CHUNK = 20_000  # rows read, normalised and written per step
_STAGE = "list_stage"
#: Lists from this size up are normalised in a worker process (forking one costs ~20 ms).
_WORKER_BYTES = 4 << 20
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_INVALID = ExclusionReason.INVALID_NUMBER.value
_DUPLICATE = REASON_BITS[ExclusionReason.DUPLICATE]


def _copy_text(value: str) -> str:
    # COPY's text format: backslash escapes; a bare \N would read as NULL.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


@dataclass(slots=True)
class _Chunk:
    """Consecutive stored rows of the file, column by column, in file order."""

    numbers: list[int]
    raws: list[str]  # the phone cell, stripped
    attrs: list[str | None]  # the other cells as a JSON object, or None when all are blank
    problems: list[str | None]  # FORMULA or NO_NUMBER: no number to read
    empties: list[int]  # empty rows between data rows, reported with this chunk


# --------------------------------------------------------------------------- reading


def _csv_chunks(lf: ListFile) -> Iterator[_Chunk]:
    """`iter_rows` for a CSV list, in chunks, without a ListRow or a dict per row."""
    encoding, delimiter = lf.encoding.split("|")
    header, phone = lf.header, lf.phone_index
    width = len(header)
    others = [i for i in range(width) if i != phone]
    # The attributes object is written key by key with json's own string encoder: the same
    # JSON value json.dumps would give, at a third of the cost. A repeated header name
    # would repeat a key, so such a file takes the dict path, which keeps the last cell.
    keys = [encode_basestring(h) + ": " for h in header]
    unique = len(set(header)) == width
    enc = encode_basestring
    pending: list[int] = []  # empty rows not followed by a data row yet
    offset = 2  # row 1 is the header, as the spreadsheet shows it
    with lf.path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        next(reader, None)
        while block := list(islice(reader, _CHUNK)):
            chunk = _Chunk([], [], [], [], [])
            numbers, raws, attrs = chunk.numbers, chunk.raws, chunk.attrs
            for values in block:
                n = len(values)
                raw = values[phone].strip() if phone < n else ""
                if not raw and not any(v.strip() for v in values):
                    pending.append(offset)
                    offset += 1
                    continue
                if pending:
                    chunk.empties.extend(pending)
                    pending = []
                if unique:
                    cells = ", ".join(
                        [keys[i] + enc(v) for i in others if i < n and (v := values[i])]
                    )
                    attrs.append("{" + cells + "}" if cells else None)
                else:
                    found = {header[i]: values[i] for i in others if i < n and values[i] != ""}
                    attrs.append(json.dumps(found, ensure_ascii=False) if found else None)
                numbers.append(offset)
                raws.append(raw)
                offset += 1
            chunk.problems = [
                None if raw and raw[0] != "=" else FORMULA if raw else NO_NUMBER for raw in raws
            ]
            if numbers or chunk.empties:
                yield chunk


def _row_chunks(rows: Iterable[ListRow]) -> Iterator[_Chunk]:
    """ListRows (XLSX, or rows built by a caller) in chunks."""
    it = iter(rows)
    while block := list(islice(it, _CHUNK)):
        chunk = _Chunk([], [], [], [], [])
        for r in block:
            if r.problem == EMPTY_ROW:
                chunk.empties.append(r.row_number)
                continue
            chunk.numbers.append(r.row_number)
            chunk.raws.append(r.raw)
            chunk.attrs.append(
                json.dumps(r.attributes, ensure_ascii=False) if r.attributes else None
            )
            chunk.problems.append(r.problem)
        yield chunk


def _chunks(source: ListFile | Iterable[ListRow]) -> Iterator[_Chunk]:
    if isinstance(source, ListFile):
        if source.encoding == "xlsx":
            return _row_chunks(iter_rows(source))
        return _csv_chunks(source)
    return _row_chunks(source)


# --------------------------------------------------------------------------- normalising

#: A chunk's usable cells normalised: E.164 (or None), mobile flags, reason when unusable.
_Numbers = tuple[list[str | None], list[bool], list[str | None]]


def _normalise(job: tuple[list[str], str]) -> _Numbers:
    return normalise_columns(*job)


def _normalised(
    chunks: Iterator[_Chunk], region: str, workers: int
) -> Iterator[tuple[_Chunk, _Numbers]]:
    """Each chunk with its usable cells normalised; in worker processes, a few chunks ahead."""
    if workers <= 0:
        for chunk in chunks:
            usable = [p is None for p in chunk.problems]
            yield chunk, _normalise((list(compress(chunk.raws, usable)), region))
        return
    held: list[_Chunk] = []

    def jobs() -> Iterator[tuple[list[str], str]]:
        for chunk in chunks:
            held.append(chunk)
            yield list(compress(chunk.raws, [p is None for p in chunk.problems])), region

    # fork: the workers only run normalise_many, over tables this process already built.
    pool = multiprocessing.get_context("fork").Pool(workers)
    try:
        for numbers in pool.imap(_normalise, jobs()):
            yield held.pop(0), numbers
    finally:
        pool.terminate()


# --------------------------------------------------------------------------- the list


@dataclass(slots=True)
class _List:
    """The stored rows, column by column, and what intake reports about them."""

    numbers: list[int] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    e164s: list[str | None] = field(default_factory=list)
    mobiles: list[bool] = field(default_factory=list)
    attrs: list[str | None] = field(default_factory=list)
    # The rules no policy switches off, known at intake: an unreadable number, a repeat.
    intake_masks: list[int] = field(default_factory=list)
    seen: int = 0
    valid: int = 0
    problem_count: int = 0
    problems: list[RowProblem] = field(default_factory=list)


#: One chunk as the stage wants it: row numbers, E.164, mobile, intake reason, repeat.
_Staged = tuple[list[int], list[str | None], list[bool], list[str | None], list[bool]]


def _read_list(
    source: ListFile | Iterable[ListRow],
    region: str,
    out: _List,
    *,
    max_rows: int,
    workers: int,
) -> Iterator[_Staged]:
    """Read, normalise and check every row into `out`, yielding each chunk as it is done."""
    seen_numbers: set[str] = set()
    for chunk, (e164u, mobileu, reasonu) in _normalised(_chunks(source), region, workers):
        n = len(chunk.numbers)
        if len(out.numbers) + n > max_rows:
            raise ValidationError(
                f"the list has more than {max_rows:,} rows, the limit per request; "
                "split it into several requests"
            )
        if len(e164u) == n:
            e164s, mobiles, intake = e164u, mobileu, reasonu
        else:
            e164s, mobiles, intake = [], [], []
            it = iter(zip(e164u, mobileu, reasonu, strict=True))
            for p in chunk.problems:
                e, m, r = next(it) if p is None else (None, False, _INVALID)
                e164s.append(e)
                mobiles.append(m)
                intake.append(r)
        dups: list[bool] = []
        masks: list[int] = []
        for e, r in zip(e164s, intake, strict=True):
            if e is None:
                dups.append(False)
                masks.append(REASON_BITS[ExclusionReason(r or _INVALID)])
            elif e in seen_numbers:
                dups.append(True)
                masks.append(_DUPLICATE)
            else:
                seen_numbers.add(e)
                dups.append(False)
                masks.append(0)
        problems = [(row, "", EMPTY_ROW) for row in chunk.empties]
        problems += [
            (row, raw, p or r)
            for row, raw, p, r in zip(
                chunk.numbers, chunk.raws, chunk.problems, intake, strict=True
            )
            if r is not None
        ]
        out.seen += n + len(chunk.empties)
        out.valid += n - len(problems) + len(chunk.empties)
        out.problem_count += len(problems)
        if len(out.problems) < PROBLEMS_SHOWN and problems:
            problems.sort()
            room = PROBLEMS_SHOWN - len(out.problems)
            out.problems.extend(RowProblem(*p) for p in problems[:room])
        out.numbers += chunk.numbers
        out.raws += chunk.raws
        out.e164s += e164s
        out.mobiles += mobiles
        out.attrs += chunk.attrs
        out.intake_masks += masks
        yield chunk.numbers, e164s, mobiles, intake, dups


# --------------------------------------------------------------------------- storing


class _Stream:
    """A read()-able view of text chunks, as psycopg2's copy_expert wants a file."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._buffer = ""
        #: What the chunks raised: psycopg2 reports it as a cancelled COPY.
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> str:
        while self._buffer == "" or (size >= 0 and len(self._buffer) < size):
            try:
                piece = next(self._chunks, None)
            except BaseException as exc:
                self.error = exc
                raise
            if piece is None:
                break
            self._buffer += piece
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = self._buffer, ""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def readline(self, size: int = -1) -> str:  # pragma: no cover - COPY FROM only reads
        return self.read(size)


def _copy(conn: Connection, table: str, columns: str, lines: Iterator[str]) -> None:
    raw_conn = conn.connection.dbapi_connection
    assert raw_conn is not None
    cursor: Any = raw_conn.cursor()
    stream = _Stream(lines)
    try:
        cursor.copy_expert(
            f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT text)", stream, size=1 << 20
        )
    except Exception:
        if stream.error is not None:
            # The list's own problem (too many rows, say), not the database's.
            raise stream.error from None
        raise
    finally:
        cursor.close()


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


_CONTACT_COLUMNS = (
    "campaign_id, row_number, raw_input, e164, is_mobile, attributes, state, is_trial, "
    "attempts, disposition_streak, next_attempt_at"
)
_EXCLUSION_COLUMNS = (
    "campaign_id, row_number, raw_input, e164, is_mobile, attributes, reason, rule_version, mask"
)


def _verdict_labels() -> Callable[[int], tuple[str, str]]:
    labels: dict[int, tuple[str, str]] = {}

    def label(mask: int) -> tuple[str, str]:
        found = labels.get(mask)
        if found is None:
            first = reasons_of(mask)[0]
            found = labels[mask] = (first.value, rule_tag(first))
        return found

    return label


def _write_rows(
    conn: Connection,
    campaign_id: int,
    rows: _List,
    masks: Sequence[int],
    state: ContactState,
    due_at: datetime | None,
) -> None:
    """Each row once: to contacts when its mask is 0, else to list_exclusions."""
    label = _verdict_labels()
    kept = [i for i, m in enumerate(masks) if m == 0]
    excluded = [i for i, m in enumerate(masks) if m != 0]
    if conn.dialect.name == "postgresql":
        prefix = f"{campaign_id}\t"
        tail = f"\t{state.value}\tf\t0\t0\t{_iso(due_at) or _NULL}\n"

        def head(i: int) -> str:
            # The columns contacts and list_exclusions share, up to the attributes.
            a = rows.attrs[i]
            return (
                f"{prefix}{rows.numbers[i]}\t{_copy_text(rows.raws[i][:100])}\t"
                f"{rows.e164s[i] or _NULL}\t{'t' if rows.mobiles[i] else 'f'}\t"
                f"{_NULL if a is None else _copy_text(a)}"
            )

        def contact_lines() -> Iterator[str]:
            for part in _parts(kept):
                yield "".join([head(i) + tail for i in part])

        def exclusion_lines() -> Iterator[str]:
            for part in _parts(excluded):
                out = []
                for i in part:
                    reason, tag = label(masks[i])
                    out.append(f"{head(i)}\t{reason}\t{tag}\t{masks[i]}\n")
                yield "".join(out)

        _copy(conn, "contacts", _CONTACT_COLUMNS, contact_lines())
        _copy(conn, "list_exclusions", _EXCLUSION_COLUMNS, exclusion_lines())
        return
    # SQLite keeps UTC without an offset, as UTCDateTime writes it.
    due = None if due_at is None else due_at.astimezone(UTC).replace(tzinfo=None)

    def row(i: int) -> dict[str, Any]:
        return {
            "c": campaign_id,
            "r": rows.numbers[i],
            "raw": rows.raws[i][:100],
            "e": rows.e164s[i],
            "m": rows.mobiles[i],
            "a": rows.attrs[i],
        }

    for part in _parts(kept):
        conn.execute(
            text(
                f"INSERT INTO contacts ({_CONTACT_COLUMNS}) VALUES (:c, :r, :raw, :e, :m, :a, "
                ":s, 0, 0, 0, :due)"
            ),
            [row(i) | {"s": state.value, "due": due} for i in part],
        )
    for part in _parts(excluded):
        conn.execute(
            text(
                f"INSERT INTO list_exclusions ({_EXCLUSION_COLUMNS}) VALUES (:c, :r, :raw, :e, "
                ":m, :a, :reason, :tag, :mask)"
            ),
            [
                row(i) | {"reason": label(masks[i])[0], "tag": label(masks[i])[1], "mask": masks[i]}
                for i in part
            ],
        )


def _parts(indices: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(indices), _CHUNK):
        yield indices[start : start + _CHUNK]


def _stage_table(conn: Connection) -> None:
    postgres = conn.dialect.name == "postgresql"
    conn.execute(text(f"DROP TABLE IF EXISTS {_STAGE}"))
    conn.execute(
        text(
            f"CREATE TEMPORARY TABLE {_STAGE} (row_number INTEGER NOT NULL, e164 VARCHAR(20), "
            "num BIGINT, is_mobile BOOLEAN NOT NULL, intake VARCHAR(32), dup BOOLEAN NOT NULL)"
            + (" ON COMMIT DROP" if postgres else "")
        )
    )


def _stage_lines(staged: _Staged) -> str:
    numbers, e164s, mobiles, intake, dups = staged
    return "".join(
        [
            f"{n}\t{e}\t{e[1:]}\t{'t' if m else 'f'}\t\\N\t{'t' if d else 'f'}\n"
            if e is not None
            else f"{n}\t\\N\t\\N\tf\t{r}\tf\n"
            for n, e, m, r, d in zip(numbers, e164s, mobiles, intake, dups, strict=True)
        ]
    )


def _stage_rows(conn: Connection, staged: _Staged) -> None:
    numbers, e164s, mobiles, intake, dups = staged
    conn.execute(
        text(f"INSERT INTO {_STAGE} ({SOURCE_COLUMNS}) VALUES (:n, :e, :num, :m, :r, :d)"),
        [
            {"n": n, "e": e, "num": int(e[1:]) if e else None, "m": m, "r": r, "d": d}
            for n, e, m, r, d in zip(numbers, e164s, mobiles, intake, dups, strict=True)
        ],
    )


def load_list(
    conn: Connection,
    campaign_id: int,
    source: ListFile | Iterable[ListRow],
    *,
    region: str,
    max_rows: int,
    policy: CleaningPolicy | None,
    now: datetime,
    due_at: datetime | None = None,
    workers: int | None = None,
) -> LoadedList:
    """Store a new list for a campaign that has none, cleaned with `policy` when given.

    Kept rows become contacts, PENDING or, with a policy and `due_at`, READY and due then;
    excluded rows go to list_exclusions. Without a policy only unreadable numbers and
    repeats are excluded. Raises ValidationError past `max_rows` stored rows (nothing is
    committed: the caller owns the transaction).
    """
    postgres = conn.dialect.name == "postgresql"
    if conn.scalar(
        text(
            "SELECT EXISTS (SELECT 1 FROM contacts WHERE campaign_id = :cid) "
            "OR EXISTS (SELECT 1 FROM list_exclusions WHERE campaign_id = :cid)"
        ),
        {"cid": campaign_id},
    ):
        raise ValueError(f"campaign {campaign_id} already has a list")
    if workers is None:
        big = isinstance(source, ListFile) and source.path.stat().st_size >= _WORKER_BYTES
        workers = 1 if big else 0
    saved = set_local(conn, PG_SETTINGS)
    rows = _List()
    chunks = _read_list(source, region, rows, max_rows=max_rows, workers=workers)
    tally = None
    if policy is None:
        for _ in chunks:
            pass
        masks = rows.intake_masks
    else:
        _stage_table(conn)
        if postgres:
            # COPY reads the chunks as they are produced: PostgreSQL ingests one while this
            # process reads and normalises the next.
            _copy(conn, _STAGE, SOURCE_COLUMNS, map(_stage_lines, chunks))
            conn.execute(text(f"ANALYZE {_STAGE}"))
        else:
            for staged in chunks:
                _stage_rows(conn, staged)
        source_sql = f"SELECT {SOURCE_COLUMNS} FROM {_STAGE}"
        masks = masks_in_order(conn, campaign_id, policy, now, source_sql)
        conn.execute(text(f"DROP TABLE IF EXISTS {_STAGE}"))
        counts: dict[int, int] = {}
        for m in masks:
            counts[m] = counts.get(m, 0) + 1
        tally = CleaningTally()
        tally.add_masks(counts)
    ready = policy is not None and due_at is not None
    state = ContactState.READY if ready else ContactState.PENDING
    _write_rows(conn, campaign_id, rows, masks, state, due_at if ready else None)
    set_local(conn, saved)
    return LoadedList(
        seen=rows.seen,
        stored=len(rows.numbers),
        valid=rows.valid,
        problem_count=rows.problem_count,
        problems=tuple(rows.problems),
        tally=tally,
    )


class SqlAlchemyListStore:
    """The `ListStore` port over the unit of work's session (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def load(
        self,
        campaign_id: int,
        source: ListFile | Iterable[ListRow],
        *,
        region: str,
        max_rows: int,
        policy: CleaningPolicy | None,
        now: datetime,
        due_at: datetime | None = None,
    ) -> LoadedList:
        """Store a campaign's list; see `load_list`."""
        return load_list(
            self.session.connection(),
            campaign_id,
            source,
            region=region,
            max_rows=max_rows,
            policy=policy,
            now=now,
            due_at=due_at,
        )
