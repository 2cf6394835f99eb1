"""Cached access to read models; pages call these, never the database directly."""

from __future__ import annotations

from datetime import date
from typing import Any

import streamlit as st

from campaigns import views
from flows.bootstrap import App, bootstrap


@st.cache_resource
def app() -> App:
    """One wired app (engine and pools) per dashboard process."""
    return bootstrap()


@st.cache_data(ttl=15)
def campaign_list(branch: str | None = None) -> list[dict[str, Any]]:
    """Campaign headlines; only one branch's when `branch` is given."""
    return views.campaign_list(uow=app().uow(), branch=branch)


@st.cache_data(ttl=15)
def campaign_status(campaign_id: int) -> dict[str, Any]:
    """One campaign's state, contacts, exclusions and funnel."""
    return views.campaign_status(uow=app().uow(), campaign_id=campaign_id)


@st.cache_data(ttl=15)
def daily_reports(campaign_id: int) -> list[dict[str, Any]]:
    """One campaign's daily feedback rows."""
    return views.daily_reports(uow=app().uow(), campaign_id=campaign_id)


def ledger_rows(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    """Exclusion ledger rows for a table."""
    return views.ledger_rows(ledger)


def funnel_stages(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Funnel rows for the chart."""
    return views.funnel_stages(status)


@st.cache_data(ttl=60)
def catalogue() -> dict[str, list[dict[str, Any]]]:
    """Branches and offers for forms."""
    return views.catalogue(uow=app().uow())


def pending_approvals() -> list[dict[str, Any]]:
    """Requests waiting for a decision (not cached: staff act on them)."""
    return views.pending_approvals(uow=app().uow())


def refresh() -> None:
    """Drop cached read models after an action changed the data."""
    st.cache_data.clear()


def show_feasibility(campaign_id: int, report: dict[str, Any]) -> None:
    """Render a feasibility report: verdict, reasons, suggestions, figures, cleaning preview."""
    verdict = report["verdict"]
    box = {"FEASIBLE": st.success, "AT_RISK": st.warning, "INFEASIBLE": st.error}[verdict]
    box(
        f"**Feasibility of campaign {campaign_id}: {verdict}**\n\n"
        + "\n".join(f"- {r}" for r in report["reasons"])
        + "".join(f"\n- **suggestion:** {s}" for s in report["suggestions"])
    )
    left, right = st.columns(2)
    left.dataframe(
        [{"figure": k, "value": v} for k, v in views.feasibility_rows(report)], hide_index=True
    )
    preview = {k: v for k, v in report["cleaning_preview"].items()}
    right.bar_chart(
        {"contacts": preview}, horizontal=True, x_label="contacts", y_label="cleaning preview"
    )


@st.cache_data(ttl=30)
def agent_table(first: date, last: date) -> list[dict[str, Any]]:
    """Per agent over the center's local days: calls, talk and handle time, conversions."""
    return views.agent_table(uow=app().uow(), first=first, last=last, tz=app().settings.timezone)
