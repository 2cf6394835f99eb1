"""Retry decisions by disposition and calling windows in every candidate zone."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from campaigns.model import CallingHours, Disposition
from campaigns.rules import RetryPolicy, decide_next_attempt, is_callable, next_callable_time

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=4)


def step(d: Disposition, attempts: int = 0, previous: Disposition | None = None, streak: int = 0):
    return decide_next_attempt(
        d, attempts_before=attempts, previous=previous, streak_before=streak, policy=POLICY, now=NOW
    )


def test_final_dispositions() -> None:
    for d in (
        Disposition.SUCCESS,
        Disposition.REFUSED,
        Disposition.INVALID,
        Disposition.WRONG_NUMBER,
        Disposition.INELIGIBLE,
        Disposition.SUSPENDED,
    ):
        s = step(d)
        assert s.final and s.due_at is None and not s.do_not_call, d


def test_dnc_and_complaint_add_to_do_not_call() -> None:
    for d in (Disposition.DNC_REQUEST, Disposition.COMPLAINT):
        s = step(d)
        assert s.final and s.do_not_call


def test_no_answer_retries_hours_later() -> None:
    s = step(Disposition.NO_ANSWER)
    assert not s.final and s.due_at == NOW + timedelta(hours=3) and s.attempts == 1


def test_busy_retries_soon_but_at_most_three_times_in_a_row() -> None:
    s = step(Disposition.BUSY, attempts=0)
    assert s.due_at == NOW + timedelta(minutes=10) and s.streak == 1
    s = step(Disposition.BUSY, attempts=2, previous=Disposition.BUSY, streak=2)
    assert not s.final and s.streak == 3
    s = step(Disposition.BUSY, attempts=3, previous=Disposition.BUSY, streak=3)
    assert s.final


def test_network_fail_does_not_use_an_attempt() -> None:
    s = step(Disposition.NETWORK_FAIL, attempts=3)
    assert not s.counts_as_attempt and s.attempts == 3 and not s.final


def test_attempt_cap() -> None:
    assert step(Disposition.NO_ANSWER, attempts=3).final
    assert not step(Disposition.NO_ANSWER, attempts=2).final


def test_callback_uses_agreed_time() -> None:
    agreed = NOW + timedelta(hours=5)
    s = decide_next_attempt(
        Disposition.CALLBACK,
        attempts_before=0,
        previous=None,
        streak_before=0,
        policy=POLICY,
        now=NOW,
        callback_at=agreed,
    )
    assert s.due_at == agreed


HOURS = CallingHours(time(8), time(21))


def test_single_zone_window() -> None:
    sh = ZoneInfo("Asia/Shanghai")
    assert is_callable(["Asia/Shanghai"], HOURS, datetime(2026, 11, 25, 8, 0, tzinfo=sh))
    assert not is_callable(["Asia/Shanghai"], HOURS, datetime(2026, 11, 25, 21, 0, tzinfo=sh))
    assert not is_callable(["Asia/Shanghai"], HOURS, datetime(2026, 11, 25, 7, 59, tzinfo=sh))


def test_every_zone_must_allow() -> None:
    # 15:30 UTC is 08:30 in Denver but 07:30 in Los Angeles.
    at = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
    assert is_callable(["America/Denver"], HOURS, at)
    assert not is_callable(["America/Denver", "America/Los_Angeles"], HOURS, at)
    nxt = next_callable_time(["America/Denver", "America/Los_Angeles"], HOURS, at)
    assert nxt == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)


@given(
    minutes=st.integers(min_value=0, max_value=60 * 24 * 10),
    zones=st.lists(
        st.sampled_from(
            [
                "Asia/Shanghai",
                "America/Denver",
                "America/Los_Angeles",
                "America/New_York",
                "Europe/London",
            ]
        ),
        min_size=1,
        max_size=2,
        unique=True,
    ),
)
def test_next_callable_time_is_callable_and_not_before_now(minutes: int, zones: list[str]) -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes)  # spans DST changes
    nxt = next_callable_time(zones, HOURS, start)
    if nxt is not None:
        assert nxt >= start
        assert is_callable(zones, HOURS, nxt)
