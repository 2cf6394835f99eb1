"""Fast list loading on PostgreSQL: a list file streamed into `contacts` through one COPY.

Rows are read as `campaigns.intake.iter_rows` reads them (same row numbers, raw cells and
attributes; empty rows are skipped, formulas and blank phone cells are unusable numbers) and
stored as `services.submit_request` stores them, numbers normalised by
`campaigns.fastphone.normalise_many`. Parsing and COPY overlap: COPY reads from a generator,
so the server writes one chunk while Python prepares the next. Normalising is the costliest
step; with `workers` it runs in worker processes, chunk by chunk, in list order.

Unlike `submit_request` this only loads: limits, the problem share and quotas are the
caller's business (the counts returned are what it needs to check them).
"""

from __future__ import annotations

import csv
import json
import multiprocessing
from collections.abc import Iterator
from itertools import islice
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from campaigns.fastphone import normalise_many
from campaigns.intake import ListFile, open_list
from campaigns.model import ContactState, ExclusionReason
from campaigns.phone import E164

_CHUNK = 20_000  # rows normalised and written per step
_COLUMNS = (
    "campaign_id, row_number, raw_input, e164, is_mobile, attributes, state, "
    "exclusion_reason, is_trial, attempts, disposition_streak"
)
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_INVALID = ExclusionReason.INVALID_NUMBER.value

#: One row of the file: (row number, raw phone cell, other cells as JSON or None, usable).
_Row = tuple[int, str, str | None, bool]
#: A normalised cell: (E.164 or None, is mobile, reason when unusable).
_Number = tuple[str | None, bool, str | None]


def _copy_text(value: str) -> str:
    # COPY's text format: backslash escapes; a bare \N would read as NULL.
    return value.translate(_ESCAPES)


def _read(lf: ListFile) -> Iterator[_Row]:
    """Rows as `intake._rows` yields them, empty ones left out (intake never stores them)."""
    encoding, delimiter = lf.encoding.split("|")
    header, phone = lf.header, lf.phone_index
    width = len(header)
    others = [i for i in range(width) if i != phone]
    # The attributes object is written key by key with json's own string encoder: the same
    # JSON value json.dumps would give, at a third of the cost. A repeated header name
    # would repeat a key, so such a file takes the dict path, which keeps the last cell.
    keys = [encode_basestring(h) + ": " for h in header]
    unique = len(set(header)) == width
    with lf.path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        next(reader, None)
        for offset, values in enumerate(reader, start=2):
            n = len(values)
            raw = values[phone].strip() if phone < n else ""
            if not raw and not any(v.strip() for v in values):
                continue
            if unique:
                cells = ", ".join(
                    [keys[i] + encode_basestring(v) for i in others if i < n and (v := values[i])]
                )
                attrs = "{" + cells + "}" if cells else None
            else:
                found = {header[i]: values[i] for i in others if i < n and values[i] != ""}
                attrs = json.dumps(found, ensure_ascii=False) if found else None
            yield offset, raw, attrs, bool(raw) and raw[0] != "="


def _normalise(raws: list[str], region: str) -> list[_Number]:
    out: list[_Number] = []
    for result in normalise_many(raws, region):
        if isinstance(result, E164):
            out.append((result.value, result.is_mobile, None))
        else:
            out.append((None, False, result.reason.value))
    return out


def _normalise_chunk(job: tuple[list[str], str]) -> list[_Number]:
    return _normalise(*job)


def _chunks(rows: Iterator[_Row]) -> Iterator[list[_Row]]:
    while chunk := list(islice(rows, _CHUNK)):
        yield chunk


class _Stream:
    """A read()-able view of text chunks, as psycopg2's copy_expert wants a file."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._buffer = ""

    def read(self, size: int = -1) -> str:
        while self._buffer == "" or (size >= 0 and len(self._buffer) < size):
            piece = next(self._chunks, None)
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


def load_list(
    conn: Connection,
    campaign_id: int,
    path: Path,
    region: str = "CN",
    *,
    workers: int = 0,
    list_file: ListFile | None = None,
) -> dict[str, int]:
    """COPY a list file into the campaign's contacts (PENDING); returns rows, valid, problems."""
    return copy_list(
        conn, "contacts", campaign_id, path, region, workers=workers, list_file=list_file
    )


def copy_list(
    conn: Connection,
    table: str,
    campaign_id: int,
    path: Path,
    region: str = "CN",
    *,
    workers: int = 0,
    list_file: ListFile | None = None,
    mark_duplicates: bool = False,
) -> dict[str, int]:
    """`load_list` into `table`, a table with contacts' columns (a staging copy, say).

    With `mark_duplicates`, `table` also has a boolean `dup` column, set on each row whose
    number an earlier row of the file already had: the loader sees the file in order, so
    the DUPLICATE rule costs a set look-up per row here instead of an aggregate later.
    """
    if conn.dialect.name != "postgresql":
        raise ValueError("fastload needs PostgreSQL's COPY; use services.submit_request")
    lf = list_file or open_list(path)
    if lf.encoding == "xlsx":
        raise ValueError("fastload reads CSV lists; XLSX goes through services.submit_request")
    counts = {"rows": 0, "valid": 0, "problems": 0}
    pending = ContactState.PENDING.value
    prefix = f"{campaign_id}\t"
    pool: Any = None
    seen: set[str] = set()
    columns = _COLUMNS + (", dup" if mark_duplicates else "")

    def lines(chunk: list[_Row], numbers: list[_Number]) -> str:
        out: list[str] = []
        it = iter(numbers)
        valid = 0
        for row_number, raw, attrs, usable in chunk:
            e164, mobile, reason = next(it) if usable else (None, False, _INVALID)
            dup = ""
            if e164 is not None:
                valid += 1
                if mark_duplicates:
                    dup = "\tt" if e164 in seen else "\tf"
                    seen.add(e164)
            elif mark_duplicates:
                dup = "\tf"
            out.append(
                f"{prefix}{row_number}\t{_copy_text(raw[:100])}\t{e164 or _NULL}\t"
                f"{'t' if mobile else 'f'}\t{_NULL if attrs is None else _copy_text(attrs)}\t"
                f"{pending}\t{reason or _NULL}\tf\t0\t0{dup}\n"
            )
        counts["rows"] += len(chunk)
        counts["valid"] += valid
        counts["problems"] += len(chunk) - valid
        return "".join(out)

    def generate() -> Iterator[str]:
        chunks = _chunks(_read(lf))
        if pool is None:
            for chunk in chunks:
                yield lines(chunk, _normalise([r[1] for r in chunk if r[3]], region))
            return
        # Chunks go to the workers in order and come back in order (imap), a few ahead.
        held: list[list[_Row]] = []

        def jobs() -> Iterator[tuple[list[str], str]]:
            for chunk in chunks:
                held.append(chunk)
                yield [r[1] for r in chunk if r[3]], region

        for numbers in pool.imap(_normalise_chunk, jobs()):
            yield lines(held.pop(0), numbers)

    raw_conn = conn.connection.dbapi_connection
    assert raw_conn is not None
    cursor: Any = raw_conn.cursor()
    try:
        if workers > 0:
            pool = multiprocessing.get_context("fork").Pool(workers)
        cursor.copy_expert(
            f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT text)",
            _Stream(generate()),
            size=1 << 20,
        )
    finally:
        cursor.close()
        if pool is not None:
            pool.terminate()
    return counts
