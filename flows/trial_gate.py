"""The trial gate of the campaign flow: sample, review, and wait for a go/no-go.

The decision itself is `campaigns.trial.decide_trial`, applied by `services.settle_trial`:
PROMOTE goes live, STOP cancels the campaign and tells the branch, REVIEW waits here for a
person, like the approval gate (on a Prefect server the run pauses in rounds with a form).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import get_client, task
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Running

from campaigns import services
from campaigns.errors import ValidationError
from campaigns.model import CampaignState as S
from flows import api
from flows.bootstrap import bootstrap


def _now() -> datetime:
    return datetime.now(UTC)


@task
def trial_sample_task(campaign_id: int) -> dict[str, Any]:
    """Pick the trial sample, stratified by segment, as the settings size it."""
    app = bootstrap()
    sample, _ = app.settings.trial_config()
    return services.start_trial(
        uow=app.uow(),
        campaign_id=campaign_id,
        now=_now(),
        size=sample.size,
        share=sample.share,
        max_size=sample.max_size,
    )


@task
def review_trial_task(campaign_id: int, auto_go: bool, actor: str) -> dict[str, Any]:
    """Measure the trial against its thresholds and act: live, stop, or wait for review."""
    app = bootstrap()
    _, thresholds = app.settings.trial_config()
    return services.settle_trial(
        uow=app.uow(),
        campaign_id=campaign_id,
        now=_now(),
        thresholds=thresholds,
        auto_go=auto_go,
        actor=actor,
    )


@task(retries=2, retry_delay_seconds=5)
def notify_trial_stopped_task(campaign_id: int) -> str:
    """Tell the branch that the trial stopped its campaign."""
    return api.notify_trial_stopped(bootstrap(), campaign_id).value


class GoNoGoDecision(RunInput):
    """The form a person fills in the Prefect UI after a trial that needs review."""

    go: bool
    note: str = ""
    reviewer: str = "prefect-ui"


def wait_for_go(campaign_id: int) -> None:
    """Pause the run until a person says go or no-go (Prefect UI, CLI or API).

    Each pause lasts one round; when it times out the run is set running again and pauses
    anew, so a campaign under review never fails by Prefect's pause timeout.
    """
    app = bootstrap()
    ctx = FlowRunContext.get()
    assert ctx is not None and ctx.flow_run is not None
    run_id = ctx.flow_run.id
    services.attach_flow_run(
        uow=app.uow(), campaign_id=campaign_id, flow_run_id=str(run_id), now=_now()
    )
    rounds = 0
    try:
        while services.get_campaign(uow=app.uow(), campaign_id=campaign_id).state is S.TRIAL_REVIEW:
            rounds += 1
            try:
                decision = pause_flow_run(
                    wait_for_input=GoNoGoDecision,
                    timeout=app.settings.approval_round_seconds,
                    poll_interval=app.settings.approval_poll_seconds,
                    key=f"trial-{campaign_id}-{rounds}",
                )
            except FlowPauseTimeout:
                with get_client(sync_client=True) as client:
                    client.set_flow_run_state(run_id, Running(), force=True)
                continue
            current = services.get_campaign(uow=app.uow(), campaign_id=campaign_id)
            if current.state is S.TRIAL_REVIEW:  # decided in the Prefect UI form
                try:
                    api.decide_trial(
                        app,
                        campaign_id,
                        go=decision.go,
                        actor=decision.reviewer,
                        note=decision.note or None,
                    )
                except ValidationError as exc:  # a no-go without a note: ask again
                    print(f"campaign {campaign_id}: {exc}")
    finally:
        services.attach_flow_run(
            uow=app.uow(), campaign_id=campaign_id, flow_run_id=None, now=_now()
        )
