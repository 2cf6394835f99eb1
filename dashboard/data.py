"""Cached access to read models; pages call these, never the database directly.

Every function that reads one campaign takes the user's branch scope (None: every
branch), so a branch user's request for another branch's campaign fails in the read model
(NotFoundError) whatever the page asked for; the scope is part of each cache key.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import streamlit as st

from campaigns import views
from flows.bootstrap import App, bootstrap

#: How often live numbers refresh themselves (st.fragment(run_every=…)), in seconds.
LIVE_SECONDS = 15


@st.cache_resource
def app() -> App:
    """One wired app (engine and pools) per dashboard process."""
    return bootstrap()


def now() -> datetime:
    """The current instant (UTC)."""
    return datetime.now(UTC)


def timezone() -> str:
    """The center's time zone."""
    return app().settings.timezone


def today() -> date:
    """Today in the center's time zone."""
    return app().local_today()


def refresh() -> None:
    """Drop cached read models after an action changed the data."""
    st.cache_data.clear()


@st.cache_data(ttl=15)
def campaign_choices(branch: str | None) -> list[dict[str, Any]]:
    """Campaigns to pick from; one branch's when `branch` is given."""
    return views.campaign_choices(uow=app().uow(), branch=branch)


@st.cache_data(ttl=30)
def overview(branch: str | None, days: int) -> dict[str, Any]:
    """Tiles of the last `days` days against the days before, per campaign, per branch."""
    return views.overview(uow=app().uow(), now=now(), tz=timezone(), days=days, branch=branch)


@st.cache_data(ttl=15)
def campaign_board(campaign_id: int, branch: str | None) -> dict[str, Any]:
    """One campaign's page: funnel, trend, heat map, phases, ledger, scripts, actions."""
    return views.campaign_board(uow=app().uow(), campaign_id=campaign_id, branch=branch)


@st.cache_data(ttl=5)
def campaign_pulse(campaign_id: int, branch: str | None) -> dict[str, Any]:
    """One campaign's live numbers."""
    return views.campaign_pulse(uow=app().uow(), campaign_id=campaign_id, now=now(), branch=branch)


def campaign_state(campaign_id: int, branch: str | None) -> str:
    """A campaign's state now (not cached: the controls offered depend on it)."""
    return views.campaign_state(uow=app().uow(), campaign_id=campaign_id, branch=branch)


@st.cache_data(ttl=15)
def readiness(campaign_id: int, branch: str | None) -> dict[str, Any]:
    """Why a campaign is (not) dialling now."""
    return views.dial_readiness(uow=app().uow(), campaign_id=campaign_id, now=now(), branch=branch)


@st.cache_data(ttl=30)
def agent_board(first: date, last: date) -> dict[str, Any]:
    """Per agent over the center's local days first..last."""
    return views.agent_board(uow=app().uow(), first=first, last=last, tz=timezone())


@st.cache_data(ttl=60)
def catalogue() -> dict[str, list[dict[str, Any]]]:
    """Branches and offers for forms."""
    return views.catalogue(uow=app().uow())


def pending_approvals() -> list[dict[str, Any]]:
    """Requests waiting for a decision (not cached: staff act on them)."""
    return views.pending_approvals(uow=app().uow())


def report_board(campaign_id: int, branch: str | None) -> dict[str, Any]:
    """A campaign's reports and their delivery (not cached: staff resend them)."""
    return views.report_board(uow=app().uow(), campaign_id=campaign_id, branch=branch)


@st.cache_data(ttl=300, max_entries=64)
def daily_report_file(report_id: int, fmt: str, branch: str | None) -> tuple[str, bytes]:
    """One daily report as a file to download: name and content."""
    return views.daily_report_file(uow=app().uow(), report_id=report_id, fmt=fmt, branch=branch)


def summary_payload(campaign_id: int, branch: str | None) -> dict[str, Any] | None:
    """The final summary last written for a campaign (None before one was), in scope."""
    board = views.report_board(uow=app().uow(), campaign_id=campaign_id, branch=branch)
    path = app().settings.reports_dir / f"campaign-{board['id']}-summary.json"
    if not path.exists():
        return None
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return payload


def ledger_rows(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    """Exclusion ledger rows for a table."""
    return views.ledger_rows(ledger)


def feasibility_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """A feasibility report's figures as (label, value) rows."""
    return views.feasibility_rows(report)
