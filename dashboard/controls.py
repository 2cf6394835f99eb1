"""Launch, pause, resume, cancel and the trial's go/no-go, each confirmed in a second step
and carried out by flows.api as the signed-in user (the same functions the CLI calls)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from campaigns import views
from campaigns.access import Principal
from campaigns.errors import UserError
from campaigns.model import CampaignState
from dashboard import data, widgets
from dashboard.i18n import t
from flows import api

_PENDING = "control-pending"
_PRIMARY = {"launch", "go", "resume"}


def render(user: Principal, board: dict[str, Any]) -> None:
    """The controls a campaign in its state allows; nothing for users who cannot operate."""
    if not user.can_operate:
        return
    # The state now, not the cached board's: a run in the background moves it on.
    state = data.campaign_state(board["id"], user.branch_scope)
    actions = views.available_controls(CampaignState(state))
    if not actions:
        return
    pending = st.session_state.get(_PENDING)
    if pending is not None and pending[1] == board["id"] and pending[0] in actions:
        _confirm(user, board, pending[0])
        return
    for column, action in zip(st.columns(len(actions)), actions, strict=True):
        if column.button(
            t(f"control.{action}"),
            key=f"control-{action}",
            type="primary" if action in _PRIMARY else "secondary",
            width="stretch",
        ):
            # Nothing happens yet: the next run asks to confirm.
            st.session_state[_PENDING] = (action, board["id"])
            st.rerun()


def _confirm(user: Principal, board: dict[str, Any], action: str) -> None:
    st.warning(t(f"confirm.{action}", id=board["id"], name=board["name"]))
    note = st.text_input(
        t("controls.note_required") if action == "no_go" else t("controls.note"),
        key=f"control-note-{action}",
    )
    yes, no = st.columns(2)
    if yes.button(
        t("controls.confirm", action=t(f"control.{action}")),
        key=f"confirm-{action}",
        type="primary",
        width="stretch",
    ):
        st.session_state.pop(_PENDING, None)
        try:
            widgets.flash("success", _act(user, board["id"], action, note.strip() or None))
        except UserError as exc:
            widgets.flash("error", str(exc))
        data.refresh()
        st.rerun()
    if no.button(t("controls.back"), key=f"back-{action}", width="stretch"):
        st.session_state.pop(_PENDING, None)
        st.rerun()


def _act(user: Principal, campaign_id: int, action: str, note: str | None) -> str:
    """Carry out a confirmed control; what happened, as one message."""
    app = data.app()
    lines: list[str] = []
    start = False
    if action in api.CONTROLS:
        outcome = api.control(
            app, campaign_id, api.CONTROLS[action], actor=user.username, note=note
        )
        lines.append(_state_line(campaign_id, outcome.campaign.state))
        if outcome.run is not None and outcome.run.action in ("resumed", "cancelled", "running"):
            lines.append(t(f"done.run_{outcome.run.action}", run=outcome.run.run_id))
        if action == "pause":
            lines.append(t("done.paused"))
        start = outcome.needs_run
        if outcome.summary_delivery is not None:
            lines.append(t("done.summary", delivery=outcome.summary_delivery))
    else:
        go = {"launch": None, "go": True, "no_go": False}[action]
        step = api.launch_decision(app, campaign_id, go=go, actor=user.username, note=note)
        if step.refused:
            raise UserError(step.refused)
        if step.trial is not None:
            lines.append(_state_line(campaign_id, step.trial.campaign.state))
            if step.trial.flow_resumed:
                lines.append(t("done.gate_resumed"))
            if step.trial.notified is not None:
                lines.append(t("done.notified", delivery=step.trial.notified.value))
        start = step.start
    if start:
        started = api.start_run(app, campaign_id, actor=user.username)
        lines.append(t(f"done.started_{started.how}", detail=started.detail))
    return "\n\n".join(lines)


def _state_line(campaign_id: int, state: CampaignState) -> str:
    return t("done.state", id=campaign_id, state=t(f"state.{state.value}"))
