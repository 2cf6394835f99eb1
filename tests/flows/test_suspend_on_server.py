"""On a Prefect server, a paused campaign's flow run is suspended and holds no worker.

A real deployment is served by a real `outbound serve` process against the session's
Prefect server; the test pauses the campaign while it dials, sees the run suspended and
its process gone, resumes it with `outbound resume`, and checks that dialing went on
where it stopped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import pytest
from builders import outbound, ready_campaign, seed_operator, submitted
from sqlalchemy import func, select

from campaigns import services
from campaigns.model import CampaignState, ContactState
from campaigns.storage import orm
from flows import suspension
from flows.bootstrap import App

pytestmark = [pytest.mark.flow, pytest.mark.postgres]

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


def _wait_for(what: str, check: Callable[[], T | None], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _read_run(run_id: str) -> Any:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id))


def _processes_running(run_id: str) -> list[int]:
    """Processes whose environment says they execute this flow run (as the runner sets it)."""
    marker = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone, or not ours
            continue
    return found


@pytest.fixture(scope="module")
def _serving(
    _pg_app: App, prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """`outbound serve` in its own process, on the test database and Prefect server."""
    from prefect import get_client
    from prefect.settings import PREFECT_API_URL

    api_url = str(PREFECT_API_URL.value())
    env = dict(
        os.environ,
        PREFECT_API_URL=api_url,
        OUTBOUND_PREFECT_API_URL=api_url,
        OUTBOUND_DATABASE_URL=_pg_app.settings.database_url,
        OUTBOUND_DATA_DIR=str(_pg_app.settings.data_dir),
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "outbound"), "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def deployed() -> bool:
        assert process.poll() is None, log_path.read_text()
        try:
            with get_client(sync_client=True) as client:
                client.read_deployment_by_name(suspension.DEPLOYMENT)
        except Exception:
            return False
        return True

    try:
        _wait_for("the deployment to be served", deployed)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def served(_serving: None, pg_app: App) -> App:
    """An empty PostgreSQL database whose campaign flows run where `outbound serve` runs."""
    return pg_app


class Attempt(NamedTuple):
    key: str
    status: str
    dialed_at: datetime
    note: str | None


def _attempts(app: App, cid: int) -> list[Attempt]:
    with app.uow() as uow:
        rows = uow.session.execute(
            select(
                orm.CallAttempt.idempotency_key,
                orm.CallAttempt.status,
                orm.CallAttempt.dialed_at,
                orm.CallAttempt.note,
            ).where(orm.CallAttempt.campaign_id == cid)
        )
        return [Attempt(*r) for r in rows]


def _count(app: App, cid: int) -> int:
    with app.uow() as uow:
        return int(
            uow.session.scalar(select(func.count()).where(orm.CallAttempt.campaign_id == cid)) or 0
        )


def _launch(app: App, cid: int) -> str:
    """`outbound launch` where OUTBOUND_PREFECT_DEPLOYMENT is set: the run's id."""
    from prefect.settings import PREFECT_API_URL

    env = {
        "OUTBOUND_PREFECT_DEPLOYMENT": suspension.DEPLOYMENT,
        "OUTBOUND_PREFECT_API_URL": str(PREFECT_API_URL.value()),
    }
    os.environ.update(env)
    try:
        done = outbound(app, "launch", str(cid), "--by", "staff")
    finally:
        for key in env:
            del os.environ[key]
    assert done.returncode == 0, done.stderr
    match = re.search(
        rf"flow run (\S+) submitted to deployment {suspension.DEPLOYMENT}", done.stdout
    )
    assert match, done.stdout
    return match.group(1)


def _live_and_suspended(app: App, *, launch: bool = False) -> tuple[int, str]:
    """A live campaign run from the deployment and paused while it dials; the run's id."""
    fates = seed_operator(app, active=60)
    cid = ready_campaign(app, fates)
    for state in (CampaignState.TRIAL, CampaignState.TRIAL_REVIEW, CampaignState.LIVE):
        services.transition(uow=app.uow(), campaign_id=cid, target=state, actor="staff", now=_now())
    if launch:
        run_id = _launch(app, cid)
    else:
        run_id = suspension.submit(cid, suspension.DEPLOYMENT, actor="test")

    # Pause while it dials: the slice in flight finishes, then the run suspends.
    _wait_for("the first attempts", lambda: _count(app, cid) > 0)
    services.transition(
        uow=app.uow(), campaign_id=cid, target=CampaignState.PAUSED, actor="staff", now=_now()
    )
    state = _wait_for(
        "the run to suspend",
        lambda: (s := _read_run(run_id).state) is not None and s.is_paused() and s,
    )
    assert state.name == "Suspended"
    assert state.state_details.pause_timeout is None  # no deadline: a long pause never fails
    assert services.get_campaign(uow=app.uow(), campaign_id=cid).flow_run_id == run_id
    # No worker is held: no process executes the run any more.
    _wait_for("the run's process to exit", lambda: not _processes_running(run_id), timeout=20)
    return cid, run_id


def test_pause_suspends_the_served_run_and_resume_continues_it(served: App) -> None:
    app = served
    cid, run_id = _live_and_suspended(app)
    at_pause = _attempts(app, cid)
    stopped_at = services.get_campaign(uow=app.uow(), campaign_id=cid).dialed_until
    assert at_pause and stopped_at is not None
    # The calls in flight when the pause came finished and were recorded.
    assert all(a.status == orm.ATTEMPT_ENDED for a in at_pause)
    with app.uow() as uow:
        assert uow.contacts.count_by_state(cid).get(ContactState.READY, 0) > 0  # work left
    time.sleep(1)
    assert _count(app, cid) == len(at_pause)  # a paused campaign dials nothing

    done = outbound(app, "resume", str(cid), "--by", "staff")
    assert done.returncode == 0, done.stderr
    assert f"flow run {run_id} was resumed" in done.stdout

    final = _wait_for(
        "the resumed run to finish",
        lambda: (s := _read_run(run_id).state) is not None and s.is_final() and s,
        timeout=90,
    )
    assert final.is_completed(), final
    c = services.get_campaign(uow=app.uow(), campaign_id=cid)
    assert c.state is CampaignState.COMPLETED
    after = _attempts(app, cid)
    # Dialing went on where it stopped: what was on record stayed as it was, nothing was
    # dialled in time already dialled, no key was used twice, no call was lost or recovered.
    assert set(at_pause) <= set(after) and len(after) > len(at_pause)
    new = [a for a in after if a not in set(at_pause)]
    assert all(a.dialed_at >= stopped_at for a in new)
    assert len({a.key for a in after}) == len(after)
    lost = ("outcome lost: the worker stopped", "recovered")
    assert all(a.status == orm.ATTEMPT_ENDED and a.note not in lost for a in after)
    with app.uow() as uow:
        states = uow.contacts.count_by_state(cid)
        trail = [e["to_state"] for e in uow.audit.for_entity("campaign", cid) if e["to_state"]]
    assert ContactState.READY not in states and ContactState.DIALING not in states
    assert trail[-4:] == ["LIVE", "PAUSED", "LIVE", "COMPLETED"]


def test_cancel_cancels_the_suspended_run(served: App) -> None:
    app = served
    cid, run_id = _live_and_suspended(app, launch=True)
    attempts = _count(app, cid)

    done = outbound(app, "cancel", str(cid), "--by", "staff")
    assert done.returncode == 0, done.stderr
    assert f"flow run {run_id} was cancelled" in done.stdout
    assert _read_run(run_id).state.is_cancelled()
    assert services.get_campaign(uow=app.uow(), campaign_id=cid).state is CampaignState.CANCELLED
    time.sleep(2)  # a serving process would pick a resumed run up within a second
    assert _read_run(run_id).state.is_cancelled() and not _processes_running(run_id)
    assert _count(app, cid) == attempts


def test_resume_and_cancel_leave_a_run_that_is_not_suspended_alone(
    pg_app: App, prefect_harness: None
) -> None:
    from dataclasses import replace

    from prefect import flow, get_client
    from prefect.states import Completed, Crashed, Paused, Running

    @flow(name="stand-in")
    def stand_in() -> None:
        """Never run: only its runs' states matter here."""

    cid = submitted(pg_app, seed_operator(pg_app))
    campaign = services.get_campaign(uow=pg_app.uow(), campaign_id=cid)
    assert suspension.resume(campaign).action == "none"  # no run: the CLI starts one
    with get_client(sync_client=True) as client:
        run_id = client.create_flow_run(stand_in, state=Running()).id
        attached = replace(campaign, flow_run_id=str(run_id))
        # Still dialing (it had not reached the slice boundary): it sees the new state itself.
        assert suspension.resume(attached).action == "running"
        assert suspension.cancel(attached).action == "running"
        # A blocking pause (a gate waiting for a form) is not ours to cancel.
        client.set_flow_run_state(run_id, Paused(timeout_seconds=60), force=True)
        assert suspension.cancel(attached).action == "none"
        assert client.read_flow_run(run_id).state.is_paused()
        # A run that ended will not act on it: start another.
        for final in (Completed(), Crashed()):
            client.set_flow_run_state(run_id, final, force=True)
            assert suspension.resume(attached).action == "none"
            assert suspension.cancel(attached).action == "none"
