"""Reading a branch's contact list file (CSV or XLSX, UTF-8 or GBK) into rows."""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from campaigns.errors import ListFileError, ValidationError
from campaigns.model import CampaignRequestDraft

PHONE_HEADERS = (
    "手机号",
    "手机号码",
    "手机",
    "号码",
    "电话",
    "电话号码",
    "联系电话",
    "用户号码",
    "phone",
    "mobile",
    "msisdn",
    "number",
    "tel",
    "telephone",
)

EMPTY_ROW = "EMPTY_ROW"
FORMULA = "FORMULA"
NO_NUMBER = "NO_NUMBER"


@dataclass(frozen=True, slots=True)
class ListRow:
    """One data row: its spreadsheet row number, the raw phone cell, the other columns.

    `problem` is set for rows that cannot hold a contact (empty row, formula cell).
    """

    row_number: int
    raw: str
    attributes: dict[str, str] | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class ListLimits:
    """Configurable limits on list files; going over one rejects the file whole."""

    max_bytes: int = 200 * 1024 * 1024
    max_rows: int = 2_000_000
    max_problem_share: float = 0.2


@dataclass(frozen=True, slots=True)
class ListFile:
    """A readable list: its header, the phone column, and its encoding."""

    path: Path
    header: tuple[str, ...]
    phone_index: int
    encoding: str
    digest: str


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, read in chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if the whole file decodes as such, else GBK/GB18030."""
    # Strict UTF-8 over the whole file first: GBK bytes almost never form valid UTF-8,
    # while UTF-8 bytes often decode (wrongly) as GBK.
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                utf8.decode(block)
            utf8.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    gb = codecs.getincrementaldecoder("gb18030")()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                gb.decode(block)
            gb.decode(b"", final=True)
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise ListFileError(
            f"{path.name} is neither UTF-8 nor GBK/GB18030 text; save it as CSV (UTF-8) or XLSX"
        ) from exc


def _find_phone(header: tuple[str, ...], phone_column: str | None, name: str) -> int:
    normalised = [h.strip().lower() for h in header]
    if phone_column:
        want = phone_column.strip().lower()
        if want in normalised:
            return normalised.index(want)
        raise ListFileError(
            f"{name} has no column named {phone_column!r}; its columns are: {', '.join(header)}"
        )
    for candidate in PHONE_HEADERS:
        if candidate in normalised:
            return normalised.index(candidate)
    # Exports often decorate headers: "手机号码(必填)", "Mobile No.".
    for candidate in PHONE_HEADERS:
        for i, h in enumerate(normalised):
            if candidate in h:
                return i
    raise ListFileError(
        f"{name} has no phone column; name one of the columns 手机号, 号码, 电话, phone or "
        f"msisdn, or pass the column name explicitly. Its columns are: {', '.join(header)}"
    )


def open_list(
    path: Path, *, phone_column: str | None = None, limits: ListLimits | None = None
) -> ListFile:
    """Check that a file is a readable table with a phone column, without loading its rows."""
    lim = limits or ListLimits()
    if not path.exists():
        raise ListFileError(f"list file {path} does not exist")
    size = path.stat().st_size
    if size == 0:
        raise ListFileError(f"{path.name} is empty")
    if size > lim.max_bytes:
        raise ListFileError(
            f"{path.name} is {size / 1e6:.1f} MB, over the limit of {lim.max_bytes / 1e6:.0f} MB; "
            "split the list into several requests"
        )
    with path.open("rb") as f:
        magic = f.read(4)
    if path.suffix.lower() in {".xlsx", ".xlsm"} or magic == b"PK\x03\x04":
        header = next(_xlsx_rows(path), None)
        if header is None or not any(h.strip() for h in header):
            raise ListFileError(f"{path.name} has no header row in its first sheet")
        head = tuple(h.strip() for h in header)
        return ListFile(
            path, head, _find_phone(head, phone_column, path.name), "xlsx", file_digest(path)
        )
    if path.suffix.lower() == ".xls" or magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise ListFileError(
            f"{path.name} is an old Excel 97-2003 workbook; save it as .xlsx or CSV"
        )
    encoding = detect_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        sample = f.read(64 * 1024)
    if "\x00" in sample or any(ord(ch) < 9 for ch in sample[:4096]):
        raise ListFileError(f"{path.name} is not a text table; save it as CSV or XLSX")
    lines = sample.splitlines()
    first = lines[0] if lines else ""
    # The header row decides the delimiter: the candidate it contains most often.
    delimiter = max(",\t;", key=first.count) if first else ","
    head = tuple(h.strip() for h in next(csv.reader([first], delimiter=delimiter), []))
    if not any(head):
        raise ListFileError(f"{path.name} has no header row")
    return ListFile(
        path,
        head,
        _find_phone(head, phone_column, path.name),
        f"{encoding}|{delimiter}",
        file_digest(path),
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    # Excel stores long numbers as floats; 13800138000.0 must read as 13800138000.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    try:
        from openpyxl import load_workbook
    except ImportError as exc:  # pragma: no cover - openpyxl is a dependency
        raise ListFileError("reading XLSX needs openpyxl") from exc
    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt file
        raise ListFileError(f"{path.name} is not a readable XLSX workbook: {exc}") from exc
    try:
        sheet = wb.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [_cell(v) for v in values]
    finally:
        wb.close()


def iter_rows(lf: ListFile) -> Iterator[ListRow]:
    """Stream the data rows of a list; blank lines at the very end are not reported."""
    if lf.encoding == "xlsx":
        rows: Iterator[list[str]] = _xlsx_rows(lf.path)
        next(rows, None)
        yield from _rows(lf, rows)
        return
    encoding, delimiter = lf.encoding.split("|")
    with lf.path.open(encoding=encoding, newline="") as f:
        reader = csv.reader(f, delimiter=delimiter)
        next(reader, None)
        yield from _rows(lf, reader)


def _rows(lf: ListFile, rows: Iterator[list[str]]) -> Iterator[ListRow]:
    pending_empty: list[int] = []
    for offset, values in enumerate(rows):
        number = offset + 2  # row 1 is the header, as the spreadsheet shows it
        if not any(v.strip() for v in values):
            pending_empty.append(number)
            continue
        for empty in pending_empty:
            yield ListRow(empty, "", None, EMPTY_ROW)
        pending_empty = []
        raw = values[lf.phone_index].strip() if lf.phone_index < len(values) else ""
        attrs = {
            lf.header[i]: v
            for i, v in enumerate(values)
            if i != lf.phone_index and i < len(lf.header) and v != ""
        }
        problem = FORMULA if raw.startswith("=") else NO_NUMBER if not raw else None
        yield ListRow(number, raw, attrs or None, problem)


_RELATIVE = re.compile(r"^today\s*(?:([+-])\s*(\d+)\s*d?)?$")


def _field_date(fields: Mapping[str, Any], name: str, today: date | None) -> date:
    value = fields.get(name)
    if isinstance(value, date):
        return value
    text = str(value).strip().lower()
    match = _RELATIVE.match(text)
    if match and today is not None:
        sign, days = match.groups()
        offset = int(days or 0) * (-1 if sign == "-" else 1)
        return today + timedelta(days=offset)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            f"{name} must be a date like 2026-12-01 (or today, today+6), not {value!r}"
        ) from None


def _field_number(fields: Mapping[str, Any], name: str, kind: type[int] | type[float]) -> Any:
    value = fields.get(name)
    if value is None or value == "":
        return None
    try:
        return kind(str(value).strip().translate(_FULL_WIDTH))
    except ValueError:
        raise ValidationError(f"{name} must be a number, not {value!r}") from None


_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")


def draft_from_fields(
    fields: Mapping[str, Any], *, submitted_by: str, today: date | None = None
) -> CampaignRequestDraft:
    """Build a request from loose fields (YAML, CLI flags, a form), with one error per mistake.

    Fields: branch, offer, target, segments, contacts, goal (activations) or goal_rate
    (a share such as 0.08 or "8%"), start, end, month (defaults to the start's month).
    Dates may be relative to `today`: "today", "today+6".
    """
    missing = [n for n in ("branch", "offer", "start", "end") if not fields.get(n)]
    if fields.get("goal") in (None, "") and fields.get("goal_rate") in (None, ""):
        missing.append("goal (or goal_rate)")
    if missing:
        raise ValidationError("the request is missing: " + ", ".join(missing))
    start = _field_date(fields, "start", today)
    rate_text = fields.get("goal_rate")
    rate = None
    if rate_text not in (None, ""):
        text = str(rate_text).strip()
        rate = float(_field_number({"goal_rate": text.rstrip("%")}, "goal_rate", float))
        if text.endswith("%"):
            rate /= 100
    segments = fields.get("segments") or ()
    if isinstance(segments, str):
        segments = [s.strip() for s in segments.replace("，", ",").split(",") if s.strip()]
    return CampaignRequestDraft(
        branch_code=str(fields["branch"]).strip(),
        offer_code=str(fields["offer"]).strip(),
        target_group=str(fields.get("target") or "").strip(),
        requested_contacts=_field_number(fields, "contacts", int) or 0,
        goal_activations=_field_number(fields, "goal", int) or 0,
        window_start=start,
        window_end=_field_date(fields, "end", today),
        month=str(fields.get("month") or start.strftime("%Y-%m")).strip(),
        submitted_by=submitted_by,
        segment_filters=tuple(str(s) for s in segments),
        goal_conversion_rate=rate,
    )
