"""The Python API for branches and center staff; the CLI and the dashboard call these too."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from campaigns import reporting, services
from campaigns.intake import draft_from_fields, iter_rows, open_list
from campaigns.model import CampaignRecord, CampaignState, DeliveryStatus
from flows.bootstrap import App

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """A stored (or recognised) request and, when it was checked, its feasibility report."""

    result: services.SubmitResult
    feasibility: dict[str, Any] | None


def submit(
    app: App,
    fields: dict[str, Any],
    list_path: Path,
    *,
    submitted_by: str,
    phone_column: str | None = None,
    check: bool = True,
    list_name: str | None = None,
) -> Submission:
    """Validate and store a branch request with its list file; then run the feasibility check."""
    draft = draft_from_fields(fields, submitted_by=submitted_by, today=app.local_today())
    limits = app.settings.list_limits()
    lf = open_list(list_path, phone_column=phone_column, limits=limits)
    result = services.submit_request(
        uow=app.uow(),
        draft=draft,
        rows=iter_rows(lf),
        file_digest=lf.digest,
        list_filename=list_name or list_path.name,
        now=datetime.now(UTC),
        limits=limits,
    )
    feasibility = None
    campaign = services.get_campaign(uow=app.uow(), campaign_id=result.campaign_id)
    if check and campaign.state is CampaignState.SUBMITTED:
        feasibility = services.run_feasibility(
            uow=app.uow(),
            campaign_id=result.campaign_id,
            now=datetime.now(UTC),
            source=app.subscriber_source(),
        )
    elif campaign.feasibility:
        feasibility = dict(campaign.feasibility)
    return Submission(result, feasibility)


@dataclass(frozen=True)
class DecisionOutcome:
    """The campaign after a decision, whether the branch heard of a rejection, and the flow."""

    campaign: CampaignRecord
    notified: DeliveryStatus | None
    flow_resumed: bool


def decide(
    app: App, campaign_id: int, *, approve: bool, actor: str, note: str | None = None
) -> DecisionOutcome:
    """Approve or reject; tell the branch of a rejection; resume a flow paused at the gate."""
    campaign = services.decide(
        uow=app.uow(),
        campaign_id=campaign_id,
        approve=approve,
        actor=actor,
        now=datetime.now(UTC),
        note=note,
    )
    # The waiting run first: it should not sit out another pause round while the branch's
    # webhook is retried.
    resumed = _resume(campaign, {"approve": approve, "note": note or "", "reviewer": actor})
    notified = None
    if not approve:
        notified = reporting.notify_rejection(
            uow=app.uow(), campaign_id=campaign_id, sender=app.sender(), now=datetime.now(UTC)
        )
    return DecisionOutcome(campaign, notified, resumed)


def decide_trial(
    app: App, campaign_id: int, *, go: bool, actor: str, note: str | None = None
) -> DecisionOutcome:
    """Go or no-go after a trial under review; tell the branch of a no-go; resume the flow."""
    campaign = services.decide_after_trial(
        uow=app.uow(), campaign_id=campaign_id, go=go, actor=actor, now=datetime.now(UTC), note=note
    )
    resumed = _resume(campaign, {"go": go, "note": note or "", "reviewer": actor})
    notified = None
    if not go:
        notified = notify_trial_stopped(app, campaign_id)
    return DecisionOutcome(campaign, notified, resumed)


def notify_trial_stopped(app: App, campaign_id: int) -> DeliveryStatus:
    """Tell the branch that its campaign stopped after the trial, and why."""
    return reporting.notify_trial_stopped(
        uow=app.uow(), campaign_id=campaign_id, sender=app.sender(), now=datetime.now(UTC)
    )


def _resume(campaign: CampaignRecord, run_input: dict[str, Any]) -> bool:
    """Resume the run waiting at a gate; True when it was, or is running and will see it.

    The gate pauses in rounds and is briefly running between two of them. A decision that
    lands then finds nothing to resume, but the run reads the campaign's state before it
    pauses again, so it continues by itself (and may have finished by now).
    """
    if not campaign.flow_run_id:
        return False
    from uuid import UUID

    from prefect import get_client
    from prefect.exceptions import FlowPauseTimeout, NotPausedError
    from prefect.flow_runs import resume_flow_run

    run_id = UUID(campaign.flow_run_id)
    try:
        resume_flow_run(run_id, run_input=run_input)
    except (NotPausedError, FlowPauseTimeout):
        # Between rounds, or the round's pause just expired: the run is about to re-check.
        try:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(run_id).state
        except Exception as exc:  # the run may be gone; the decision stands either way
            log.warning("could not read flow run %s: %s", campaign.flow_run_id, exc)
            return False
        # Whatever it is doing (running, pending, paused again, or completed: a run at the
        # gate only leaves it once the campaign is decided), only a failed, crashed or
        # cancelled run will not act on the decision.
        return state is not None and not (state.is_final() and not state.is_completed())
    except Exception as exc:  # the run may be gone; the decision stands either way
        log.warning("could not resume flow run %s: %s", campaign.flow_run_id, exc)
        return False
    return True
