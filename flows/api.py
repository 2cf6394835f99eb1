"""The Python API for branches and center staff; the CLI and the dashboard call these too."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from campaigns import reporting, services
from campaigns.intake import draft_from_fields, open_list
from campaigns.model import CampaignRecord, CampaignState, DeliveryStatus
from flows.bootstrap import App

if TYPE_CHECKING:
    from flows.suspension import RunAction

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
        rows=lf,
        file_digest=lf.digest,
        list_filename=list_name or list_path.name,
        now=datetime.now(UTC),
        limits=limits,
        source=app.subscriber_source(),
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


# --------------------------------------------------------------------------- controls
#
# Pause, resume, cancel and launch, for the CLI and the dashboard alike: each front end
# prints or shows the outcome its own way, and starts a flow run its own way (the CLI in
# its process, the dashboard in a detached one), but the decisions are taken here.

#: The control verbs and the state each one moves a campaign to.
CONTROLS = {
    "pause": CampaignState.PAUSED,
    "resume": CampaignState.LIVE,
    "cancel": CampaignState.CANCELLED,
}


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@dataclass(frozen=True)
class ControlOutcome:
    """A campaign after a pause, resume or cancel, and what followed from it."""

    campaign: CampaignRecord
    #: What happened to its flow run (None after a pause: the run sees PAUSED by itself).
    run: RunAction | None
    #: Resumed, but no flow run will act on it: the caller starts one.
    needs_run: bool = False
    #: After a cancel that no run will see: the final summary's delivery to the branch.
    summary_delivery: str | None = None


def control(
    app: App, campaign_id: int, target: CampaignState, *, actor: str, note: str | None = None
) -> ControlOutcome:
    """Pause, resume (LIVE) or cancel a campaign, audited as `actor`; resume or cancel its
    suspended flow run, and send the final summary of a cancelled campaign no run will see."""
    from flows import suspension

    c = services.transition(
        uow=app.uow(),
        campaign_id=campaign_id,
        target=target,
        actor=actor,
        now=datetime.now(UTC),
        detail={"note": note} if note else None,
    )
    if target is CampaignState.PAUSED:
        return ControlOutcome(c, None)
    # A run from the deployment suspends while its campaign is paused: resume or cancel it.
    if c.flow_run_id:
        _quiet_prefect()
    run = suspension.resume(c) if target is CampaignState.LIVE else suspension.cancel(c)
    needs_run = target is CampaignState.LIVE and run.action == "none"
    summary = None
    if target is CampaignState.CANCELLED and run.action != "running":
        # No run will see the cancellation, so the branch gets its summary from here.
        from flows.feedback_flow import deliver_summary

        summary = str(deliver_summary(app, c.id)["delivery"])
    return ControlOutcome(c, run, needs_run, summary)


@dataclass(frozen=True)
class LaunchDecision:
    """Whether a launch may start a flow run, after any go/no-go it carried."""

    campaign: CampaignRecord
    #: Nothing was done, and this says why.
    refused: str | None = None
    #: The go/no-go taken on a trial under review.
    trial: DecisionOutcome | None = None
    #: A flow run should start now (the waiting run was not resumed, or there was none).
    start: bool = False


def launch_decision(
    app: App, campaign_id: int, *, go: bool | None, actor: str, note: str | None = None
) -> LaunchDecision:
    """Decide what launching a campaign means where it stands: after a trial under review it
    needs a go or no-go (taken here, audited as `actor`); otherwise a go/no-go is refused."""
    c = services.get_campaign(uow=app.uow(), campaign_id=campaign_id)
    if c.state is CampaignState.TRIAL_REVIEW:
        if go is None:
            return LaunchDecision(
                c,
                refused=f"campaign {c.id} waits for the go/no-go decision after its trial; "
                "pass --go to start live dialing, or --no-go --note … to stop it",
            )
        outcome = decide_trial(app, c.id, go=go, actor=actor, note=note)
        return LaunchDecision(
            outcome.campaign, trial=outcome, start=go and not outcome.flow_resumed
        )
    if go is not None:
        return LaunchDecision(
            c,
            refused=f"campaign {c.id} is {c.state.value}, "
            "not waiting for a go/no-go after its trial",
        )
    return LaunchDecision(c, start=True)


@dataclass(frozen=True)
class StartedRun:
    """A campaign flow run started without waiting for it."""

    #: "deployment" (a flow run on the Prefect server) or "process" (a local `outbound launch`)
    how: str
    detail: str
    #: The local process, when there is one (callers may wait for it; nobody needs to).
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None


def start_run(app: App, campaign_id: int, *, actor: str) -> StartedRun:
    """Start the campaign's flow run and return at once, audited as `actor`.

    With a deployment (OUTBOUND_PREFECT_DEPLOYMENT) the run goes to the Prefect server.
    Otherwise `outbound launch N --by ACTOR` starts in a process of its own session, with
    its output in the data dir's logs, so it outlives the caller (a dashboard rerun, or
    the dashboard itself); the campaign's state in the database tells how it goes.
    """
    settings = app.settings
    if settings.prefect_deployment:
        from campaigns.errors import ConfigurationError
        from flows import suspension

        if not settings.prefect_api_url:
            raise ConfigurationError(
                "OUTBOUND_PREFECT_DEPLOYMENT needs a Prefect server: set OUTBOUND_PREFECT_API_URL"
            )
        _quiet_prefect()
        run_id = suspension.submit(campaign_id, settings.prefect_deployment, actor=actor)
        started = StartedRun(
            "deployment", f"flow run {run_id} submitted to deployment {settings.prefect_deployment}"
        )
    else:
        logs = settings.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"launch-{campaign_id}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}.log"
        env = dict(
            os.environ,
            OUTBOUND_DATABASE_URL=settings.database_url,
            OUTBOUND_DATA_DIR=str(settings.data_dir),
            OUTBOUND_REPORTS_DIR=str(settings.reports_dir),
        )
        command = [sys.executable, "-m", "flows.cli", "launch", str(campaign_id), "--by", actor]
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        started = StartedRun("process", f"process {process.pid}, log {log}", process, log)
    services.record_action(
        uow=app.uow(),
        campaign_id=campaign_id,
        action="run_started",
        actor=actor,
        now=datetime.now(UTC),
        detail={"how": started.how, "detail": started.detail},
    )
    return started


def resend_report(app: App, report_id: int, *, actor: str) -> DeliveryStatus:
    """Send a stored daily report to its branch again (same idempotency key), audited."""
    from flows.feedback_flow import redeliver

    status = redeliver(app, report_id)
    with app.uow() as uow:
        campaign_id, day, _, _ = uow.reports.get(report_id)
    services.record_action(
        uow=app.uow(),
        campaign_id=campaign_id,
        action="report_resent",
        actor=actor,
        now=datetime.now(UTC),
        detail={"report": report_id, "date": day.isoformat(), "status": status.value},
    )
    return status


def resend_summary(app: App, campaign_id: int, *, actor: str) -> str:
    """Build and send a finished campaign's final summary again, audited; its delivery."""
    from flows.feedback_flow import deliver_summary

    delivery = str(deliver_summary(app, campaign_id, resend=True)["delivery"])
    services.record_action(
        uow=app.uow(),
        campaign_id=campaign_id,
        action="summary_resent",
        actor=actor,
        now=datetime.now(UTC),
        detail={"status": delivery},
    )
    return delivery
