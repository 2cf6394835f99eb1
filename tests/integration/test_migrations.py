"""Alembic builds the schema on both databases, and the models agree with the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from campaigns.storage.orm import Base
from flows import migrate
from flows.bootstrap import App


def test_upgrade_head_builds_every_table(app: App) -> None:
    tables = set(inspect(app.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    with app.engine.connect() as conn:
        version = conn.execute(text("select version_num from alembic_version")).scalar()
    head = ScriptDirectory.from_config(migrate.alembic_config(app.engine)).get_current_head()
    assert version == head


def test_models_and_migrations_agree(app: App) -> None:
    with app.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "render_as_batch": conn.dialect.name == "sqlite"},
        )
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(app: App) -> None:
    migrate.downgrade(app.engine, "base")
    assert "campaigns" not in inspect(app.engine).get_table_names()
    migrate.upgrade(app.engine)
    assert "campaigns" in inspect(app.engine).get_table_names()
