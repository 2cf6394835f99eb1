"""Final summary, operations report, projection and exports against a hand-computed fixture."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from campaigns import exports
from campaigns.feedback import projected_finish
from campaigns.model import AttemptFact, CallingHours, CampaignRecord, CampaignState, Phase
from campaigns.model import Disposition as D
from campaigns.operations import (
    PeriodKind,
    RatingCounts,
    ShiftRecord,
    ShiftTotals,
    operations_report,
    period_of,
)
from campaigns.phone import mask_numbers
from campaigns.summary import Cell, final_summary, recommendations, script_version_at

TRIAL_AT = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
LIVE_AT = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)  # 19:00 in Shanghai
V2_FROM = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
PERIODS = [(datetime(2026, 11, 24, tzinfo=UTC), 1), (V2_FROM, 2)]


def fact(
    n: int,
    contact: int,
    disposition: D,
    *,
    phase: Phase = Phase.LIVE,
    agent: str | None = None,
    segment: str | None = "family",
    wait: float | None = None,
    talk: float = 0.0,
    note: str | None = None,
) -> AttemptFact:
    base = TRIAL_AT if phase is Phase.TRIAL else LIVE_AT
    dialed = base + timedelta(minutes=n)
    answered = dialed + timedelta(seconds=10) if wait is not None else None
    return AttemptFact(
        campaign_id=1,
        contact_id=contact,
        phase=phase,
        disposition=disposition,
        dialed_at=dialed,
        answered_at=answered,
        bridged_at=answered + timedelta(seconds=wait) if answered and wait is not None else None,
        talk_seconds=talk,
        agent=agent,
        segment=segment,
        note=note,
        offer="5G_PLUS_59",
    )


T = Phase.TRIAL
FACTS = [
    fact(1, 1, D.NO_ANSWER, phase=T, segment="youth"),
    fact(2, 1, D.REFUSED, phase=T, agent="A1", segment="youth", wait=8, talk=60, note="资费太贵"),
    fact(3, 2, D.SUCCESS, phase=T, agent="A1", segment="youth", wait=5, talk=120),
    fact(4, 3, D.NETWORK_FAIL, phase=T, segment="youth"),
    fact(5, 4, D.SUCCESS, agent="A2", wait=20, talk=100),
    fact(6, 5, D.REFUSED, agent="A2", wait=10, talk=40, note="资费太贵"),
    fact(7, 6, D.REFUSED, agent="A2", wait=15, talk=30, note="暂不需要"),
    fact(8, 7, D.CALLBACK, agent="A2", wait=2, talk=50, note="问合约期 asks contract term"),
    fact(9, 8, D.MACHINE),
    fact(10, 9, D.ABANDONED),
    fact(11, 10, D.NOT_ACCOUNT_HOLDER, agent="A2", wait=3, talk=10),
    fact(12, 11, D.COMPLAINT, agent="A2", segment=None, wait=5, talk=22),
]


def campaign(goal: int = 5) -> CampaignRecord:
    return CampaignRecord(
        id=1,
        name="GZ 5G",
        state=CampaignState.COMPLETED,
        request_id=1,
        branch_id=1,
        branch_code="GZ",
        branch_timezone="Asia/Shanghai",
        branch_region="CN",
        webhook_url=None,
        offer_id=1,
        offer_code="5G_PLUS_59",
        goal_activations=goal,
        requested_contacts=20,
        window_start=date(2026, 11, 25),
        window_end=date(2026, 11, 30),
        month="2026-11",
        script_id=2,
        calling_hours=CallingHours(),
        dialed_until=None,
        feasibility=None,
        cleaning_summary=None,
    )


def summary() -> dict[str, object]:
    return final_summary(
        campaign=campaign(),
        facts=FACTS,
        valid_contacts=20,
        script_periods=PERIODS,
        ended_at=LIVE_AT,
    )


def cells(rows: object) -> dict[str, tuple[int, int, int, int, int]]:
    assert isinstance(rows, list)
    return {
        r["key"]: (r["attempts"], r["live"], r["right_party"], r["successes"], r["records"])
        for r in rows
    }


def test_final_summary_totals_goal_and_activation() -> None:
    s = summary()
    # 11 attempts (the network failure is not one), 9 live, 7 RPC, 2 successes, 10 records.
    assert cells([s["total"]]) == {"all": (11, 9, 7, 2, 10)}
    assert s["goal"] == {
        "goal_activations": 5,
        "successes": 2,
        "met": False,
        "completion": 0.4,
        "shortfall": 3,
    }
    assert s["activation"] == {
        "successes": 2,
        "valid_list": 20,
        "right_party": 7,
        "rate_vs_valid_list": 0.1,
        "rate_vs_rpc": 0.2857,
    }


def test_final_summary_breakdowns() -> None:
    s = summary()
    assert cells(s["by_phase"]) == {"LIVE": (8, 7, 5, 1, 8), "TRIAL": (3, 2, 2, 1, 2)}
    assert cells(s["by_hour"]) == {"09:00": (3, 2, 2, 1, 2), "19:00": (8, 7, 5, 1, 8)}
    assert cells(s["by_script_version"]) == {"v1": (3, 2, 2, 1, 2), "v2": (8, 7, 5, 1, 8)}
    assert cells(s["by_segment"]) == {
        "(none)": (1, 1, 1, 0, 1),
        "family": (7, 6, 4, 1, 7),
        "youth": (3, 2, 2, 1, 2),
    }
    assert cells(s["by_agent"]) == {
        "(no agent)": (3, 1, 0, 0, 3),
        "A1": (2, 2, 2, 1, 2),
        "A2": (6, 6, 5, 1, 6),
    }
    live = next(r for r in s["by_phase"] if r["key"] == "LIVE")  # type: ignore[attr-defined]
    assert (live["contact_rate"], live["conversion_per_rpc"]) == (0.875, 0.2)
    assert live["conversion_per_record"] == 0.125


def test_hot_spots_split_refusals_from_questions() -> None:
    spots = summary()["hot_spots"]
    assert spots == {
        "refusal_reasons": [
            {"reason": "资费太贵", "count": 2, "share": 0.6667},
            {"reason": "暂不需要", "count": 1, "share": 0.3333},
        ],
        "questions": [
            {"question": "问合约期 asks contract term", "disposition": "CALLBACK", "count": 1}
        ],
    }


def test_script_version_follows_assignments() -> None:
    assert script_version_at(PERIODS, V2_FROM - timedelta(seconds=1)) == 1
    assert script_version_at(PERIODS, V2_FROM) == 2
    assert script_version_at(PERIODS, datetime(2026, 1, 1, tzinfo=UTC)) == 1
    assert script_version_at([], V2_FROM) is None


def test_recommendations_name_the_figures() -> None:
    # 18:00-20:00: 100 attempts, 40 live (40%); the other 200 attempts have 40 live (20%).
    by_hour = [
        Cell("09:00", 100, 20, 10, 1, 100),
        Cell("12:00", 100, 20, 10, 1, 100),
        Cell("18:00", 50, 20, 10, 1, 50),
        Cell("19:00", 50, 20, 10, 1, 50),
    ]
    out = recommendations(
        by_hour=by_hour,
        by_segment=[Cell("family", 100, 50, 40, 8, 90), Cell("youth", 100, 50, 40, 2, 90)],
        by_script=[Cell("v1", 100, 50, 40, 4, 90)],
        by_agent=[Cell("A1", 100, 50, 40, 4, 90), Cell("A2", 100, 50, 40, 3, 90)],
        by_phase=[Cell("TRIAL", 50, 25, 20, 4, 50), Cell("LIVE", 300, 100, 80, 8, 280)],
        refusals=[{"reason": "资费太贵", "count": 30, "share": 0.5}],
        goal=20,
        successes=10,
        records=200,
    )
    assert out[0].startswith("Contact rate was 2.0× higher 18:00–20:00")
    assert "(40% vs 20%)" in out[0]
    assert out[1].startswith("Segment family converted 20.0% of RPC against 5.0% for youth")
    # One script version, and agents 10% vs 7.5% of 40 RPC (could be chance): nothing to say.
    assert not any(r.startswith(("Script", "Agent")) for r in out)
    assert any(
        "Live conversion (10.0% of RPC) fell well below the trial's (20.0%)" in r for r in out
    )
    assert any(r.startswith("'资费太贵' was 50% of refusals") for r in out)
    assert any(
        "Goal missed by 10 activations; at 5.0% per record" in r and "200 more" in r for r in out
    )


def test_operations_report_figures() -> None:
    period = period_of(PeriodKind.DAY, date(2026, 11, 25))
    r = operations_report(period=period, timezone="Asia/Shanghai", facts=FACTS)
    t = r["totals"]
    assert (t["seizures"], t["connects"], t["connect_rate"]) == (12, 10, 0.8333)
    assert (t["lost_calls"], t["lost_network"], t["lost_abandoned"]) == (2, 1, 1)
    # Bridged waits 8, 5, 20, 10, 15, 2, 3, 5: seven within 15 s, mean 68 / 8.
    assert (t["talks"], t["answered_15s"], t["answered_15s_rate"]) == (8, 7, 0.875)
    assert t["avg_wait_seconds"] == 8.5
    assert t["avg_talk_seconds"] == 54.0  # 432 s over 8 talks
    assert t["conversions"] == 2
    assert t["transfers_out"] is None and t["satisfaction"] is None
    assert r["per_agent"] == [
        {
            "agent": "A1",
            "calls": 2,
            "talk_seconds": 180.0,
            "avg_talk_seconds": 90.0,
            "conversions": 1,
            "utilisation": None,
        },
        {
            "agent": "A2",
            "calls": 6,
            "talk_seconds": 252.0,
            "avg_talk_seconds": 42.0,
            "conversions": 1,
            "utilisation": None,
        },
    ]
    assert r["by_offer"][0]["offer"] == "5G_PLUS_59" and r["by_offer"][0]["seizures"] == 12
    assert r["label"] == "运营日报 daily 2026-11-25"
    assert "not recorded" in r["definitions"]["satisfaction"]


def test_periods() -> None:
    week = period_of(PeriodKind.WEEK, date(2026, 11, 25))  # a Wednesday
    assert (week.first, week.last) == (date(2026, 11, 23), date(2026, 11, 29))
    month = period_of(PeriodKind.MONTH, date(2026, 12, 31))
    assert (month.first, month.last) == (date(2026, 12, 1), date(2026, 12, 31))
    feb = period_of(PeriodKind.MONTH, date(2028, 2, 10))
    assert feb.last == date(2028, 2, 29)
    start, end = week.bounds("Asia/Shanghai")
    assert start == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7)
    assert week.label == "运营周报 weekly 2026-11-23 – 2026-11-29"


def test_projected_finish() -> None:
    # 6 successes in 3 days (2/day), 14 to go: 7 more days.
    p = projected_finish(
        successes=6,
        goal=20,
        first_day=date(2026, 11, 1),
        day=date(2026, 11, 3),
        window_end=date(2026, 11, 9),
    )
    assert p == {"pace_per_day": 2.0, "remaining": 14, "finish": "2026-11-10", "on_track": False}
    # 7 in 3 days: ceil(13 / 2.33) = 6 days.
    p = projected_finish(successes=7, goal=20, first_day=date(2026, 11, 1), day=date(2026, 11, 3))
    assert p["finish"] == "2026-11-09" and p["on_track"]
    assert (
        projected_finish(successes=0, goal=5, first_day=date(2026, 11, 1), day=date(2026, 11, 1))[
            "finish"
        ]
        is None
    )
    done = projected_finish(successes=9, goal=5, first_day=date(2026, 11, 1), day=date(2026, 11, 4))
    assert done["finish"] == "2026-11-04" and done["remaining"] == 0


def test_mask_numbers_in_free_text() -> None:
    note = "客户说打 13800138000 或 +86 13912345678，也可 +14155550123；订单 20261125"
    assert (
        mask_numbers(note) == "客户说打 138****8000 或 139****5678，也可 141****0123；订单 20261125"
    )


def test_exports_are_excel_friendly_and_self_contained(tmp_path: Path) -> None:
    payload = summary() | {"language": "zh-CN"}
    tables = exports.summary_tables(payload, chinese=True)
    json_path, csv_path, xlsx_path, html_path = exports.write_all(
        payload, tables, tmp_path, "s", title="总结"
    )
    assert json.loads(json_path.read_text(encoding="utf-8"))["goal"]["successes"] == 2
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert ["办理成功 successes", "2"] in rows
    assert any(r[:2] == ["资费太贵", "2"] for r in rows)
    with zipfile.ZipFile(xlsx_path) as z:
        assert any(name.startswith("xl/worksheets/") for name in z.namelist())
    from openpyxl import load_workbook

    book = load_workbook(xlsx_path)
    assert len(book.sheetnames) == len(tables)
    page = html_path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "src=" not in page and "href=" not in page  # nothing to fetch
    assert exports.label("attempts", True) == "外呼次数 attempts"
    assert exports.label("attempts", False) == "attempts"
    assert exports.cell("satisfaction", None) == "not recorded 未记录"
    assert exports.cell("connect_rate", 0.8333) == "83.3%"


def test_recommendations_need_a_gap_that_is_not_chance() -> None:
    def advice(a: Cell, b: Cell) -> list[str]:
        return recommendations(
            by_hour=[],
            by_segment=[a, b],
            by_script=[],
            by_agent=[Cell("(no agent)", 500, 10, 0, 0, 500)],
            by_phase=[],
            refusals=[],
            goal=1,
            successes=1,
            records=1,
        )

    # 9.2% of 3,026 against 7.5% of 2,998: 1.23× and z = 2.4.
    big = advice(Cell("business", 0, 0, 3026, 278, 0), Cell("senior", 0, 0, 2998, 224, 0))
    assert big[0].startswith("Segment business converted 9.2% of RPC against 7.5% for senior")
    # The same rates on 300 RPC each: z = 0.8, so it may be chance.
    small = advice(Cell("business", 0, 0, 300, 28, 0), Cell("senior", 0, 0, 300, 22, 0))
    assert small[0].startswith("No hour, segment, script version or agent stood out")


def test_effective_work_hour_use_from_shifts() -> None:
    shifts = {
        "A1": ShiftTotals(scheduled_seconds=28_800, work_seconds=27_000, busy_seconds=1_800),
        "A3": ShiftTotals(scheduled_seconds=28_800, work_seconds=28_800, busy_seconds=0),
    }
    period = period_of(PeriodKind.DAY, date(2026, 11, 25))
    r = operations_report(period=period, timezone="Asia/Shanghai", facts=FACTS, shifts=shifts)
    use = {a["agent"]: (a["calls"], a["utilisation"]) for a in r["per_agent"]}
    # A1: (27,000 − 1,800) / 28,800; A2 has no shift; A3 had a shift and no calls.
    assert use == {"A1": (2, 0.875), "A2": (6, None), "A3": (0, 1.0)}
    assert r["totals"]["utilisation"] == 0.9375  # 54,000 / 57,600
    none = operations_report(period=period, timezone="Asia/Shanghai", facts=FACTS)
    assert none["totals"]["utilisation"] is None
    assert ShiftTotals(0, 10, 0).utilisation is None


def test_shift_records_that_cannot_be_right() -> None:
    day = date(2026, 11, 25)
    assert ShiftRecord("A1", day, 28_800, 27_000, 1_800).problem() is None
    assert ShiftRecord("A1", day, 28_800, 1_000, 1_800).problem() == (
        "busy-flagged time exceeds the time signed in"
    )
    assert ShiftRecord("A1", day, -1, 0, 0).problem() == "times cannot be negative"


def test_satisfaction_where_ratings_were_recorded() -> None:
    period = period_of(PeriodKind.DAY, date(2026, 11, 25))
    r = operations_report(
        period=period, timezone="Asia/Shanghai", facts=FACTS, ratings=RatingCounts(10, 8, 6)
    )
    t = r["totals"]
    # 6 satisfied of 8 ratings given; 8 of 10 surveyed customers answered.
    assert (t["ratings_requested"], t["ratings_given"]) == (10, 8)
    assert (t["satisfied"], t["dissatisfied"]) == (6, 2)
    assert (t["satisfaction"], t["participation"]) == (0.75, 0.8)
    assert RatingCounts(3, 0, 0).figures()["satisfaction"] is None
    assert RatingCounts(3, 0, 0).figures()["participation"] == 0.0
