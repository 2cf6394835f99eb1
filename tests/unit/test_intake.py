"""List files: encodings, delimiters, header detection and whole-file rejections."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaigns.errors import ListFileError
from campaigns.intake import iter_rows, open_list


def write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    path = write(
        tmp_path, "l.csv", "姓名,手机号\n张三,13800138000\n李四,１３９００１３９０００\n", encoding
    )
    lf = open_list(path)
    assert lf.header == ("姓名", "手机号")
    rows = list(iter_rows(lf))
    assert rows == [
        (2, "13800138000", {"姓名": "张三"}),
        (3, "１３９００１３９０００", {"姓名": "李四"}),
    ]


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_delimiters(tmp_path: Path, sep: str) -> None:
    path = write(tmp_path, "l.csv", f"name{sep}phone\na{sep}13800138000\n", "utf-8")
    assert list(iter_rows(open_list(path))) == [(2, "13800138000", {"name": "a"})]


def test_explicit_phone_column_and_blank_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "l.csv", "a,联系方式\nx,13800138000\n,\ny,13900139000\n", "utf-8")
    with pytest.raises(ListFileError, match="no phone column"):
        open_list(path)
    rows = list(iter_rows(open_list(path, phone_column="联系方式")))
    assert [r[0] for r in rows] == [2, 4]


def test_whole_file_rejections(tmp_path: Path) -> None:
    with pytest.raises(ListFileError, match="does not exist"):
        open_list(tmp_path / "missing.csv")
    with pytest.raises(ListFileError, match="is empty"):
        open_list(write(tmp_path, "e.csv", "", "utf-8"))
    binary = tmp_path / "b.csv"
    binary.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(ListFileError):
        open_list(binary)
    with pytest.raises(ListFileError, match="no column named"):
        open_list(write(tmp_path, "h.csv", "phone\n1\n", "utf-8"), phone_column="tel")


def test_xlsx(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["号码", "备注"])
    ws.append(["13800138000", "老客户"])
    ws.append([13900139000, None])
    path = tmp_path / "l.xlsx"
    wb.save(path)
    rows = list(iter_rows(open_list(path)))
    assert rows == [(2, "13800138000", {"备注": "老客户"}), (3, "13900139000", None)]
