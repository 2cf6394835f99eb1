"""`outbound`: the command line for branches, center staff and managers."""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from campaigns.errors import ConfigurationError, UserError

EPILOG = """examples:
  outbound demo                              run the whole mission on synthetic data
  outbound db upgrade                        create or migrate the database
  outbound submit --request examples/request.yaml examples/contacts_gbk.csv
  outbound approve 1 --by reviewer           approve campaign 1 after its feasibility check
  outbound clean 1 --preview                 X of Y contacts will be skipped, and why
  outbound subscribers import --subscribers subs.csv --services held.csv
  outbound launch 1                          clean, trial-dial and live-dial campaign 1
  outbound launch 1 --no-go --note "…"       stop campaign 1 after a trial under review
  outbound pause 1 / resume 1 / cancel 1     center staff controls
  outbound dial 1                            a dialing worker without Prefect (scale-out, restarts)
  outbound serve                             run campaign flows from a Prefect deployment
  outbound status 1                          where campaign 1 stands
  outbound report show 1                     its daily feedback reports and their delivery
  outbound report daily --date 2026-11-25    send the day's feedback of every active campaign
  outbound report resend --failed            send failed reports again
  outbound report summary 1                  final summary of campaign 1
  outbound report ops --period week          the center's weekly operations report
  outbound shifts import shifts.csv          agents' schedules and busy time (有效工时利用率)
  outbound ratings import ratings.csv        customers' ratings of calls (满意度)
  outbound users add li --role staff         a dashboard user (asks for the password)
  outbound dashboard                         open the manager dashboard

settings come from OUTBOUND_* environment variables (or a .env file):
  OUTBOUND_DATABASE_URL   default sqlite:///data/outbound.db
  OUTBOUND_DIALER         default simulator
  OUTBOUND_REPORTS_DIR    default data/reports
  OUTBOUND_PREFECT_API_URL  a Prefect server; Prefect's ephemeral mode if unset
  OUTBOUND_PREFECT_DEPLOYMENT  campaign/outbound: flows run where `outbound serve` runs
"""


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _now() -> datetime:
    return datetime.now(UTC)


def _instant(value: str) -> datetime:
    """An aware ISO 8601 instant, for argparse."""
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give an offset, e.g. 2026-11-25T10:00+08:00")
    return moment.astimezone(UTC)


def _app(args: argparse.Namespace) -> Any:
    from flows.bootstrap import bootstrap
    from flows.settings import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "database", None):
        overrides["database_url"] = args.database
    settings = Settings(**overrides)
    if settings.prefect_api_url:
        os.environ["PREFECT_API_URL"] = settings.prefect_api_url
    return bootstrap(settings)


def _console() -> Any:
    from rich.console import Console

    # Piped output (CI, `| less`) gets 80 columns by default: too narrow for the tables.
    return Console(width=None if sys.stdout.isatty() else 120)


def _run_flow(app: Any, campaign_id: int, **kwargs: Any) -> str:
    """Run the campaign flow here, or submit it to the deployment when one is configured."""
    _quiet_prefect()
    deployment = app.settings.prefect_deployment
    if deployment:
        from flows import suspension

        if not app.settings.prefect_api_url:
            raise ConfigurationError(
                "OUTBOUND_PREFECT_DEPLOYMENT needs a Prefect server: set OUTBOUND_PREFECT_API_URL"
            )

        run_id = suspension.submit(campaign_id, deployment, **kwargs)
        return f"flow run {run_id} submitted to deployment {deployment}"
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from flows import progress
    from flows.campaign_flow import campaign_flow

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=_console(),
        redirect_stdout=False,
        redirect_stderr=False,
    ) as bar:
        task = bar.add_task(f"campaign {campaign_id}: starting flow", total=None)

        def on_event(event: str, data: dict[str, Any]) -> None:
            if event == "slice":
                bar.update(
                    task,
                    description=f"campaign {campaign_id}: {data['phase']} dialing, "
                    f"slice ending {data['end']:%Y-%m-%d %H:%M}",
                )
            elif event == "cleaning":
                bar.update(task, description=f"campaign {campaign_id}: cleaning the list")

        unsubscribe = progress.subscribe(on_event)
        try:
            return str(campaign_flow(campaign_id, **kwargs))
        finally:
            unsubscribe()


# --------------------------------------------------------------------------- commands


def cmd_demo(args: argparse.Namespace) -> int:
    _quiet_prefect()
    from flows.demo import run_demo

    app = _app(args)
    run_demo(app, subscribers=args.subscribers, contacts=args.contacts, console=_console())
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from flows import migrate

    app = _app(args)
    if args.action == "upgrade":
        migrate.upgrade(app.engine, args.revision)
    else:
        migrate.downgrade(app.engine, args.revision)
    print(f"database {app.engine.url.render_as_string(hide_password=True)} is at {args.revision}")
    return 0


def _load_request_file(path: Path) -> dict[str, Any]:
    from campaigns.errors import ValidationError

    if not path.exists():
        raise ValidationError(f"request file {path} does not exist")
    text = path.read_text(encoding="utf-8-sig")
    try:
        if path.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # yaml and json raise different kinds
        raise ValidationError(f"{path.name} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{path.name} must hold a mapping of request fields")
    return data


def _date(value: Any, field: str) -> date:
    from campaigns.errors import ValidationError

    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError(f"{field} must be a date like 2026-12-01, not {value!r}") from exc


def _print_feasibility(campaign_id: int, report: dict[str, Any]) -> None:
    from rich.panel import Panel
    from rich.table import Table

    from campaigns import views

    out = _console()
    colour = {"FEASIBLE": "green", "AT_RISK": "yellow", "INFEASIBLE": "red"}[report["verdict"]]
    body = "\n".join(
        [f"• {r}" for r in report["reasons"]] + [f"→ {s}" for s in report["suggestions"]]
    )
    out.print(
        Panel(
            body,
            title=f"Feasibility of campaign {campaign_id}: [bold {colour}]{report['verdict']}[/]",
            expand=False,
        )
    )
    figures = Table(show_header=False, box=None)
    figures.add_column(style="dim")
    figures.add_column()
    for label, value in views.feasibility_rows(report):
        figures.add_row(label, value)
    out.print(figures)
    preview = Table(title="Cleaning preview (what cleaning would do now)")
    preview.add_column("reason")
    preview.add_column("first reason", justify="right")
    preview.add_column("this rule alone", justify="right")
    alone = report.get("cleaning_alone", {})
    for reason, n in report["cleaning_preview"].items():
        preview.add_row(reason, f"{n:,}", "" if reason == "kept" else f"{alone.get(reason, n):,}")
    out.print(preview)


def cmd_submit(args: argparse.Namespace) -> int:
    from flows import api

    fields: dict[str, Any] = _load_request_file(Path(args.request)) if args.request else {}
    for name in (
        "branch",
        "offer",
        "target",
        "segments",
        "contacts",
        "goal",
        "goal_rate",
        "start",
        "end",
        "month",
    ):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    app = _app(args)
    out = _console()
    with out.status("reading and checking the list…"):
        submission = api.submit(
            app,
            fields,
            Path(args.list_file),
            submitted_by=args.by,
            phone_column=args.phone_column,
            check=False,
        )
    result = submission.result
    if result.duplicate:
        from campaigns import services

        state = services.get_campaign(uow=app.uow(), campaign_id=result.campaign_id).state
        out.print(
            f"This request was already submitted as campaign {result.campaign_id} "
            f"(same fields, same file), which is {state.value}; nothing new was stored."
        )
        return 0
    out.print(
        f"Submitted campaign {result.campaign_id}: {result.rows:,} rows, "
        f"{result.valid_numbers:,} valid numbers, {result.problem_count:,} rows with problems."
    )
    for p in result.problems[:20]:
        out.print(f"  row {p.row_number}: {p.raw!r} — {p.reason}")
    if result.problem_count > 20:
        out.print(
            f"  … and {result.problem_count - 20:,} more (see `outbound status "
            f"{result.campaign_id}`)"
        )
    if not args.no_check:
        _run_flow(app, result.campaign_id, actor=args.by)
        from campaigns import services

        campaign = services.get_campaign(uow=app.uow(), campaign_id=result.campaign_id)
        if campaign.feasibility:
            _print_feasibility(campaign.id, dict(campaign.feasibility))
        out.print(
            f"Campaign {campaign.id} is {campaign.state.value}. A reviewer decides with "
            f"`outbound approve {campaign.id}` or `outbound reject {campaign.id} --note …`."
        )
    return 0


def cmd_decide(args: argparse.Namespace, approve: bool) -> int:
    from flows import api

    app = _app(args)
    outcome = api.decide(app, args.campaign, approve=approve, actor=args.by, note=args.note)
    c = outcome.campaign
    print(f"campaign {c.id} is {c.state.value}")
    if outcome.notified is not None:
        print(f"branch {c.branch_code} notified of the rejection: {outcome.notified.value}")
    if outcome.flow_resumed:
        print(f"the flow run waiting at the approval gate ({c.flow_run_id}) was resumed")
    elif approve:
        print(f"start it with `outbound launch {c.id}`")
    return 0


def cmd_launch(args: argparse.Namespace) -> int:
    from flows import api

    app = _app(args)
    go = True if args.go else False if args.no_go else None
    step = api.launch_decision(app, args.campaign, go=go, actor=args.by, note=args.note)
    if step.refused:
        print(step.refused)
        return 1
    if step.trial is not None:
        c = step.trial.campaign
        if step.trial.flow_resumed:
            print(f"the flow run waiting at the trial gate ({c.flow_run_id}) was resumed")
        if not args.go:
            print(f"campaign {c.id} is {c.state.value}")
            if step.trial.notified is not None:
                print(f"branch {c.branch_code} notified of the stop: {step.trial.notified.value}")
            return 0
        if not step.start:
            return 0
    result = _run_flow(app, args.campaign, actor=args.by)
    print(f"campaign {args.campaign}: {result}")
    _print_status(app, args.campaign)
    return 0


def cmd_transition(args: argparse.Namespace, target: str) -> int:
    from campaigns.model import CampaignState
    from flows import api

    app = _app(args)
    outcome = api.control(app, args.campaign, CampaignState(target), actor=args.by, note=args.note)
    c, run = outcome.campaign, outcome.run
    print(f"campaign {c.id} is {c.state.value}")
    if run is None:
        return 0
    if run.action == "resumed":
        print(f"its suspended flow run {run.run_id} was resumed; dialing goes on where it stopped")
    elif run.action == "cancelled":
        print(f"its suspended flow run {run.run_id} was cancelled")
    elif run.action == "running":
        print(f"its flow run {run.run_id} is still running and takes this up after its slice")
    elif outcome.needs_run and not args.no_run:
        print(f"campaign {c.id}: {_run_flow(app, c.id, actor=args.by)}")
    if outcome.summary_delivery is not None:
        print(f"final summary to branch {c.branch_code}: {outcome.summary_delivery}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _quiet_prefect()
    from flows import suspension

    app = _app(args)
    if not app.settings.prefect_api_url:
        raise ConfigurationError(
            "outbound serve needs a Prefect server: set OUTBOUND_PREFECT_API_URL"
        )
    print(
        f"serving deployment {suspension.DEPLOYMENT} and one daily-feedback/branch-<code> "
        f"deployment per branch (17:00 in its time zone); set OUTBOUND_PREFECT_DEPLOYMENT="
        f"{suspension.DEPLOYMENT} where the CLI runs (Ctrl+C to stop)"
    )
    suspension.serve(limit=args.limit, app=app)
    return 0


def _print_status(app: Any, campaign_id: int, at: datetime | None = None) -> None:
    from rich.table import Table

    from campaigns import views

    out = _console()
    s = views.campaign_status(uow=app.uow(), campaign_id=campaign_id)
    out.print(f"[bold]Campaign {s['id']}[/] {s['name']} — [bold]{s['state']}[/]")
    if s.get("feasibility") and s["state"] in ("SUBMITTED", "FEASIBILITY", "REJECTED"):
        _print_feasibility(s["id"], dict(s["feasibility"]))
    elif s.get("feasibility"):
        feas = s["feasibility"]
        out.print(f"Feasibility: {feas['verdict']} — " + "; ".join(feas["reasons"]))
    table = Table(title="Contacts by state")
    table.add_column("state")
    table.add_column("contacts", justify="right")
    for k, v in s["contacts_by_state"].items():
        table.add_row(k, f"{v:,}")
    out.print(table)
    if s["exclusions"]:
        out.print("Exclusions: " + ", ".join(f"{k} {v:,}" for k, v in s["exclusions"].items()))
    f = s["funnel"]
    out.print(
        f"Funnel: {f['attempts']:,} attempts → {f['connected']:,} connected → "
        f"{f['right_party']:,} RPC → {f['successes']:,} successes "
        f"({f['completion']:.0%} of the goal of {f['goal_activations']:,})"
    )
    _print_trial(s["trial"], s["live_funnel"])
    _print_readiness(views.dial_readiness(uow=app.uow(), campaign_id=campaign_id, now=at or _now()))


def _print_trial(trial: dict[str, Any], live: dict[str, Any]) -> None:
    """The trial's sample, funnel and decision, apart from live dialing."""
    out = _console()
    if trial["sample"] is None:
        return
    t = trial["funnel"]
    segments = ", ".join(f"{k} {v:,}" for k, v in trial["allocation"].items())
    out.print(
        f"Trial: sample {trial['sample']:,} ({segments}); {t['attempts']:,} attempts, "
        f"connect {t['connect_rate']:.1%}, conversion/RPC {t['conversion_per_rpc']:.1%}, "
        f"complaints {t['complaints']:,}, abandon {t['abandon_rate']:.1%}"
    )
    if trial["decision"]:
        reasons = "; ".join(trial["reasons"])
        out.print(f"  decision: {trial['decision']}" + (f" — {reasons}" if reasons else ""))
    out.print(
        f"Live: {live['attempts']:,} attempts → {live['connected']:,} connected → "
        f"{live['right_party']:,} RPC → {live['successes']:,} successes"
    )


def _print_readiness(r: dict[str, Any]) -> None:
    """What the READY contacts wait for, and how the latest hour of dialling went."""
    from rich.table import Table

    out = _console()
    zone = r["now"].strftime("%Y-%m-%d %H:%M %Z")
    out.print(f"[bold]Dialing[/] at {zone}: {r['ready']:,} READY, {r['due_now']:,} due now")
    if r["halted"]:
        out.print(f"  {r['halted']}")
    if r["due_now"]:
        note = "" if r["sampled"] == r["due_now"] else f" (of the first {r['sampled']:,} due)"
        out.print(f"  callable now: {r['callable_now']:,}{note}")
    table = Table(title="Waiting")
    table.add_column("contacts", justify="right")
    table.add_column("waiting for")
    for b in r["blocked_now"]:
        table.add_row(f"{b['contacts']:,}", b["label"])
    for w in r["scheduled"]:
        span = w["from"].strftime("%Y-%m-%d %H:%M")
        if w["to"] != w["from"]:
            span += " … " + w["to"].strftime("%Y-%m-%d %H:%M")
        table.add_row(f"{w['contacts']:,}", f"{w['waiting_for']}, due {span} UTC")
    if table.row_count:
        out.print(table)
    h = r["latest_hour"]
    if h is None:
        out.print("Latest hour: nothing dialled yet")
    else:
        out.print(
            f"Latest hour (to {h['to'].strftime('%Y-%m-%d %H:%M')} UTC): "
            f"{h['dial_rate_per_hour']:,} dials/h, occupancy {h['occupancy']:.0%} "
            f"of {h['agents']} agents, abandon rate {h['abandon_rate']:.1%} "
            f"({h['abandoned']} of {h['live']} live)"
        )


def cmd_dial(args: argparse.Namespace) -> int:
    from flows import worker

    app = _app(args)
    out = _console()

    def on_slice(start: datetime, end: datetime, summary: Any) -> None:
        out.print(
            f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC: {summary.attempts:,} attempts, "
            f"{summary.successes:,} successes, {summary.abandoned:,} abandoned"
        )

    result = worker.dial(
        app, args.campaign, max_slices=args.slices, worker=args.worker, on_slice=on_slice
    )
    out.print(
        f"campaign {args.campaign}: {result['outcome']} after {result['slices']} slice(s), "
        f"{result['attempts']:,} attempts, {result['successes']:,} successes"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from rich.table import Table

    from campaigns import views

    app = _app(args)
    if args.campaign is not None:
        _print_status(app, args.campaign, at=args.at)
        return 0
    table = Table(title="Campaigns")
    for col in (
        "id",
        "name",
        "state",
        "branch",
        "offer",
        "window",
        "attempts",
        "successes",
        "goal",
    ):
        table.add_column(col)
    for row in views.campaign_list(uow=app.uow()):
        table.add_row(
            str(row["id"]),
            row["name"],
            row["state"],
            row["branch"],
            row["offer"],
            f"{row['window_start']}…{row['window_end']}",
            f"{row['attempts']:,}",
            f"{row['successes']:,}",
            f"{row['goal']:,}",
        )
    _console().print(table)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """`outbound report show N`: a campaign's stored daily reports and their delivery."""
    from campaigns import views

    app = _app(args)
    if args.date:
        from flows.feedback_flow import deliver_one

        _, _, status = deliver_one(app, args.campaign, _date(args.date, "--date"))
        print(f"report for {args.date}: {status.value}")
    reports = views.daily_reports(uow=app.uow(), campaign_id=args.campaign)
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2, default=str))
        return 0
    from rich.table import Table

    table = Table(title=f"Daily feedback of campaign {args.campaign}")
    for col in (
        "id",
        "date",
        "attempts",
        "RPC",
        "successes",
        "completion",
        "complaints",
        "delivery",
        "tries",
        "last error",
        "file",
    ):
        table.add_column(col)
    for r in reports:
        table.add_row(
            str(r["id"]),
            str(r["date"]),
            f"{r['attempts']:,}",
            f"{r['right_party']:,}",
            f"{r['successes']:,}",
            f"{r['completion']:.0%}",
            str(r["complaints"]),
            r["delivery_status"],
            str(r["delivery_attempts"]),
            r["last_error"] or "",
            r["file_path"] or "",
        )
    _console().print(table)
    return 0


def cmd_report_daily(args: argparse.Namespace) -> int:
    """`outbound report daily`: build, write and send a day's feedback for active campaigns."""
    from campaigns import reporting
    from flows.feedback_flow import branch_today, deliver_daily

    app = _app(args)
    day = _date(args.date, "--date") if args.date else branch_today(app, args.branch)
    ids = (
        [args.campaign]
        if args.campaign
        else reporting.campaigns_to_report(uow=app.uow(), day=day, branch_code=args.branch)
    )
    rows = deliver_daily(app, campaign_ids=ids, day=day)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    if not rows:
        print(f"no campaign was active on {day}")
        return 0
    with app.uow() as uow:
        payloads = [uow.reports.get(r["report"])[2] for r in rows]
    out = _console()
    for row, payload in zip(rows, payloads, strict=True):
        out.print(reporting.daily_markdown(payload), markup=False, soft_wrap=True)
        out.print(f"delivery: {row['delivery']}\n")
    out.print(f"files in {app.settings.reports_dir}")
    return 0


def cmd_report_resend(args: argparse.Namespace) -> int:
    """`outbound report resend`: send stored reports again (same idempotency key)."""
    from campaigns import reporting
    from campaigns.errors import ValidationError

    app = _app(args)
    if args.summary is not None:
        from flows.feedback_flow import deliver_summary

        sent = deliver_summary(app, args.summary, resend=True)
        print(f"final summary of campaign {args.summary}: {sent['delivery']}")
        return 0
    if (args.campaign is None) != (args.date is None):
        raise ValidationError("give --campaign and --date together, or --id, or --failed")
    if args.id is None and args.campaign is None and not args.failed:
        raise ValidationError("say which reports: --id R, --campaign N --date D, or --failed")
    ids = reporting.reports_to_resend(
        uow=app.uow(),
        report_id=args.id,
        campaign_id=args.campaign,
        day=_date(args.date, "--date") if args.date else None,
    )
    from flows.feedback_flow import redeliver

    failed = 0
    for report_id in ids:
        status = redeliver(app, report_id)
        failed += status.value == "FAILED"
        print(f"report {report_id}: {status.value}")
    if not ids:
        print("nothing to resend: every report was delivered")
    return 1 if failed else 0


def cmd_report_summary(args: argparse.Namespace) -> int:
    """`outbound report summary N`: the final summary of a campaign."""
    from campaigns import reporting

    app = _app(args)
    if args.no_send:
        payload = reporting.build_final_summary(
            uow=app.uow(), campaign_id=args.campaign, now=_now()
        )
        reporting.write_final_summary(payload, app.settings.reports_dir)
        payload["delivery"] = "not sent"
    else:
        from flows.feedback_flow import deliver_summary

        payload = deliver_summary(app, args.campaign)
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return 0
    _console().print(reporting.summary_markdown(payload), markup=False, soft_wrap=True)
    print(f"delivery: {payload['delivery']}; files in {app.settings.reports_dir}")
    return 0


def cmd_report_ops(args: argparse.Namespace) -> int:
    """`outbound report ops`: the center's daily, weekly or monthly operations report."""
    from zoneinfo import ZoneInfo

    from campaigns import reporting
    from campaigns.operations import PeriodKind
    from flows.feedback_flow import operations

    app = _app(args)
    day = (
        _date(args.date, "--date")
        if args.date
        else _now().astimezone(ZoneInfo(app.settings.timezone)).date()
    )
    payload, paths = operations(app, kind=PeriodKind(args.period), day=day)
    if args.json:
        print(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return 0
    _console().print(reporting.operations_markdown(payload), markup=False, soft_wrap=True)
    print("written: " + ", ".join(paths))
    return 0


def cmd_shifts(args: argparse.Namespace) -> int:
    """`outbound shifts import FILE`: agents' scheduled, signed-in and busy-flagged time."""
    import csv

    from campaigns import reporting
    from campaigns.errors import ValidationError
    from campaigns.operations import ShiftRecord

    app = _app(args)
    shifts = []
    with open(args.file, encoding="utf-8-sig", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                shifts.append(
                    ShiftRecord(
                        work_id=row["work_id"].strip(),
                        day=date.fromisoformat(row["date"].strip()),
                        scheduled_seconds=round(float(row["scheduled_minutes"]) * 60),
                        work_seconds=round(float(row["work_minutes"]) * 60),
                        busy_seconds=round(float(row["busy_minutes"]) * 60),
                    )
                )
            except (KeyError, ValueError, AttributeError) as exc:
                raise ValidationError(
                    f"{args.file} line {line}: {exc!r}; columns are work_id,date,"
                    "scheduled_minutes,work_minutes,busy_minutes"
                ) from None
    n = reporting.import_shifts(uow=app.uow(), shifts=shifts, now=_now())
    print(f"{n:,} agent shifts imported")
    return 0


#: How a survey file may write a rating; empty means surveyed and not answered.
RATINGS = {"satisfied": True, "满意": True, "dissatisfied": False, "不满意": False, "": None}


def cmd_ratings(args: argparse.Namespace) -> int:
    """`outbound ratings import FILE`: customers' ratings of calls, by call key."""
    import csv

    from campaigns import reporting
    from campaigns.errors import ValidationError

    app = _app(args)
    ratings: list[tuple[str, bool | None]] = []
    with open(args.file, encoding="utf-8-sig", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            value = (row.get("rating") or "").strip().lower()
            if not row.get("call_key") or value not in RATINGS:
                raise ValidationError(
                    f"{args.file} line {line}: columns are call_key,rating; a rating is "
                    "satisfied/满意, dissatisfied/不满意 or empty (surveyed, no answer)"
                )
            ratings.append((row["call_key"].strip(), RATINGS[value]))
    n = reporting.import_ratings(uow=app.uow(), ratings=ratings, now=_now())
    print(f"{n:,} call ratings imported")
    return 0


def _legacy_report(argv: list[str]) -> list[str]:
    """`outbound report 3` (before the report subcommands) still means `report show 3`."""
    if "report" in argv:
        i = argv.index("report")
        if i + 1 < len(argv) and argv[i + 1].isdigit():
            return [*argv[: i + 1], "show", *argv[i + 1 :]]
    return argv


def cmd_clean(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from campaigns import services
    from campaigns.errors import ValidationError
    from campaigns.ledger import ledger as build_ledger
    from campaigns.model import ExclusionReason
    from flows.demo import ledger_table

    app = _app(args)
    campaign = services.get_campaign(uow=app.uow(), campaign_id=args.campaign)
    policy = services.policy_for(campaign)

    def reasons(values: list[str]) -> frozenset[ExclusionReason]:
        try:
            return frozenset(ExclusionReason(v.strip().upper()) for v in values)
        except ValueError as exc:
            known = ", ".join(r.value for r in ExclusionReason)
            raise ValidationError(f"{exc}; rules are: {known}") from None

    changed = replace(
        policy,
        cooldown_days=policy.cooldown_days if args.cooldown_days is None else args.cooldown_days,
        refusal_cooloff_days=policy.refusal_cooloff_days
        if args.refusal_cooloff_days is None
        else args.refusal_cooloff_days,
        segments=policy.segments
        if args.segments is None
        else tuple(x.strip() for x in args.segments.split(",") if x.strip()),
        disabled=(policy.disabled | reasons(args.disable)) - reasons(args.enable),
    )
    out = _console()
    if changed != policy and not args.preview:
        services.configure_cleaning(
            uow=app.uow(), campaign_id=campaign.id, policy=changed, actor=args.by, now=_now()
        )
        off = ", ".join(sorted(r.value for r in changed.disabled)) or "none"
        out.print(
            f"cleaning policy of campaign {campaign.id}: cooldown {changed.cooldown_days} d, "
            f"refusal cool-off {changed.refusal_cooloff_days} d, segments "
            f"{', '.join(changed.segments) or 'all'}, rules off: {off}",
            soft_wrap=True,
        )
    source = app.subscriber_source()
    if args.preview:
        with out.status("running the cleaning rules without writing…"):
            tally = services.preview_cleaning(
                uow=app.uow(), campaign_id=campaign.id, now=_now(), policy=changed, source=source
            )
        ledger = build_ledger(tally, changed, _now())
        title = f"Preview: {ledger['excluded']:,} of {ledger['kept'] + ledger['excluded']:,} "
        out.print(ledger_table(ledger, title=title + "contacts will be skipped, and why"))
        return 0
    with out.status("cleaning…"):
        services.clean(
            uow=app.uow(), campaign_id=campaign.id, now=_now(), source=source, actor=args.by
        )
    ledger = services.get_campaign(uow=app.uow(), campaign_id=campaign.id).cleaning_ledger or {}
    out.print(ledger_table(dict(ledger)))
    return 0


def cmd_subscribers(args: argparse.Namespace) -> int:
    import time

    from campaigns.storage.snapshot import import_snapshot

    app = _app(args)

    def path(value: str | None) -> Path | None:
        return Path(value) if value else None

    if not (args.subscribers or args.services or args.history or args.follow_ups):
        from campaigns.errors import ValidationError

        raise ValidationError(
            "name at least one file: --subscribers, --services, --history or --follow-ups"
        )
    out = _console()
    started = time.perf_counter()
    with (
        out.status("importing the operator's snapshot (one transaction)…"),
        app.engine.begin() as conn,
    ):
        counts = import_snapshot(
            conn,
            subscribers=path(args.subscribers),
            services=path(args.services),
            history=path(args.history),
            follow_ups=path(args.follow_ups),
            replace=not args.append,
        )
    out.print(
        ", ".join(f"{k}: {v:,}" for k, v in counts.items())
        + f" — in {time.perf_counter() - started:.1f} s"
    )
    return 0


def cmd_branch(args: argparse.Namespace) -> int:
    from rich.table import Table

    from campaigns import services, views

    app = _app(args)
    if args.code:
        services.configure_branch(
            uow=app.uow(),
            code=args.code,
            actor=args.by,
            now=_now(),
            monthly_quota=args.quota,
            webhook_url=args.webhook,
            clear_quota=args.no_quota,
        )
    table = Table(title="Branches")
    for col in ("code", "name", "monthly quota", "webhook"):
        table.add_column(col)
    for b in views.branches(uow=app.uow()):
        quota = f"{b['quota']:,}" if b["quota"] is not None else "none"
        table.add_row(b["code"], b["name"], quota, b["webhook"] or "")
    _console().print(table)
    return 0


def cmd_users(args: argparse.Namespace) -> int:
    from rich.table import Table

    from campaigns import services
    from campaigns.access import Role
    from campaigns.errors import ValidationError

    app = _app(args)
    if args.action == "add":
        if not args.name or not args.role:
            raise ValidationError("users add needs a NAME and --role")
        password = _read_password(args.password_stdin)
        services.add_user(
            uow=app.uow(),
            username=args.name,
            password=password,
            role=Role(args.role.upper()),
            branch_code=args.branch,
            pii=args.pii,
            actor=args.by,
            now=_now(),
            display_name=args.display_name,
        )
        _console().print(f"user {args.name} added ({args.role.upper()})")
    elif args.action in ("disable", "enable"):
        if not args.name:
            raise ValidationError(f"users {args.action} needs a NAME")
        services.set_user_disabled(
            uow=app.uow(),
            username=args.name,
            disabled=args.action == "disable",
            actor=args.by,
            now=_now(),
        )
        _console().print(f"user {args.name} {args.action}d")
    table = Table(title="Dashboard users")
    for col in ("user", "role", "branch", "PII", "state"):
        table.add_column(col)
    for u in services.list_users(uow=app.uow()):
        state = "disabled" if u["disabled"] else "active"
        table.add_row(
            u["username"], u["role"], u["branch_code"] or "all", "yes" if u["pii"] else "no", state
        )
    _console().print(table)
    return 0


def _read_password(from_stdin: bool) -> str:
    """A new password: one line of stdin, or asked twice at the terminal."""
    import getpass

    from campaigns.errors import ValidationError

    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValidationError("the two passwords differ; nothing was saved")
    return first


def cmd_dashboard(args: argparse.Namespace) -> int:
    script = Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py"
    env = dict(os.environ)
    if args.database:
        env["OUTBOUND_DATABASE_URL"] = args.database
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(args.port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]
    print(f"Dashboard on http://localhost:{args.port}  (Ctrl+C to stop)")
    return subprocess.call(cmd, env=env)


# --------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="outbound",
        description="Outbound campaign engine: request → feasibility → cleaning → script → "
        "trial → live dialing → daily feedback.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--database", help="SQLAlchemy URL (overrides OUTBOUND_DATABASE_URL)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, help_: str, fn: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=fn)
        return p

    p = add(
        "demo",
        "run every stage on a synthetic operator with the simulator (resets the database)",
        cmd_demo,
    )
    p.add_argument("--subscribers", type=int, default=100_000, help="subscribers to generate")
    p.add_argument("--contacts", type=int, default=20_000, help="rows in the branch's list")

    p = add("db", "create or migrate the database schema (Alembic)", cmd_db)
    p.add_argument("action", choices=["upgrade", "downgrade"])
    p.add_argument("revision", nargs="?", default=None, help="default: head / base")

    p = add("submit", "submit a branch's campaign request with its contact list", cmd_submit)
    p.add_argument("list_file", help="CSV or XLSX list (UTF-8 or GBK/GB18030), one contact per row")
    p.add_argument("--request", help="YAML or JSON file with the request fields (see examples/)")
    p.add_argument("--branch", help="branch code, e.g. GZ")
    p.add_argument("--offer", help="offer code, e.g. 5G_PLUS_59")
    p.add_argument("--target", help="target customer group (目标客户群), in words")
    p.add_argument("--segments", help="optional segment filters, comma separated (youth,family)")
    p.add_argument("--contacts", type=int, help="requested number of contacts (default: the list)")
    p.add_argument("--goal", type=int, help="goal in activations")
    p.add_argument("--goal-rate", dest="goal_rate", help="goal as a conversion rate: 0.08 or 8%%")
    p.add_argument("--start", help="first day of the window, YYYY-MM-DD")
    p.add_argument("--end", help="last day of the window, YYYY-MM-DD")
    p.add_argument("--month", help="month the request belongs to, YYYY-MM (default: the start's)")
    p.add_argument("--phone-column", help="name of the phone column if it is not detected")
    p.add_argument("--by", default="branch", help="who submits")
    p.add_argument("--no-check", action="store_true", help="store only; skip the feasibility check")

    for name, approve in (("approve", True), ("reject", False)):
        p = add(
            name,
            f"{name} a campaign after its feasibility check",
            functools.partial(cmd_decide, approve=approve),
        )
        p.add_argument("campaign", type=int)
        p.add_argument("--note", help="the reason (required to reject)")
        p.add_argument("--by", default="reviewer", help="who decides")

    p = add("launch", "run an approved campaign: cleaning, script, trial, live dialing", cmd_launch)
    p.add_argument("campaign", type=int)
    decision = p.add_mutually_exclusive_group()
    decision.add_argument(
        "--go", action="store_true", help="go decision after a trial that needs review"
    )
    decision.add_argument(
        "--no-go", action="store_true", help="stop the campaign after its trial (needs --note)"
    )
    p.add_argument("--note", help="the reason for a go or no-go decision")
    p.add_argument("--by", default="center-staff")

    for name, target, help_ in (
        (
            "pause",
            "PAUSED",
            "stop dialing at the next slice boundary (on a server the run is suspended)",
        ),
        ("resume", "LIVE", "continue a paused campaign where it stopped"),
        ("cancel", "CANCELLED", "close a campaign for good"),
    ):
        p = add(name, help_, functools.partial(cmd_transition, target=target))
        p.add_argument("campaign", type=int)
        p.add_argument("--note")
        p.add_argument("--by", default="center-staff")
        p.add_argument("--no-run", action="store_true", help=argparse.SUPPRESS)

    p = add(
        "dial",
        "run a dialing worker for a LIVE or TRIAL campaign here, without Prefect "
        "(a second machine, or a restart by hand); it continues where the campaign stands",
        cmd_dial,
    )
    p.add_argument("campaign", type=int)
    p.add_argument("--slices", type=int, help="stop after this many one-hour slices")
    p.add_argument("--worker", help="this worker's name on its claims (default host:pid)")

    p = add("status", "list campaigns, or show where one stands", cmd_status)
    p.add_argument("campaign", type=int, nargs="?")
    p.add_argument(
        "--at",
        type=_instant,
        help="judge what is callable at this instant (ISO 8601 with offset); default now",
    )

    report = sub.add_parser(
        "report",
        help="daily feedback to branches, final summaries, operations reports",
        description="Daily feedback to branches (also sent by the daily-feedback deployment at "
        "17:00 in each branch's time zone), final summaries of finished campaigns, and the "
        "center's operations reports. Files (JSON, CSV for Excel, XLSX, HTML) go to "
        "OUTBOUND_REPORTS_DIR; phone numbers are masked in all of them.",
        epilog="examples:\n"
        "  outbound report daily --date 2026-11-25        every campaign active that day\n"
        "  outbound report daily --branch GZ              today in branch GZ's time zone\n"
        "  outbound report show 3                         campaign 3's reports and delivery\n"
        "  outbound report resend --failed                every pending or failed report\n"
        "  outbound report resend --campaign 3 --date 2026-11-25\n"
        "  outbound report summary 3                      final summary of campaign 3\n"
        "  outbound report ops --period week --date 2026-11-25",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    reports = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")

    def add_report(
        name: str, help_: str, fn: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = reports.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=fn)
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    p = add_report(
        "daily",
        "build, write and send the day's feedback of every campaign active that day",
        cmd_report_daily,
    )
    p.add_argument("--date", help="the local day, YYYY-MM-DD (default: today)")
    p.add_argument("--branch", help="only this branch's campaigns, e.g. GZ")
    p.add_argument("--campaign", type=int, help="only this campaign")

    p = add_report(
        "show",
        "list a campaign's daily reports with their delivery state (`report N` also works)",
        cmd_report,
    )
    p.add_argument("campaign", type=int)
    p.add_argument("--date", help="first build and deliver the report of this day, YYYY-MM-DD")

    p = add_report(
        "resend",
        "send stored reports to the branch again, with the same idempotency key",
        cmd_report_resend,
    )
    p.add_argument("--id", type=int, help="one report by its id (see `report show`)")
    p.add_argument("--campaign", type=int, help="with --date: that campaign's report of the day")
    p.add_argument("--date", help="YYYY-MM-DD, with --campaign")
    p.add_argument("--failed", action="store_true", help="every report pending or failed")
    p.add_argument("--summary", type=int, metavar="CAMPAIGN", help="a campaign's final summary")

    p = add_report(
        "summary",
        "the final summary of a campaign: hot spots, activation, breakdowns, recommendations",
        cmd_report_summary,
    )
    p.add_argument("campaign", type=int)
    p.add_argument("--no-send", action="store_true", help="write the files only")

    p = add_report(
        "ops",
        "the center's operations report (占用/接通/呼损/15秒接通…) for a day, week or month",
        cmd_report_ops,
    )
    p.add_argument("--period", choices=["day", "week", "month"], default="day")
    p.add_argument("--date", help="a day in the period, YYYY-MM-DD (default: today)")

    p = add("clean", "preview or run a campaign's list cleaning, and set its rules", cmd_clean)
    p.add_argument("campaign", type=int)
    p.add_argument(
        "--preview", action="store_true", help="show what would be skipped and why; write nothing"
    )
    p.add_argument("--cooldown-days", type=int, help="skip numbers contacted this recently")
    p.add_argument(
        "--refusal-cooloff-days",
        type=int,
        help="skip numbers that refused this offer this recently",
    )
    p.add_argument("--segments", help="only these subscriber segments, comma separated")
    p.add_argument(
        "--disable",
        action="append",
        default=[],
        metavar="RULE",
        help="switch a rule off (e.g. PRIOR_FOLLOW_UP); repeatable",
    )
    p.add_argument(
        "--enable",
        action="append",
        default=[],
        metavar="RULE",
        help="switch a rule back on; repeatable",
    )
    p.add_argument("--by", default="center-staff")

    p = add(
        "subscribers", "import the operator's subscriber snapshot from CSV files", cmd_subscribers
    )
    p.add_argument("action", choices=["import"])
    p.add_argument("--subscribers", help="msisdn,status,segment,branch")
    p.add_argument("--services", help="msisdn,service (services held)")
    p.add_argument("--history", help="msisdn,contacted_at[,source] (prior contacts)")
    p.add_argument("--follow-ups", dest="follow_ups", help="msisdn,recorded_at[,note] (回访记录)")
    p.add_argument("--append", action="store_true", help="add to the snapshot instead of replacing")

    p = add(
        "shifts",
        "import agents' shifts (排班, signed-in and 示忙 minutes) for 有效工时利用率",
        cmd_shifts,
    )
    p.add_argument("action", choices=["import"])
    p.add_argument("file", help="CSV: work_id,date,scheduled_minutes,work_minutes,busy_minutes")

    p = add(
        "ratings",
        "import customers' ratings of calls (评定: 满意/不满意) from the survey after them",
        cmd_ratings,
    )
    p.add_argument("action", choices=["import"])
    p.add_argument("file", help="CSV: call_key,rating (satisfied, dissatisfied or empty)")

    p = add("branch", "list branches, or set one's monthly quota and feedback webhook", cmd_branch)
    p.add_argument("code", nargs="?", help="branch code to change, e.g. GZ")
    p.add_argument("--quota", type=int, help="monthly quota of contacts")
    p.add_argument("--no-quota", action="store_true", help="remove the monthly quota")
    p.add_argument("--webhook", help="feedback webhook URL ('' to remove)")
    p.add_argument("--by", default="admin")

    p = add("users", "list, add, disable or enable dashboard users and their roles", cmd_users)
    p.add_argument(
        "action", nargs="?", choices=["list", "add", "disable", "enable"], default="list"
    )
    p.add_argument("name", nargs="?", help="user name, e.g. gz-marketing")
    p.add_argument(
        "--role",
        choices=["branch", "staff", "manager", "admin"],
        help="branch: its own branch only; staff: operates campaigns; manager: reads all",
    )
    p.add_argument("--branch", help="the branch code of a branch user, e.g. GZ")
    p.add_argument("--pii", action="store_true", help="may see full phone numbers")
    p.add_argument("--display-name", help="the name the dashboard greets the user by, e.g. 张伟")
    p.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin (scripts)"
    )
    p.add_argument("--by", default="admin")

    p = add(
        "serve",
        "run campaign flows from a Prefect deployment (needs OUTBOUND_PREFECT_API_URL)",
        cmd_serve,
    )
    p.add_argument("--limit", type=int, help="most flow runs at once in this process")

    p = add("dashboard", "open the Streamlit dashboard", cmd_dashboard)
    p.add_argument("--port", type=int, default=8501)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `outbound` console script."""
    parser = build_parser()
    args = parser.parse_args(_legacy_report(list(sys.argv[1:] if argv is None else argv)))
    if args.command == "db" and args.revision is None:
        args.revision = "head" if args.action == "upgrade" else "base"
    try:
        return int(args.func(args))
    except (UserError, ConfigurationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        text = str(exc.orig).lower()
        if "no such table" in text or "does not exist" in text:
            print(
                "error: the database has no schema yet; run `outbound db upgrade` first",
                file=sys.stderr,
            )
        else:
            print(f"error: the database refused the request: {exc.orig}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
