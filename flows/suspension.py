"""A paused campaign's flow run is suspended on a Prefect server, so it holds no worker.

A run started from the deployment (`outbound serve`) that finds its campaign PAUSED at a
slice boundary suspends itself: Prefect records it as Paused ("Suspended") and the process
exits. `outbound resume` resumes that run; Prefect schedules it again, a serving process
runs the flow from the top, and the flow continues where the campaign stands (per-call
state and idempotency keys are in our tables, so nothing is repeated). `outbound cancel`
sets a suspended run Cancelled: nothing is left for it to do.

A run that starts (or is resumed from the Prefect UI) while its campaign is still PAUSED
suspends again at once. Without a deployment (the embedded default, or a plain call)
nothing here applies: the flow returns "PAUSED" and `outbound resume` runs it again.

What Prefect 3.8 does, and what follows:
- `suspend_flow_run(timeout=None)` sets no pause deadline, so the server's pause-expiration
  service never fails the run, however long the pause. With a timeout the run is set
  Failed ("The flow was paused and never resumed") once it passes, and a resume is then
  refused (`FlowPauseTimeout`). We suspend without one.
- Only a run with a deployment can be suspended (it is rescheduled on resume).
- The server refuses a suspension whose pause key it has seen (the run goes on), and the
  default key counts pauses within one process, so every suspension gets a fresh key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID, uuid4

from campaigns import services
from campaigns.model import CampaignRecord
from campaigns.model import CampaignState as S
from flows.bootstrap import App

log = logging.getLogger(__name__)

FLOW_NAME = "campaign"
DEPLOYMENT_NAME = "outbound"
DEPLOYMENT = f"{FLOW_NAME}/{DEPLOYMENT_NAME}"


def _now() -> datetime:
    return datetime.now(UTC)


def _deployed_run_id() -> UUID | None:
    """This flow run's id when it was started from a deployment, else None."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None or ctx.flow_run.deployment_id is None:
        return None
    return ctx.flow_run.id


def track(app: App, campaign_id: int) -> None:
    """Attach this run to the campaign while it dials, when it runs from a deployment.

    `outbound resume` and `outbound cancel` find it there, and can tell a run that is
    still finishing its slice (it will see the new state by itself) from a suspended one.
    """
    run_id = _deployed_run_id()
    if run_id is not None:
        services.attach_flow_run(
            uow=app.uow(), campaign_id=campaign_id, flow_run_id=str(run_id), now=_now()
        )


def suspend_while_paused(app: App, campaign_id: int) -> None:
    """Suspend this run while its campaign is PAUSED, when it runs from a deployment.

    Returns at once without a deployment. Otherwise Prefect's `Pause` propagates and the
    process exits; the run is rescheduled from the top when it is resumed.
    """
    from prefect.exceptions import Pause
    from prefect.flow_runs import suspend_flow_run

    run_id = _deployed_run_id()
    if run_id is None:
        return
    services.attach_flow_run(
        uow=app.uow(), campaign_id=campaign_id, flow_run_id=str(run_id), now=_now()
    )
    try:
        suspend_flow_run(timeout=None, key=f"paused-{campaign_id}-{uuid4().hex[:12]}")
    except Pause:
        # `outbound resume` (or cancel) may have landed after we read PAUSED but before the
        # suspension, found this run still running and left it to see the new state: so
        # look once more, and if the campaign moved on, resume ourselves.
        state = services.get_campaign(uow=app.uow(), campaign_id=campaign_id).state
        if state is not S.PAUSED:
            _resume_quietly(run_id)
        raise


def _resume_quietly(run_id: UUID) -> bool:
    from prefect.exceptions import FlowPauseTimeout, NotPausedError
    from prefect.flow_runs import resume_flow_run

    try:
        resume_flow_run(run_id)
    except (NotPausedError, FlowPauseTimeout):
        return False  # resumed (or cancelled) by someone else meanwhile
    return True


@dataclass(frozen=True)
class RunAction:
    """What happened to the campaign's flow run on resume or cancel."""

    run_id: str | None
    #: "resumed", "cancelled", "running" (it will see the new state by itself) or "none"
    #: (no run that will act: start one if needed).
    action: str


def _read_state(run_id: UUID) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


def resume(campaign: CampaignRecord) -> RunAction:
    """Resume the campaign's suspended flow run, if it has one, after it went LIVE again."""
    if not campaign.flow_run_id:
        return RunAction(None, "none")
    from prefect.exceptions import FlowPauseTimeout, NotPausedError
    from prefect.flow_runs import resume_flow_run

    run_id = UUID(campaign.flow_run_id)
    try:
        resume_flow_run(run_id)
        return RunAction(campaign.flow_run_id, "resumed")
    except (NotPausedError, FlowPauseTimeout):
        pass
    except Exception as exc:  # the run or the server may be gone; start afresh
        log.warning("could not resume flow run %s: %s", campaign.flow_run_id, exc)
        return RunAction(campaign.flow_run_id, "none")
    return RunAction(campaign.flow_run_id, "running" if _is_active(run_id) else "none")


def cancel(campaign: CampaignRecord) -> RunAction:
    """Set the campaign's suspended flow run Cancelled, after the campaign was cancelled.

    A suspended run has no process, so nothing needs to run for it to end: resuming it only
    to see CANCELLED would take a worker for nothing. A run that is still dialing finishes
    its slice, sees CANCELLED and ends by itself.
    """
    if not campaign.flow_run_id:
        return RunAction(None, "none")
    from prefect import get_client
    from prefect.states import Cancelled

    run_id = UUID(campaign.flow_run_id)
    try:
        state = _read_state(run_id)
        if state is not None and state.is_paused() and state.name == "Suspended":
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(
                    run_id, Cancelled(message="the campaign was cancelled"), force=True
                )
            return RunAction(campaign.flow_run_id, "cancelled")
    except Exception as exc:  # the campaign is cancelled either way
        log.warning("could not cancel flow run %s: %s", campaign.flow_run_id, exc)
        return RunAction(campaign.flow_run_id, "none")
    return RunAction(campaign.flow_run_id, "running" if _is_active(run_id) else "none")


def _is_active(run_id: UUID) -> bool:
    """Whether the run will still look at the campaign (scheduled, pending, running)."""
    try:
        state = _read_state(run_id)
    except Exception as exc:
        log.warning("could not read flow run %s: %s", run_id, exc)
        return False
    return state is not None and not state.is_final() and not state.is_paused()


def submit(campaign_id: int, deployment: str, **parameters: Any) -> str:
    """Start a campaign flow run from the deployment; returns its id at once."""
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    run = run_deployment(
        deployment, parameters={"campaign_id": campaign_id, **parameters}, timeout=0
    )
    return str(cast(FlowRun, run).id)


def serve(*, limit: int | None = None, app: App | None = None) -> None:
    """Create the campaign deployment and each branch's daily feedback deployment, and run
    their flow runs in this process until interrupted."""
    from prefect import serve as serve_all
    from prefect.deployments.runner import RunnerDeployment
    from prefect.types.entrypoint import EntrypointType

    from flows.campaign_flow import campaign_flow
    from flows.feedback_flow import feedback_deployments

    campaign = campaign_flow.to_deployment(
        name=DEPLOYMENT_NAME,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description="Carries one campaign as far as it can go; suspended while it is paused.",
    )
    branches = []
    if app is not None:
        with app.uow() as uow:
            branches = uow.catalogue.branches()
    serve_all(cast(RunnerDeployment, campaign), *feedback_deployments(branches), limit=limit)
