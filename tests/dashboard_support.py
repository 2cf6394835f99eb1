"""Helpers and fixtures of the dashboard tests. The world: branch GZ's campaign dialled for
two days (LIVE, with a delivered daily report and agents' shifts) and branch SZ's request
waiting for a decision, on SQLite (`world`) or on each database (`world_on`); the
dashboard reads that database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from builders import NOW, TODAY, dialled_campaign, seed_operator, submitted
from streamlit.testing.v1 import AppTest

from campaigns import reporting, services
from campaigns.operations import ShiftRecord
from flows import feedback_flow
from flows.bootstrap import App
from flows.receiver import WebhookReceiver

DASHBOARD = Path(__file__).resolve().parents[1] / "dashboard"


def page(name: str) -> AppTest:
    """One page of the dashboard, run on its own as a bookmark would."""
    return AppTest.from_file(str(DASHBOARD / "app_pages" / f"{name}.py"), default_timeout=60)


def whole_app() -> AppTest:
    """The dashboard's entry point: sign-in, then navigation by role."""
    return AppTest.from_file(str(DASHBOARD / "streamlit_app.py"), default_timeout=60)


@contextmanager
def dashboard_on(app: App) -> Iterator[None]:
    """Point the dashboard's composition root (which reads the environment) at `app`."""
    env = {
        "OUTBOUND_DATABASE_URL": app.settings.database_url,
        "OUTBOUND_DATA_DIR": str(app.settings.data_dir),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    # Pages cache their data; start every test from what is in the database now.
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        st.cache_data.clear()
        st.cache_resource.clear()


@dataclass(frozen=True)
class World:
    app: App
    gz: int  # GZ's campaign: LIVE, dialled on TODAY and the day after
    sz: int  # SZ's request: waiting for a decision
    receiver: WebhookReceiver  # GZ's feedback webhook


def build_world(app: App, receiver: WebhookReceiver) -> World:
    fates = seed_operator(app, active=60, agents=4, webhook=receiver.url)
    gz = dialled_campaign(app, fates)
    feedback_flow.deliver_one(app, gz, TODAY)
    sz = submitted(app, fates, branch_code="SZ", target_group="sz list")
    services.run_feasibility(uow=app.uow(), campaign_id=sz, now=NOW)
    with app.uow() as uow:
        work_ids = [w for _, w in uow.catalogue.outbound_agents()]
    reporting.import_shifts(
        uow=app.uow(),
        shifts=[
            ShiftRecord(w, TODAY + timedelta(days=d), 8 * 3600, 7 * 3600, 1800)
            for w in work_ids
            for d in (0, 1)
        ],
        now=NOW,
    )
    return World(app, gz, sz, receiver)


@pytest.fixture
def world(sqlite_app: App) -> Iterator[World]:
    with WebhookReceiver() as receiver:
        built = build_world(sqlite_app, receiver)
        with dashboard_on(sqlite_app):
            yield built


@pytest.fixture
def world_on(app: App) -> Iterator[World]:
    """The same world on each database."""
    with WebhookReceiver() as receiver:
        built = build_world(app, receiver)
        with dashboard_on(app):
            yield built
