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
  outbound launch 1                          clean, trial-dial and live-dial campaign 1
  outbound pause 1 / resume 1 / cancel 1     center staff controls
  outbound status 1                          where campaign 1 stands
  outbound report 1                          its daily feedback reports
  outbound dashboard                         open the manager dashboard

settings come from OUTBOUND_* environment variables (or a .env file):
  OUTBOUND_DATABASE_URL   default sqlite:///data/outbound.db
  OUTBOUND_DIALER         default simulator
  OUTBOUND_REPORTS_DIR    default data/reports
  OUTBOUND_PREFECT_API_URL  a Prefect server; Prefect's ephemeral mode if unset
"""


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def _now() -> datetime:
    return datetime.now(UTC)


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
    _quiet_prefect()
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from flows import progress
    from flows.campaign_flow import campaign_flow

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()) as bar:
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

    text = path.read_text(encoding="utf-8")
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


def cmd_submit(args: argparse.Namespace) -> int:
    from campaigns import services
    from campaigns.errors import ValidationError
    from campaigns.intake import iter_rows, open_list
    from campaigns.model import CampaignRequestDraft

    fields: dict[str, Any] = _load_request_file(Path(args.request)) if args.request else {}
    for name in ("branch", "offer", "target", "contacts", "goal", "start", "end", "month"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    missing = [n for n in ("branch", "offer", "goal", "start", "end") if fields.get(n) is None]
    if missing:
        raise ValidationError("missing request fields: " + ", ".join(missing))
    start = _date(fields["start"], "start")
    app = _app(args)
    lf = open_list(Path(args.list_file), phone_column=args.phone_column)
    rows = list(iter_rows(lf))
    draft = CampaignRequestDraft(
        branch_code=str(fields["branch"]),
        offer_code=str(fields["offer"]),
        target_group=str(fields.get("target", "")),
        requested_contacts=int(fields.get("contacts") or len(rows)),
        goal_activations=int(fields["goal"]),
        window_start=start,
        window_end=_date(fields["end"], "end"),
        month=str(fields.get("month") or start.strftime("%Y-%m")),
        submitted_by=args.by,
    )
    result = services.submit_request(
        uow=app.uow(),
        draft=draft,
        rows=rows,
        file_digest=lf.digest,
        list_filename=Path(args.list_file).name,
        now=_now(),
    )
    out = _console()
    if result.duplicate:
        out.print(
            f"This request was already submitted as campaign {result.campaign_id}; "
            "nothing new was stored."
        )
        return 0
    out.print(
        f"Submitted campaign {result.campaign_id}: {result.rows:,} rows, "
        f"{result.valid_numbers:,} valid numbers."
    )
    for p in result.problems[:20]:
        out.print(f"  row {p.row_number}: {p.raw!r} — {p.reason}")
    if len(result.problems) > 20:
        out.print(f"  … and {len(result.problems) - 20} more rows with problems")
    if not args.no_check:
        _run_flow(app, result.campaign_id)
        _print_status(app, result.campaign_id)
    return 0


def cmd_decide(args: argparse.Namespace, approve: bool) -> int:
    from campaigns import services

    app = _app(args)
    c = services.decide(
        uow=app.uow(),
        campaign_id=args.campaign,
        approve=approve,
        actor=args.by,
        now=_now(),
        note=args.note,
    )
    print(f"campaign {c.id} is {c.state.value}")
    return 0


def cmd_launch(args: argparse.Namespace) -> int:
    from campaigns import services
    from campaigns.model import CampaignState

    app = _app(args)
    c = services.get_campaign(uow=app.uow(), campaign_id=args.campaign)
    if c.state is CampaignState.TRIAL_REVIEW:
        if not args.go:
            print(
                f"campaign {c.id} waits for the go/no-go decision after its trial; "
                "pass --go to start live dialing"
            )
            return 1
        services.transition(
            uow=app.uow(),
            campaign_id=c.id,
            target=CampaignState.LIVE,
            actor=args.by,
            now=_now(),
            detail={"decision": "go"},
        )
    result = _run_flow(app, args.campaign, actor=args.by)
    print(f"campaign {args.campaign}: {result}")
    _print_status(app, args.campaign)
    return 0


def cmd_transition(args: argparse.Namespace, target: str) -> int:
    from campaigns import services
    from campaigns.model import CampaignState

    app = _app(args)
    c = services.transition(
        uow=app.uow(),
        campaign_id=args.campaign,
        target=CampaignState(target),
        actor=args.by,
        now=_now(),
        detail={"note": args.note} if args.note else None,
    )
    print(f"campaign {c.id} is {c.state.value}")
    if target == "LIVE" and not args.no_run:
        print(f"campaign {c.id}: {_run_flow(app, c.id, actor=args.by)}")
    return 0


def _print_status(app: Any, campaign_id: int) -> None:
    from rich.table import Table

    from campaigns import views

    out = _console()
    s = views.campaign_status(uow=app.uow(), campaign_id=campaign_id)
    out.print(f"[bold]Campaign {s['id']}[/] {s['name']} — [bold]{s['state']}[/]")
    feas = s.get("feasibility") or {}
    if feas:
        out.print(f"Feasibility: {feas['verdict']} — " + "; ".join(feas["reasons"]))
        for sug in feas.get("suggestions", []):
            out.print(f"  suggestion: {sug}")
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


def cmd_status(args: argparse.Namespace) -> int:
    from rich.table import Table

    from campaigns import views

    app = _app(args)
    if args.campaign is not None:
        _print_status(app, args.campaign)
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
    from campaigns import reporting, views

    app = _app(args)
    if args.date:
        report_id, _ = reporting.build_daily_report(
            uow=app.uow(), campaign_id=args.campaign, day=_date(args.date, "--date"), now=_now()
        )
        status = reporting.deliver_report(
            uow=app.uow(),
            report_id=report_id,
            sender=app.sender(),
            reports_dir=app.settings.reports_dir,
            now=_now(),
        )
        print(f"report for {args.date}: {status.value}")
    reports = views.daily_reports(uow=app.uow(), campaign_id=args.campaign)
    if args.json:
        print(json.dumps(reports, ensure_ascii=False, indent=2, default=str))
        return 0
    from rich.table import Table

    table = Table(title=f"Daily feedback of campaign {args.campaign}")
    for col in (
        "date",
        "attempts",
        "RPC",
        "successes",
        "completion",
        "complaints",
        "delivery",
        "file",
    ):
        table.add_column(col)
    for r in reports:
        table.add_row(
            str(r["date"]),
            f"{r['attempts']:,}",
            f"{r['right_party']:,}",
            f"{r['successes']:,}",
            f"{r['completion']:.0%}",
            str(r["complaints"]),
            r["delivery_status"],
            r["file_path"] or "",
        )
    _console().print(table)
    return 0


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
    p.add_argument("list_file", help="CSV or XLSX list (UTF-8 or GBK), one contact per row")
    p.add_argument("--request", help="YAML or JSON file with the request fields")
    p.add_argument("--branch", help="branch code, e.g. GZ")
    p.add_argument("--offer", help="offer code, e.g. 5G_PLUS_59")
    p.add_argument("--target", help="target customer group (目标客户群)")
    p.add_argument("--contacts", type=int, help="requested number of contacts")
    p.add_argument("--goal", type=int, help="goal: activations")
    p.add_argument("--start", help="first day of the window, YYYY-MM-DD")
    p.add_argument("--end", help="last day of the window, YYYY-MM-DD")
    p.add_argument("--month", help="month the request belongs to, YYYY-MM")
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
    p.add_argument("--go", action="store_true", help="go decision after a trial that needs review")
    p.add_argument("--by", default="center-staff")

    for name, target, help_ in (
        ("pause", "PAUSED", "stop dialing at the next batch boundary"),
        ("resume", "LIVE", "continue a paused campaign where it stopped"),
        ("cancel", "CANCELLED", "close a campaign for good"),
    ):
        p = add(name, help_, functools.partial(cmd_transition, target=target))
        p.add_argument("campaign", type=int)
        p.add_argument("--note")
        p.add_argument("--by", default="center-staff")
        p.add_argument("--no-run", action="store_true", help=argparse.SUPPRESS)

    p = add("status", "list campaigns, or show where one stands", cmd_status)
    p.add_argument("campaign", type=int, nargs="?")

    p = add("report", "show a campaign's daily feedback; --date builds and sends one", cmd_report)
    p.add_argument("campaign", type=int)
    p.add_argument("--date", help="build and deliver the report of this day, YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("dashboard", "open the Streamlit dashboard", cmd_dashboard)
    p.add_argument("--port", type=int, default=8501)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `outbound` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
