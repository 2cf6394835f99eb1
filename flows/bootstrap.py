"""The composition root: settings in, wired engine, unit of work, dialer and sender out.

Nothing is built at import time; `bootstrap()` builds on first use and caches per database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from campaigns.errors import ConfigurationError
from campaigns.pacing import PacingConfig
from campaigns.ports import Dialer, FeedbackSender, SubscriberSource
from campaigns.storage.db import make_engine, make_session_factory
from campaigns.storage.uow import SqlAlchemyUnitOfWork
from flows.settings import Settings


@dataclass
class App:
    """Wired dependencies for one process."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]

    def uow(self) -> SqlAlchemyUnitOfWork:
        """A fresh unit of work; each `with` block is one transaction."""
        return SqlAlchemyUnitOfWork(self.session_factory)

    def dialer(self, **overrides: Any) -> Dialer:
        """The configured dialer adapter."""
        from dialer_adapters import load_dialer

        return load_dialer(self.settings.dialer, **(self.settings.dialer_options | overrides))

    def pacing(self) -> PacingConfig:
        """The configured pacing (OUTBOUND_PACING)."""
        return self.settings.pacing_config()

    def subscriber_source(self) -> SubscriberSource | None:
        """The operator's CRM when configured; None means the snapshot tables (the default)."""
        s = self.settings
        if s.subscriber_source == "snapshot":
            return None
        if s.subscriber_source != "crm":
            raise ConfigurationError(
                f"OUTBOUND_SUBSCRIBER_SOURCE must be snapshot or crm, not {s.subscriber_source!r}"
            )
        if not s.crm_url or s.crm_token is None:
            raise ConfigurationError(
                "the crm subscriber source needs OUTBOUND_CRM_URL and OUTBOUND_CRM_TOKEN"
            )
        from flows.crm import HttpxCrmSubscriberSource

        return HttpxCrmSubscriberSource(
            s.crm_url, s.crm_token, batch_size=s.crm_batch_size, timeout=s.crm_timeout
        )

    def local_today(self) -> date:
        """Today in the center's time zone (relative request dates are read in it)."""
        return datetime.now(ZoneInfo(self.settings.timezone)).date()

    def sender(self) -> FeedbackSender:
        """The webhook sender for branch feedback."""
        from flows.webhooks import HttpxFeedbackSender

        secret = self.settings.webhook_secret
        return HttpxFeedbackSender(
            timeout=self.settings.webhook_timeout,
            secret=secret.get_secret_value() if secret else None,
        )


_apps: dict[str, App] = {}


def bootstrap(settings: Settings | None = None) -> App:
    """Build (or reuse) the app for these settings."""
    s = settings or Settings()
    key = s.model_dump_json()
    app = _apps.get(key)
    if app is None:
        if s.prefect_api_url:
            os.environ.setdefault("PREFECT_API_URL", s.prefect_api_url)
        engine = make_engine(s.database_url)
        app = App(s, engine, make_session_factory(engine))
        _apps[key] = app
    return app


def reset_cache() -> None:
    """Dispose every cached engine (tests and the demo's reset use this)."""
    for app in _apps.values():
        app.engine.dispose()
    _apps.clear()
