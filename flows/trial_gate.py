"""The trial gate of the campaign flow: sample, review, and wait for a go/no-go.

The decision itself is `campaigns.trial.decide_trial`, applied by `services.settle_trial`:
PROMOTE goes live, STOP cancels the campaign and tells the branch, REVIEW waits here for a
person, like the approval gate (on a Prefect server the run pauses in rounds with a form).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import task
from prefect.input import RunInput

from campaigns import services
from campaigns.errors import ValidationError
from campaigns.model import CampaignState as S
from flows import api
from flows.bootstrap import App, bootstrap
from flows.gates import wait_at_gate


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
    """Pause the run until a person says go or no-go (Prefect UI, CLI or API)."""

    def apply(app: App, decision: GoNoGoDecision) -> None:
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

    wait_at_gate(campaign_id, state=S.TRIAL_REVIEW, form=GoNoGoDecision, key="trial", apply=apply)
