"""Set-based cleaning gives exactly the verdicts and ledger of the batch path, on both backends.

Each case seeds a random operator and a random history around one campaign (other campaigns
in every state, attempts and refusals inside and outside the cool-offs, DNC entries global and
per campaign with and without expiry, follow-ups, numbers repeated across batches), then
compares, for several policies, the batch path (`services._verdict_batches` and the writes of
`services.clean`) with `campaigns.storage.setclean`, row by row of the list. The list cleaned
as it is stored (`fastload.load_list` with a policy) is checked against storing it and then
cleaning it.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from builders import NOW, FakeCrm, draft
from sqlalchemy import Connection, delete, insert, select, update

from campaigns import services
from campaigns.intake import ListRow, open_list
from campaigns.ledger import CleaningTally, ledger, mask_of
from campaigns.model import (
    CampaignState,
    CleaningPolicy,
    ContactState,
    Disposition,
    ExclusionReason,
    Phase,
    SubscriberStatus,
)
from campaigns.rules import MANDATORY, reasons_of
from campaigns.storage import orm
from campaigns.storage.bulk import load_operator, load_reference
from campaigns.storage.fastload import load_list
from campaigns.storage.setclean import (
    apply_masks,
    preview_set_based,
    stored_masks,
    tally_set_based,
)
from campaigns.synthetic import Operator, SubscriberRow
from flows.bootstrap import App

OFFERS = ("5G_PLUS_59", "5G_PLUS_99", "VIDEO_VIP", "CLOUD_DRIVE")
SEGMENTS = ("family", "youth", "business", None)
DUE = NOW + timedelta(hours=5)
BATCH = 7  # small, so duplicates and look-ups span many batches


def _mobile(i: int) -> str:
    return f"+86139{i:08d}"


@dataclass(frozen=True)
class Case:
    """A seeded world around one campaign."""

    campaign_id: int
    offer: str


def _raw(e164: str, rng: random.Random) -> str:
    national = e164[3:]
    return rng.choice(
        (national, e164, f"{national[:3]} {national[3:7]} {national[7:]}", f"'{national}")
    )


def _submit(app: App, rows: list[ListRow], offer: str, tag: str, *, clean: bool = True) -> int:
    result = services.submit_request(
        uow=app.uow(),
        draft=draft(offer_code=offer, target_group=tag, segment_filters=()),
        rows=rows,
        file_digest=tag,
        list_filename=f"{tag}.csv",
        now=NOW,
        source=None if clean else FakeCrm(),
    )
    return result.campaign_id


def _seed(app: App, seed: int, offer: str = "5G_PLUS_59") -> Case:
    rng = random.Random(seed)
    pool = [_mobile(i) for i in range(160)]
    known = pool[:120]  # the rest are not in the snapshot
    subscribers = [
        SubscriberRow(
            n,
            rng.choice(
                [SubscriberStatus.ACTIVE] * 6
                + [SubscriberStatus.SUSPENDED, SubscriberStatus.CANCELLED]
            ),
            # load_operator stores a None segment or branch as NULL, which the rules must see.
            cast(str, rng.choice(SEGMENTS)),
            cast(str, rng.choice(["GZ", "GZ", "GZ", "SZ", "FS", None])),
            tuple(rng.sample(OFFERS + ("5G_PLUS_129",), rng.choice([0, 0, 0, 1, 2]))),
        )
        for n in known
    ]
    around = [-200, -95, -89, -31, -29, -3, 0, 2]  # days from NOW, both sides of each limit
    history = [
        (n, NOW + timedelta(days=rng.choice(around), minutes=rng.randint(-5, 5)))
        for n in rng.sample(pool, 50)
    ]
    follow_ups = [(n, NOW - timedelta(days=rng.randint(1, 400))) for n in rng.sample(pool, 25)]
    op = Operator(subscribers=subscribers, history=history, follow_ups=follow_ups, dnc=[])
    with app.engine.begin() as conn:
        load_reference(conn, now=NOW, agents=2)
        load_operator(conn, op, now=NOW)

    others: list[int] = []
    for k in range(6):
        numbers = rng.sample(pool, 30)
        rows = [ListRow(i + 2, _raw(n, rng), None) for i, n in enumerate(numbers)]
        # Stored uncleaned, so every row is a contact whose state the loop below draws.
        others.append(
            _submit(app, rows, rng.choice((offer, offer, *OFFERS)), f"other{k}", clean=False)
        )

    raws: list[str] = []
    for _ in range(220):
        kind = rng.random()
        if kind < 0.04:
            raws.append(rng.choice(["10086", "95588", "12345"]))  # short codes
        elif kind < 0.08:
            raws.append(rng.choice(["1380013", "abc", "138001380001", "23800138000"]))
        elif kind < 0.13:
            raws.append(rng.choice(["020-83331234", "075588881234", "(010) 62345678"]))
        elif kind < 0.22 and raws:
            raws.append(rng.choice(raws))  # a repeat, often many batches later
        else:
            raws.append(_raw(rng.choice(pool), rng))
    target = _submit(
        app, [ListRow(i + 2, raw, {"k": str(i)}) for i, raw in enumerate(raws)], offer, "target"
    )

    states = list(CampaignState)
    contact_states = [ContactState.PENDING, ContactState.EXCLUDED, ContactState.READY]
    contact_states += [ContactState.DIALING, ContactState.DONE]
    with app.engine.begin() as conn:
        for cid in others:
            conn.execute(
                update(orm.Campaign).where(orm.Campaign.id == cid).values(state=rng.choice(states))
            )
            ids = conn.scalars(select(orm.Contact.id).where(orm.Contact.campaign_id == cid))
            for contact_id in ids:
                conn.execute(
                    update(orm.Contact)
                    .where(orm.Contact.id == contact_id)
                    .values(state=rng.choice(contact_states))
                )
        _attempts(conn, rng, [*others, target])
        _dnc(conn, rng, pool, [*others, target], target)
    return Case(target, offer)


def _attempts(conn: Connection, rng: random.Random, campaigns: list[int]) -> None:
    contacts = conn.execute(
        select(orm.Contact.id, orm.Contact.campaign_id, orm.Contact.e164)
        .where(orm.Contact.campaign_id.in_(campaigns), orm.Contact.e164.is_not(None))
        # Ordered, so the sample below does not depend on how the database lays rows out.
        .order_by(orm.Contact.id)
    ).all()
    rows: list[dict[str, Any]] = []
    for k, (contact_id, cid, e164) in enumerate(rng.sample(contacts, 120)):
        at = NOW + timedelta(days=rng.choice([-120, -91, -89, -31, -29, -2, 1]))
        rows.append(
            {
                "idempotency_key": f"k{k}",
                "campaign_id": cid,
                "contact_id": contact_id,
                "e164": e164,
                "attempt_no": 1,
                "phase": Phase.LIVE,
                "disposition": rng.choice(
                    [Disposition.REFUSED] * 3 + [Disposition.NO_ANSWER, Disposition.SUCCESS]
                ),
                "counts_as_attempt": True,
                "dialed_at": at,
                "ended_at": at + timedelta(minutes=1),
            }
        )
    conn.execute(insert(orm.CallAttempt), rows)


def _dnc(
    conn: Connection, rng: random.Random, pool: list[str], campaigns: list[int], target: int
) -> None:
    rows = [
        {
            "e164": n,
            "campaign_id": rng.choice([None, None, target, rng.choice(campaigns)]),
            "reason": "test",
            "created_at": NOW - timedelta(days=10),
            "expires_at": rng.choice(
                [None, None, NOW - timedelta(days=1), NOW + timedelta(days=1)]
            ),
        }
        for n in rng.sample(pool, 30)
    ]
    conn.execute(insert(orm.DncEntry), rows)


def _policies(rng: random.Random) -> list[CleaningPolicy]:
    optional = [r for r in ExclusionReason if r not in MANDATORY]
    return [
        CleaningPolicy(),
        CleaningPolicy(cooldown_days=7, refusal_cooloff_days=30, segments=("family", "youth")),
        CleaningPolicy(disabled=frozenset(optional)),
        # Switching off even the mandatory ones must not change them.
        CleaningPolicy(disabled=frozenset(ExclusionReason)),
        CleaningPolicy(
            cooldown_days=90,
            refusal_cooloff_days=100,
            segments=("business",),
            disabled=frozenset(rng.sample(optional, 4)),
        ),
        CleaningPolicy(disabled=frozenset(rng.sample(optional, 6)), segments=("youth",)),
    ]


def _batch_path(
    app: App, campaign_id: int, policy: CleaningPolicy
) -> tuple[dict[int, ExclusionReason | None], dict[str, Any], list[tuple[Any, ...]]]:
    """Verdicts by row number, ledger and written rows of the batch path; nothing is kept."""
    with app.uow() as uow:
        campaign = uow.campaigns.get(campaign_id)
        verdicts: dict[int, ExclusionReason | None] = {}
        masks: list[tuple[int, int]] = []
        tally = CleaningTally()
        for batch in services._verdict_batches(
            uow, campaign, source=uow.snapshot, policy=policy, now=NOW, batch_size=BATCH
        ):
            for v in batch:
                verdicts[v.contact_id] = v.reason
                masks.append((v.contact_id, mask_of(v.all_reasons)))
                tally.add(v.all_reasons)
        apply_masks(uow.session.connection(), campaign_id, masks, due_at=DUE)
        rows = _written(uow.session.connection(), campaign_id)
        uow.rollback()
    return verdicts, ledger(tally, policy, NOW), rows


def _written(conn: Connection, campaign_id: int) -> list[tuple[Any, ...]]:
    """Every row of the list as stored: kept in contacts, or excluded with its rules."""
    c, e = orm.Contact, orm.ListExclusion
    kept = [
        (r.row_number, r.state, None, None, None, r.next_attempt_at, r.raw_input, r.attributes)
        for r in conn.execute(
            select(c.row_number, c.state, c.next_attempt_at, c.raw_input, c.attributes).where(
                c.campaign_id == campaign_id
            )
        )
    ]
    excluded = [
        (r.row_number, ContactState.EXCLUDED, r.reason, r.rule_version, r.mask, None)
        + (r.raw_input, r.attributes)
        for r in conn.execute(
            select(e.row_number, e.reason, e.rule_version, e.mask, e.raw_input, e.attributes).where(
                e.campaign_id == campaign_id
            )
        )
    ]
    return sorted(kept + excluded, key=lambda r: r[0])


def _check(app: App, case: Case, policy: CleaningPolicy) -> None:
    want_verdicts, want_ledger, want_rows = _batch_path(app, case.campaign_id, policy)
    with app.engine.connect() as conn:
        preview = preview_set_based(conn, case.campaign_id, policy, NOW)
        masks = stored_masks(conn, case.campaign_id, policy, NOW)
        got_ledger = ledger(
            tally_set_based(conn, case.campaign_id, policy, NOW, due_at=DUE), policy, NOW
        )
        got_rows = _written(conn, case.campaign_id)
        conn.rollback()
    got_verdicts = {row: (reasons_of(m) or (None,))[0] for row, m in masks.items()}
    wrong = {
        row: (want, got_verdicts.get(row))
        for row, want in want_verdicts.items()
        if got_verdicts.get(row) != want
    }
    assert not wrong, f"{len(wrong)} verdicts differ (row: batch path, set-based): {wrong}"
    assert got_verdicts.keys() == want_verdicts.keys()
    assert got_ledger == want_ledger
    assert ledger(preview, policy, NOW) == want_ledger
    assert got_rows == want_rows


@pytest.mark.parametrize(
    ("seed", "offer"), [(1, "5G_PLUS_59"), (2, "5G_PLUS_129"), (3, "VIDEO_VIP"), (5, "CLOUD_DRIVE")]
)
def test_set_based_cleaning_matches_the_batch_path(app: App, seed: int, offer: str) -> None:
    case = _seed(app, seed, offer)
    rng = random.Random(seed)
    for policy in _policies(rng):
        _check(app, case, policy)
    # The comparison is only worth something if every rule decides some verdicts.
    with app.engine.connect() as conn:
        fired = preview_set_based(conn, case.campaign_id, CleaningPolicy(segments=("family",)), NOW)
    expected = {r.value for r in ExclusionReason}
    if offer == "CLOUD_DRIVE":  # the only offer that does not need a mobile
        expected.remove(ExclusionReason.NOT_MOBILE.value)
    if not offer.startswith("5G"):  # only the 5G plans exclude one another
        expected.remove(ExclusionReason.HOLDS_EXCLUSIVE.value)
    assert set(fired.alone) == expected


def test_recleaning_after_a_set_based_clean_agrees(app: App) -> None:
    case = _seed(app, 4)
    policy = CleaningPolicy(segments=("family", "business"))
    with app.engine.begin() as conn:
        conn.execute(
            update(orm.Campaign)
            .where(orm.Campaign.id == case.campaign_id)
            .values(state=CampaignState.APPROVED)
        )
    summary = services.clean(uow=app.uow(), campaign_id=case.campaign_id, now=NOW, policy=policy)
    with app.uow() as uow:
        stored = uow.campaigns.get(case.campaign_id)
    assert stored.cleaning_summary == summary
    assert stored.cleaning_ledger is not None
    assert {"kept": stored.cleaning_ledger["kept"], **stored.cleaning_ledger["first"]} == summary
    # Rows moved both ways keep what they came with, so a second run (another policy, which
    # brings excluded rows back and excludes kept ones) still agrees with the batch path.
    _check(app, case, CleaningPolicy(cooldown_days=5))
    _check(app, case, CleaningPolicy(disabled=frozenset({ExclusionReason.SEGMENT_FILTER})))


def _list_file(path: Path, raws: list[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["手机号", "备注"])
        for i, raw in enumerate(raws):
            out.writerow([raw, f"n{i}" if i % 3 else ""])
        # An empty row is reported, not stored; a formula and a blank phone cell are rows
        # without a number.
        out.writerows([["", ""], ["=1+1", "x"], ["", "only a note"], [raws[0], 'a\t"b"\\N']])
        out.writerows([[raw, ""] for raw in raws[:40]])  # repeats of earlier rows


@pytest.mark.parametrize(("seed", "offer"), [(6, "5G_PLUS_59"), (7, "CLOUD_DRIVE")])
def test_cleaning_while_storing_matches_storing_then_cleaning(
    app: App, tmp_path: Path, seed: int, offer: str
) -> None:
    case = _seed(app, seed, offer)
    with app.engine.connect() as conn:
        raws = [r for _, r in sorted(_raws(conn, case.campaign_id))]
    path = tmp_path / "list.csv"
    _list_file(path, raws)
    lf = open_list(path)
    one = [ListRow(2, _mobile(0), None)]
    two_step, fused = _submit(app, one, offer, "two-step"), _submit(app, one, offer, "fused")
    with app.engine.begin() as conn:
        for table in (orm.Contact, orm.ListExclusion):
            conn.execute(delete(table).where(table.campaign_id.in_([two_step, fused])))
    for workers in (0, 1):
        for policy in _policies(random.Random(seed)):
            with app.engine.connect() as conn:
                kwargs: dict[str, Any] = {"region": "CN", "max_rows": 10_000, "now": NOW}
                stored = load_list(conn, two_step, lf, policy=None, **kwargs, workers=workers)
                want_tally = tally_set_based(conn, two_step, policy, NOW, due_at=DUE)
                want_rows = _written(conn, two_step)
                conn.rollback()
                got = load_list(
                    conn, fused, lf, policy=policy, due_at=DUE, **kwargs, workers=workers
                )
                got_rows = _written(conn, fused)
                conn.rollback()
            assert (got.seen, got.stored, got.valid, got.problem_count, got.problems) == (
                stored.seen,
                stored.stored,
                stored.valid,
                stored.problem_count,
                stored.problems,
            )
            assert got.tally == want_tally
            assert got_rows == want_rows
    assert len(want_rows) == len(raws) + 43  # the empty row is reported, not stored
    assert stored.seen == len(raws) + 44
    after = {p.row_number: p.reason for p in stored.problems if p.row_number > len(raws) + 1}
    first = len(raws) + 2  # the rows after the list, as the spreadsheet numbers them
    assert [after[first], after[first + 1], after[first + 2]] == [
        "EMPTY_ROW",
        "FORMULA",
        "NO_NUMBER",
    ]
    with app.engine.connect() as conn:
        load_list(conn, fused, lf, policy=None, region="CN", max_rows=10_000, now=NOW)
        with pytest.raises(ValueError, match="already has a list"):
            load_list(conn, fused, lf, policy=None, region="CN", max_rows=10_000, now=NOW)
        conn.rollback()


def _raws(conn: Connection, campaign_id: int) -> list[tuple[int, str]]:
    c, e = orm.Contact, orm.ListExclusion
    return [
        *conn.execute(select(c.row_number, c.raw_input).where(c.campaign_id == campaign_id)),
        *conn.execute(select(e.row_number, e.raw_input).where(e.campaign_id == campaign_id)),
    ]  # type: ignore[list-item]
