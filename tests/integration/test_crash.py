"""kill -9 the dialing worker at 20 random points of a live campaign on PostgreSQL.

Each time the real `outbound dial` process is started again and continues where the
campaign stands. The simulator writes every call it is asked to place to a journal on
disk before placing it, so what was dialled outlives the kills.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from builders import NOW, ready_campaign, seed_operator
from sqlalchemy import select

from campaigns import services
from campaigns.model import CampaignState, ContactState
from campaigns.storage import orm
from flows.bootstrap import App

KILLS = 20


def _live(app: App) -> int:
    fates = seed_operator(app, active=400, agents=6)
    cid = ready_campaign(app, fates)
    for target in (CampaignState.TRIAL, CampaignState.TRIAL_REVIEW, CampaignState.LIVE):
        services.transition(uow=app.uow(), campaign_id=cid, target=target, actor="t", now=NOW)
    return cid


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _dial(app: App, cid: int, env: dict[str, str]) -> subprocess.Popen[str]:
    command = [str(Path(sys.executable).parent / "outbound"), "--database"]
    command += [app.settings.database_url, "dial", str(cid)]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def test_kill_9_at_20_random_points_never_dials_a_slot_twice_nor_loses_a_contact(
    pg_app: App, tmp_path: Path
) -> None:
    app = pg_app
    cid = _live(app)
    journal = tmp_path / "placed.log"
    env = dict(
        os.environ,
        OUTBOUND_DIALER_OPTIONS=json.dumps({"journal": str(journal)}),
        OUTBOUND_DATA_DIR=str(tmp_path),
    )
    rng = random.Random(int(os.environ.get("OUTBOUND_CRASH_SEED", "20261125")))
    delays = []
    while len(delays) < KILLS:
        before = _size(journal)
        proc = _dial(app, cid, env)
        deadline = time.monotonic() + 60
        # Kill only once this process is dialling, then at a random moment after that:
        # while it claims, writes attempts, places calls or records outcomes.
        while _size(journal) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, f"the worker ended before kill {len(delays) + 1}: " + str(
            proc.communicate()[1]
        )
        delay = rng.uniform(0.0, 0.4)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        delays.append(delay)

    # One last run, left alone, finishes the campaign.
    last = _dial(app, cid, env)
    _, err = last.communicate(timeout=300)
    assert last.returncode == 0, err

    placed = journal.read_text().split()
    twice = [key for key, n in Counter(placed).items() if n > 1]
    assert not twice, f"attempt slots dialled twice: {twice[:5]}"
    with app.engine.connect() as conn:
        attempts = conn.execute(
            select(
                orm.CallAttempt.idempotency_key,
                orm.CallAttempt.contact_id,
                orm.CallAttempt.attempt_no,
                orm.CallAttempt.status,
                orm.CallAttempt.counts_as_attempt,
                orm.CallAttempt.note,
                orm.CallAttempt.disposition,
            ).where(orm.CallAttempt.campaign_id == cid)
        ).all()
        contacts = conn.execute(
            select(
                orm.Contact.id, orm.Contact.state, orm.Contact.attempts, orm.Contact.next_attempt_at
            ).where(orm.Contact.campaign_id == cid)
        ).all()
    keys = {a.idempotency_key for a in attempts}
    # Every call placed was on record before it went out.
    assert set(placed) <= keys
    # Nothing is left open or claimed: each interrupted call was reconciled.
    assert all(a.status == orm.ATTEMPT_ENDED for a in attempts)
    lost = [a for a in attempts if a.note and "outcome lost" in a.note]
    assert lost, "no kill landed between writing an attempt and recording its outcome"
    # Every contact is finished, or waits for a retry the campaign's window no longer has.
    window_end = services.get_campaign(uow=app.uow(), campaign_id=cid).dialed_until
    assert window_end is not None
    waiting = [c for c in contacts if c.state is ContactState.READY]
    assert all(c.next_attempt_at and c.next_attempt_at >= window_end for c in waiting)
    assert len(waiting) < len(contacts) // 20
    assert all(
        c.state in (ContactState.DONE, ContactState.EXCLUDED) for c in contacts if c not in waiting
    )
    # No contact lost or double counted: its attempts are exactly its counted rows, and no
    # counted attempt number of a contact was used twice.
    counted = Counter(a.contact_id for a in attempts if a.counts_as_attempt)
    assert all(c.attempts == counted.get(c.id, 0) for c in contacts)
    slots = Counter((a.contact_id, a.attempt_no) for a in attempts if a.counts_as_attempt)
    assert max(slots.values()) == 1
    dialled = {c.id for c in contacts if c.state is ContactState.DONE}
    assert dialled and dialled <= {a.contact_id for a in attempts}
    # Each finished attempt is in the hourly rollups exactly once, kills or not: they are
    # written in the transaction that records the outcomes.
    with app.uow() as uow:
        hours = uow.rollups.campaign_hours(cid)
    rolled: Counter[object] = Counter()
    for h in hours:
        rolled[h["disposition"]] += h["calls"]
    assert rolled == Counter(a.disposition for a in attempts)
    assert sum(h["attempts"] for h in hours) == sum(counted.values())
    # The contacts' funnel stages, refreshed after each slice from the last one fully
    # recorded, count what the attempts count, kills or not.
    with app.uow() as uow:
        reached = uow.attempts.reached(cid)
        assert uow.dashboard.reach(cid)[None] == reached
