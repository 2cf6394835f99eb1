"""Waiting at a gate of the campaign flow for a person's decision, on a Prefect server.

The approval gate and the trial's go/no-go gate wait the same way: the run pauses with a
form in the Prefect UI, one round at a time. When a round times out the run is set running
again and pauses anew, so an undecided campaign never fails by Prefect's pause timeout. A
decision made elsewhere (CLI, dashboard, API) moves the campaign out of the gate's state,
and the loop ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from prefect import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import FlowPauseTimeout
from prefect.flow_runs import pause_flow_run
from prefect.input import RunInput
from prefect.states import Running

from campaigns import services
from campaigns.model import CampaignState
from flows.bootstrap import App, bootstrap

Form = TypeVar("Form", bound=RunInput)


def wait_at_gate(
    campaign_id: int,
    *,
    state: CampaignState,
    form: type[Form],
    key: str,
    apply: Callable[[App, Form], None],
) -> None:
    """Pause the run while the campaign is in `state`; a form filled in the Prefect UI is
    handed to `apply` (a decision taken elsewhere meanwhile wins)."""
    app = bootstrap()
    ctx = FlowRunContext.get()
    assert ctx is not None and ctx.flow_run is not None
    run_id = ctx.flow_run.id
    services.attach_flow_run(
        uow=app.uow(), campaign_id=campaign_id, flow_run_id=str(run_id), now=_now()
    )
    rounds = 0
    try:
        while services.get_campaign(uow=app.uow(), campaign_id=campaign_id).state is state:
            rounds += 1
            try:
                decision = pause_flow_run(
                    wait_for_input=form,
                    timeout=app.settings.approval_round_seconds,
                    poll_interval=app.settings.approval_poll_seconds,
                    key=f"{key}-{campaign_id}-{rounds}",
                )
            except FlowPauseTimeout:
                with get_client(sync_client=True) as client:
                    client.set_flow_run_state(run_id, Running(), force=True)
                continue
            if services.get_campaign(uow=app.uow(), campaign_id=campaign_id).state is state:
                apply(app, decision)
    finally:
        services.attach_flow_run(
            uow=app.uow(), campaign_id=campaign_id, flow_run_id=None, now=_now()
        )


def _now() -> datetime:
    return datetime.now(UTC)
