"""Small builders for test data: a tiny operator whose every subscriber has a known fate."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from campaigns import services
from campaigns.access import Principal, Role
from campaigns.intake import ListRow
from campaigns.model import (
    CampaignRequestDraft,
    ContactState,
    ExclusionReason,
    SubscriberFacts,
    SubscriberStatus,
)
from campaigns.storage import orm
from campaigns.storage.bulk import load_operator, load_reference
from campaigns.synthetic import Operator, SubscriberRow
from flows.bootstrap import App

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
TODAY = date(2026, 11, 25)


def real_today() -> date:
    """Today in the branches' time zone, for paths that read the wall clock (API, CLI, flow)."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def number(i: int) -> str:
    """A valid Chinese mobile number, distinct for each i."""
    return f"+86138{i:08d}"


class FakeCrm:
    """A subscriber source outside the database: a list submitted with it is stored
    uncleaned (every row with a number waits in contacts), as for a CRM-backed operator."""

    def lookup(self, numbers: Sequence[str]) -> dict[str, SubscriberFacts]:
        """Nothing is known; storing a list never asks."""
        return {}


@dataclass(frozen=True)
class Fates:
    """Numbers seeded so that each cleaning rule excludes exactly one of them."""

    active: tuple[str, ...]
    suspended: str
    cancelled: str
    holds_offer: str
    holds_exclusive: str
    recent: str
    follow_up: str
    dnc: str
    unknown: str


def seed_operator(
    app: App, *, active: int = 40, now: datetime = NOW, webhook: str | None = None, agents: int = 5
) -> Fates:
    """Reference data plus a handful of subscribers with one fate each."""
    actives = tuple(number(i) for i in range(active))
    special = {
        name: number(1000 + k)
        for k, name in enumerate(
            (
                "suspended",
                "cancelled",
                "holds_offer",
                "holds_exclusive",
                "recent",
                "follow_up",
                "dnc",
            )
        )
    }
    rows = [SubscriberRow(n, SubscriberStatus.ACTIVE, "family", "GZ", ()) for n in actives]
    rows += [
        SubscriberRow(special["suspended"], SubscriberStatus.SUSPENDED, "family", "GZ", ()),
        SubscriberRow(special["cancelled"], SubscriberStatus.CANCELLED, "family", "GZ", ()),
        SubscriberRow(
            special["holds_offer"], SubscriberStatus.ACTIVE, "family", "GZ", ("5G_PLUS_59",)
        ),
        SubscriberRow(
            special["holds_exclusive"], SubscriberStatus.ACTIVE, "family", "GZ", ("5G_PLUS_99",)
        ),
        SubscriberRow(special["recent"], SubscriberStatus.ACTIVE, "family", "GZ", ()),
        SubscriberRow(special["follow_up"], SubscriberStatus.ACTIVE, "family", "GZ", ()),
        SubscriberRow(special["dnc"], SubscriberStatus.ACTIVE, "family", "GZ", ()),
    ]
    op = Operator(
        subscribers=rows,
        history=[(special["recent"], now - timedelta(days=3))],
        follow_ups=[(special["follow_up"], now - timedelta(days=90))],
        dnc=[special["dnc"]],
    )
    with app.engine.begin() as conn:
        load_reference(conn, now=now, agents=agents, webhooks={"GZ": webhook} if webhook else None)
        load_operator(conn, op, now=now)
    return Fates(active=actives, unknown=number(5000), **special)


def draft(**overrides: object) -> CampaignRequestDraft:
    """A valid request for branch GZ and offer 5G_PLUS_59."""
    fields: dict[str, object] = {
        "branch_code": "GZ",
        "offer_code": "5G_PLUS_59",
        "target_group": "4G users",
        "requested_contacts": 100,
        "goal_activations": 1,
        "window_start": TODAY,
        "window_end": TODAY + timedelta(days=2),
        "month": "2026-11",
        "submitted_by": "test-branch",
    }
    fields.update(overrides)
    return CampaignRequestDraft(**fields)  # type: ignore[arg-type]


def list_rows(
    fates: Fates, *, extra: list[str] | None = None
) -> list[tuple[int, str, dict[str, str] | None]]:
    """A list with every fate once, a duplicate, an invalid number, and the actives."""
    raws = [f"'{n[3:]}" for n in fates.active]
    raws += [
        fates.suspended,
        fates.cancelled,
        fates.holds_offer,
        fates.holds_exclusive,
        fates.recent,
        fates.follow_up,
        fates.dnc,
        fates.unknown,
    ]
    raws += [fates.active[0][3:].replace("138", "138-", 1), "1380013", "10086", *(extra or [])]
    return [ListRow(i + 2, raw, {"name": f"c{i}"}) for i, raw in enumerate(raws)]


def submitted(app: App, fates: Fates, **overrides: object) -> int:
    """Submit the standard list; returns the campaign id."""
    result = services.submit_request(
        uow=app.uow(),
        draft=draft(**overrides),
        rows=list_rows(fates),
        file_digest="digest",
        list_filename="list.csv",
        now=NOW,
    )
    return result.campaign_id


def ready_campaign(app: App, fates: Fates) -> int:
    """A campaign taken through feasibility, approval and cleaning."""
    cid = submitted(app, fates)
    services.run_feasibility(uow=app.uow(), campaign_id=cid, now=NOW)
    services.decide(uow=app.uow(), campaign_id=cid, approve=True, actor="reviewer", now=NOW)
    services.clean(uow=app.uow(), campaign_id=cid, now=NOW)
    services.assign_script(uow=app.uow(), campaign_id=cid, now=NOW)
    return cid


def dialled_campaign(app: App, fates: Fates, *, live_days: int = 2, seed: int = 7) -> int:
    """A campaign run through the engine like the flow runs it: a trial hour, then
    `live_days` calling days of live dialing (from TODAY), each slice refreshing the
    contacts' funnel stages as the flow's slice task does. It stays LIVE."""
    from campaigns.dialing import run_slice
    from campaigns.model import CampaignState, Phase
    from dialer_adapters.simulator import SimulatedDialer

    cid = ready_campaign(app, fates)
    services.start_trial(uow=app.uow(), campaign_id=cid, now=NOW, size=10)
    hours = services.get_campaign(uow=app.uow(), campaign_id=cid).calling_hours

    def dial(phase: Phase, start: datetime, end: datetime, n: int) -> None:
        run_slice(
            uow=app.uow(),
            dialer=SimulatedDialer(seed=seed + n),
            campaign_id=cid,
            phase=phase,
            start=start,
            end=end,
        )
        services.refresh_contact_reach(uow=app.uow(), campaign_id=cid, start=start, end=end)

    start, _ = services.day_window(TODAY, hours, "Asia/Shanghai")
    dial(Phase.TRIAL, start, start + timedelta(hours=1), 0)
    services.review_trial(uow=app.uow(), campaign_id=cid, now=NOW)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.LIVE, actor="t", now=NOW
    )
    for i in range(live_days):
        start, end = services.day_window(TODAY + timedelta(days=i), hours, "Asia/Shanghai")
        dial(Phase.LIVE, start + (timedelta(hours=1) if i == 0 else timedelta()), end, i + 1)
    return cid


def outbound(app: App, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real `outbound` console script against the test database and Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()), COLUMNS="200")
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "outbound"),
            "--database",
            app.settings.database_url,
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        check=False,
    )


STAFF = Principal("staff", Role.STAFF)
GZ_USER = Principal("gz", Role.BRANCH, "GZ")
SZ_USER = Principal("sz", Role.BRANCH, "SZ")
MANAGER = Principal("boss", Role.MANAGER)


ADMIN = Principal("root", Role.ADMIN, pii=True)
#: One user of each role, for tests that go through every page as every role.
EVERY_ROLE = {"branch": GZ_USER, "staff": STAFF, "manager": MANAGER, "admin": ADMIN}


def signed_in(at: Any, user: Principal = STAFF, *, lang: str = "en") -> Any:
    """A streamlit AppTest with `user` signed in (dashboard.auth keeps it in the session),
    reading the dashboard in `lang` (English by default, so assertions read as the code)."""
    at.session_state["principal"] = user
    at.session_state["lang"] = lang
    return at


@dataclass(frozen=True)
class ListRowState:
    """One row of a stored list: kept in contacts, or excluded with its reason."""

    row_number: int
    e164: str | None
    raw: str
    state: ContactState
    reason: ExclusionReason | None
    rule_version: str | None


def stored_list(app: App, campaign_id: int) -> list[ListRowState]:
    """Every row of a campaign's list as stored, in list order, whichever table holds it."""
    c, e = orm.Contact, orm.ListExclusion
    with app.engine.connect() as conn:
        kept = [
            ListRowState(
                r.row_number, r.e164, r.raw_input, r.state, r.exclusion_reason, r.rule_version
            )
            for r in conn.execute(select(c).where(c.campaign_id == campaign_id))
        ]
        excluded = [
            ListRowState(
                r.row_number, r.e164, r.raw_input, ContactState.EXCLUDED, r.reason, r.rule_version
            )
            for r in conn.execute(select(e).where(e.campaign_id == campaign_id))
        ]
    return sorted(kept + excluded, key=lambda r: r.row_number)
