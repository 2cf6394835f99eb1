"""The operator's subscriber snapshot: a `SubscriberSource` over its tables, and its importer.

`import_snapshot` loads CSV files exported by the operator. Each file is UTF-8 (with or
without a BOM) or GBK/GB18030, comma-separated, with a header row naming its columns in any
order (case and surrounding blanks do not matter). Columns in brackets may be left out of
the header; any other column is an error, so a misspelt header is not silently dropped.

    subscribers.csv   msisdn,status,segment,branch
        status    ACTIVE, SUSPENDED or CANCELLED (any case), or 正常, 停机, 销户
        segment   free text, at most 64 characters; may be empty
        branch    a branch code from the catalogue (GZ); may be empty

    services.csv      msisdn,service
        service   a service code from the catalogue (5G_PLUS_59); the msisdn must be a
                  subscriber (in subscribers.csv, or already stored when it is not given)

    history.csv       msisdn,contacted_at[,source]
        contacted_at  ISO 8601: 2026-11-20T10:00:00+08:00, 2026-11-20 10:00:00Z,
                      2026-11-20 10:00; without an offset it is Asia/Shanghai local time
        source    at most 64 characters; "operator" when absent or empty

    follow_ups.csv    msisdn,recorded_at[,note]
        recorded_at   as contacted_at
        note      free text; may be empty

Numbers are read as list cells are (`campaigns.fastphone.normalise_many`, region CN) and
stored in E.164. Blank lines are skipped. Row numbers in errors count the header as row 1,
as a spreadsheet shows them. examples/snapshot/ holds a small example of each file.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, func, select, type_coerce
from sqlalchemy.orm import Session

from campaigns.errors import ListFileError, ValidationError
from campaigns.fastphone import normalise_many
from campaigns.intake import detect_encoding
from campaigns.model import SubscriberFacts, SubscriberStatus
from campaigns.phone import E164
from campaigns.storage import orm
from campaigns.storage.bulk import _copy_or_insert
from campaigns.storage.facts import refresh_facts

_CHUNK = 900  # stays under SQLite's bound-parameter limit for IN lists
_BATCH = 50_000  # rows per COPY / executemany while streaming a file
_LOCAL = ZoneInfo("Asia/Shanghai")
_TEXT_LIMIT = 64  # segment and source columns are VARCHAR(64)

_STATUSES = {
    "ACTIVE": SubscriberStatus.ACTIVE,
    "SUSPENDED": SubscriberStatus.SUSPENDED,
    "CANCELLED": SubscriberStatus.CANCELLED,
    "正常": SubscriberStatus.ACTIVE,
    "停机": SubscriberStatus.SUSPENDED,
    "销户": SubscriberStatus.CANCELLED,
}


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlAlchemySnapshotSource:
    """Subscriber facts from the snapshot tables; the caller owns the session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lookup(self, numbers: Sequence[str]) -> dict[str, SubscriberFacts]:
        """Facts for the numbers of the batch that are in the snapshot (four queries a chunk)."""
        wanted = list(dict.fromkeys(numbers))
        out: dict[str, SubscriberFacts] = {}
        for part in _chunks(wanted):
            out.update(self._lookup(part))
        return out

    def _lookup(self, part: Sequence[str]) -> dict[str, SubscriberFacts]:
        s = self.session
        lines = s.execute(
            select(
                orm.Subscriber.msisdn,
                orm.Subscriber.status,
                orm.Subscriber.segment,
                orm.Branch.code,
            )
            .select_from(orm.Subscriber)
            .outerjoin(orm.Branch, orm.Branch.id == orm.Subscriber.branch_id)
            .where(orm.Subscriber.msisdn.in_(part))
        ).all()
        if not lines:
            return {}
        # History and follow-ups of numbers outside the snapshot are never reported.
        known = [line.msisdn for line in lines]
        held: dict[str, set[str]] = defaultdict(set)
        for msisdn, code in s.execute(
            select(orm.Subscriber.msisdn, orm.Service.code)
            .join(orm.SubscriberService, orm.SubscriberService.subscriber_id == orm.Subscriber.id)
            .join(orm.Service, orm.Service.id == orm.SubscriberService.service_id)
            .where(orm.Subscriber.msisdn.in_(known))
        ):
            held[msisdn].add(code)
        followed = set(
            s.scalars(select(orm.FollowUp.msisdn).where(orm.FollowUp.msisdn.in_(known)).distinct())
        )
        # Coerce max() back to the column type so values come out timezone-aware on SQLite.
        latest = type_coerce(func.max(orm.ContactHistory.contacted_at), orm.UTCDateTime())
        last: dict[str, datetime] = {
            msisdn: at
            for msisdn, at in s.execute(
                select(orm.ContactHistory.msisdn, latest)
                .where(orm.ContactHistory.msisdn.in_(known))
                .group_by(orm.ContactHistory.msisdn)
            )
        }
        return {
            line.msisdn: SubscriberFacts(
                msisdn=line.msisdn,
                status=line.status,
                segment=line.segment,
                branch_code=line.code,
                services=frozenset(held.get(line.msisdn, ())),
                has_follow_up=line.msisdn in followed,
                last_contacted_at=last.get(line.msisdn),
            )
            for line in lines
        }


# --------------------------------------------------------------------------- import


def import_snapshot(
    conn: Connection,
    *,
    subscribers: Path | None,
    services: Path | None,
    history: Path | None,
    follow_ups: Path | None,
    replace: bool = True,
    batch_rows: int = _BATCH,
) -> dict[str, int]:
    """Load the snapshot CSV files given into their tables; returns rows loaded per table.

    With `replace`, each table whose file is given is emptied first; replacing subscribers
    also empties subscriber_services, whose rows hang off subscriber ids. Without it, rows
    are added, and a subscriber or held service already stored is a bad row. A bad row
    raises `ValidationError` naming the file, row and reason, part way through: the
    caller's transaction must be rolled back (leaving `with engine.begin()` by the
    exception does that), and then nothing was written.
    """
    for path in (subscribers, services, history, follow_ups):
        if path is not None and not path.is_file():
            raise ValidationError(f"snapshot file {path} does not exist")
    counts = {"subscribers": 0, "subscriber_services": 0, "contact_history": 0, "follow_ups": 0}
    if replace:
        if subscribers is not None or services is not None:
            conn.execute(delete(orm.SubscriberService))
        if subscribers is not None:
            conn.execute(delete(orm.Subscriber))
        if history is not None:
            conn.execute(delete(orm.ContactHistory))
        if follow_ups is not None:
            conn.execute(delete(orm.FollowUp))
    if subscribers is not None:
        counts["subscribers"] = _load_subscribers(
            conn, subscribers, append=not replace, batch_rows=batch_rows
        )
    if services is not None:
        counts["subscriber_services"] = _load_services(
            conn, services, append=not replace, batch_rows=batch_rows
        )
    if history is not None:
        counts["contact_history"] = _load_history(conn, history, batch_rows=batch_rows)
    if follow_ups is not None:
        counts["follow_ups"] = _load_follow_ups(conn, follow_ups, batch_rows=batch_rows)
    refresh_facts(conn)
    return counts


def _bad(path: Path, row: int, reason: str) -> ValidationError:
    return ValidationError(f"{path.name} row {row}: {reason}; nothing was imported")


def _read(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """Stream (row number, cells by column) from a CSV file, checking its header."""
    try:
        encoding = detect_encoding(path)
    except ListFileError as exc:
        # Its message suggests XLSX, which a snapshot cannot be.
        raise ValidationError(
            f"{path.name} is neither UTF-8 nor GBK/GB18030 text; save it as CSV (UTF-8)"
        ) from exc
    with path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        names = [h.strip().lower() for h in header or []]
        while names and not names[-1]:
            names.pop()  # spreadsheets may end the header with empty cells
        expected = ",".join(required) + "".join(f"[,{o}]" for o in optional)
        missing = [c for c in required if c not in names]
        unknown = [n for n in names if n not in required and n not in optional]
        if not header or missing or unknown or len(set(names)) != len(names):
            raise ValidationError(
                f"{path.name} row 1: the header must be {expected}; it is {','.join(names)!r}"
                "; nothing was imported"
            )
        width = len(names)
        for offset, values in enumerate(reader):
            row = offset + 2  # row 1 is the header, as a spreadsheet shows it
            if not any(v.strip() for v in values):
                continue
            # Spreadsheets pad rows with empty cells past the last column; other mismatches are bad.
            if len(values) < width or any(v.strip() for v in values[width:]):
                raise _bad(path, row, f"it has {len(values)} cells, the header has {width}")
            yield row, {n: v.strip() for n, v in zip(names, values, strict=False)}


def _batches(
    rows: Iterator[tuple[int, dict[str, str]]], size: int
) -> Iterator[list[tuple[int, dict[str, str]]]]:
    while batch := list(islice(rows, size)):
        yield batch


def _numbers(
    path: Path, batch: Sequence[tuple[int, dict[str, str]]]
) -> Iterator[tuple[int, dict[str, str], str]]:
    """The batch's rows with their msisdn in E.164; an unreadable number is a bad row."""
    parsed = normalise_many([cells["msisdn"] for _, cells in batch], "CN")
    for (row, cells), number in zip(batch, parsed, strict=True):
        if not isinstance(number, E164):
            shown = cells["msisdn"] or "(empty)"
            raise _bad(path, row, f"msisdn {shown!r} is not a phone number ({number.reason})")
        yield row, cells, number.value


def _timestamp(path: Path, row: int, column: str, text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(
            path, row, f"{column} {text!r} is not an ISO 8601 timestamp (2026-11-20T10:00:00+08:00)"
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=_LOCAL)
    return at.astimezone(UTC)


def _text(path: Path, row: int, column: str, text: str) -> str:
    if len(text) > _TEXT_LIMIT:
        raise _bad(path, row, f"{column} is longer than {_TEXT_LIMIT} characters")
    return text


def _write(
    conn: Connection, table: Any, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """COPY (PostgreSQL) or executemany (SQLite) one batch; returns its row count."""
    if conn.dialect.name == "postgresql":
        # _copy_or_insert writes COPY's text format without escaping; operator text may
        # hold tabs, newlines, backslashes or a literal \N.
        rows = [tuple(_copy_escape(v) if isinstance(v, str) else v for v in r) for r in rows]
    batch = list(rows)
    _copy_or_insert(conn, table, columns, batch)
    return len(batch)


def _copy_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _load_subscribers(conn: Connection, path: Path, *, append: bool, batch_rows: int) -> int:
    branches = dict(conn.execute(select(orm.Branch.code, orm.Branch.id)).tuples().all())
    # Where each number was first seen, to name both rows of a duplicate; 0 means stored.
    seen: dict[str, int] = {}
    if append:
        seen = dict.fromkeys(conn.scalars(select(orm.Subscriber.msisdn)), 0)
    total = 0
    rows = _read(path, ("msisdn", "status", "segment", "branch"))
    for batch in _batches(rows, batch_rows):
        out: list[tuple[Any, ...]] = []
        for row, cells, msisdn in _numbers(path, batch):
            first = seen.setdefault(msisdn, row)
            if first != row:
                where = f"row {first}" if first else "the stored snapshot"
                raise _bad(path, row, f"msisdn {msisdn} is already in {where}")
            status = _STATUSES.get(cells["status"].upper())
            if status is None:
                raise _bad(
                    path,
                    row,
                    f"status {cells['status']!r} is not one of "
                    "ACTIVE, SUSPENDED, CANCELLED, 正常, 停机, 销户",
                )
            branch_id = None
            if cells["branch"]:
                branch_id = branches.get(cells["branch"])
                if branch_id is None:
                    raise _bad(
                        path,
                        row,
                        f"branch {cells['branch']!r} is not a branch code "
                        f"({', '.join(sorted(branches))})",
                    )
            segment = _text(path, row, "segment", cells["segment"]) or None
            out.append((msisdn, status.value, segment, branch_id))
        total += _write(
            conn, orm.Subscriber.__table__, ("msisdn", "status", "segment", "branch_id"), out
        )
    return total


def _load_services(conn: Connection, path: Path, *, append: bool, batch_rows: int) -> int:
    codes = dict(conn.execute(select(orm.Service.code, orm.Service.id)).tuples().all())
    ids = dict(conn.execute(select(orm.Subscriber.msisdn, orm.Subscriber.id)).tuples().all())
    held: set[tuple[int, int]] = set()
    if append:
        held = set(
            conn.execute(
                select(orm.SubscriberService.subscriber_id, orm.SubscriberService.service_id)
            )
            .tuples()
            .all()
        )
    total = 0
    for batch in _batches(_read(path, ("msisdn", "service")), batch_rows):
        out: list[tuple[Any, ...]] = []
        for row, cells, msisdn in _numbers(path, batch):
            subscriber_id = ids.get(msisdn)
            if subscriber_id is None:
                raise _bad(path, row, f"msisdn {msisdn} is not a subscriber of the snapshot")
            service_id = codes.get(cells["service"])
            if service_id is None:
                raise _bad(
                    path, row, f"service {cells['service']!r} is not in the service catalogue"
                )
            pair = (subscriber_id, service_id)
            if pair in held:
                raise _bad(path, row, f"{msisdn} already holds {cells['service']}")
            held.add(pair)
            out.append(pair)
        total += _write(conn, orm.SubscriberService.__table__, ("subscriber_id", "service_id"), out)
    return total


def _load_history(conn: Connection, path: Path, *, batch_rows: int) -> int:
    total = 0
    for batch in _batches(_read(path, ("msisdn", "contacted_at"), ("source",)), batch_rows):
        out = [
            (
                msisdn,
                _timestamp(path, row, "contacted_at", cells["contacted_at"]),
                _text(path, row, "source", cells.get("source", "")) or "operator",
            )
            for row, cells, msisdn in _numbers(path, batch)
        ]
        total += _write(
            conn, orm.ContactHistory.__table__, ("msisdn", "contacted_at", "source"), out
        )
    return total


def _load_follow_ups(conn: Connection, path: Path, *, batch_rows: int) -> int:
    total = 0
    for batch in _batches(_read(path, ("msisdn", "recorded_at"), ("note",)), batch_rows):
        out = [
            (
                msisdn,
                _timestamp(path, row, "recorded_at", cells["recorded_at"]),
                cells.get("note") or None,
            )
            for row, cells, msisdn in _numbers(path, batch)
        ]
        total += _write(conn, orm.FollowUp.__table__, ("msisdn", "recorded_at", "note"), out)
    return total
