"""The dashboard's pages against a year of calls on PostgreSQL: each page's data in < 1 s.

It creates a fresh database (bench_dashboard_<random>), migrates it to 0008, generates
inside PostgreSQL (generate_series) `--campaigns` campaigns spread over a year with
`--contacts` contacts and `--attempts` finished call attempts between them, then migrates
to head, so the rollups (campaign hours, agent hours, the contacts' funnel stages) are
built by the same migrations that build them on a real database; then daily reports,
agents' shifts and requests waiting for approval. It drops the database at the end
(--keep-db keeps it; --db reuses a kept one).

Each page's data is what the page asks the read models in campaigns.views for, with the
page's defaults, timed end to end (a fresh unit of work each time, nothing cached by us):

  overview   views.overview (staff: every branch), 7 days against the 7 before
  campaign   campaign_choices, campaign_board, campaign_pulse, campaign_state and
             dial_readiness of a LIVE campaign with READY contacts
  agents     views.agent_board over the last 7 days
  approvals  views.pending_approvals
  reports    campaign_choices, report_board, the latest daily report as CSV, XLSX, HTML
  submit     views.catalogue

Every page runs --runs times (after one warm-up run); the median is printed against the
target, and the exit code is 1 when a median misses it.

    .venv/bin/python bench/dashboard.py                       # the issue's sizes
    .venv/bin/python bench/dashboard.py --attempts 200000 --contacts 20000 --campaigns 50
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, Table, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from campaigns import views  # noqa: E402
from campaigns.feedback import build_funnel  # noqa: E402
from campaigns.model import LIVE_CONTACT, CampaignState, Disposition  # noqa: E402
from campaigns.storage import orm  # noqa: E402
from campaigns.storage.bulk import load_reference  # noqa: E402
from campaigns.storage.db import create_database, drop_database  # noqa: E402
from flows import migrate  # noqa: E402
from flows.bootstrap import bootstrap  # noqa: E402
from flows.settings import Settings  # noqa: E402

ADMIN_URL = os.environ.get(
    "OUTBOUND_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # 14:00 in Asia/Shanghai
TZ = "Asia/Shanghai"
YEAR = 365
WINDOW = 28  # days each campaign dials
TARGET = 1.0  # seconds, median, per page

#: Dispositions and their share of finished attempts (a plausible outbound mix).
MIX: tuple[tuple[Disposition, float], ...] = (
    (Disposition.NO_ANSWER, 0.35),
    (Disposition.BUSY, 0.08),
    (Disposition.MACHINE, 0.07),
    (Disposition.UNREACHABLE, 0.06),
    (Disposition.INVALID, 0.01),
    (Disposition.SUSPENDED, 0.01),
    (Disposition.REJECTED, 0.02),
    (Disposition.NETWORK_FAIL, 0.01),
    (Disposition.ABANDONED, 0.01),
    (Disposition.REFUSED, 0.18),
    (Disposition.CALLBACK, 0.05),
    (Disposition.NOT_ACCOUNT_HOLDER, 0.05),
    (Disposition.WRONG_NUMBER, 0.01),
    (Disposition.DNC_REQUEST, 0.005),
    (Disposition.INELIGIBLE, 0.02),
    (Disposition.HUNG_UP, 0.03),
    (Disposition.COMPLAINT, 0.003),
    (Disposition.SUCCESS, 0.032),
)
#: Handled by an agent (bridged): live contacts but the abandoned ones.
HANDLED = LIVE_CONTACT - {Disposition.ABANDONED}


def _disposition_sql(r: str) -> str:
    """A CASE that draws a disposition from MIX with the uniform value `r`."""
    parts, edge = [], 0.0
    for d, share in MIX[:-1]:
        edge += share
        parts.append(f"WHEN {r} < {edge:.4f} THEN '{d.value}'")
    return f"CASE {' '.join(parts)} ELSE '{MIX[-1][0].value}' END"


# --------------------------------------------------------------------------- data


def _campaign_states(n: int) -> list[CampaignState]:
    """Most campaigns of the year are over; the latest few dial, one is paused."""
    states = [CampaignState.COMPLETED] * n
    for i in range(max(0, n - 6), n):
        states[i] = CampaignState.LIVE
    if n >= 2:
        states[n - 2] = CampaignState.PAUSED
    return states


def _starts(n: int) -> list[date]:
    """Window starts spread over the year, the last ending on NOW's day."""
    last = NOW.date() - timedelta(days=WINDOW - 1)
    first = last - timedelta(days=YEAR - WINDOW)
    step = (last - first).days / max(1, n - 1)
    return [first + timedelta(days=round(i * step)) for i in range(n)]


def generate(
    conn: Connection, *, campaigns: int, contacts: int, attempts: int, agents: int
) -> None:
    """Branches, offers, agents, campaigns with their contacts and finished attempts."""
    load_reference(conn, now=NOW, agents=agents, quota=None)
    branches = [i for (i,) in conn.execute(select(orm.Branch.id).order_by(orm.Branch.id))]
    offer = conn.scalar(select(orm.Service.id).where(orm.Service.code == "5G_PLUS_59"))
    script = conn.scalar(select(orm.Script.id).where(orm.Script.offer_id == offer))
    states, starts = _campaign_states(campaigns), _starts(campaigns)
    per_contacts, per_attempts = contacts // campaigns, attempts // campaigns
    kept = int(per_contacts * 0.85)
    ledger = {
        "kept": kept,
        "excluded": per_contacts - kept,
        "first": {"SUBSCRIBER_INACTIVE": (per_contacts - kept) // 2, "DUPLICATE": 1},
        "alone": {"SUBSCRIBER_INACTIVE": (per_contacts - kept) // 2, "DUPLICATE": 1},
        "rules": {"SUBSCRIBER_INACTIVE": "SUBSCRIBER_INACTIVE@1", "DUPLICATE": "DUPLICATE@1"},
    }
    for i in range(campaigns):
        start = starts[i]
        request = conn.execute(
            insert(orm.CampaignRequest).returning(orm.CampaignRequest.id),
            {
                "branch_id": branches[i % len(branches)],
                "offer_id": offer,
                "target_group": "bench",
                "requested_contacts": per_contacts,
                "goal_activations": max(1, per_attempts // 40),
                "window_start": start,
                "window_end": start + timedelta(days=WINDOW - 1),
                "month": start.strftime("%Y-%m"),
                "list_filename": f"bench-{i}.csv",
                "list_rows": per_contacts,
                "content_hash": uuid.uuid4().hex,
                "submitted_by": "bench",
                "submitted_at": NOW,
            },
        ).scalar_one()
        conn.execute(
            insert(orm.Campaign),
            {
                "id": i + 1,
                "request_id": request,
                "name": f"bench-{i + 1}",
                "state": states[i],
                "script_id": script,
                "cleaning_ledger": ledger,
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
    conn.execute(text(f"SELECT setval('campaigns_id_seq', {campaigns})"))
    conn.execute(
        insert(orm.AuditEntry),
        [
            {
                "at": datetime.combine(starts[i], datetime.min.time(), tzinfo=UTC),
                "actor": "bench",
                "entity": "campaign",
                "entity_id": i + 1,
                "action": action,
                "from_state": None,
                "to_state": to_state,
                "detail": detail,
            }
            for i in range(campaigns)
            for action, to_state, detail in (
                ("script_assigned", None, {"version": 1}),
                ("transition", "TRIAL", {"sample": 500, "allocation": {"family": 500}}),
                ("transition", "TRIAL_REVIEW", {"decision": "PROMOTE", "reasons": []}),
                ("transition", "LIVE", None),
            )
        ],
    )
    live = [i + 1 for i, s in enumerate(states) if s is not CampaignState.COMPLETED]
    conn.execute(text("SELECT setseed(0.25)"))
    # Contact c (1-based) belongs to campaign 1 + (c - 1) / per_contacts; its number is a
    # function of c, so attempts find it without a join.
    conn.execute(
        text(
            "INSERT INTO contacts (id, campaign_id, row_number, raw_input, e164, is_mobile, state, "
            "exclusion_reason, is_trial, attempts, last_disposition, disposition_streak, "
            "next_attempt_at) "
            "SELECT c, cid, c, e164, e164, true, "
            "CASE WHEN r < 0.15 THEN 'EXCLUDED' WHEN cid = ANY(:live) AND r > 0.6 THEN 'READY' "
            "ELSE 'DONE' END, "
            "CASE WHEN r < 0.15 THEN 'SUBSCRIBER_INACTIVE' END, r < 0.16, "
            "CASE WHEN r < 0.15 THEN 0 ELSE 1 + (c % 10) END, "
            "CASE WHEN r >= 0.15 THEN (ARRAY['NO_ANSWER','BUSY','CALLBACK','MACHINE'])"
            "[1 + (c % 4)] END, 0, "
            "CASE WHEN cid = ANY(:live) AND r > 0.6 THEN "
            ":now + (random() * 72 - 6) * interval '1 hour' END "
            "FROM (SELECT c, 1 + (c - 1) / :per AS cid, '+86138' || lpad(c::text, 8, '0') AS e164, "
            "random() AS r FROM generate_series(1, :n) c) s"
        ),
        {"live": live, "now": NOW, "per": per_contacts, "n": per_contacts * campaigns},
    )
    conn.execute(text(f"SELECT setval('contacts_id_seq', {per_contacts * campaigns})"))
    # Ten million rows load faster into a table without its secondary indexes and without
    # per-row key checks; both come back (and are checked by the build) right after.
    indexes = list(cast(Table, orm.CallAttempt.__table__).indexes)
    for index in indexes:
        index.drop(conn)
    conn.execute(text("SET LOCAL session_replication_role = replica"))
    starts_sql = "ARRAY[" + ",".join(f"'{s.isoformat()}'::date" for s in starts) + "]"
    disposition = _disposition_sql("r")
    handled = ",".join(f"'{d.value}'" for d in HANDLED)
    # Attempt j: campaign k = 1 + (j - 1) / per_attempts, the m-th of its campaign, spread
    # in time order over the window's days, between 09:00 and 20:00 Beijing time.
    conn.execute(
        text(
            "INSERT INTO call_attempts (id, idempotency_key, campaign_id, contact_id, e164, "
            "agent_id, attempt_no, phase, status, disposition, counts_as_attempt, dialed_at, "
            "answered_at, bridged_at, ended_at, ring_seconds, talk_seconds, wrap_seconds) "
            "SELECT j, 'b' || j, k, contact, '+86138' || lpad(contact::text, 8, '0'), "
            f"CASE WHEN d IN ({handled}) THEN 1 + (j % :agents) END, 1 + (m % 5), "
            "CASE WHEN m < :trial THEN 'TRIAL' ELSE 'LIVE' END, 'ENDED', d, d <> 'NETWORK_FAIL', "
            "at, CASE WHEN d IN ('MACHINE','ABANDONED'," + handled + ") THEN at + interval "
            "'12 seconds' END, "
            f"CASE WHEN d IN ({handled}) THEN at + interval '13 seconds' END, "
            "at + interval '3 minutes', 12, "
            f"CASE WHEN d IN ({handled}) THEN 40 + (j % 200) ELSE 0 END, "
            f"CASE WHEN d IN ({handled}) THEN 15 ELSE 0 END "
            "FROM (SELECT j, k, m, "
            "(k - 1) * :pc + 1 + ((m::bigint * 7919) % :pc) AS contact, "
            f"{disposition} AS d, "
            f"(({starts_sql})[k] + (m::bigint * {WINDOW} / :pa)::int)::timestamp "
            "AT TIME ZONE 'UTC' + interval '1 hour' * (1 + (m % 11)) "
            "+ interval '1 second' * (j % 3599) AS at "
            "FROM (SELECT j, 1 + (j - 1) / :pa AS k, (j - 1) % :pa AS m, random() AS r "
            "FROM generate_series(1, :n) j) g) a"
        ),
        {
            "agents": agents,
            "trial": max(1, per_attempts // 200),
            "pc": per_contacts,
            "pa": per_attempts,
            "n": per_attempts * campaigns,
        },
    )
    conn.execute(text(f"SELECT setval('call_attempts_id_seq', {per_attempts * campaigns})"))
    conn.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    for index in indexes:
        index.create(conn)


def finish(conn: Connection, *, campaigns: int, agents: int) -> None:
    """After the rollups: daily reports of each dialled day, a year of shifts, and three
    requests waiting for a decision."""
    by = dict.fromkeys(HANDLED, 40) | {Disposition.NO_ANSWER: 120}
    funnel = build_funnel(
        by,
        records_loaded=400,
        records_callable=340,
        records_dialled=300,
        talk_seconds=9000,
        goal_activations=100,
    ).to_dict()
    days = conn.execute(
        text(
            "SELECT DISTINCT campaign_id, (hour AT TIME ZONE 'Asia/Shanghai')::date "
            "FROM attempt_hourly"
        )
    ).all()
    phase = {"TRIAL": funnel, "LIVE": funnel}
    conn.execute(
        insert(orm.DailyReport),
        [
            {
                "campaign_id": cid,
                "report_date": day,
                "payload": {
                    "type": "daily_feedback",
                    "campaign_id": cid,
                    "campaign": f"bench-{cid}",
                    "branch": "GZ",
                    "language": "zh-CN",
                    "offer": "5G_PLUS_59",
                    "date": day.isoformat(),
                    "state": "LIVE",
                    "goal_activations": 100,
                    "completion": funnel["completion"],
                    "projected": {
                        "pace_per_day": 4.0,
                        "remaining": 0,
                        "finish": None,
                        "on_track": False,
                    },
                    "day": funnel,
                    "cumulative": funnel,
                    "trial": funnel,
                    "live": funnel,
                    "phases": {"day": phase, "cumulative": phase},
                    "contacts_by_state": {"DONE": 300},
                    "top_refusal_reasons": [{"reason": "价格太贵", "count": 9, "day": 2}],
                    "complaints": [],
                },
                "delivery_status": "DELIVERED",
                "delivery_attempts": 1,
                "created_at": NOW,
            }
            for cid, day in days
        ],
    )
    conn.execute(
        text(
            "INSERT INTO agent_shifts (agent_id, day, scheduled_seconds, work_seconds, "
            "busy_seconds, imported_at) SELECT a, :today - d, 28800, 27000, 1800 + (a % 7) * 60, "
            ":now FROM generate_series(1, :agents) a, generate_series(0, 364) d"
        ),
        {"today": NOW.date(), "now": NOW, "agents": agents},
    )
    offer = conn.scalar(select(orm.Service.id).where(orm.Service.code == "5G_PLUS_59"))
    branch = conn.scalar(select(func.min(orm.Branch.id)))
    for i in range(3):
        request = conn.execute(
            insert(orm.CampaignRequest).returning(orm.CampaignRequest.id),
            {
                "branch_id": branch,
                "offer_id": offer,
                "target_group": "bench",
                "requested_contacts": 1000,
                "goal_activations": 10,
                "window_start": NOW.date() + timedelta(days=3),
                "window_end": NOW.date() + timedelta(days=10),
                "month": NOW.strftime("%Y-%m"),
                "list_filename": f"waiting-{i}.csv",
                "content_hash": uuid.uuid4().hex,
                "submitted_by": "bench",
                "submitted_at": NOW,
            },
        ).scalar_one()
        conn.execute(
            insert(orm.Campaign),
            {
                "request_id": request,
                "name": f"waiting-{i}",
                "state": CampaignState.FEASIBILITY,
                "feasibility": {"verdict": "FEASIBLE", "reasons": [], "suggestions": []},
                "created_at": NOW,
                "updated_at": NOW,
            },
        )


# --------------------------------------------------------------------------- timing


def pages(app: Any, campaign: int) -> dict[str, Callable[[], object]]:
    """Each page's read-model calls, as the page makes them for a staff user."""
    today = NOW.astimezone().date()

    def campaign_page() -> object:
        views.campaign_choices(uow=app.uow())
        views.campaign_state(uow=app.uow(), campaign_id=campaign)
        return (
            views.campaign_board(uow=app.uow(), campaign_id=campaign),
            views.campaign_pulse(uow=app.uow(), campaign_id=campaign, now=NOW),
            views.dial_readiness(uow=app.uow(), campaign_id=campaign, now=NOW),
        )

    def reports_page() -> object:
        views.campaign_choices(uow=app.uow())
        board = views.report_board(uow=app.uow(), campaign_id=campaign)
        latest = board["daily"][-1]["id"]
        return [
            views.daily_report_file(uow=app.uow(), report_id=latest, fmt=fmt)
            for fmt in views.REPORT_FORMATS
        ]

    return {
        "overview": lambda: views.overview(uow=app.uow(), now=NOW, tz=TZ, days=7),
        "campaign": campaign_page,
        "agents": lambda: views.agent_board(
            uow=app.uow(), first=today - timedelta(days=6), last=today, tz=TZ
        ),
        "approvals": lambda: views.pending_approvals(uow=app.uow()),
        "reports": reports_page,
        "submit": lambda: views.catalogue(uow=app.uow()),
    }


def time_pages(url: str, runs: int) -> dict[str, list[float]]:
    """Per page, the seconds of each run after a warm-up."""
    app = bootstrap(Settings(database_url=url))
    with app.engine.connect() as conn:
        campaign = conn.scalar(
            select(orm.Campaign.id)
            .where(orm.Campaign.state == CampaignState.LIVE)
            .order_by(orm.Campaign.id.desc())
        )
    out: dict[str, list[float]] = {}
    for name, call in pages(app, int(campaign or 1)).items():
        call()
        seconds = []
        for _ in range(runs):
            t = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - t)
        out[name] = seconds
    app.engine.dispose()
    return out


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    tables = ("campaigns", "contacts", "call_attempts", "attempt_hourly", "agent_hourly")
    tables += ("contact_reach", "daily_reports", "agent_shifts")
    with engine.connect() as conn:
        counts = {t: int(conn.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in tables}
    engine.dispose()
    return counts


def _bench(args: argparse.Namespace, url: str, generate_data: bool) -> int:
    if generate_data:
        t = time.perf_counter()
        app = bootstrap(Settings(database_url=url))
        migrate.upgrade(app.engine, "0008")
        with app.engine.begin() as conn:
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
            generate(
                conn,
                campaigns=args.campaigns,
                contacts=args.contacts,
                attempts=args.attempts,
                agents=args.agents,
            )
        seeded = time.perf_counter() - t
        # The rollups come from the migrations that build them on a real database.
        migrate.upgrade(app.engine)
        rolled = time.perf_counter() - t - seeded
        with app.engine.begin() as conn:
            finish(conn, campaigns=args.campaigns, agents=args.agents)
        with app.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
        app.engine.dispose()
        print(
            f"generated in {seeded:.0f} s, rolled up by the migrations in {rolled:.0f} s, "
            f"ready after {time.perf_counter() - t:.0f} s"
        )
    counts = _counts(url)
    print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    timings = time_pages(url, args.runs)
    print(f"\n{'page':<10} {'median s':>9} {'min s':>7} {'max s':>7}  target < {TARGET:g} s")
    missed = []
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        ok = median < TARGET
        missed += [] if ok else [name]
        print(
            f"{name:<10} {median:>9.3f} {min(seconds):>7.3f} {max(seconds):>7.3f}  "
            f"{'ok' if ok else 'MISSED'}"
        )
    print(f"\n{len(timings) - len(missed)} of {len(timings)} pages within the target", end="")
    print(f"; missed: {', '.join(missed)}" if missed else "")
    return 1 if missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the data, time every page, print the medians; 1 when a page misses."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=50)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--db", help="time the pages on this kept database (nothing generated)")
    args = parser.parse_args(argv)
    if args.db:
        url = make_url(ADMIN_URL).set(database=args.db).render_as_string(hide_password=False)
        return _bench(args, url, generate_data=False)
    name = f"bench_dashboard_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = create_database(admin, name)
    print(
        f"database {name}: {args.campaigns} campaigns, {args.contacts:,} contacts, "
        f"{args.attempts:,} attempts over {YEAR} days, {args.agents} agents"
    )
    try:
        return _bench(args, url, generate_data=True)
    finally:
        from flows.bootstrap import reset_cache

        reset_cache()
        if args.keep_db:
            print(f"kept database {name} (time it again with --db {name})")
        else:
            drop_database(admin, name)
        admin.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
