"""Shared fixtures: a migrated database per backend (SQLite always, PostgreSQL when reachable).

PostgreSQL tests use a fresh database created for this run and dropped after it. When
OUTBOUND_REQUIRE_POSTGRES=1 (CI), an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from campaigns.storage.db import create_database, drop_database
from campaigns.storage.orm import Base
from flows import migrate
from flows.bootstrap import App, bootstrap, reset_cache
from flows.settings import Settings

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

PG_ADMIN_URL = os.environ.get(
    "OUTBOUND_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_PG = os.environ.get("OUTBOUND_REQUIRE_POSTGRES") == "1"


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any driver error means "not reachable"
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    problem = _pg_reachable()
    if problem is not None:
        message = f"PostgreSQL at {PG_ADMIN_URL} is unreachable: {problem}"
        if REQUIRE_PG:
            pytest.fail(message + " (OUTBOUND_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(message)
    name = f"outbound_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = create_database(admin, name)
    yield url
    reset_cache()
    drop_database(admin, name)
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file for this test run."""
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'outbound.db'}"


def _migrated(url: str, data_dir: Path) -> App:
    app = bootstrap(Settings(database_url=url, data_dir=data_dir))
    migrate.upgrade(app.engine)
    return app


@pytest.fixture(scope="session")
def _sqlite_app(sqlite_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> App:
    return _migrated(sqlite_database_url, tmp_path_factory.mktemp("data-sqlite"))


@pytest.fixture(scope="session")
def _pg_app(pg_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> App:
    return _migrated(pg_database_url, tmp_path_factory.mktemp("data-pg"))


def _empty(app: App) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with app.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # TRUNCATE does not fire the audit log's row triggers, so tests can start clean.
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest) -> Iterator[App]:
    """An empty, migrated database on each backend."""
    the_app: App = request.getfixturevalue(
        "_sqlite_app" if request.param == "sqlite" else "_pg_app"
    )
    _empty(the_app)
    yield the_app


@pytest.fixture
def pg_app(_pg_app: App) -> Iterator[App]:
    """An empty, migrated PostgreSQL database only (row locks, concurrent workers)."""
    _empty(_pg_app)
    yield _pg_app


@pytest.fixture
def sqlite_app(_sqlite_app: App) -> Iterator[App]:
    """An empty, migrated SQLite database only (for tests that need one backend)."""
    _empty(_sqlite_app)
    yield _sqlite_app


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness, entered once for the whole session (it costs ~10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        _console_logs_to_real_stderr()
        yield


def _console_logs_to_real_stderr() -> None:
    # Prefect's console handler binds the stderr of the test that first logged; pytest closes
    # that stream after the test, so later tests would fail on writing to a closed file.
    import logging
    import sys

    from prefect.logging.handlers import PrefectConsoleHandler

    for name in ["", *logging.root.manager.loggerDict]:
        for handler in getattr(logging.getLogger(name), "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                # Not setStream: it flushes the old stream, which may be closed already.
                handler.acquire()
                try:
                    handler.stream = sys.__stderr__
                finally:
                    handler.release()
                handler.console.file = sys.__stderr__


@pytest.fixture
def flow_app(app: App, prefect_harness: None) -> Iterator[App]:
    """Point the flow's composition root (which reads the environment) at the test database."""
    env = {
        "OUTBOUND_DATABASE_URL": app.settings.database_url,
        "OUTBOUND_DATA_DIR": str(app.settings.data_dir),
        # Short approval rounds, so a test sees a pause time out and the gate wait again.
        "OUTBOUND_APPROVAL_ROUND_SECONDS": "3",
        "OUTBOUND_APPROVAL_POLL_SECONDS": "1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield app
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
