"""Reading a branch's contact list file (CSV or XLSX, UTF-8 or GBK) into rows."""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from campaigns.errors import ListFileError

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

Row = tuple[int, str, dict[str, str] | None]


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


def _detect_encoding(path: Path) -> str:
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
    raise ListFileError(
        f"{name} has no phone column; name one of the columns 手机号, 号码, 电话, phone or "
        f"msisdn, or pass the column name explicitly. Its columns are: {', '.join(header)}"
    )


def open_list(path: Path, *, phone_column: str | None = None) -> ListFile:
    """Check that a file is a readable table with a phone column, without loading its rows."""
    if not path.exists():
        raise ListFileError(f"list file {path} does not exist")
    if path.stat().st_size == 0:
        raise ListFileError(f"{path.name} is empty")
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        header = next(_xlsx_rows(path), None)
        if header is None:
            raise ListFileError(f"{path.name} has no rows")
        head = tuple(header)
        return ListFile(
            path, head, _find_phone(head, phone_column, path.name), "xlsx", file_digest(path)
        )
    encoding = _detect_encoding(path)
    with path.open(encoding=encoding, newline="") as f:
        sample = f.read(64 * 1024)
    if "\x00" in sample:
        raise ListFileError(f"{path.name} is not a text table; save it as CSV or XLSX")
    first = sample.splitlines()[0] if sample.splitlines() else ""
    delimiter = max(",\t;", key=first.count) if first else ","
    head = tuple(next(csv.reader([first], delimiter=delimiter), []))
    if not head:
        raise ListFileError(f"{path.name} has no header row")
    return ListFile(
        path,
        head,
        _find_phone(head, phone_column, path.name),
        f"{encoding}|{delimiter}",
        file_digest(path),
    )


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
            yield ["" if v is None else str(v) for v in values]
    finally:
        wb.close()


def iter_rows(lf: ListFile) -> Iterator[Row]:
    """Yield (spreadsheet row number, raw phone, other columns) for each data row, streamed."""
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


def _rows(lf: ListFile, rows: Iterator[list[str]]) -> Iterator[Row]:
    for offset, values in enumerate(rows):
        if not any(v.strip() for v in values):
            continue
        raw = values[lf.phone_index].strip() if lf.phone_index < len(values) else ""
        attrs = {
            lf.header[i]: v
            for i, v in enumerate(values)
            if i != lf.phone_index and i < len(lf.header) and v != ""
        }
        yield offset + 2, raw, attrs or None
