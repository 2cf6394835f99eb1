"""A real browser on the real dashboard: `streamlit run` serves it on a free port against a
test database with a LIVE campaign, and headless Chromium (Debian's, driven by Playwright)
signs in as center staff, opens the campaign, pauses it with its confirmation, and the
database says PAUSED. A screenshot of the page is kept under artifacts/ (git-ignored).

Chromium comes from `make browser` (apt-get install chromium); without it, or without the
playwright package, the test is skipped, except under CI=true or OUTBOUND_REQUIRE_BROWSER=1
where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from builders import NOW, dialled_campaign, seed_operator

from campaigns import services
from campaigns.access import Role
from campaigns.model import CampaignState
from flows.bootstrap import App

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("OUTBOUND_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium's own connections are refused on a
# closed network and slow everything down; a fresh profile keeps runs independent.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing() -> str | None:
    """Why the browser test cannot run here, or None; under CI it fails instead."""
    reasons = []
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        reasons.append(f"{CHROMIUM} is not installed (`make browser` installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reasons.append("the playwright package is missing (pip install -e '.[dev]')")
    if not reasons:
        return None
    reason = "; ".join(reasons)
    if os.environ.get("CI") == "true" or os.environ.get("OUTBOUND_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}; CI / OUTBOUND_REQUIRE_BROWSER=1 requires it", pytrace=False)
    return reason


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(sqlite_app: App, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The dashboard served by `streamlit run` on a free port; its URL and the campaign."""
    cid = dialled_campaign(sqlite_app, seed_operator(sqlite_app, active=40))
    services.add_user(
        uow=sqlite_app.uow(),
        username="zhang.wei",
        password="staff-password",
        role=Role.STAFF,
        actor="test",
        now=NOW,
        display_name="张伟",
    )
    port = _free_port()
    env = dict(
        os.environ,
        OUTBOUND_DATABASE_URL=sqlite_app.settings.database_url,
        OUTBOUND_DATA_DIR=str(sqlite_app.settings.data_dir),
    )
    log = (tmp_path / "streamlit.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "streamlit_app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "minimal",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "streamlit did not come up:\n" + (tmp_path / "streamlit.log").read_text()
                )
            time.sleep(0.3)
        yield url, cid
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_staff_pause_a_campaign_in_a_real_browser(
    served: tuple[str, int], sqlite_app: App, tmp_path: Path
) -> None:
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    url, cid = served
    shots = Path(os.environ.get("OUTBOUND_ARTIFACTS_DIR", ROOT / "artifacts")) / "browser"
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        page: Any = context.new_page()
        page.set_default_timeout(30_000)
        try:
            page.goto(url)
            # The seed users read Chinese: the dashboard opens in zh-CN.
            expect(page.get_by_role("heading", name="外呼营销 — 登录")).to_be_visible()
            page.get_by_label("用户名").fill("zhang.wei")
            page.get_by_label("密码").fill("staff-password")
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name="总览")).to_be_visible()
            expect(page.get_by_text("张伟").first).to_be_visible()
            page.get_by_role("link", name="活动详情").click()
            expect(page.get_by_role("heading", name="活动详情")).to_be_visible()
            expect(page.get_by_text("正式外呼").first).to_be_visible()  # state LIVE
            page.get_by_role("button", name="暂停", exact=True).click()
            # Pausing asks first; nothing has changed yet.
            expect(page.get_by_text("确认暂停活动")).to_be_visible()
            assert _state(sqlite_app, cid) is CampaignState.LIVE
            page.get_by_role("button", name="确认暂停").click()
            expect(page.get_by_text(f"活动 {cid} 现为「已暂停」")).to_be_visible()
            deadline = time.monotonic() + 20
            while _state(sqlite_app, cid) is not CampaignState.PAUSED:
                assert time.monotonic() < deadline, "the campaign was not paused"
                time.sleep(0.2)
            expect(page.get_by_role("button", name="恢复", exact=True)).to_be_visible()
        finally:
            page.screenshot(path=str(shots / "campaign-paused.png"), full_page=True)
            context.close()
    with sqlite_app.uow() as uow:
        entry = uow.audit.for_entity("campaign", cid)[-1]
    assert (entry["actor"], entry["to_state"]) == ("zhang.wei", "PAUSED")
    assert (shots / "campaign-paused.png").stat().st_size > 10_000


def _state(app: App, cid: int) -> CampaignState:
    return services.get_campaign(uow=app.uow(), campaign_id=cid).state
