"""`SipDialer`: the `Dialer` protocol over real SIP, with baresip as the call leg.

Calls are placed with baresip's `dial` command over `ctrl_tcp`; each dial URI carries an
`obkey` parameter naming the call, so baresip's events (which repeat the URI as
`peeruri`) find their call. Events are stamped with the wall clock when they arrive.

The agent side is a stand-in desk inside the adapter: answered calls are bridged (as
events) to the reserved agent or to the agent idle longest, and after the customer hangs
up the agent wraps up for `wrap_seconds` and disposes the call as `agent_disposition`.
Audio does not reach a person; see docs/sip.md for connecting real agent phones.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from campaigns.errors import ConfigurationError, DialerRejected, DialerUnavailable
from campaigns.model import Disposition
from campaigns.ports import (
    AgentSignedIn,
    AnsweredBy,
    CallAnswered,
    CallBridged,
    CallDisposed,
    CallEnded,
    CallRequest,
    DialerCapabilities,
    DialerEvent,
    EndReason,
    FailureCause,
    Party,
    RingingStarted,
)
from dialer_adapters.sip.control import BaresipControl, ControlLost
from dialer_adapters.sip.outcomes import MIN_RING_SECONDS, classify
from dialer_adapters.sip.process import BaresipProcess, SipAccount

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_KEY_PARAM = "obkey"
_KEY_IN_URI = re.compile(rf";{_KEY_PARAM}=([A-Za-z0-9]+)")

# Timer kinds.
_RING_TIMEOUT, _PATIENCE, _WRAP_UP, _SETUP = 0, 1, 2, 3
_LINE = re.compile(r"\[line (\d+)\].*;" + _KEY_PARAM + r"=([A-Za-z0-9]+)")


@dataclass(slots=True)
class _Call:
    request: CallRequest
    token: str
    placed: datetime
    call_id: str | None = None  # baresip's, from its first event that names one
    rang: datetime | None = None
    answered: datetime | None = None
    agent: str | None = None  # bridged to
    ending: CallEnded | None = None  # decided by us, reported when baresip closes it
    ended: bool = False


@dataclass(slots=True)
class _Agent:
    call: str | None = None  # key of the call it is reserved for, bridged to or wrapping up


class SipDialer:
    """A `Dialer` that places real SIP calls through baresip (managed or attached)."""

    name = "sip"
    simulated_time = False

    def __init__(
        self,
        *,
        control: str | None = None,
        uri: str = "sip:{number}@127.0.0.1",
        routes: Mapping[str, str] | None = None,
        lines: int | None = 30,
        aor: str = "sip:dialer@127.0.0.1",
        password: SecretStr | str | None = None,
        password_env: str | None = None,
        auth_user: str | None = None,
        outbound_proxy: str | None = None,
        regint: int = 0,
        codecs: Sequence[str] = ("PCMU", "PCMA"),
        sip_listen: str | None = None,
        binary: str = "baresip",
        ring_timeout: float = 30.0,
        setup_timeout: float = 60.0,
        patience: float = 2.0,
        wrap_seconds: float = 1.0,
        agent_disposition: Disposition | str = Disposition.SUCCESS,
        command_timeout: float = 5.0,
        **_options: Any,
    ) -> None:
        if ring_timeout < MIN_RING_SECONDS:
            raise ConfigurationError(f"unanswered calls must ring at least {MIN_RING_SECONDS} s")
        if setup_timeout <= 0:
            raise ConfigurationError("setup_timeout must be positive")
        if lines is not None and lines < 1:
            raise ConfigurationError("a SIP dialer needs at least one line")
        self.control_address = control
        self.uri = uri
        self.routes = dict(routes or {})
        for template in [uri, *self.routes.values()]:
            if "{number}" not in template and "{digits}" not in template:
                raise ConfigurationError(f"dial URI {template!r} has no {{number}} or {{digits}}")
        if password is None and password_env:
            # Keeps the secret out of OUTBOUND_DIALER_OPTIONS: name the variable holding it.
            if password_env not in os.environ:
                raise ConfigurationError(f"{password_env} (the SIP password) is not set")
            password = os.environ[password_env]
        if isinstance(password, str):
            password = SecretStr(password)
        self.account = SipAccount(
            aor=aor,
            password=password,
            auth_user=auth_user,
            outbound_proxy=outbound_proxy,
            regint=regint,
            codecs=tuple(codecs),
        )
        self.binary = binary
        self.sip_listen = sip_listen
        self.ring_timeout = ring_timeout
        self.setup_timeout = setup_timeout
        self.patience = patience
        self.wrap_seconds = wrap_seconds
        self.agent_disposition = Disposition(agent_disposition)
        self.command_timeout = command_timeout
        self.capabilities = DialerCapabilities(
            bridging=True, amd=False, preview=False, max_calls=lines
        )
        self._process: BaresipProcess | None = None
        self._control: BaresipControl | None = None
        self._started = False
        self._closed = False
        self._reset()

    def _reset(self) -> None:
        self._session = secrets.token_hex(3)  # tokens of an earlier session never match
        self._tokens = itertools.count(1)
        self._calls: dict[str, _Call] = {}  # by key
        self._by_token: dict[str, _Call] = {}
        self._keys: set[str] = set()
        self._agents: dict[str, _Agent] = {}
        self._idle: dict[str, None] = {}  # longest idle first
        self._waiting: dict[str, None] = {}  # answered, unreserved, no agent yet
        self._timers: list[tuple[datetime, int, int, str]] = []
        self._seq = itertools.count()
        self._outbox: list[DialerEvent] = []
        self._last = datetime.min.replace(tzinfo=UTC)
        self._wake = asyncio.Event()
        self._lost: Exception | None = None
        self._originating = False
        self._held: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- protocol

    async def start(self, *, agents: Sequence[str], at: datetime) -> None:
        """Start (or attach to) baresip and sign the agents in; `at` is ignored: wall clock."""
        del at
        if self._started:
            await self.close()  # a new session: the old one's calls and process go
        self._reset()
        self._closed = False
        await self._connect()
        self._started = True
        now = self._stamp()
        for name in agents:
            self._agents[name] = _Agent()
            self._idle[name] = None
            self._emit(AgentSignedIn(name, now))

    def now(self) -> datetime:
        """The wall clock, in UTC."""
        return datetime.now(UTC)

    async def originate(self, calls: Sequence[CallRequest]) -> None:
        """Dial the calls; keys already placed in this session are skipped."""
        self._check_open()
        fresh: list[CallRequest] = []
        keys: set[str] = set()
        reserved: set[str] = set()
        for request in calls:
            if request.key in self._keys or request.key in keys:
                continue
            if not E164.match(request.number):
                raise DialerRejected(f"{request.number!r} is not an E.164 number")
            if request.preview:
                raise DialerRejected("the SIP dialer has no preview mode")
            if request.agent is not None:
                if request.agent not in self._idle or request.agent in reserved:
                    raise DialerRejected(f"agent {request.agent} is not idle")
                reserved.add(request.agent)
            keys.add(request.key)
            fresh.append(request)
        limit = self.capabilities.max_calls
        up = sum(1 for c in self._calls.values() if not c.ended)
        if limit is not None and up + len(fresh) > limit:
            raise DialerRejected(f"{up} calls up, {len(fresh)} more exceed {limit} lines")
        if not fresh:
            return
        await self._ensure_connected()
        batch = []
        placed = self.now()
        for request in fresh:
            token = f"{self._session}{next(self._tokens)}"
            call = _Call(request, token, placed)
            self._keys.add(request.key)
            self._calls[request.key] = call
            self._by_token[token] = call
            if request.agent is not None:
                del self._idle[request.agent]
                self._agents[request.agent].call = request.key
            batch.append(("dial", self.dial_uri(request.number, token)))
            # A network that takes the INVITE and then says nothing must not hold a line.
            self._timer(placed + timedelta(seconds=self.setup_timeout), _SETUP, request.key)
        assert self._control is not None
        self._originating = True
        try:
            responses = await self._control.commands(batch)
        except ControlLost as exc:
            # Some dials may have reached baresip: these keys stay placed (never dialled
            # twice) and end as network failures, which the engine retries soon.
            self._control_lost(exc)
            tail = self._process.log_tail(5) if self._process is not None else ""
            raise DialerUnavailable(f"baresip control connection lost: {exc}\n{tail}") from exc
        finally:
            self._originating = False
        for (_, uri), response in zip(batch, responses, strict=True):
            if not response.get("ok", False):
                # Reported like a close without a SIP status: a network failure.
                reason = f"baresip refused the dial: {response.get('data', '')}".strip()
                self._held.append(
                    {"class": "call", "type": "CALL_CLOSED", "peeruri": uri, "param": reason}
                )

    async def receive(self, *, until: datetime) -> list[DialerEvent]:
        """Wait on the wall clock for events, or until `until`."""
        if self._closed or not self._started:
            return []
        held, self._held = self._held, []
        for message in held:
            self._on_event(message)
        while True:
            await self._fire_timers()
            if self._outbox:
                out, self._outbox = self._outbox, []
                return out
            now = self.now()
            if now >= until:
                return []
            wake = min(until, self._timers[0][0]) if self._timers else until
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), (wake - now).total_seconds())

    async def close(self) -> None:
        """Hang up every call, release the connection, stop a baresip we started."""
        self._closed = True
        self._started = False
        if self._process is None and self._control is not None and self._control.connected:
            # An attached baresip keeps running: hang up our calls in it one by one.
            await self._hang_up([c for c in self._calls.values() if not c.ended])
        control, self._control = self._control, None
        if control is not None:
            await control.close()
        if self._process is not None:
            self._process.stop()  # baresip hangs up its calls on SIGTERM
            self._process = None
        self._reset()

    @property
    def process(self) -> BaresipProcess | None:
        """The baresip this adapter started (None when attached to a running one)."""
        return self._process

    # ---------------------------------------------------------------- connection

    async def _connect(self) -> None:
        if self.control_address is None:
            self._process = BaresipProcess(
                account=self.account,
                binary=self.binary,
                sip_listen=self.sip_listen,
                max_calls=(self.capabilities.max_calls or 480) + 20,
            )
            await self._process.start()
            host, port = "127.0.0.1", self._process.ctrl_port
        else:
            host, _, port_text = self.control_address.rpartition(":")
            port = int(port_text)
        self._control = BaresipControl(
            host or "127.0.0.1",
            port,
            on_event=self._on_event,
            on_lost=self._control_lost,
            timeout=self.command_timeout,
        )
        try:
            await self._control.connect()
        except (OSError, TimeoutError) as exc:
            self._control = None
            if self._process is not None:
                self._process.stop()
                self._process = None
            raise DialerUnavailable(f"baresip ctrl_tcp at {host}:{port} unreachable") from exc
        self._lost = None

    async def _ensure_connected(self) -> None:
        if self._control is not None and self._control.connected:
            return
        # A managed baresip that died is started again; an attached one is reconnected.
        if self._process is not None and not self._process.running:
            self._process.stop()
            self._process = None
        if self._control is not None:
            await self._control.close()
            self._control = None
        if self._process is not None:
            host, port = "127.0.0.1", self._process.ctrl_port
            self._control = BaresipControl(
                host,
                port,
                on_event=self._on_event,
                on_lost=self._control_lost,
                timeout=self.command_timeout,
            )
            try:
                await self._control.connect()
                return
            except (OSError, TimeoutError) as exc:
                self._control = None
                raise DialerUnavailable("baresip ctrl_tcp does not accept connections") from exc
        await self._connect()

    def _control_lost(self, reason: Exception) -> None:
        """Every call still up ends now: its events can no longer reach us."""
        if self._closed:
            return
        log.warning("baresip control connection lost: %s", reason)
        self._lost = reason
        for call in list(self._calls.values()):
            if call.ended:
                continue
            at = self._stamp()
            key = call.request.key
            detail = "lost the control connection to baresip"
            if call.agent is not None:
                self._end(
                    call,
                    CallEnded(key, at, EndReason.HUNG_UP, hung_up_by=Party.DIALER, detail=detail),
                )
            elif call.answered is not None:
                self._end(
                    call,
                    CallEnded(key, at, EndReason.ABANDONED, hung_up_by=Party.DIALER, detail=detail),
                )
            else:
                self._end(
                    call, CallEnded(key, at, EndReason.FAILED, FailureCause.NETWORK, detail=detail)
                )

    # ---------------------------------------------------------------- baresip events

    def _on_event(self, message: dict[str, Any]) -> None:
        if message.get("class") != "call" or self._closed:
            return
        if self._originating:
            # A call exists for the engine once originate returns: what baresip says
            # before that is reported (and stamped) by the next receive.
            self._held.append(message)
            return
        match = _KEY_IN_URI.search(str(message.get("peeruri", "")))
        call = self._by_token.get(match.group(1)) if match else None
        if call is None or call.ended:
            return  # another session's call, or one we already reported
        if message.get("id"):
            call.call_id = str(message["id"])
        kind = message.get("type")
        key = call.request.key
        if kind in ("CALL_RINGING", "CALL_PROGRESS") and call.rang is None:
            call.rang = self._stamp()
            self._emit(RingingStarted(key, call.rang))
            self._timer(call.rang + timedelta(seconds=self.ring_timeout), _RING_TIMEOUT, key)
        elif kind == "CALL_ESTABLISHED" and call.answered is None:
            call.answered = self._stamp()
            self._emit(CallAnswered(key, call.answered, AnsweredBy.UNKNOWN))
            if call.ending is None:
                self._route(call)
        elif kind == "CALL_CLOSED":
            self._closed_by_network(call, str(message.get("param", "")))

    def _closed_by_network(self, call: _Call, reason: str) -> None:
        at = self._stamp()
        key = call.request.key
        if call.ending is not None:
            ending = call.ending
            if call.agent is not None:  # answered and bridged while we were hanging up
                ending = CallEnded(
                    key, at, EndReason.HUNG_UP, hung_up_by=Party.DIALER, detail=ending.detail
                )
            elif call.answered is not None and ending.reason is not EndReason.ABANDONED:
                ending = CallEnded(
                    key, at, EndReason.ABANDONED, hung_up_by=Party.DIALER, detail=ending.detail
                )
            self._end(
                call,
                CallEnded(key, at, ending.reason, ending.cause, ending.hung_up_by, ending.detail),
            )
        elif call.agent is not None:
            self._end(
                call,
                CallEnded(key, at, EndReason.HUNG_UP, hung_up_by=Party.CUSTOMER, detail=reason),
            )
        elif call.answered is not None:  # the person left before an agent came
            self._end(
                call,
                CallEnded(key, at, EndReason.ABANDONED, hung_up_by=Party.CUSTOMER, detail=reason),
            )
        else:
            rang = (at - call.rang).total_seconds() if call.rang is not None else None
            outcome = classify(reason, rang_seconds=rang)
            self._end(
                call, CallEnded(key, at, outcome.reason, outcome.cause, detail=outcome.detail[:200])
            )

    # ---------------------------------------------------------------- agents

    def _route(self, call: _Call) -> None:
        """An answered call goes to its reserved agent, the agent idle longest, or waits."""
        reserved = call.request.agent
        if reserved is not None:
            self._bridge(call, reserved)
        elif self._idle:
            agent = next(iter(self._idle))
            del self._idle[agent]
            self._agents[agent].call = call.request.key
            self._bridge(call, agent)
        else:
            self._waiting[call.request.key] = None
            assert call.answered is not None
            self._timer(
                call.answered + timedelta(seconds=self.patience), _PATIENCE, call.request.key
            )

    def _bridge(self, call: _Call, agent: str) -> None:
        call.agent = agent
        self._emit(CallBridged(call.request.key, self._stamp(), agent))

    def _free(self, agent: str) -> None:
        """The agent is idle again: give it the caller waiting longest, if any."""
        self._agents[agent].call = None
        for key in self._waiting:
            call = self._calls[key]
            del self._waiting[key]
            self._agents[agent].call = key
            self._bridge(call, agent)
            return
        self._idle[agent] = None

    # ---------------------------------------------------------------- plumbing

    def _check_open(self) -> None:
        if not self._started or self._closed:
            raise DialerRejected("the SIP dialer is not started (or was closed)")

    def dial_uri(self, number: str, token: str) -> str:
        """The SIP URI a number is dialled at: its longest-prefix route, tagged with `token`."""
        template = self.uri
        best = ""
        for prefix, route in self.routes.items():
            if number.startswith(prefix) and len(prefix) > len(best):
                best, template = prefix, route
        uri = template.format(number=number, digits=number.lstrip("+"))
        return f"{uri};{_KEY_PARAM}={token}"

    def _stamp(self) -> datetime:
        """Now, never before an event already reported (the clock may step back)."""
        self._last = max(self._last, self.now())
        return self._last

    def _emit(self, event: DialerEvent) -> None:
        self._outbox.append(event)
        self._wake.set()

    def _timer(self, when: datetime, kind: int, key: str) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), kind, key))
        self._wake.set()

    def _end(self, call: _Call, event: CallEnded) -> None:
        call.ended = True
        self._waiting.pop(call.request.key, None)
        self._by_token.pop(call.token, None)
        self._emit(event)
        if call.agent is not None:
            self._timer(event.at + timedelta(seconds=self.wrap_seconds), _WRAP_UP, call.request.key)
            return
        self._calls.pop(call.request.key, None)
        reserved = call.request.agent
        if reserved is not None and self._agents.get(reserved, _Agent()).call == call.request.key:
            self._free(reserved)  # the reservation ends with a call nobody was bridged to

    async def _fire_timers(self) -> None:
        hangups: list[_Call] = []
        now = self.now()
        while self._timers and self._timers[0][0] <= now:
            _, _, kind, key = heapq.heappop(self._timers)
            call = self._calls.get(key)
            if call is None:
                continue
            if kind == _WRAP_UP and call.agent is not None and call.ended:
                self._calls.pop(key, None)
                self._emit(CallDisposed(key, self._stamp(), call.agent, self.agent_disposition))
                self._free(call.agent)
            elif kind == _RING_TIMEOUT and call.answered is None and call.ending is None:
                if not call.ended:
                    seconds = self.ring_timeout
                    call.ending = CallEnded(
                        key, now, EndReason.NO_ANSWER, detail=f"no answer in {seconds:g} s"
                    )
                    hangups.append(call)
            elif kind == _SETUP and call.rang is None and call.answered is None:
                if not call.ended and call.ending is None:
                    call.ending = CallEnded(
                        key,
                        now,
                        EndReason.FAILED,
                        FailureCause.NETWORK,
                        detail=f"no ringing or answer in {self.setup_timeout:g} s",
                    )
                    hangups.append(call)
            elif kind == _PATIENCE and key in self._waiting and call.ending is None:
                call.ending = CallEnded(
                    key,
                    now,
                    EndReason.ABANDONED,
                    hung_up_by=Party.DIALER,
                    detail=f"no agent within {self.patience:g} s",
                )
                del self._waiting[key]
                hangups.append(call)
        if hangups:
            await self._hang_up(hangups)

    async def _hang_up(self, calls: list[_Call]) -> None:
        """Hang up these calls; each is reported when baresip says it closed."""
        if not calls or self._control is None or not self._control.connected:
            return  # _control_lost has ended them already
        # baresip 1.0's `hangup` ends the *current* call, so each goes with the command
        # that selects it, in the same write: nothing can come between the two. A call is
        # selected by its id (`callfind`; newer baresip also reads the id in `hangup`)
        # or, before any event named its id, by its line in `listcalls`.
        pairs = [
            cmd
            for c in calls
            if c.call_id is not None
            for cmd in (("callfind", c.call_id), ("hangup", c.call_id))
        ]
        try:
            if any(c.call_id is None for c in calls):
                listing = await self._control.command("listcalls")
                lines = {m.group(2): m.group(1) for m in _LINE.finditer(listing.get("data", ""))}
                for c in calls:
                    if c.call_id is None and c.token in lines:
                        pairs += [("line", lines[c.token]), ("hangup", "")]
            responses = await self._control.commands(pairs)
        except ControlLost as exc:
            self._control_lost(exc)
            return
        for (command, target), response in zip(pairs[::2], responses[::2], strict=True):
            if "not found" in str(response.get("data", "")) or not response.get("ok", True):
                log.warning("hangup: baresip no longer had call %s %s", command, target)
