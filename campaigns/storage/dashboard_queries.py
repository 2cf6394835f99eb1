"""Reads behind the dashboard, over the rollups only (never every attempt), and the one
rollup they add: the funnel stage each contact reached (`contact_reach`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, case, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from campaigns import rollups
from campaigns.model import CONNECTED, PITCHED, RIGHT_PARTY, Disposition, Phase
from campaigns.storage import orm


def _stage_of(disposition: Any, counts_as_attempt: Any) -> Any:
    """`rollups.reach_stage` in SQL."""
    return case(
        (disposition == Disposition.SUCCESS, 5),
        (disposition.in_(sorted(PITCHED)), 4),
        (disposition.in_(sorted(RIGHT_PARTY)), 3),
        (disposition.in_(sorted(CONNECTED)), 2),
        (counts_as_attempt.is_(True), 1),
        else_=0,
    )


class SqlAlchemyDashboardQueries:
    """Campaign totals from the campaign hours, contacts per funnel stage from
    `contact_reach`; `refresh_reach` is its only write (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def refresh_reach(
        self, campaign_id: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> None:
        """Raise each contact's stage to the furthest its finished attempts dialled in the
        hours overlapping [start, end) took it to (no bound: every attempt of the campaign);
        running it twice changes nothing."""
        a = cast(Table, orm.CallAttempt.__table__)
        t = cast(Table, orm.ContactReach.__table__)
        stage = func.max(_stage_of(a.c.disposition, a.c.counts_as_attempt))
        conds: list[Any] = [
            a.c.campaign_id == campaign_id,
            a.c.status == orm.ATTEMPT_ENDED,
            a.c.disposition.is_not(None),
        ]
        if start is not None:
            conds.append(a.c.dialed_at >= rollups.hour_of(start))
        if end is not None:
            conds.append(a.c.dialed_at < rollups.hour_of(end) + timedelta(hours=1))
        query = (
            select(a.c.contact_id, a.c.phase, a.c.campaign_id, stage)
            .where(*conds)
            .group_by(a.c.contact_id, a.c.phase, a.c.campaign_id)
            .having(stage > 0)
            # One order for every writer (a slice's refresh, the daily reconciliation), so
            # two of them on one campaign lock its rows in the same order: no deadlock.
            .order_by(a.c.contact_id, a.c.phase)
        )
        dialect = self.session.get_bind().dialect.name
        statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(t)
        statement = statement.from_select(["contact_id", "phase", "campaign_id", "stage"], query)
        furthest = (func.greatest if dialect == "postgresql" else func.max)(
            t.c.stage, statement.excluded.stage
        )
        self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["contact_id", "phase"],
                set_={"stage": furthest},
                where=statement.excluded.stage > t.c.stage,
            )
        )

    def reach(self, campaign_id: int) -> dict[Phase | None, dict[str, int]]:
        """Contacts that reached each funnel stage, per phase and (key None) in any phase."""
        r = orm.ContactReach
        per_phase = self.session.execute(
            select(r.phase, r.stage, func.count())
            .where(r.campaign_id == campaign_id)
            .group_by(r.phase, r.stage)
        ).all()
        # A contact dialled in the trial and again live counts once overall, at its furthest.
        furthest = (
            select(r.contact_id, func.max(r.stage).label("stage"))
            .where(r.campaign_id == campaign_id)
            .group_by(r.contact_id)
            .subquery()
        )
        overall = self.session.execute(
            select(literal(None), furthest.c.stage, func.count()).group_by(furthest.c.stage)
        ).all()
        out: dict[Phase | None, dict[str, int]] = {}
        for phase, stage, n in [*per_phase, *overall]:
            key = Phase(phase) if phase is not None else None
            counts = out.setdefault(key, dict.fromkeys(rollups.REACH_STAGES, 0))
            # Reaching stage s means reaching every stage up to s.
            for name in rollups.REACH_STAGES[: int(stage)]:
                counts[name] += int(n)
        return out

    def campaign_totals(
        self,
        campaign_ids: Sequence[int] | None,
        *,
        periods: Sequence[tuple[datetime, datetime]] = (),
    ) -> list[dict[str, Any]]:
        """Per campaign and disposition: finished attempts, talk seconds, and the finished
        attempts dialled within each of `periods` (as `period_0`, `period_1`, …)."""
        h = orm.AttemptHourly
        columns: list[Any] = [
            h.campaign_id,
            h.disposition,
            func.sum(h.calls).label("calls"),
            func.sum(h.talk_seconds).label("talk_seconds"),
        ]
        for i, (start, end) in enumerate(periods):
            inside = (h.hour >= start) & (h.hour < end)
            columns.append(func.coalesce(func.sum(h.calls).filter(inside), 0).label(f"period_{i}"))
        query = select(*columns).group_by(h.campaign_id, h.disposition)
        if campaign_ids is not None:
            if not campaign_ids:
                return []
            query = query.where(h.campaign_id.in_(list(campaign_ids)))
        return [dict(r._mapping) for r in self.session.execute(query)]

    def latest_hour(self, campaign_id: int) -> tuple[datetime | None, dict[Disposition, int]]:
        """The campaign's latest hour with finished attempts, and its attempts by disposition."""
        h = orm.AttemptHourly
        latest = select(func.max(h.hour)).where(h.campaign_id == campaign_id).scalar_subquery()
        rows = self.session.execute(
            select(h.hour, h.disposition, func.sum(h.calls))
            .where(h.campaign_id == campaign_id, h.hour == latest)
            .group_by(h.hour, h.disposition)
        ).all()
        if not rows:
            return None, {}
        return rows[0][0], {Disposition(d): int(n) for _, d, n in rows}
