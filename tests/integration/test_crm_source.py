"""The CRM subscriber source against a real local HTTP server, plus MockTransport units."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from builders import number
from pydantic import SecretStr

from campaigns.errors import ConfigurationError, SourceUnavailable, ValidationError
from campaigns.model import SubscriberFacts, SubscriberStatus
from campaigns.ports import SubscriberSource
from flows.crm import HttpxCrmSubscriberSource

TOKEN = "s3cret-token"
TIMEOUT = 0.2

FULL: dict[str, Any] = {
    "msisdn": number(1),
    "status": "ACTIVE",
    "segment": "family",
    "branch": "GZ",
    "services": ["5G_PLUS_59", "VIDEO_VIP"],
    "follow_up": True,
    "last_contacted_at": "2026-11-20T10:00:00+08:00",
}
MINIMAL: dict[str, Any] = {"msisdn": number(2), "status": "SUSPENDED"}
NULLS: dict[str, Any] = {
    "msisdn": number(3),
    "status": "CANCELLED",
    "segment": None,
    "branch": None,
    "services": [],
    "follow_up": False,
    "last_contacted_at": None,
}


class FakeCrm:
    """A CRM on 127.0.0.1 that answers /subscribers/lookup from a dict and misbehaves on cue."""

    def __init__(self, subscribers: list[dict[str, Any]]) -> None:
        self.subscribers = {s["msisdn"]: s for s in subscribers}
        self.requests: list[dict[str, Any]] = []
        self.fail_first = 0  # answer 503 to this many requests
        self.hang_first = 0  # never answer this many requests
        self.garbage: bytes | None = None  # answer 200 with this body
        self._lock = threading.Lock()
        self._release = threading.Event()
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with crm._lock:
                    crm.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
                    )
                    hang = crm.hang_first > 0
                    crm.hang_first -= hang
                    fail = not hang and crm.fail_first > 0
                    crm.fail_first -= fail
                if hang:
                    # Longer than the client waits; released when the server stops.
                    crm._release.wait(5)
                    return
                if fail:
                    return self._answer(503, b'{"error": "overloaded"}')
                if self.path != "/crm/subscribers/lookup":
                    return self._answer(404, b'{"error": "no such endpoint"}')
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._answer(401, b'{"error": "invalid token"}')
                if crm.garbage is not None:
                    return self._answer(200, crm.garbage)
                asked = json.loads(body)["numbers"]
                known = [crm.subscribers[n] for n in asked if n in crm.subscribers]
                self._answer(200, json.dumps({"subscribers": known}).encode())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll, so shutdown() returns at once instead of after the default 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL the source is given."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/crm"

    def __enter__(self) -> FakeCrm:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


class Sleeps:
    """A sleep function that records what it was asked to wait, and does not wait."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def crm() -> Iterator[FakeCrm]:
    """A running fake CRM that knows FULL, MINIMAL and NULLS."""
    with FakeCrm([FULL, MINIMAL, NULLS]) as server:
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    """A recording no-op sleep."""
    return Sleeps()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An httpx client the test owns."""
    with httpx.Client() as c:
        yield c


def source_for(
    url: str, client: httpx.Client, sleeps: Sleeps, **options: Any
) -> HttpxCrmSubscriberSource:
    """A source with short timeouts and a no-op sleep."""
    settings: dict[str, Any] = {"token": TOKEN, "timeout": TIMEOUT, "rng": random.Random(7)}
    return HttpxCrmSubscriberSource(url, client=client, sleep=sleeps, **(settings | options))


# --------------------------------------------------------------------------- real server


def test_facts_for_known_numbers(crm: FakeCrm, client: httpx.Client, sleeps: Sleeps) -> None:
    source: SubscriberSource = source_for(crm.url, client, sleeps, token=SecretStr(TOKEN))
    facts = source.lookup([number(1), number(2), number(3), number(4), number(1)])
    assert facts == {
        number(1): SubscriberFacts(
            number(1),
            SubscriberStatus.ACTIVE,
            "family",
            "GZ",
            frozenset({"5G_PLUS_59", "VIDEO_VIP"}),
            has_follow_up=True,
            last_contacted_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC),
        ),
        number(2): SubscriberFacts(number(2), SubscriberStatus.SUSPENDED),
        number(3): SubscriberFacts(number(3), SubscriberStatus.CANCELLED),
    }
    assert {f.last_contacted_at.tzinfo for f in facts.values() if f.last_contacted_at} == {UTC}
    [request] = crm.requests
    assert request["path"] == "/crm/subscribers/lookup"
    assert request["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {"numbers": [number(1), number(2), number(3), number(4)]}
    assert sleeps.calls == []


def test_batches_of_batch_size(crm: FakeCrm, client: httpx.Client, sleeps: Sleeps) -> None:
    numbers = [number(i) for i in range(1, 1_201)]
    facts = source_for(crm.url, client, sleeps, batch_size=500).lookup(numbers)
    assert [len(r["json"]["numbers"]) for r in crm.requests] == [500, 500, 200]
    assert [n for r in crm.requests for n in r["json"]["numbers"]] == numbers
    assert set(facts) == {number(1), number(2), number(3)}


def test_503s_are_retried_then_succeed(crm: FakeCrm, client: httpx.Client, sleeps: Sleeps) -> None:
    crm.fail_first = 2
    facts = source_for(crm.url, client, sleeps, backoff=0.5).lookup([number(1)])
    assert set(facts) == {number(1)}
    assert len(crm.requests) == 3
    # Exponential with jitter: each wait lies in the upper half of backoff * 2**n.
    first, second = sleeps.calls
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0


def test_exhausted_retries_raise_source_unavailable(
    crm: FakeCrm, client: httpx.Client, sleeps: Sleeps
) -> None:
    crm.fail_first = 100
    with pytest.raises(SourceUnavailable, match="after 4 attempts; last: HTTP 503") as caught:
        source_for(crm.url, client, sleeps, retries=3).lookup([number(1)])
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert caught.value.retryable
    assert len(crm.requests) == 4
    assert len(sleeps.calls) == 3
    assert TOKEN not in str(caught.value)


def test_a_timeout_is_retried(crm: FakeCrm, client: httpx.Client, sleeps: Sleeps) -> None:
    crm.hang_first = 1
    facts = source_for(crm.url, client, sleeps).lookup([number(2)])
    assert set(facts) == {number(2)}
    assert len(crm.requests) == 2
    assert len(sleeps.calls) == 1


def test_timeouts_exhaust_retries(crm: FakeCrm, client: httpx.Client, sleeps: Sleeps) -> None:
    crm.hang_first = 100
    with pytest.raises(SourceUnavailable, match="after 2 attempts; last: ReadTimeout") as caught:
        source_for(crm.url, client, sleeps, retries=1).lookup([number(2)])
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_401_is_permanent_and_not_retried(
    crm: FakeCrm, client: httpx.Client, sleeps: Sleeps
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        source_for(crm.url, client, sleeps, token="wr0ng-t0ken").lookup([number(1)])
    message = str(caught.value)
    assert "HTTP 401" in message and '{"error": "invalid token"}' in message
    assert "wr0ng-t0ken" not in message
    assert isinstance(caught.value.__cause__, httpx.HTTPStatusError)
    assert len(crm.requests) == 1
    assert sleeps.calls == []


def test_a_wrong_url_is_a_configuration_error(
    crm: FakeCrm, client: httpx.Client, sleeps: Sleeps
) -> None:
    with pytest.raises(ConfigurationError, match="HTTP 404"):
        source_for(crm.url + "/v2", client, sleeps).lookup([number(1)])
    assert len(crm.requests) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>Bad gateway</html>", "body: Invalid JSON"),
        (b'{"results": []}', "subscribers: Field required"),
        (b'{"subscribers": [{"msisdn": "+8613800000001", "status": "GONE"}]}', "0.status"),
    ],
)
def test_garbage_raises_source_unavailable(
    crm: FakeCrm, client: httpx.Client, sleeps: Sleeps, body: bytes, reason: str
) -> None:
    crm.garbage = body
    with pytest.raises(SourceUnavailable, match="breaks the contract") as caught:
        source_for(crm.url, client, sleeps).lookup([number(1)])
    assert reason in str(caught.value)
    assert len(crm.requests) == 1


def test_an_unreachable_crm_is_retried_then_unavailable(sleeps: Sleeps) -> None:
    with FakeCrm([]) as gone:
        url = gone.url
    # The source makes its own client here, and closes it.
    with (
        HttpxCrmSubscriberSource(url, TOKEN, timeout=TIMEOUT, retries=2, sleep=sleeps) as source,
        pytest.raises(SourceUnavailable, match="after 3 attempts; last: ConnectError"),
    ):
        source.lookup([number(1)])
    assert len(sleeps.calls) == 2


def test_its_own_client_works(crm: FakeCrm, sleeps: Sleeps) -> None:
    with HttpxCrmSubscriberSource(crm.url, SecretStr(TOKEN), timeout=TIMEOUT) as source:
        assert set(source.lookup([number(1), number(9)])) == {number(1)}


# --------------------------------------------------------------------------- MockTransport


def mock_source(
    handler: Any, sleeps: Sleeps, **options: Any
) -> tuple[HttpxCrmSubscriberSource, list[httpx.Request]]:
    """A source over httpx.MockTransport; returns it with the requests it makes."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response: httpx.Response = handler(request)
        return response

    client = httpx.Client(transport=httpx.MockTransport(record))
    settings: dict[str, Any] = {"token": TOKEN, "rng": random.Random(7)} | options
    url = "https://crm.example/api/"
    return HttpxCrmSubscriberSource(url, client=client, sleep=sleeps, **settings), seen


def test_429_honours_retry_after(sleeps: Sleeps) -> None:
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(429, headers={"Retry-After": "600"}),
            httpx.Response(200, json={"subscribers": [MINIMAL]}),
        ]
    )
    source, seen = mock_source(lambda _: next(answers), sleeps, max_backoff=10.0)
    assert set(source.lookup([number(2)])) == {number(2)}
    assert str(seen[0].url) == "https://crm.example/api/subscribers/lookup"
    assert sleeps.calls == [3.0, 10.0]  # a Retry-After longer than max_backoff is capped


def test_transport_errors_are_retried(sleeps: Sleeps) -> None:
    calls = iter([httpx.ConnectError("refused"), httpx.RemoteProtocolError("reset")])

    def handler(request: httpx.Request) -> httpx.Response:
        error = next(calls, None)
        if error is not None:
            raise error
        return httpx.Response(200, json={"subscribers": [FULL]})

    source, seen = mock_source(handler, sleeps)
    assert set(source.lookup([number(1)])) == {number(1)}
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ValidationError),
        (422, ValidationError),
        (403, ConfigurationError),
        (302, ConfigurationError),
    ],
)
def test_other_statuses_are_permanent(sleeps: Sleeps, status: int, error: type[Exception]) -> None:
    body = "x" * 500
    source, seen = mock_source(lambda _: httpx.Response(status, text=body), sleeps)
    with pytest.raises(error, match=f"HTTP {status}: x+…") as caught:
        source.lookup([number(1)])
    assert len(str(caught.value)) < 400  # the body is quoted, not dumped
    assert len(seen) == 1 and sleeps.calls == []


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({**FULL, "last_contacted_at": "2026-11-20T10:00:00"}, "timezone info"),
        ({**FULL, "services": "5G_PLUS_59"}, "0.services"),
        ({**FULL, "follow_up": "yes"}, "0.follow_up"),
        ({"status": "ACTIVE"}, "0.msisdn"),
    ],
)
def test_malformed_entries(sleeps: Sleeps, entry: dict[str, Any], reason: str) -> None:
    source, _ = mock_source(lambda _: httpx.Response(200, json={"subscribers": [entry]}), sleeps)
    with pytest.raises(SourceUnavailable, match="breaks the contract") as caught:
        source.lookup([number(1)])
    assert reason in str(caught.value)


def test_unasked_numbers_and_extra_fields_are_ignored(sleeps: Sleeps) -> None:
    stray = {**MINIMAL, "msisdn": number(99), "vip": True}
    answer = {"subscribers": [{**FULL, "vip": True}, stray], "next": None}
    source, _ = mock_source(lambda _: httpx.Response(200, json=answer), sleeps)
    assert set(source.lookup([number(1)])) == {number(1)}


def test_nothing_to_look_up_sends_nothing(sleeps: Sleeps) -> None:
    source, seen = mock_source(lambda _: httpx.Response(500), sleeps)
    assert source.lookup([]) == {}
    assert seen == []


def test_bad_settings_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        HttpxCrmSubscriberSource("https://crm.example", TOKEN, batch_size=0)
    source = HttpxCrmSubscriberSource("ftp://crm.example", TOKEN)
    with source, pytest.raises(ConfigurationError, match="not http"):
        source.lookup([number(1)])
