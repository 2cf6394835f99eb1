"""Unit of work: the caller owns the session and the transaction."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from campaigns.storage.analytics import SqlAlchemyReportQueries
from campaigns.storage.dashboard_queries import SqlAlchemyDashboardQueries
from campaigns.storage.fastload import SqlAlchemyListStore
from campaigns.storage.repositories import (
    SqlAlchemyAttemptRepository,
    SqlAlchemyAuditLog,
    SqlAlchemyCampaignRepository,
    SqlAlchemyCatalogueRepository,
    SqlAlchemyContactRepository,
    SqlAlchemyDncRepository,
    SqlAlchemyReportRepository,
    SqlAlchemyRollupRepository,
    SqlAlchemyUserRepository,
)
from campaigns.storage.setclean import SqlAlchemySetCleaner
from campaigns.storage.snapshot import SqlAlchemySnapshotSource


class SqlAlchemyUnitOfWork:
    """Opens a session per `with` block; nothing is saved unless `commit()` is called."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        self.session = self._factory()
        self.catalogue = SqlAlchemyCatalogueRepository(self.session)
        self.campaigns = SqlAlchemyCampaignRepository(self.session)
        self.contacts = SqlAlchemyContactRepository(self.session)
        self.snapshot = SqlAlchemySnapshotSource(self.session)
        self.cleaner = SqlAlchemySetCleaner(self.session)
        self.lists = SqlAlchemyListStore(self.session)
        self.dnc = SqlAlchemyDncRepository(self.session)
        self.attempts = SqlAlchemyAttemptRepository(self.session)
        self.reports = SqlAlchemyReportRepository(self.session)
        self.rollups = SqlAlchemyRollupRepository(self.session)
        self.users = SqlAlchemyUserRepository(self.session)
        self.audit = SqlAlchemyAuditLog(self.session)
        self.analytics = SqlAlchemyReportQueries(self.session)
        self.dashboard = SqlAlchemyDashboardQueries(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        """Make the block's changes permanent."""
        self.session.commit()

    def rollback(self) -> None:
        """Drop the block's changes."""
        self.session.rollback()
