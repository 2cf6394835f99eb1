"""`outbound demo`: a synthetic operator, one branch request, every stage on the simulator."""

from __future__ import annotations

import csv
import json
import random
import secrets
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from campaigns import reporting, services
from campaigns.access import Role
from campaigns.intake import open_list
from campaigns.model import CampaignRequestDraft
from campaigns.operations import ShiftRecord
from campaigns.storage.bulk import load_operator, load_reference
from campaigns.synthetic import Operator, generate_operator, generate_request_list
from flows import migrate, progress
from flows.bootstrap import App
from flows.receiver import WebhookReceiver


def reset_schema(app: App) -> None:
    """Drop and rebuild the schema through Alembic."""
    migrate.downgrade(app.engine, "base")
    migrate.upgrade(app.engine)


def seed(app: App, *, subscribers: int, now: datetime, webhook: str | None) -> Operator:
    """Load the synthetic operator."""
    op = generate_operator(subscribers, now=now)
    with app.engine.begin() as conn:
        load_reference(conn, now=now, webhooks={"GZ": webhook} if webhook else None)
        load_operator(conn, op, now=now)
    return op


def write_list(app: App, op: Operator, size: int) -> Path:
    """The branch's export as Excel would save it in China: GB18030 CSV, Chinese headers."""
    path = app.settings.data_dir / "demo" / "gz_5g_request.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = list(generate_request_list(op, size))
    with path.open("w", encoding="gb18030", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def run_demo(
    app: App, *, subscribers: int = 100_000, contacts: int = 20_000, console: Console | None = None
) -> dict[str, Any]:
    """Run the whole mission once and print what happened at each stage."""
    from flows.campaign_flow import campaign_flow

    out = console or Console()
    t0 = time.perf_counter()
    now = datetime.now(UTC)
    with (
        WebhookReceiver() as receiver,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=out,
            transient=False,
        ) as bar,
    ):
        step = bar.add_task("1/5 database schema (Alembic)", total=1)
        reset_schema(app)
        bar.update(step, completed=1)
        step = bar.add_task(f"2/5 synthetic operator: {subscribers:,} subscribers", total=1)
        op = seed(app, subscribers=subscribers, now=now, webhook=receiver.url)
        bar.update(step, completed=1)
        step = bar.add_task(f"3/5 branch GZ submits {contacts:,} contacts", total=1)
        # The branch's own date: after 16:00 UTC it is already tomorrow in Guangzhou.
        today = services.branch_today(uow=app.uow(), branch_code="GZ", now=now)
        list_path = write_list(app, op, contacts)
        lf = open_list(list_path)
        result = services.submit_request(
            uow=app.uow(),
            draft=CampaignRequestDraft(
                branch_code="GZ",
                offer_code="5G_PLUS_59",
                target_group="4G 用户，月消费 50-80 元 / 4G users spending 50-80 yuan",
                requested_contacts=contacts,
                goal_activations=800,
                window_start=today,
                window_end=today + timedelta(days=6),
                month=today.strftime("%Y-%m"),
                submitted_by="gz-marketing",
            ),
            rows=lf,
            file_digest=lf.digest,
            list_filename=list_path.name,
            now=now,
        )
        bar.update(step, completed=1)
        days = bar.add_task("4/5 campaign flow: feasibility → cleaning → trial → live", total=7)
        day_reports: list[dict[str, Any]] = []
        slices: list[dict[str, Any]] = []

        def on_event(event: str, data: dict[str, Any]) -> None:
            if event == "slice":
                slices.append(data)
            if event == "day":
                day_reports.append(data["report"])
                bar.update(days, completed=len({r["date"] for r in day_reports}))

        unsubscribe = progress.subscribe(on_event)
        try:
            final_state = campaign_flow(
                result.campaign_id, auto_approve=True, auto_go=True, actor="demo"
            )
        finally:
            unsubscribe()
        bar.update(days, total=len({r["date"] for r in day_reports}))
        step = bar.add_task("5/5 feedback delivered to the branch webhook", total=1)
        bar.update(step, completed=1)
        deliveries = len(receiver.received)

    # The receiver stood in for the branch during the demo only; leave no dead webhook behind.
    services.configure_branch(uow=app.uow(), code="GZ", actor="demo", now=now, webhook_url="")
    dialled_days = sorted({date.fromisoformat(r["date"]) for r in day_reports})
    import_synthetic_shifts(app, dialled_days, now=now)
    users = seed_dashboard_users(app, now=now)
    campaign = services.get_campaign(uow=app.uow(), campaign_id=result.campaign_id)
    _print_summary(out, result, campaign, day_reports, deliveries, receiver.url)
    summary_file = app.settings.reports_dir / f"campaign-{campaign.id}-summary.json"
    if summary_file.exists():  # written when the flow completed or cancelled the campaign
        print_final_summary(out, json.loads(summary_file.read_text(encoding="utf-8")))
    pacing = pacing_by_day(slices, app.settings.timezone)
    out.print(pacing_table(pacing))
    elapsed = time.perf_counter() - t0
    out.print(
        f"\n[bold]Campaign {campaign.id} ended {final_state}[/] in {elapsed:.1f} s wall time."
    )
    out.print(users_table(users, app.settings.data_dir / "demo" / "dashboard-users.txt"))
    out.print(
        "Open the dashboard with:  [bold cyan]outbound dashboard[/]"
        + (
            ""
            if app.settings.database_url.startswith("sqlite:///data/")
            else f"  (with OUTBOUND_DATABASE_URL={app.settings.database_url})"
        )
    )
    return {
        "campaign_id": campaign.id,
        "state": final_state,
        "days": day_reports,
        "deliveries": deliveries,
        "elapsed": elapsed,
        "pacing": pacing,
    }


#: The demo's dashboard users: the center's and branch GZ's people (user names are ASCII
#: for signing in; the dashboard greets them by their Chinese names).
DEMO_USERS = (
    ("zhang.wei", "张伟", Role.STAFF, None, False),
    ("li.na", "李娜", Role.MANAGER, None, False),
    ("wang.fang", "王芳（广州分公司）", Role.BRANCH, "GZ", False),
    ("admin", "系统管理员", Role.ADMIN, None, True),
)


def seed_dashboard_users(app: App, *, now: datetime) -> list[dict[str, str]]:
    """Add the demo's dashboard users with fresh random passwords (written to
    data/demo/dashboard-users.txt, readable by its owner only) and return them."""
    users = []
    for username, name, role, branch, pii in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        services.add_user(
            uow=app.uow(),
            username=username,
            password=password,
            role=role,
            branch_code=branch,
            pii=pii,
            actor="demo",
            now=now,
            display_name=name,
        )
        users.append({"user": username, "name": name, "role": role.value, "password": password})
    path = app.settings.data_dir / "demo" / "dashboard-users.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(
        "".join(f"{u['user']}\t{u['password']}\t{u['role']}\t{u['name']}\n" for u in users),
        encoding="utf-8",
    )
    return users


def import_synthetic_shifts(app: App, days: list[date], *, now: datetime) -> int:
    """Shifts for the demo's agents on the days it dialled, as a workforce system and the
    ACD would export them (9 h scheduled, most of it signed in, some of it flagged busy),
    so the Agents page has occupancy and 有效工时利用率 to show."""
    rng = random.Random(20261125)
    with app.uow() as uow:
        work_ids = [w for _, w in uow.catalogue.outbound_agents()]
    shifts = []
    for day in days:
        for work_id in work_ids:
            scheduled = 9 * 3600
            work = scheduled - rng.randrange(0, 40 * 60)
            shifts.append(ShiftRecord(work_id, day, scheduled, work, rng.randrange(15, 75) * 60))
    return reporting.import_shifts(uow=app.uow(), shifts=shifts, now=now)


def users_table(users: list[dict[str, str]], path: Path) -> Table:
    """The demo's dashboard users and their passwords."""
    table = Table(title=f"Dashboard users 看板用户 (also in {path})")
    for column in ("user", "name", "role", "password"):
        table.add_column(column)
    for u in users:
        table.add_row(u["user"], u["name"], u["role"].lower(), u["password"])
    return table


def pacing_by_day(slices: list[dict[str, Any]], timezone: str) -> list[dict[str, Any]]:
    """Occupancy and abandon rate per local day and phase, from the dialing slices."""
    days: dict[tuple[str, str], dict[str, Any]] = {}
    for s in slices:
        day = s["end"].astimezone(ZoneInfo(timezone)).date().isoformat()
        row = days.setdefault(
            (day, s["phase"]),
            {"date": day, "phase": s["phase"], "modes": set(), "live": 0, "abandoned": 0}
            | {"handle_seconds": 0.0, "staffed_seconds": 0.0},
        )
        row["modes"].add(s.get("pacing") or "-")
        for key in ("live", "abandoned", "handle_seconds", "staffed_seconds"):
            row[key] += s.get(key, 0)
    out = []
    for row in sorted(days.values(), key=lambda r: (r["date"], r["phase"] != "TRIAL")):
        staffed, live = row["staffed_seconds"], row["live"]
        out.append(
            row
            | {
                "modes": "/".join(sorted(row["modes"])),
                "occupancy": row["handle_seconds"] / staffed if staffed else 0.0,
                "abandon_rate": row["abandoned"] / live if live else 0.0,
            }
        )
    return out


def pacing_table(rows: list[dict[str, Any]]) -> Table:
    """The dialer's day: pacing mode, occupancy (talk + wrap-up / staffed), abandon rate."""
    table = Table(title="Pacing per day (abandon cap 3% of live answers)")
    for col in ("date", "phase", "pacing", "live answers", "abandoned", "abandon", "occupancy"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            r["date"],
            r["phase"],
            r["modes"],
            f"{r['live']:,}",
            f"{r['abandoned']:,}",
            f"{r['abandon_rate']:.2%}",
            f"{r['occupancy']:.1%}",
        )
    return table


def ledger_table(ledger: dict[str, Any], title: str = "Exclusion ledger (cleaning)") -> Table:
    """First reasons next to what each rule alone removes, so rule overlap is visible."""
    table = Table(title=title)
    table.add_column("reason")
    table.add_column("rule")
    table.add_column("first reason", justify="right")
    table.add_column("this rule alone", justify="right")
    table.add_row("kept", "", f"{ledger.get('kept', 0):,}", "")
    rules = ledger.get("rules", {})
    for reason, n in sorted(ledger.get("first", {}).items(), key=lambda kv: -kv[1]):
        table.add_row(reason, rules.get(reason, ""), f"{n:,}", f"{ledger['alone'][reason]:,}")
    for reason, n in sorted(ledger.get("alone", {}).items()):
        if reason not in ledger.get("first", {}):
            table.add_row(reason, rules.get(reason, ""), "0", f"{n:,}")
    return table


def _print_summary(
    out: Console,
    result: services.SubmitResult,
    campaign: Any,
    day_reports: list[dict[str, Any]],
    deliveries: int,
    url: str,
) -> None:
    out.print(
        f"\n[bold]Request[/]: {result.rows:,} rows, {result.valid_numbers:,} valid numbers, "
        f"{len(result.problems):,} rows with problems (e.g. "
        + ", ".join(f"row {p.row_number}: {p.reason}" for p in result.problems[:3])
        + ")"
    )
    feas = campaign.feasibility or {}
    out.print(
        f"[bold]Feasibility[/]: {feas.get('verdict')} — " + "; ".join(feas.get("reasons", []))
    )
    out.print(ledger_table(campaign.cleaning_ledger or {}))

    by_day: dict[str, dict[str, Any]] = {}
    for r in day_reports:
        by_day[r["date"]] = r  # the last report of a day is the complete one
    out.print("\n[bold]Daily feedback to branch GZ 每日反馈[/] (what the branch received each day)")
    for day, r in sorted(by_day.items()):
        d, ph = r["day"], r["phases"]["day"]
        refusal = r["top_refusal_reasons"][0] if r["top_refusal_reasons"] else None
        out.print(
            f"[bold]{day}[/]  attempts {d['attempts']:,} (trial {ph['TRIAL']['attempts']:,}, "
            f"live {ph['LIVE']['attempts']:,}) · dialled {d['records_dialled']:,} · "
            f"connects {d['connected']:,} · RPC {d['right_party']:,} · pitched {d['pitched']:,} · "
            f"successes {d['successes']:,} ({d['conversion_per_rpc']:.1%} of RPC, "
            f"{d['conversion_per_record']:.1%} per record)\n"
            f"            complaints {d['complaints']} · DNC {d['dnc_requests']} · abandon "
            f"{d['abandon_rate']:.1%} · talk {d['avg_talk_seconds']:.0f} s · goal "
            f"{r['completion']:.0%} (finish at this pace: {r['projected']['finish'] or '—'}) · "
            + (f"top refusal {refusal['reason']} ({refusal['day']}) · " if refusal else "")
            + f"{r.get('delivery', '')}",
            soft_wrap=True,
            highlight=False,
        )
    if by_day:
        last = by_day[max(by_day)]
        c = last["cumulative"]
        funnel = Table(title="Funnel (cumulative)")
        funnel.add_column("stage")
        funnel.add_column("count", justify="right")
        funnel.add_column("rate", justify="right")
        rows = [
            ("records loaded", c["records_loaded"], ""),
            ("callable after cleaning", c["records_callable"], ""),
            ("records dialled", c["records_dialled"], ""),
            ("attempts", c["attempts"], ""),
            ("connected (live + machine)", c["connected"], f"{c['connect_rate']:.1%} of attempts"),
            ("live contacts", c["live_contacts"], f"{c['contact_rate']:.1%} of attempts"),
            ("account holder verified (RPC)", c["right_party"], f"{c['rpc_rate']:.1%} of live"),
            ("pitched", c["pitched"], ""),
            ("success (办理成功)", c["successes"], f"{c['conversion_per_rpc']:.1%} of RPC"),
        ]
        for name, n, rate in rows:
            funnel.add_row(name, f"{n:,}", rate)
        out.print(funnel)
        out.print(
            f"Goal {last['goal_activations']:,} activations: {c['successes']:,} reached "
            f"({last['completion']:.0%}). Top refusal reasons: "
            + ", ".join(f"{r['reason']} ({r['count']})" for r in last["top_refusal_reasons"][:3])
        )
    out.print(f"Webhook deliveries received by the branch receiver at {url}: {deliveries}")


def print_final_summary(out: Console, summary: dict[str, Any]) -> None:
    """The final summary the branch received, in short."""
    goal, act, spots = summary["goal"], summary["activation"], summary["hot_spots"]
    out.print(
        f"\n[bold]Final summary 总结[/] of campaign {summary['campaign_id']} "
        f"({summary['state']}): goal {goal['goal_activations']:,}, reached {goal['successes']:,} "
        f"({'met' if goal['met'] else 'missed by ' + format(goal['shortfall'], ',')}); "
        f"activation {act['rate_vs_valid_list']:.1%} of the valid list, "
        f"{act['rate_vs_rpc']:.1%} of RPC.",
        soft_wrap=True,
    )
    out.print(
        "Hot spots 客户热点: "
        + "; ".join(f"{r['reason']} ({r['count']})" for r in spots["refusal_reasons"][:3])
        + " | questions: "
        + "; ".join(f"{q['question']} ({q['count']})" for q in spots["questions"][:3]),
        soft_wrap=True,
    )
    table = Table(title="Conversion per segment, script, phase and best/worst hours and agents")
    for col in ("group", "attempts", "contact rate", "RPC", "successes", "conv/RPC"):
        table.add_column(col, justify="right")
    hours = sorted(summary["by_hour"], key=lambda r: r["contact_rate"])
    agents = sorted(
        (r for r in summary["by_agent"] if r["key"] != "(no agent)"),
        key=lambda r: r["conversion_per_rpc"],
    )
    picks = [
        *(("segment " + r["key"], r) for r in summary["by_segment"]),
        *(("script " + r["key"], r) for r in summary["by_script_version"]),
        *((r["key"].lower(), r) for r in summary["by_phase"]),
        *(("hour " + r["key"], r) for r in (hours[:1] + hours[-1:] if hours else [])),
        *(("agent " + r["key"], r) for r in (agents[:1] + agents[-1:] if agents else [])),
    ]
    for name, r in picks:
        table.add_row(
            name,
            f"{r['attempts']:,}",
            f"{r['contact_rate']:.1%}",
            f"{r['right_party']:,}",
            f"{r['successes']:,}",
            f"{r['conversion_per_rpc']:.1%}",
        )
    out.print(table)
    out.print("[bold]Recommendations 建议[/]")
    for i, line in enumerate(summary["recommendations"], 1):
        out.print(f"  {i}. {line}", soft_wrap=True)
