"""Dispatch throughput on PostgreSQL: attempts per second with all database bookkeeping.

The simulator runs in simulated time (zero latency: no call takes wall-clock time), so the
wall time is our own cost: claiming contacts (FOR UPDATE SKIP LOCKED, leases), the rule-pack
check and dial history, attempt rows written before each call, dispositions, retry
scheduling and contact updates. It creates a fresh database (bench_dispatch_<random>),
migrates it, loads a synthetic operator and one LIVE campaign, and drops it at the end.

Printed:
  engine     campaigns.dialing.run_slice over --hours of simulated dialing with --agents
             agents (predictive); attempts/s = attempt rows written / wall time.
  simulator  the same dialing with no database at all (DialingSession alone), so the
             difference per attempt is the bookkeeping overhead.
  naive      a row-at-a-time baseline, first, on the same campaign: per attempt one
             transaction claims one contact FOR UPDATE SKIP LOCKED and writes its attempt
             row, the simulator places that one call, and a second transaction records the
             outcome and the retry; --naive-attempts of them.

    .venv/bin/python bench/dispatch.py                 # the issue's target: >= 2,000/s
    .venv/bin/python bench/dispatch.py --contacts 20000 --hours 1 --naive-attempts 500
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text, update

from campaigns import services
from campaigns.dialing import CallTracker, DialingSession, attempt_key, run_slice
from campaigns.intake import iter_rows, open_list
from campaigns.model import CampaignRequestDraft, CampaignState, ContactState, DialContact, Phase
from campaigns.pacing import Pacer, PacingConfig, PacingMode
from campaigns.ports import CallRequest
from campaigns.rules import RetryPolicy, decide_next_attempt
from campaigns.storage import orm
from campaigns.storage.db import create_database, drop_database
from dialer_adapters.simulator import SimulatedDialer
from flows import migrate
from flows.bootstrap import App, bootstrap
from flows.demo import seed, write_list
from flows.settings import Settings

ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
#: 09:00 Asia/Shanghai on a weekday, inside every pack's hours for +86 numbers.
START = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _campaign(app: App, list_path: Path, contacts: int, now: datetime) -> int:
    """A campaign submitted, approved, cleaned and LIVE (no trial)."""
    lf = open_list(list_path)
    result = services.submit_request(
        uow=app.uow(),
        draft=CampaignRequestDraft(
            branch_code="GZ",
            offer_code="5G_PLUS_59",
            target_group="bench",
            requested_contacts=contacts,
            goal_activations=100,
            window_start=START.date(),
            window_end=START.date() + timedelta(days=6),
            month=START.strftime("%Y-%m"),
            submitted_by="bench",
        ),
        rows=iter_rows(lf),
        file_digest=f"{lf.digest}-{uuid.uuid4().hex}",
        list_filename=list_path.name,
        now=now,
    )
    cid = result.campaign_id
    services.run_feasibility(uow=app.uow(), campaign_id=cid, now=now)
    services.decide(
        uow=app.uow(), campaign_id=cid, approve=True, actor="bench", now=now, note="bench"
    )
    services.clean(uow=app.uow(), campaign_id=cid, now=now)
    services.assign_script(uow=app.uow(), campaign_id=cid, now=now)
    for target in (CampaignState.TRIAL, CampaignState.TRIAL_REVIEW, CampaignState.LIVE):
        services.transition(uow=app.uow(), campaign_id=cid, target=target, actor="b", now=now)
    return cid


def _agents(app: App, n: int) -> list[tuple[int, str]]:
    with app.engine.begin() as conn:
        have = conn.scalar(select(func.count()).select_from(orm.Agent))
        if have < n:
            conn.execute(
                insert(orm.Agent),
                [
                    {"work_id": f"B{i:05d}", "name": f"bench {i}", "outbound_enabled": True}
                    for i in range(have, n)
                ],
            )
        rows = conn.execute(select(orm.Agent.id, orm.Agent.work_id).order_by(orm.Agent.id))
        return [(r.id, r.work_id) for r in rows][:n]


def _dialer(seed: int) -> SimulatedDialer:
    return SimulatedDialer(seed=seed)


def _config() -> PacingConfig:
    return PacingConfig(mode=PacingMode.PREDICTIVE, min_predictive_agents=1)


def engine_run(app: App, cid: int, agents: list[tuple[int, str]], hours: float) -> dict[str, Any]:
    """The delivered path: run_slice on PostgreSQL."""
    with app.engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(orm.CallAttempt))
    t0 = time.perf_counter()
    summary = run_slice(
        uow=app.uow(),
        dialer=_dialer(11),
        campaign_id=cid,
        phase=Phase.LIVE,
        start=START,
        end=START + timedelta(hours=hours),
        pacing=_config(),
        agents=agents,
    )
    wall = time.perf_counter() - t0
    with app.engine.connect() as conn:
        rows = conn.scalar(select(func.count()).select_from(orm.CallAttempt)) - before
    return {"wall": wall, "rows": rows, "summary": summary}


async def _simulate(numbers: list[str], agents: list[str], hours: float) -> tuple[int, float]:
    dialer = _dialer(11)
    session = DialingSession(
        dialer, Pacer(_config()), start=START, end=START + timedelta(hours=hours)
    )
    await dialer.start(agents=agents, at=START)
    queue = iter(numbers)
    calls = 0
    t0 = time.perf_counter()
    end = START + timedelta(hours=hours)
    while dialer.now() < end:
        now = dialer.now()
        plan = session.plan(now)
        batch: list[CallRequest] = []
        for i in range(plan.calls):
            n = next(queue, None)
            if n is None:
                break
            agent = plan.agents[i] if plan.agents else None
            batch.append(CallRequest(f"s{calls + i}", calls + i, n, 1, agent=agent))
        if batch:
            await session.originate(batch)
            calls += len(batch)
        await session.step(session.wake(now, end))
    await session.drain(end + timedelta(hours=1))
    wall = time.perf_counter() - t0
    await dialer.close()
    return calls, wall


def simulator_only(numbers: list[str], agents: list[str], hours: float) -> dict[str, Any]:
    """The same pacing and simulator with no database: the floor under the engine."""
    calls, wall = asyncio.run(_simulate(numbers, agents, hours))
    return {"wall": wall, "rows": calls}


def naive(app: App, cid: int, agent: tuple[int, str], attempts: int) -> dict[str, Any]:
    """Row at a time: claim one, write its attempt, place one call, record it, commit."""
    policy = RetryPolicy()
    dialer = _dialer(13)
    asyncio.run(dialer.start(agents=[agent[1]], at=START))
    done = 0
    t0 = time.perf_counter()
    with app.session_factory() as session:
        while done < attempts:
            now = dialer.now()
            row = session.execute(
                select(orm.Contact)
                .where(
                    orm.Contact.campaign_id == cid,
                    orm.Contact.state == ContactState.READY,
                )
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if row is None:
                break
            contact = DialContact(
                row.id,
                row.e164 or "",
                row.attempts,
                row.last_disposition,
                row.disposition_streak,
                False,
            )
            key = attempt_key(cid, contact) + f"n{done}"
            row.state = ContactState.DIALING
            session.add(
                orm.CallAttempt(
                    idempotency_key=key,
                    campaign_id=cid,
                    contact_id=row.id,
                    e164=row.e164,
                    agent_id=agent[0],
                    attempt_no=row.attempts + 1,
                    phase=Phase.LIVE,
                    dialed_at=now,
                    status=orm.ATTEMPT_DIALLED,
                )
            )
            session.commit()
            outcome = asyncio.run(_one_call(dialer, key, row.id, row.e164, agent[1]))
            step = decide_next_attempt(
                outcome["disposition"],
                attempts_before=row.attempts,
                previous=row.last_disposition,
                streak_before=row.disposition_streak,
                policy=policy,
                now=dialer.now(),
            )
            attempt = session.scalars(
                select(orm.CallAttempt).where(orm.CallAttempt.idempotency_key == key)
            ).one()
            attempt.status = orm.ATTEMPT_ENDED
            attempt.disposition = outcome["disposition"]
            attempt.ended_at = dialer.now()
            row.attempts = step.attempts
            row.last_disposition = outcome["disposition"]
            row.disposition_streak = step.streak
            row.state = ContactState.DONE if step.final else ContactState.READY
            row.next_attempt_at = step.due_at
            session.commit()
            done += 1
    return {"wall": time.perf_counter() - t0, "rows": done}


async def _one_call(dialer: SimulatedDialer, key: str, cid: int, e164: str, agent: str) -> Any:
    tracker = CallTracker()
    request = CallRequest(key, cid, e164, 1)
    await dialer.originate([request])
    tracker.originated(request, dialer.now())
    while True:
        for event in await dialer.receive(until=dialer.now() + timedelta(minutes=10)):
            outcome = tracker.observe(event)
            if outcome is not None:
                return {"disposition": outcome.disposition}


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print attempts/s, overhead and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=200_000)
    parser.add_argument("--contacts", type=int, default=100_000, help="rows in the list")
    parser.add_argument(
        "--agents", type=int, default=1000, help="enough to keep the dispatcher saturated"
    )
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours dialed")
    parser.add_argument("--naive-attempts", type=int, default=2_000)
    parser.add_argument("--target", type=float, default=2_000.0, help="attempts/s to reach")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    name = f"bench_dispatch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    url = create_database(admin, name)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = bootstrap(Settings(database_url=url, data_dir=Path(tmp)))
            migrate.upgrade(app.engine)
            now = START - timedelta(days=1)
            print(f"database {name}: {args.subscribers:,} subscribers, list of {args.contacts:,}")
            op = seed(app, subscribers=args.subscribers, now=now, webhook=None)
            with app.engine.begin() as conn:  # a list of any size fits the branch's quota
                conn.execute(update(orm.Branch).values(monthly_quota=None))
            path = write_list(app, op, args.contacts)
            cid = _campaign(app, path, args.contacts, now)
            agents = _agents(app, args.agents)
            with app.engine.connect() as conn:
                numbers = list(
                    conn.scalars(
                        select(orm.Contact.e164).where(
                            orm.Contact.campaign_id == cid,
                            orm.Contact.state == ContactState.READY,
                        )
                    )
                )
            print(f"{len(numbers):,} callable contacts; {len(agents)} agents; predictive")

            # The baseline goes first on the same campaign; the engine then takes the
            # contacts it left, retries included.
            slow = naive(app, cid, agents[0], args.naive_attempts)
            # Fresh statistics, as autovacuum would leave them between two runs.
            with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            fast = engine_run(app, cid, agents, args.hours)
            sim = simulator_only(numbers, [w for _, w in agents], args.hours)
            app.engine.dispose()
    finally:
        if not args.keep_db:
            drop_database(admin, name)
        admin.dispose()

    def rate(r: dict[str, Any]) -> float:
        return r["rows"] / r["wall"] if r["wall"] else 0.0

    def per(r: dict[str, Any]) -> float:
        return r["wall"] / r["rows"] * 1e6 if r["rows"] else 0.0

    s = fast["summary"]
    print(
        f"\nengine     {fast['rows']:>9,} attempts in {fast['wall']:7.2f} s = "
        f"{rate(fast):8,.0f} attempts/s  ({per(fast):6.0f} µs/attempt; "
        f"occupancy {s.occupancy:.1%}, abandon {s.abandon_rate:.2%})"
    )
    print(
        f"simulator  {sim['rows']:>9,} calls    in {sim['wall']:7.2f} s = "
        f"{rate(sim):8,.0f} calls/s     ({per(sim):6.0f} µs/call, no database)"
    )
    print(
        f"naive      {slow['rows']:>9,} attempts in {slow['wall']:7.2f} s = "
        f"{rate(slow):8,.0f} attempts/s  ({per(slow):6.0f} µs/attempt)"
    )
    overhead = per(fast) - per(sim)
    print(
        f"\nbookkeeping overhead per attempt: {overhead:,.0f} µs "
        f"(engine {per(fast):,.0f} µs - simulator {per(sim):,.0f} µs)"
    )
    print(f"engine / naive: {rate(fast) / rate(slow):.1f}x")
    ok = rate(fast) >= args.target
    print(f"target >= {args.target:,.0f} attempts/s: {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
