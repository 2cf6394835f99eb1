"""The dashboard's read models on both databases: every figure equals a hand count of the raw
attempts, though the read models only read the rollups."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from builders import NOW, TODAY, Fates, dialled_campaign, seed_operator, stored_list, submitted
from sqlalchemy import select

from campaigns import reporting, services, views
from campaigns.errors import NotFoundError
from campaigns.model import CONNECTED, LIVE_CONTACT, PITCHED, RIGHT_PARTY, Disposition, Phase
from campaigns.operations import ShiftRecord
from campaigns.storage import orm
from flows import migrate
from flows.bootstrap import App

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def operator(app: App) -> Fates:
    return seed_operator(app, active=80, agents=4)


@pytest.fixture
def campaign(app: App, operator: Fates) -> int:
    return dialled_campaign(app, operator, live_days=2)


def _attempts(app: App, cid: int) -> list[Any]:
    with app.engine.connect() as conn:
        return conn.execute(
            select(orm.CallAttempt).where(
                orm.CallAttempt.campaign_id == cid, orm.CallAttempt.disposition.is_not(None)
            )
        ).all()


def _figures(rows: list[Any]) -> dict[str, int]:
    by = Counter(Disposition(r.disposition) for r in rows)
    return {
        "attempts": sum(n for d, n in by.items() if d is not Disposition.NETWORK_FAIL),
        "connected": sum(n for d, n in by.items() if d in CONNECTED),
        "live": sum(n for d, n in by.items() if d in LIVE_CONTACT),
        "right_party": sum(n for d, n in by.items() if d in RIGHT_PARTY),
        "successes": by[Disposition.SUCCESS],
        "abandoned": by[Disposition.ABANDONED],
        "complaints": by[Disposition.COMPLAINT],
    }


def _reached(rows: list[Any]) -> dict[str, int]:
    """Distinct contacts per funnel stage, as `views.FUNNEL_STAGES` means them."""
    stages = {
        "dialled": lambda r: r.counts_as_attempt,
        "connected": lambda r: r.disposition in CONNECTED,
        "right_party": lambda r: r.disposition in RIGHT_PARTY,
        "pitched": lambda r: r.disposition in PITCHED,
        "successes": lambda r: r.disposition == Disposition.SUCCESS,
    }
    return {k: len({r.contact_id for r in rows if test(r)}) for k, test in stages.items()}


def test_campaign_board_counts_what_the_attempts_count(app: App, campaign: int) -> None:
    rows = _attempts(app, campaign)
    assert len(rows) > 100
    board = views.campaign_board(uow=app.uow(), campaign_id=campaign)
    records = len(stored_list(app, campaign))  # every row of the list, kept or excluded
    stages = {s["stage"]: s["count"] for s in board["stages"]}
    assert stages == {"records": records} | _reached(rows)
    assert stages["successes"] > 0 and stages["right_party"] > stages["successes"]
    # Counts carry their rates: each stage against the records and against the stage before.
    connected = next(s for s in board["stages"] if s["stage"] == "connected")
    assert connected["of_previous"] == round(stages["connected"] / stages["dialled"], 4)
    f = board["funnel"]
    want = _figures(rows)
    assert (f["attempts"], f["connected"], f["right_party"], f["successes"]) == (
        want["attempts"],
        want["connected"],
        want["right_party"],
        want["successes"],
    )
    assert f["records_dialled"] == stages["dialled"]
    # Trial against live: each phase's attempts, and its own contacts reached.
    for phase in Phase:
        mine = [r for r in rows if r.phase == phase]
        assert board["phases"][phase.value]["attempts"] == _figures(mine)["attempts"]
        assert board["phases"][phase.value]["records_dialled"] == _reached(mine)["dialled"]
    assert board["phases"]["TRIAL"]["attempts"] > 0 and board["trial"]["sample"] == 10
    # The daily trend and the heat map in the branch's time zone.
    by_day: dict[Any, list[Any]] = defaultdict(list)
    by_cell: dict[Any, list[Any]] = defaultdict(list)
    for r in rows:
        local = r.dialed_at.astimezone(ZONE)
        by_day[local.date()].append(r)
        by_cell[(local.weekday(), local.hour)].append(r)
    assert [d["date"] for d in board["trend"]] == [TODAY, TODAY + timedelta(days=1)]
    for day in board["trend"]:
        assert {k: day[k] for k in want} == _figures(by_day[day["date"]])
    assert {(c["weekday_no"], c["hour"]): (c["attempts"], c["live"]) for c in board["heatmap"]} == {
        k: (_figures(v)["attempts"], _figures(v)["live"]) for k, v in by_cell.items()
    }
    dispositions = {d["disposition"]: d["attempts"] for d in board["dispositions"]}
    assert dispositions == dict(Counter(str(r.disposition) for r in rows))
    # One script all along: its figures are the campaign's.
    [script] = board["scripts"]
    assert script["version"] == 1 and script["attempts"] == want["attempts"]
    assert board["ledger"]["kept"] == board["contacts_by_state"].get("READY", 0) + sum(
        board["contacts_by_state"].get(s, 0) for s in ("DONE", "DIALING")
    )


def test_overview_tiles_compare_two_periods(app: App, operator: Fates, campaign: int) -> None:
    rows = _attempts(app, campaign)
    other = submitted(app, operator, branch_code="SZ", target_group="sz")
    now = NOW + timedelta(days=1, hours=10)  # the evening of the second calling day
    day2 = {r for r in rows if r.dialed_at.astimezone(ZONE).date() == TODAY + timedelta(days=1)}
    day1 = set(rows) - day2
    o = views.overview(uow=app.uow(), now=now, tz="Asia/Shanghai", days=1)
    assert o["current"] == (TODAY + timedelta(days=1),) * 2
    for key in ("attempts", "right_party", "successes", "complaints"):
        assert o["tiles"][key]["value"] == _figures(list(day2))[key], key
        assert o["tiles"][key]["previous"] == _figures(list(day1))[key], key
    total = _figures(rows)
    [row] = [r for r in o["campaigns"] if r["id"] == campaign]
    assert row["attempts"] == total["attempts"] and row["successes"] == total["successes"]
    assert row["conversion"] == round(total["successes"] / total["right_party"], 4)
    assert row["completion"] == round(total["successes"] / row["goal"], 4)
    branches = {b["branch"]: b for b in o["branches"]}
    assert branches["GZ"]["attempts"] == total["attempts"] and branches["SZ"]["attempts"] == 0
    assert {r["id"] for r in o["campaigns"]} == {campaign, other}
    # A branch user's overview holds its own branch only.
    mine = views.overview(uow=app.uow(), now=now, tz="Asia/Shanghai", branch="SZ")
    assert [r["id"] for r in mine["campaigns"]] == [other]
    assert mine["tiles"]["attempts"]["value"] == 0 and [b["branch"] for b in mine["branches"]] == [
        "SZ"
    ]
    pulse = views.campaign_pulse(uow=app.uow(), campaign_id=campaign, now=now)
    assert pulse["today"]["attempts"] == _figures(list(day2))["attempts"]
    assert pulse["total"]["successes"] == total["successes"]
    assert pulse["latest_hour"]["hour"] == max(r.dialed_at for r in rows).replace(
        minute=0, second=0, microsecond=0
    )


def test_other_branches_campaigns_do_not_exist_for_a_branch_user(app: App, campaign: int) -> None:
    for read in (
        lambda: views.campaign_board(uow=app.uow(), campaign_id=campaign, branch="SZ"),
        lambda: views.campaign_pulse(uow=app.uow(), campaign_id=campaign, now=NOW, branch="SZ"),
        lambda: views.report_board(uow=app.uow(), campaign_id=campaign, branch="SZ"),
    ):
        with pytest.raises(NotFoundError):
            read()
    assert views.campaign_board(uow=app.uow(), campaign_id=campaign, branch="GZ")["id"] == campaign
    assert views.campaign_choices(uow=app.uow(), branch="SZ") == []


def test_agent_board_with_shifts(app: App, campaign: int) -> None:
    rows = [r for r in _attempts(app, campaign) if r.agent_id is not None]
    with app.engine.connect() as conn:
        work_ids = dict(conn.execute(select(orm.Agent.id, orm.Agent.work_id)).all())
    calls = Counter(work_ids[r.agent_id] for r in rows)
    handle = defaultdict(float)
    for r in rows:
        handle[work_ids[r.agent_id]] += r.talk_seconds + r.wrap_seconds
    reporting.import_shifts(
        uow=app.uow(),
        shifts=[
            ShiftRecord(w, TODAY + timedelta(days=d), 8 * 3600, 7 * 3600, 3600)
            for w in sorted(work_ids.values())
            for d in (0, 1)
        ],
        now=NOW,
    )
    board = views.agent_board(
        uow=app.uow(), first=TODAY, last=TODAY + timedelta(days=1), tz="Asia/Shanghai"
    )
    got = {a["agent"]: a for a in board["agents"]}
    assert {w: a["calls"] for w, a in got.items() if a["calls"]} == dict(calls)
    assert set(got) == set(work_ids.values())  # agents on shift without calls are listed
    for w, a in got.items():
        assert a["utilisation"] == round((7 - 1) / 8, 4)  # (工作 − 示忙) / 排班
        assert a["occupancy"] == pytest.approx(round(handle[w] / (2 * 6 * 3600), 4), abs=1e-4)
    assert board["totals"]["calls"] == len(rows) and board["totals"]["utilisation"] == 0.75
    empty = views.agent_board(
        uow=app.uow(),
        first=TODAY - timedelta(days=9),
        last=TODAY - timedelta(days=8),
        tz="Asia/Shanghai",
    )
    assert empty["agents"] == [] and empty["totals"]["occupancy"] is None


def test_reach_refresh_is_idempotent_and_the_migration_backfills_it(
    app: App, campaign: int
) -> None:
    def stored() -> list[Any]:
        with app.engine.connect() as conn:
            return sorted(conn.execute(select(orm.ContactReach.__table__)).all())

    before = stored()
    assert before
    services.refresh_contact_reach(
        uow=app.uow(),
        campaign_id=campaign,
        start=NOW - timedelta(days=1),
        end=NOW + timedelta(days=3),
    )
    assert stored() == before
    migrate.downgrade(app.engine, "0011")
    migrate.upgrade(app.engine)
    assert stored() == before


def test_daily_reports_download_in_three_formats(app: App, campaign: int) -> None:
    report_id, _ = reporting.build_daily_report(
        uow=app.uow(), campaign_id=campaign, day=TODAY, now=NOW
    )
    board = views.report_board(uow=app.uow(), campaign_id=campaign)
    assert [r["id"] for r in board["daily"]] == [report_id] and board["summary"] is None
    files = {
        fmt: views.daily_report_file(uow=app.uow(), report_id=report_id, fmt=fmt)
        for fmt in views.REPORT_FORMATS
    }
    assert files["csv"][0] == f"campaign-{campaign}-{TODAY}.csv"
    assert files["csv"][1].startswith("\ufeff".encode()) and "外呼次数".encode() in files["csv"][1]
    assert files["xlsx"][1][:2] == b"PK"
    assert b"<table>" in files["html"][1]
    with pytest.raises(NotFoundError):
        views.daily_report_file(uow=app.uow(), report_id=report_id, fmt="csv", branch="SZ")
