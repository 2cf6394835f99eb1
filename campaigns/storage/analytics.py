"""Queries behind the reports (attempt facts, refusal counts, report lookups), and the
agents' shifts and the calls' ratings that are imported for them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, type_coerce
from sqlalchemy.orm import Session

from campaigns.model import AttemptFact, DeliveryStatus, Disposition
from campaigns.operations import RatingCounts, ShiftTotals
from campaigns.phone import mask_numbers
from campaigns.storage import orm
from campaigns.storage.facts import number_of


class SqlAlchemyReportQueries:
    """Reporting reads over attempts, contacts, agents and stored reports; its only writes
    are `replace_shifts` and `replace_ratings` (the caller commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def attempt_facts(
        self,
        *,
        campaign_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[AttemptFact]:
        """Finished attempts (of one campaign, or all) dialled in [start, end), with the
        agent's work ID, the subscriber's segment and the offer; numbers are left out."""
        a, c = orm.CallAttempt, orm.Contact
        conds: list[Any] = [a.disposition.is_not(None)]
        if campaign_id is not None:
            conds.append(a.campaign_id == campaign_id)
        if start is not None:
            conds.append(a.dialed_at >= start)
        if end is not None:
            conds.append(a.dialed_at < end)
        rows = self.session.execute(
            select(
                a.campaign_id,
                a.contact_id,
                a.phase,
                a.disposition,
                a.dialed_at,
                a.answered_at,
                a.bridged_at,
                a.talk_seconds,
                a.wrap_seconds,
                orm.Agent.work_id,
                orm.SubscriberFacts.segment,
                a.note,
                orm.Service.code,
            )
            .join(c, c.id == a.contact_id)
            .join(orm.Campaign, orm.Campaign.id == a.campaign_id)
            .join(orm.CampaignRequest, orm.CampaignRequest.id == orm.Campaign.request_id)
            .join(orm.Service, orm.Service.id == orm.CampaignRequest.offer_id)
            .outerjoin(orm.Agent, orm.Agent.id == a.agent_id)
            .outerjoin(orm.SubscriberFacts, orm.SubscriberFacts.num == number_of(c.e164))
            .where(*conds)
            .order_by(a.dialed_at, a.id)
        )
        return [
            AttemptFact(
                campaign_id=r[0],
                contact_id=r[1],
                phase=r[2],
                disposition=Disposition(str(r[3])),
                dialed_at=r[4],
                answered_at=r[5],
                bridged_at=r[6],
                talk_seconds=float(r[7] or 0.0),
                wrap_seconds=float(r[8] or 0.0),
                agent=r[9],
                segment=r[10],
                note=mask_numbers(r[11]) if r[11] else None,
                offer=r[12],
            )
            for r in rows
        ]

    def refusal_counts(
        self, campaign_id: int, *, start: datetime | None = None, end: datetime | None = None
    ) -> dict[str, int]:
        """Refusal notes of a campaign and how often each was given, in [start, end)."""
        a = orm.CallAttempt
        conds: list[Any] = [
            a.campaign_id == campaign_id,
            a.disposition == Disposition.REFUSED,
            a.note.is_not(None),
        ]
        if start is not None:
            conds.append(a.dialed_at >= start)
        if end is not None:
            conds.append(a.dialed_at < end)
        rows = self.session.execute(select(a.note, func.count()).where(*conds).group_by(a.note))
        out: dict[str, int] = {}
        for note, n in rows:
            key = mask_numbers(str(note))
            out[key] = out.get(key, 0) + int(n)
        return out

    def first_dial_at(self, campaign_id: int) -> datetime | None:
        """When the campaign's first call was dialled."""
        # min() loses the column type; coerce it back so the value comes out aware.
        earliest = type_coerce(func.min(orm.CallAttempt.dialed_at), orm.UTCDateTime())
        value: datetime | None = self.session.scalar(
            select(earliest).where(orm.CallAttempt.campaign_id == campaign_id)
        )
        return value

    def campaigns_dialled(self, *, start: datetime, end: datetime) -> list[int]:
        """Campaigns with at least one attempt dialled in [start, end)."""
        a = orm.CallAttempt
        return list(
            self.session.scalars(
                select(a.campaign_id)
                .where(a.dialed_at >= start, a.dialed_at < end)
                .distinct()
                .order_by(a.campaign_id)
            )
        )

    def report_id(self, campaign_id: int, day: date) -> int | None:
        """The stored daily report of a campaign and day, if any."""
        value: int | None = self.session.scalar(
            select(orm.DailyReport.id).where(
                orm.DailyReport.campaign_id == campaign_id, orm.DailyReport.report_date == day
            )
        )
        return value

    def shift_totals(self, *, first: date, last: date) -> dict[str, ShiftTotals]:
        """Per agent work ID: scheduled, signed-in and busy seconds of days first..last."""
        s = orm.AgentShift
        rows = self.session.execute(
            select(
                orm.Agent.work_id,
                func.sum(s.scheduled_seconds),
                func.sum(s.work_seconds),
                func.sum(s.busy_seconds),
            )
            .join(orm.Agent, orm.Agent.id == s.agent_id)
            .where(s.day >= first, s.day <= last)
            .group_by(orm.Agent.work_id)
        )
        return {w: ShiftTotals(int(a), int(b), int(c)) for w, a, b, c in rows}

    def agent_ids(self, work_ids: Sequence[str]) -> dict[str, int]:
        """Agent ids by work ID, for the work IDs that exist."""
        rows = self.session.execute(
            select(orm.Agent.work_id, orm.Agent.id).where(orm.Agent.work_id.in_(list(work_ids)))
        )
        return {w: i for w, i in rows}

    def replace_shifts(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store shifts (agent_id, day, seconds…), replacing those of the same agent and day."""
        s = orm.AgentShift
        for agent_id, day in {(r["agent_id"], r["day"]) for r in rows}:
            self.session.execute(delete(s).where(s.agent_id == agent_id, s.day == day))
        if rows:
            self.session.execute(insert(s), list(rows))

    def rating_counts(self, *, start: datetime, end: datetime) -> RatingCounts:
        """Ratings of the calls dialled in [start, end): sent, answered, satisfied."""
        r, a = orm.CallRating, orm.CallAttempt
        row = self.session.execute(
            select(
                func.count(),
                func.count(r.satisfied),
                func.count().filter(r.satisfied.is_(True)),
            )
            .join(a, a.id == r.attempt_id)
            .where(a.dialed_at >= start, a.dialed_at < end)
        ).one()
        return RatingCounts(int(row[0]), int(row[1]), int(row[2]))

    def attempt_ids(self, keys: Sequence[str]) -> dict[str, int]:
        """Attempt ids by call key (the idempotency key the dialer was given)."""
        a = orm.CallAttempt
        rows = self.session.execute(
            select(a.idempotency_key, a.id).where(a.idempotency_key.in_(list(keys)))
        )
        return {k: i for k, i in rows}

    def replace_ratings(self, rows: Sequence[dict[str, Any]]) -> None:
        """Store ratings (attempt_id, satisfied, imported_at), replacing a call's earlier one."""
        r = orm.CallRating
        ids = [row["attempt_id"] for row in rows]
        for start in range(0, len(ids), 1000):
            self.session.execute(delete(r).where(r.attempt_id.in_(ids[start : start + 1000])))
        if rows:
            self.session.execute(insert(r), list(rows))

    def undelivered(self, statuses: Sequence[DeliveryStatus]) -> list[int]:
        """Ids of daily reports in one of these delivery states, oldest first."""
        return list(
            self.session.scalars(
                select(orm.DailyReport.id)
                .where(orm.DailyReport.delivery_status.in_(list(statuses)))
                .order_by(orm.DailyReport.report_date, orm.DailyReport.id)
            )
        )
