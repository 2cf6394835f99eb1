"""The campaign flow: carries one campaign from its current state as far as it can go.

Each stage is one task over a batch (the whole list for cleaning, an hour of calls for
dialing). The flow is state-driven, so running it again after a pause, an approval or
a crash continues where the campaign stands; per-call state and idempotency keys
live in our tables, so nothing is repeated.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.input import RunInput

from campaigns import reporting, services, views
from campaigns.dialing import run_slice
from campaigns.errors import DialerUnavailable
from campaigns.model import CampaignRecord, Phase
from campaigns.model import CampaignState as S
from flows import api, feedback_flow, progress, suspension
from flows.bootstrap import App, bootstrap
from flows.gates import wait_at_gate
from flows.trial_gate import (
    notify_trial_stopped_task,
    review_trial_task,
    trial_sample_task,
)
from flows.trial_gate import wait_for_go as wait_for_go_decision


def _now() -> datetime:
    return datetime.now(UTC)


@task
def feasibility_task(campaign_id: int) -> dict[str, Any]:
    """Run the feasibility check and publish it as an artifact."""
    app = bootstrap()
    report = services.run_feasibility(
        uow=app.uow(), campaign_id=campaign_id, now=_now(), source=app.subscriber_source()
    )
    create_markdown_artifact(
        views.feasibility_markdown(campaign_id, report),
        key=f"feasibility-{campaign_id}",
        description="Feasibility report for the approval gate",
    )
    return report


@task
def clean_task(campaign_id: int) -> dict[str, int]:
    """Clean the whole list in batches and give the campaign its script."""
    app = bootstrap()
    summary = services.clean(
        uow=app.uow(), campaign_id=campaign_id, now=_now(), source=app.subscriber_source()
    )
    services.assign_script(uow=app.uow(), campaign_id=campaign_id, now=_now())
    ledger = services.get_campaign(uow=app.uow(), campaign_id=campaign_id).cleaning_ledger
    create_markdown_artifact(
        views.ledger_markdown(campaign_id, dict(ledger or {})),
        key=f"ledger-{campaign_id}",
        description="Exclusion ledger after cleaning",
    )
    return summary


def _dialer_was_unavailable(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a slice only when the dialer could not be reached (a retryable error)."""
    try:
        state.result()
    except DialerUnavailable:
        return True
    except Exception:
        return False
    return False


@task(retries=2, retry_delay_seconds=30, retry_condition_fn=_dialer_was_unavailable)
def dial_task(campaign_id: int, phase: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Dial one slice of time (about an hour) and record its end on the campaign.

    Pacing comes from settings (OUTBOUND_PACING, e.g. {"mode": "progressive"}); the default
    is predictive under the US abandon rule, progressive below 15 agents. A retry resumes:
    attempts already on record are never dialled twice.
    """
    app = bootstrap()
    seed = campaign_id * 1_000_003 + int(start.timestamp()) // 3600
    # run_slice drives the async dialer with asyncio.run: a sync task has no event loop,
    # while an async task called from this sync flow would not even be awaited.
    summary = run_slice(
        uow=app.uow(),
        dialer=app.dialer(seed=seed),
        campaign_id=campaign_id,
        phase=Phase(phase),
        start=start,
        end=end,
        pacing=app.pacing(),
    )
    # The dashboard's contact funnel reads what each slice took its contacts to.
    services.refresh_contact_reach(uow=app.uow(), campaign_id=campaign_id, start=start, end=end)
    with app.uow() as uow:
        uow.campaigns.update(campaign_id, now=_now(), dialed_until=end)
        uow.commit()
    return {
        "attempts": summary.attempts,
        "successes": summary.successes,
        "live": summary.live,
        "abandoned": summary.abandoned,
        "handle_seconds": round(summary.handle_seconds, 1),
        "staffed_seconds": round(summary.staffed_seconds, 1),
        "pacing": max(summary.modes, key=summary.modes.__getitem__, default=""),
    }


# Never cached: after a pause the resumed run reports the same day again, with more calls.
@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def daily_report_task(campaign_id: int, day: date) -> dict[str, Any]:
    """Build, store, write and deliver one day's feedback."""
    _, payload, status = feedback_flow.deliver_one(bootstrap(), campaign_id, day)
    create_markdown_artifact(
        reporting.daily_markdown(payload),
        key=f"feedback-{campaign_id}-{day.isoformat()}",
        description="Daily feedback to the branch (numbers masked)",
    )
    return payload | {"delivery": status.value}


def _dial_days(campaign_id: int, phase: Phase, *, trial_hours: int = 2) -> str:
    """Dial slice by slice, reporting after each day; stop on pause, cancel or exhaustion."""
    app = bootstrap()
    simulated = app.dialer().simulated_time
    campaign = services.get_campaign(uow=app.uow(), campaign_id=campaign_id)
    for day in services.dialing_days(campaign):
        slices = services.day_slices(day, campaign)
        if phase is Phase.TRIAL:
            slices = slices[:trial_hours]
        dialed_today = False
        for start, end in slices:
            floor = campaign.dialed_until or start
            if not simulated:
                floor = max(floor, _now())
            if end <= floor:
                continue
            result = dial_task(campaign_id, phase.value, max(start, floor), end)
            dialed_today = True
            progress.emit("slice", campaign_id=campaign_id, phase=phase.value, end=end, **result)
            campaign = services.get_campaign(uow=app.uow(), campaign_id=campaign_id)
            if campaign.state not in (S.LIVE, S.TRIAL):
                break
            if services.contacts_remaining(uow=app.uow(), campaign_id=campaign_id) == 0:
                break
            if phase is Phase.TRIAL and _trial_done(campaign_id):
                break
        if dialed_today:
            payload = daily_report_task(campaign_id, day)
            progress.emit("day", campaign_id=campaign_id, phase=phase.value, report=payload)
        if campaign.state not in (S.LIVE, S.TRIAL):
            return campaign.state.value
        if services.contacts_remaining(uow=app.uow(), campaign_id=campaign_id) == 0:
            return "exhausted"
        if phase is Phase.TRIAL:
            return "trial-done"
    return "window-ended"


def _trial_done(campaign_id: int) -> bool:
    with bootstrap().uow() as uow:
        return uow.contacts.next_due_at(campaign_id, trial_only=True) is None


class ApprovalDecision(RunInput):
    """The form a reviewer fills in the Prefect UI to decide on a feasibility report."""

    approve: bool
    note: str = ""
    reviewer: str = "prefect-ui"


def _wait_for_decision(campaign_id: int) -> None:
    """Pause the run until a reviewer decides, in the Prefect UI, the CLI or the dashboard."""

    def apply(app: App, decision: ApprovalDecision) -> None:
        api.decide(
            app,
            campaign_id,
            approve=decision.approve,
            actor=decision.reviewer,
            note=decision.note or None,
        )

    wait_at_gate(
        campaign_id, state=S.FEASIBILITY, form=ApprovalDecision, key="approval", apply=apply
    )


@flow(name="campaign", log_prints=True)
def campaign_flow(
    campaign_id: int,
    auto_approve: bool = False,
    auto_go: bool = True,
    actor: str = "flow",
    wait_for_approval: bool | None = None,
    wait_for_go: bool | None = None,
) -> str:
    """Carry a campaign through feasibility, approval, cleaning, trial, live and feedback.

    Without auto-approval the run waits for a reviewer when it talks to a Prefect server
    (`wait_for_approval`, default: when OUTBOUND_PREFECT_API_URL is set); in the embedded
    default it returns "awaiting approval" and `outbound approve` + `outbound launch` go on.
    A trial that needs review waits the same way (`wait_for_go`) or returns "awaiting
    go/no-go" for `outbound launch --go` / `--no-go`.
    """
    app = bootstrap()

    def get() -> CampaignRecord:
        return services.get_campaign(uow=app.uow(), campaign_id=campaign_id)

    state = get().state
    if state is S.SUBMITTED:
        feasibility_task(campaign_id)
        state = get().state
    if state is S.FEASIBILITY:
        if auto_approve:
            api.decide(
                app,
                campaign_id,
                approve=True,
                actor=f"{actor}:auto-approve",
                note="auto-approved on request",
            )
        elif wait_for_approval or (
            wait_for_approval is None and app.settings.prefect_api_url is not None
        ):
            _wait_for_decision(campaign_id)
        else:
            return "awaiting approval"
        state = get().state
    if state is S.APPROVED:
        progress.emit("cleaning", campaign_id=campaign_id)
        clean_task(campaign_id)
        state = get().state
    if state is S.READY:
        trial_sample_task(campaign_id)
        state = get().state
    if state is S.TRIAL:
        _dial_days(campaign_id, Phase.TRIAL)
        # PROMOTE goes live (with auto_go), STOP cancels, REVIEW waits for a person below.
        review = review_trial_task(campaign_id, auto_go, actor)
        progress.emit("trial", campaign_id=campaign_id, review=review)
        if review["state"] == S.CANCELLED.value:
            notify_trial_stopped_task(campaign_id)
        state = get().state
    if state is S.TRIAL_REVIEW:
        if wait_for_go or (wait_for_go is None and app.settings.prefect_api_url is not None):
            wait_for_go_decision(campaign_id)
        else:
            return "awaiting go/no-go"
        state = get().state
    if state is S.LIVE:
        suspension.track(app, campaign_id)
        outcome = _dial_days(campaign_id, Phase.LIVE)
        if outcome in ("exhausted", "window-ended"):
            services.transition(
                uow=app.uow(),
                campaign_id=campaign_id,
                target=S.COMPLETED,
                actor=actor,
                now=_now(),
                detail={"reason": outcome},
            )
        state = get().state
    if state is S.PAUSED:  # on a deployment the run suspends here and frees its worker
        suspension.suspend_while_paused(app, campaign_id)
        state = get().state
    if state in (S.COMPLETED, S.CANCELLED):
        sent = feedback_flow.final_summary_task(campaign_id)
        progress.emit("summary", campaign_id=campaign_id, delivery=sent["delivery"])
    return state.value
