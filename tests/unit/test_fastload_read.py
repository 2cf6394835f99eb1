"""The fast loader reads a list file exactly as intake does: row numbers, cells, attributes,
problems, and the empty rows intake reports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.intake import iter_rows, open_list
from campaigns.storage.fastload import _csv_chunks

CELL = st.text(
    alphabet=st.sampled_from(list("0123456789 +-()客户张三\"\\\t,;='x\u3000１３８")), max_size=12
)


def _write(path: Path, header: list[str], rows: list[list[str]], encoding: str) -> None:
    with path.open("w", encoding=encoding, newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)


Row = tuple[int, str, dict[str, str] | None, str | None]


def _intake(path: Path) -> list[Row]:
    """What intake yields per row: empty rows it reports included."""
    return [(r.row_number, r.raw, r.attributes, r.problem) for r in iter_rows(open_list(path))]


def _fast(path: Path) -> list[Row]:
    out: list[Row] = []
    for chunk in _csv_chunks(open_list(path)):
        out += [(n, "", None, "EMPTY_ROW") for n in chunk.empties]
        out += [
            (n, raw, None if attrs is None else json.loads(attrs), problem)
            for n, raw, attrs, problem in zip(
                chunk.numbers, chunk.raws, chunk.attrs, chunk.problems, strict=True
            )
        ]
    return sorted(out)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=5), min_size=1, max_size=25),
    encoding=st.sampled_from(["utf-8", "gb18030"]),
)
def test_read_agrees_with_intake(tmp_path_factory: pytest.TempPathFactory, rows, encoding) -> None:
    path = tmp_path_factory.mktemp("read") / "list.csv"
    # Ragged rows: short ones, and cells past the header that neither path keeps.
    _write(path, ["手机号", "姓名", "备注"], [["13800138000", *r] for r in rows], encoding)
    assert _fast(path) == _intake(path)


def test_repeated_header_names_keep_the_last_cell(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    _write(path, ["phone", "note", "note"], [["13800138000", "first", "second"]], "utf-8")
    assert _fast(path) == _intake(path) == [(2, "13800138000", {"note": "second"}, None)]


def test_blank_formula_and_empty_rows(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    rows = [["", ""], ["=HYPERLINK(1)", "x"], ["", "a note"], [" 13800138000 ", 'q"\\N\t']]
    _write(path, ["phone", "note"], rows, "utf-8")
    got = _fast(path)
    assert got == _intake(path)
    assert [r[0] for r in got] == [2, 3, 4, 5]
    assert [r[3] for r in got] == ["EMPTY_ROW", "FORMULA", "NO_NUMBER", None]
    assert got[2] == (4, "", {"note": "a note"}, "NO_NUMBER")
