"""Hourly rollups on both databases: the engine's sums equal the raw attempts', and the
migration that backfills them from existing attempts writes the same rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from test_dialing import live_campaign

from campaigns.dialing import run_slice
from campaigns.model import Phase
from campaigns.rollups import Rollup, hour_of
from campaigns.storage import orm
from dialer_adapters.simulator import SimulatedDialer
from flows import migrate
from flows.bootstrap import App


def _dialled(app: App) -> int:
    cid, start, end = live_campaign(app, active=120, agents=6)
    run_slice(
        uow=app.uow(),
        dialer=SimulatedDialer(seed=4),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=start,
        end=end,
    )
    return cid


def _expected(app: App, cid: int) -> dict[tuple[Any, ...], dict[str, float]]:
    """The sums, straight from the attempt rows."""
    sums: dict[tuple[Any, ...], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    with app.engine.connect() as conn:
        rows = conn.execute(select(orm.CallAttempt).where(orm.CallAttempt.campaign_id == cid)).all()
    for r in rows:
        hour = r.dialed_at.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
        s = sums[(hour, r.phase, r.disposition)]
        s["calls"] += 1
        s["attempts"] += r.counts_as_attempt
        s["talk_seconds"] += r.talk_seconds
        s["wrap_seconds"] += r.wrap_seconds
        s["bridged"] += r.bridged_at is not None
        if r.bridged_at is not None and r.answered_at is not None:
            s["bridged_in_time"] += (r.bridged_at - r.answered_at) <= timedelta(seconds=15)
    return sums


def _stored(app: App, cid: int) -> dict[tuple[Any, ...], dict[str, float]]:
    with app.uow() as uow:
        rows = uow.rollups.campaign_hours(cid)
    return {(r["hour"], r["phase"], r["disposition"]): r for r in rows}


def _same(expected: dict[tuple[Any, ...], dict[str, float]], stored: dict[Any, Any]) -> None:
    assert set(stored) == set(expected)
    for key, want in expected.items():
        got = stored[key]
        for name in ("calls", "attempts", "bridged", "bridged_in_time"):
            assert got[name] == want[name], (key, name)
        for name in ("talk_seconds", "wrap_seconds"):
            assert got[name] == pytest.approx(want[name]), (key, name)


def test_the_engine_rolls_up_every_finished_attempt_once(app: App) -> None:
    cid = _dialled(app)
    expected = _expected(app, cid)
    assert sum(s["calls"] for s in expected.values()) > 100
    assert sum(s["bridged"] for s in expected.values()) > 0
    _same(expected, _stored(app, cid))
    # Agent hours are recomputed when the slice ends: per agent, every call it took.
    with app.uow() as uow:
        agents = uow.rollups.agent_hours(cid)
    with app.engine.connect() as conn:
        per_agent = Counter(
            conn.scalars(
                select(orm.CallAttempt.agent_id).where(
                    orm.CallAttempt.campaign_id == cid, orm.CallAttempt.agent_id.is_not(None)
                )
            )
        )
    rolled: Counter[int] = Counter()
    for row in agents:
        rolled[row["agent_id"]] += row["calls"]
    assert rolled == per_agent and sum(per_agent.values()) > 0


def test_the_migration_backfills_the_same_rows(app: App) -> None:
    cid = _dialled(app)
    written = _stored(app, cid)
    with app.engine.begin() as conn:
        agents = conn.execute(select(orm.AgentHourly.__table__)).all()
    migrate.downgrade(app.engine, "0008")
    migrate.upgrade(app.engine)
    _same(_expected(app, cid), _stored(app, cid))
    assert set(_stored(app, cid)) == set(written)
    with app.engine.begin() as conn:
        again = sorted(conn.execute(select(orm.AgentHourly.__table__)).all())
    assert [r[:5] for r in again] == [r[:5] for r in sorted(agents)]
    assert [r[5:] for r in again] == [pytest.approx(r[5:]) for r in sorted(agents)]


def test_hours_are_utc_and_sums_add_up() -> None:
    r = Rollup()
    at = datetime(2026, 11, 25, 9, 59, 59, tzinfo=UTC)
    for i in range(3):
        r.add(
            campaign_id=1,
            phase=Phase.LIVE,
            disposition=orm.Disposition.SUCCESS,
            counts_as_attempt=True,
            dialed_at=(at + timedelta(seconds=i)).astimezone(ZoneInfo("Asia/Shanghai")),
            answered_at=at,
            bridged_at=at + timedelta(seconds=10 * i),
            talk_seconds=60.0,
        )
    rows = {row["hour"]: row for row in r.campaign_rows()}
    assert set(rows) == {hour_of(at), hour_of(at) + timedelta(hours=1)}
    late = rows[hour_of(at) + timedelta(hours=1)]
    assert (late["calls"], late["bridged"], late["bridged_in_time"]) == (2, 2, 1)
    assert late["wait_seconds"] == 30.0 and late["talk_seconds"] == 120.0
    assert rows[hour_of(at)]["calls"] == 1  # 09:59:59 UTC, given in Shanghai time
