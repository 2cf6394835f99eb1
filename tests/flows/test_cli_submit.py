"""A branch submits a GBK XLSX/CSV export from the CLI and gets the feasibility report."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from builders import Fates, outbound, real_today, seed_operator

from campaigns import services
from campaigns.model import CampaignState
from flows.bootstrap import App

pytestmark = pytest.mark.flow


def _messy_rows(fates: Fates) -> list[list[object]]:
    a = fates.active
    return [
        [1, f"+86 {a[0][3:6]} {a[0][6:10]} {a[0][10:]}", "张三"],
        [2, f"{a[1][3:6]}-{a[1][6:10]}-{a[1][10:]}", "李四"],
        [3, "0086" + a[2][3:], "王五"],
        [4, a[3][3:].translate(str.maketrans("0123456789", "０１２３４５６７８９")), "赵六"],
        [5, "'" + a[4][3:], "钱七"],
        [6, int(a[5][3:]), "孙八"],  # stored as a number by Excel
        [7, a[0][3:], "张三 again"],
        [8, "10086", "客服"],
        [9, fates.suspended[3:], "停机"],
        [10, fates.holds_exclusive[3:], "互斥"],
        *[[11 + i, n[3:], f"客户{i}"] for i, n in enumerate(a[6:30])],
    ]


def _request(tmp_path: Path) -> Path:
    today = real_today()
    path = tmp_path / "request.yaml"
    path.write_text(
        "branch: GZ\noffer: 5G_PLUS_59\ntarget: 4G 用户 / 4G users\ngoal: 1\n"
        f"start: {today}\nend: {today + timedelta(days=4)}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_cli_submission_shows_feasibility(flow_app: App, tmp_path: Path, kind: str) -> None:
    fates = seed_operator(flow_app, active=40)
    rows = _messy_rows(fates)
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        assert ws is not None
        ws.append(["序号", "手机号码", "姓名"])
        for row in rows:
            ws.append(row)
        path = tmp_path / "广州分公司名单.xlsx"
        wb.save(path)
    else:
        path = tmp_path / "广州分公司名单.csv"
        text = "序号,手机号码,姓名\r\n" + "".join(f"{a},{b},{c}\r\n" for a, b, c in rows)
        path.write_bytes(text.encode("gb18030"))
    done = outbound(flow_app, "submit", "--request", str(_request(tmp_path)), str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "34 rows, 33 valid numbers, 1 rows with problems" in out
    assert "row 9: '10086' — SHORT_CODE" in out
    # 30 callable x 35% RPC x 8% conversion = 0.8 expected activations: short of 1.
    assert "Feasibility of campaign 1: AT_RISK" in out
    assert "expected 0.8 activations fall short of the goal of 1" in out
    assert "supply about 6 more callable contacts" in out
    assert "callable after cleaning (preview)" in out and "DUPLICATE" in out
    assert "outbound approve 1" in out
    c = services.get_campaign(uow=flow_app.uow(), campaign_id=1)
    assert c.state is CampaignState.FEASIBILITY and c.feasibility is not None
    assert c.feasibility["cleaning_preview"] == {
        "kept": 30,
        "DUPLICATE": 1,
        "HOLDS_EXCLUSIVE": 1,
        "SHORT_CODE": 1,
        "SUBSCRIBER_INACTIVE": 1,
    }
    # 5 agents x 11 h x 5 days x 30 attempts an agent-hour
    assert c.feasibility["capacity_attempts"] == 8_250
    done = outbound(flow_app, "approve", "1", "--by", "reviewer")
    assert done.returncode == 0 and "campaign 1 is APPROVED" in done.stdout
