"""Cached access to read models; pages call these, never the database directly."""

from __future__ import annotations

from typing import Any

import streamlit as st

from campaigns import views
from flows.bootstrap import App, bootstrap


@st.cache_resource
def app() -> App:
    """One wired app (engine and pools) per dashboard process."""
    return bootstrap()


@st.cache_data(ttl=15)
def campaign_list() -> list[dict[str, Any]]:
    """Campaign headlines."""
    return views.campaign_list(uow=app().uow())


@st.cache_data(ttl=15)
def campaign_status(campaign_id: int) -> dict[str, Any]:
    """One campaign's state, contacts, exclusions and funnel."""
    return views.campaign_status(uow=app().uow(), campaign_id=campaign_id)


@st.cache_data(ttl=15)
def daily_reports(campaign_id: int) -> list[dict[str, Any]]:
    """One campaign's daily feedback rows."""
    return views.daily_reports(uow=app().uow(), campaign_id=campaign_id)


def funnel_stages(status: dict[str, Any]) -> list[dict[str, Any]]:
    """Funnel rows for the chart."""
    return views.funnel_stages(status)
