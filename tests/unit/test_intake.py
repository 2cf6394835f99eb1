"""List files: encodings, delimiters, headers, row problems, limits and request fields."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from campaigns.errors import ListFileError, ValidationError
from campaigns.intake import (
    EMPTY_ROW,
    FORMULA,
    NO_NUMBER,
    ListLimits,
    ListRow,
    draft_from_fields,
    iter_rows,
    open_list,
)


def write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    text = "姓名,手机号\n张三,13800138000\n李四,１３９００１３９０００\n"
    lf = open_list(write(tmp_path, "l.csv", text, encoding))
    assert lf.header == ("姓名", "手机号")
    assert list(iter_rows(lf)) == [
        ListRow(2, "13800138000", {"姓名": "张三"}),
        ListRow(3, "１３９００１３９０００", {"姓名": "李四"}),
    ]


def test_gbk_text_that_is_not_utf8_is_not_misread(tmp_path: Path) -> None:
    # "客户名单" in GBK is not valid UTF-8; a wrong guess would garble the header.
    lf = open_list(write(tmp_path, "l.csv", "客户名单,号码\n王,13800138000\n", "gbk"))
    assert lf.header == ("客户名单", "号码") and lf.encoding.startswith("gb18030")


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_delimiters(tmp_path: Path, sep: str) -> None:
    path = write(tmp_path, "l.csv", f"name{sep}phone\na{sep}13800138000\n", "utf-8")
    assert list(iter_rows(open_list(path))) == [ListRow(2, "13800138000", {"name": "a"})]


@pytest.mark.parametrize("header", ["手机号码(必填)", "Mobile No.", "联系电话", "MSISDN", "电话"])
def test_phone_header_variants(tmp_path: Path, header: str) -> None:
    lf = open_list(write(tmp_path, "l.csv", f"备注,{header}\nx,13800138000\n", "utf-8"))
    assert lf.phone_index == 1


def test_explicit_phone_column(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", "a,联系方式\nx,13800138000\n", "utf-8")
    with pytest.raises(ListFileError, match="no phone column"):
        open_list(path)
    assert open_list(path, phone_column="联系方式").phone_index == 1


def test_row_problems_are_reported_with_row_numbers(tmp_path: Path) -> None:
    text = 'n,phone\na,13800138000\n,\nb,"=HYPERLINK(""tel:1"")"\nc,\nd,13900139000\n,\n\n'
    rows = list(iter_rows(open_list(write(tmp_path, "l.csv", text, "utf-8"))))
    assert [(r.row_number, r.problem) for r in rows] == [
        (2, None),
        (3, EMPTY_ROW),
        (4, FORMULA),
        (5, NO_NUMBER),
        (6, None),
    ]  # trailing blank lines are not problems


def test_whole_file_rejections(tmp_path: Path) -> None:
    with pytest.raises(ListFileError, match="does not exist"):
        open_list(tmp_path / "missing.csv")
    with pytest.raises(ListFileError, match="is empty"):
        open_list(write(tmp_path, "e.csv", "", "utf-8"))
    binary = tmp_path / "b.csv"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(ListFileError, match="not a text table|neither UTF-8"):
        open_list(binary)
    with pytest.raises(ListFileError, match="no column named"):
        open_list(write(tmp_path, "h.csv", "phone\n1\n", "utf-8"), phone_column="tel")
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(ListFileError, match="Excel 97-2003"):
        open_list(old)
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"this is not a workbook")
    with pytest.raises(ListFileError, match="not a readable XLSX"):
        open_list(fake)


def test_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", "phone\n" + "13800138000\n" * 1000, "utf-8")
    with pytest.raises(ListFileError, match="over the limit of 0 MB"):
        open_list(path, limits=ListLimits(max_bytes=1000))


def test_xlsx_with_numbers_and_formulas(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["号码", "备注"])
    ws.append(["13800138000", "老客户"])
    ws.append([13900139000.0, None])
    ws.append(['=HYPERLINK("tel:13700137000")', "公式"])
    path = tmp_path / "l.xlsx"
    wb.save(path)
    assert list(iter_rows(open_list(path))) == [
        ListRow(2, "13800138000", {"备注": "老客户"}),
        ListRow(3, "13900139000", None),
        ListRow(4, '=HYPERLINK("tel:13700137000")', {"备注": "公式"}, FORMULA),
    ]


def test_draft_from_fields() -> None:
    d = draft_from_fields(
        {
            "branch": "GZ",
            "offer": "5G",
            "goal_rate": "８%",
            "start": "2026-12-01",
            "end": date(2026, 12, 7),
            "segments": "youth，family",
            "contacts": "１０００",
        },
        submitted_by="gz",
    )
    assert d.goal_conversion_rate == 0.08 and d.goal_activations == 0
    assert d.month == "2026-12" and d.segment_filters == ("youth", "family")
    assert d.requested_contacts == 1000 and d.window_end == date(2026, 12, 7)
    with pytest.raises(ValidationError, match="missing: offer, end, goal"):
        draft_from_fields({"branch": "GZ", "start": "2026-12-01"}, submitted_by="x")
    with pytest.raises(ValidationError, match="start must be a date"):
        draft_from_fields(
            {"branch": "GZ", "offer": "o", "goal": 1, "start": "12/01", "end": "2026-12-02"},
            submitted_by="x",
        )
    with pytest.raises(ValidationError, match="goal must be a number"):
        draft_from_fields(
            {
                "branch": "GZ",
                "offer": "o",
                "goal": "many",
                "start": "2026-12-01",
                "end": "2026-12-02",
            },
            submitted_by="x",
        )


def test_relative_dates() -> None:
    today = date(2026, 11, 30)
    d = draft_from_fields(
        {"branch": "GZ", "offer": "o", "goal": 1, "start": "today", "end": "today+6"},
        submitted_by="x",
        today=today,
    )
    assert (d.window_start, d.window_end, d.month) == (today, date(2026, 12, 6), "2026-11")
    with pytest.raises(ValidationError, match="or today, today"):
        draft_from_fields(
            {"branch": "GZ", "offer": "o", "goal": 1, "start": "today+x", "end": "today"},
            submitted_by="x",
            today=today,
        )
