"""Daily feedback to the branches on a schedule, the final summary, and the center's
operations reports.

One deployment per branch runs `daily_feedback` at 17:00 in the branch's own time zone
(the source manual's daily report deadline); `outbound serve` serves them next to the
campaign deployment. `outbound report daily` runs the same work by hand without Prefect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from campaigns import reporting, services
from campaigns.model import BranchRecord, DeliveryStatus
from campaigns.operations import PeriodKind
from flows.bootstrap import App, bootstrap

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

#: The source manual's daily report is due at 11:30 or 17:00; branches get theirs at 17:00.
DEFAULT_CRON = "0 17 * * *"
FLOW_NAME = "daily-feedback"


def _now() -> datetime:
    return datetime.now(UTC)


def deliver_one(
    app: App, campaign_id: int, day: date
) -> tuple[int, dict[str, Any], DeliveryStatus]:
    """Build, store, write and deliver one campaign's feedback of one day."""
    # The day's report reads every attempt anyway; the dashboard's contact funnel is
    # reconciled with them here once a day (outcomes recorded late included).
    services.refresh_contact_reach(uow=app.uow(), campaign_id=campaign_id)
    report_id, payload = reporting.build_daily_report(
        uow=app.uow(), campaign_id=campaign_id, day=day, now=_now()
    )
    return report_id, payload, redeliver(app, report_id)


def redeliver(app: App, report_id: int) -> DeliveryStatus:
    """Write a stored report's files and send it (again) to its branch."""
    return reporting.deliver_report(
        uow=app.uow(),
        report_id=report_id,
        sender=app.sender(),
        reports_dir=app.settings.reports_dir,
        now=_now(),
    )


def deliver_daily(app: App, *, campaign_ids: Sequence[int], day: date) -> list[dict[str, Any]]:
    """Deliver one day's feedback for each campaign; small summary rows back."""
    return [_row(*deliver_one(app, campaign_id, day)) for campaign_id in campaign_ids]


def _row(report_id: int, payload: dict[str, Any], status: DeliveryStatus) -> dict[str, Any]:
    d, c = payload["day"], payload["cumulative"]
    return {
        "report": report_id,
        "campaign": payload["campaign_id"],
        "date": payload["date"],
        "attempts": d["attempts"],
        "successes": d["successes"],
        "cumulative successes": c["successes"],
        "completion": c["completion"],
        "projected finish": payload["projected"]["finish"],
        "delivery": status.value,
    }


def branch_today(app: App, branch_code: str | None) -> date:
    """Today in the branch's time zone (the center's when no branch is named)."""
    zone = app.settings.timezone
    if branch_code is not None:
        with app.uow() as uow:
            branch = uow.catalogue.branch_by_code(branch_code)
        if branch is not None:
            zone = branch.timezone
    return _now().astimezone(ZoneInfo(zone)).date()


@task(retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def daily_feedback_task(campaign_ids: list[int], day: date) -> list[dict[str, Any]]:
    """Deliver a day's feedback for a batch of campaigns and publish each as an artifact."""
    app = bootstrap()
    rows = deliver_daily(app, campaign_ids=campaign_ids, day=day)
    for row in rows:
        with app.uow() as uow:
            _, _, payload, _ = uow.reports.get(row["report"])
        create_markdown_artifact(
            reporting.daily_markdown(payload),
            key=f"feedback-{row['campaign']}-{day.isoformat()}",
            description="Daily feedback to the branch (numbers masked)",
        )
    return rows


@flow(name=FLOW_NAME, log_prints=True)
def daily_feedback(branch_code: str | None = None, day: str | None = None) -> list[dict[str, Any]]:
    """Send every campaign active on the day (default: today in the branch's zone) its
    branch's daily feedback, and publish the batch as a table artifact."""
    app = bootstrap()
    the_day = date.fromisoformat(day) if day else branch_today(app, branch_code)
    ids = reporting.campaigns_to_report(uow=app.uow(), day=the_day, branch_code=branch_code)
    rows = daily_feedback_task(ids, the_day) if ids else []
    create_table_artifact(
        rows or [{"date": the_day.isoformat(), "campaigns": 0}],
        key=f"daily-feedback-{(branch_code or 'all').lower()}-{the_day.isoformat()}",
        description=f"Daily feedback of {the_day} for branch {branch_code or 'all'}",
    )
    return rows


def feedback_deployments(
    branches: Sequence[BranchRecord], *, cron: str = DEFAULT_CRON
) -> list[RunnerDeployment]:
    """One deployment per branch, scheduled by `cron` in the branch's time zone."""
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    # to_deployment is sync-compatible (typed as maybe a coroutine); called sync it is not one.
    return [
        cast(
            "RunnerDeployment",
            daily_feedback.to_deployment(
                name=f"branch-{b.code.lower()}",
                schedules=[Cron(cron, timezone=b.timezone)],
                parameters={"branch_code": b.code},
                entrypoint_type=EntrypointType.MODULE_PATH,
                description=f"Daily feedback to branch {b.code} ({b.name}) at {cron} {b.timezone}",
            ),
        )
        for b in branches
    ]


def deliver_summary(app: App, campaign_id: int, *, resend: bool = False) -> dict[str, Any]:
    """Build and write a campaign's final summary; send it unless the branch has it."""
    if not resend and reporting.summary_delivered(uow=app.uow(), campaign_id=campaign_id):
        payload = reporting.build_final_summary(uow=app.uow(), campaign_id=campaign_id, now=_now())
        reporting.write_final_summary(payload, app.settings.reports_dir)
        return payload | {"delivery": "already delivered"}
    status, payload = reporting.deliver_final_summary(
        uow=app.uow(),
        campaign_id=campaign_id,
        sender=app.sender(),
        reports_dir=app.settings.reports_dir,
        now=_now(),
    )
    return payload | {"delivery": status.value}


@task(retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def final_summary_task(campaign_id: int) -> dict[str, Any]:
    """Send the final summary of a completed or cancelled campaign; publish it."""
    app = bootstrap()
    payload = deliver_summary(app, campaign_id)
    create_markdown_artifact(
        reporting.summary_markdown(payload),
        key=f"summary-{campaign_id}",
        description="Final summary sent to the branch",
    )
    return {"campaign_id": campaign_id, "delivery": payload["delivery"]}


def operations(app: App, *, kind: PeriodKind, day: date) -> tuple[dict[str, Any], list[str]]:
    """Build and write the operations report of the period containing `day`."""
    payload = reporting.build_operations_report(
        uow=app.uow(), kind=kind, day=day, timezone=app.settings.timezone
    )
    paths = reporting.write_operations_report(payload, app.settings.reports_dir)
    return payload, [str(p) for p in paths]
