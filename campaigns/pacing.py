"""Pacing: how many calls to place right now. A pure object, fed with dialer events.

Three modes (DOMAIN.md §6):

- **PREVIEW**: an agent sees the contact, then dials. One call per agent who asked
  (an idle agent is asking), the agent reserved for it.
- **PROGRESSIVE**: one call per idle agent, the agent reserved while it rings, so no
  call can be abandoned. Occupancy is h / (h + W).
- **PREDICTIVE**: calls are not tied to agents; an answered call goes to whichever agent
  is free. Every tick (1 s) the pacer looks at a grid of horizons h up to the time most
  live answers take. For each h it expects free agents: the idle ones, plus every busy
  one by how far into its call it is (talking: against measured talk times and the mean
  wrap-up; in wrap-up: against measured wrap-up times) within h + patience. Against
  them it expects live answers: people already waiting, and every ringing call by its
  age (against the measured time-to-answer of live calls and of all calls). It places
  the most calls n such that, at every h, the live answers due (theirs and the new
  calls') stay below the free agents by `margin` standard deviations. The margin moves
  up a step on every abandoned call and down a little on every bridged one, so the
  abandon rate settles at `target_share` of the cap.
  A hard guard keeps the abandon rate over the rolling window within the cap whatever
  the estimates say: it allows no more calls at risk (calls beyond the idle agents)
  than abandons the window can still absorb if every one of them were abandoned.
  Calls an idle agent is sure to take are always allowed. Below `min_predictive_agents`
  signed-in agents it dials progressively.

The pacer keeps no clock: every call passes the time in. It holds no I/O either; the
dialing loop feeds it (`originated`, `observe`) and asks it (`plan`).
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_left, bisect_right, insort
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import repeat
from operator import add, mul, sub, truediv
from typing import Any

from campaigns.errors import ConfigurationError
from campaigns.model import Disposition
from campaigns.ports import (
    AgentSignedIn,
    AgentSignedOut,
    AnsweredBy,
    AttemptTally,
    CallAnswered,
    CallBridged,
    CallDisposed,
    CallEnded,
    CallRequest,
    DialerEvent,
    EndReason,
    RingingStarted,
)


class PacingMode(enum.StrEnum):
    """How calls are matched to agents."""

    PREVIEW = "PREVIEW"
    PROGRESSIVE = "PROGRESSIVE"
    PREDICTIVE = "PREDICTIVE"


@dataclass(frozen=True, slots=True)
class AbandonRule:
    """At most `cap` of live-answered calls abandoned over any rolling `window`."""

    cap: float = 0.03
    window: timedelta = timedelta(days=30)
    name: str = "US"

    def __post_init__(self) -> None:
        if not 0 <= self.cap < 1:
            raise ValueError(f"abandon cap must be in [0, 1), not {self.cap}")
        if self.window <= timedelta(0):
            raise ValueError("the abandon window must be positive")


#: US (FTC/FCC): 3% of live answers per campaign per 30 days.
US_RULE = AbandonRule(0.03, timedelta(days=30), "US")
#: UK (Ofcom): 3% of live answers per 24 hours.
UK_RULE = AbandonRule(0.03, timedelta(hours=24), "UK")


@dataclass(frozen=True, slots=True)
class PacingConfig:
    """Pacing settings; the defaults follow DOMAIN.md §5-6."""

    mode: PacingMode = PacingMode.PREDICTIVE
    abandon: AbandonRule = US_RULE
    #: Predictive needs a pool; Genesys advises it from about 15 agents.
    min_predictive_agents: int = 15
    #: The predictive controller aims at this share of the cap, leaving room for noise.
    target_share: float = 0.8
    #: How often predictive pacing looks again without being woken by an event.
    tick: timedelta = timedelta(seconds=1)
    #: Calls are placed in rounds at most this often (0: at every event). Each round is
    #: one database transaction, so rounds keep the bookkeeping per call small; an agent
    #: who frees up waits half a round on average for the next call.
    dial_interval: timedelta = timedelta(seconds=1)
    #: Ceiling on unassigned calls in progress per signed-in agent.
    max_lines_per_agent: float = 4.0
    #: Estimates before anything is measured, and how many calls they weigh.
    prior_live_rate: float = 0.3
    prior_answer_seconds: float = 12.0
    prior_handle_seconds: float = 140.0
    prior_weight: int = 20
    #: Recent calls the estimates are built from.
    sample_size: int = 2000
    prior_wrap_seconds: float = 20.0
    #: A person who answers waits this long for an agent (the dialer's patience).
    patience: float = 2.0
    #: The safety margin, in standard deviations: start, bounds and step per abandon.
    margin: float = 2.0
    margin_bounds: tuple[float, float] = (-1.0, 4.0)
    margin_step: float = 0.15
    #: History the margin is replayed over when dialing resumes (see `Pacer.seed`).
    warm_start: timedelta = timedelta(hours=1)
    #: Calls placed now are answered or over within this; the guard looks this far ahead.
    guard_horizon: timedelta = timedelta(seconds=90)

    def __post_init__(self) -> None:
        if self.min_predictive_agents < 1:
            raise ValueError("min_predictive_agents must be at least 1")
        if not 0 < self.target_share <= 1:
            raise ValueError("target_share must be in (0, 1]")
        if not 0 < self.prior_live_rate <= 1:
            raise ValueError("prior_live_rate must be in (0, 1]")
        if not timedelta(0) <= self.dial_interval <= timedelta(seconds=10):
            raise ValueError("dial_interval must be between 0 and 10 seconds")

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> PacingConfig:
        """Read settings such as {"mode": "predictive", "rule": "UK", "cap": 0.03}."""
        if not options:
            return cls()
        opts = dict(options)
        rule = {"US": US_RULE, "UK": UK_RULE}[str(opts.pop("rule", "US")).upper()]
        if "cap" in opts:
            rule = replace(rule, cap=float(opts.pop("cap")))
        if "window_hours" in opts:
            rule = replace(rule, window=timedelta(hours=float(opts.pop("window_hours"))))
        config = cls(abandon=rule)
        if "mode" in opts:
            config = replace(config, mode=PacingMode(str(opts.pop("mode")).upper()))
        if "tick_seconds" in opts:
            config = replace(config, tick=timedelta(seconds=float(opts.pop("tick_seconds"))))
        if "dial_interval_seconds" in opts:
            seconds = float(opts.pop("dial_interval_seconds"))
            config = replace(config, dial_interval=timedelta(seconds=seconds))
        if "margin_bounds" in opts:
            lo, hi = opts.pop("margin_bounds")
            config = replace(config, margin_bounds=(float(lo), float(hi)))
        try:
            return replace(config, **opts)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"pacing options {sorted(opts)}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Plan:
    """What to dial now: `calls` calls, each reserving one of `agents` when agents are given."""

    calls: int
    mode: PacingMode
    agents: tuple[str, ...] = ()
    preview: bool = False


class AbandonWindow:
    """Live answers and abandons over a rolling window, counted in time buckets.

    Bucket edges are read in the safe direction: a bucket's live answers leave the
    window at its start + window, its abandons at its end + window (+ slack).
    """

    def __init__(self, rule: AbandonRule, *, bucket_seconds: float = 60.0) -> None:
        self.rule = rule
        self.width = rule.window.total_seconds()
        self.bucket_seconds = bucket_seconds
        # [start, end, live, abandoned, slack]
        self._buckets: deque[list[float]] = deque()
        self._live = 0.0
        self._abandoned = 0.0

    def seed(self, start: float, end: float, *, live: int, abandoned: int) -> None:
        """Add counts from history (older than anything added later); times are imprecise."""
        self._append([start, end, float(live), float(abandoned), 60.0])

    def add(self, at: float, *, live: int = 0, abandoned: int = 0) -> None:
        """Count live answers and abandons that happened at `at`."""
        last = self._buckets[-1] if self._buckets else None
        if last is not None and last[0] <= at < last[1] and last[4] == 0.0:
            last[2] += live
            last[3] += abandoned
        else:
            start = math.floor(at / self.bucket_seconds) * self.bucket_seconds
            if last is not None:
                start = max(start, last[1])
            self._append([start, max(start + self.bucket_seconds, at + 1e-6), live, abandoned, 0])
            return
        self._live += live
        self._abandoned += abandoned

    def _append(self, bucket: list[float]) -> None:
        self._buckets.append(bucket)
        self._live += bucket[2]
        self._abandoned += bucket[3]

    def counts(self, at: float) -> tuple[float, float]:
        """(live, abandoned) in the window that ends at `at`."""
        w = self.width
        while self._buckets and self._buckets[0][1] + self._buckets[0][4] + w <= at:
            old = self._buckets.popleft()
            self._live -= old[2]
            self._abandoned -= old[3]
        live = self._live
        for b in self._buckets:  # only the oldest few are partly out of the window
            if b[0] + w > at:
                break
            live -= b[2]
        return max(0.0, live), max(0.0, self._abandoned)

    def rate(self, at: float) -> float | None:
        """Abandoned / live in the window, or None before any live answer."""
        live, abandoned = self.counts(at)
        return abandoned / live if live > 0 else None


class _Samples:
    """The most recent durations, also kept sorted for conditional probabilities."""

    def __init__(self, size: int) -> None:
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []
        self._size = size
        self._sum = 0.0
        self.added = 0

    def add(self, x: float) -> None:
        if len(self._recent) >= self._size:
            self.pop_oldest()
        self._recent.append(x)
        insort(self._sorted, x)
        self._sum += x
        self.added += 1

    def pop_oldest(self) -> None:
        x = self._recent.popleft()
        del self._sorted[bisect_right(self._sorted, x) - 1]
        self._sum -= x

    def __len__(self) -> int:
        return len(self._recent)

    def mean(self, default: float) -> float:
        return self._sum / len(self._recent) if self._recent else default

    def above(self, x: float) -> int:
        """How many samples exceed x."""
        return len(self._sorted) - bisect_right(self._sorted, x)

    def above_each(self, xs: Iterable[float]) -> list[int]:
        """`above(x)` for each x, mapped in C."""
        found = map(bisect_right, repeat(self._sorted), xs)
        return list(map(sub, repeat(len(self._sorted)), found))

    def quantile(self, q: float, default: float) -> float:
        if not self._sorted:
            return default
        return self._sorted[min(len(self._sorted) - 1, int(q * len(self._sorted)))]

    def largest(self, default: float) -> float:
        return self._sorted[-1] if self._sorted else default


class _Resolutions:
    """Ages at which recent calls were answered live or ended without one."""

    def __init__(self, size: int) -> None:
        self._recent: deque[tuple[float, bool]] = deque()
        self._size = size
        self.all = _Samples(size)
        self.live = _Samples(size)

    def add(self, age: float, *, live: bool) -> None:
        if len(self._recent) >= self._size:
            _, was_live = self._recent.popleft()
            self.all.pop_oldest()
            if was_live:
                self.live.pop_oldest()
        self._recent.append((age, live))
        self.all.add(age)
        if live:
            self.live.add(age)


class _Table:
    """rows[i][k] = P(X <= e + offsets[k] | X > e) for e = i * step, from samples blended
    with an exponential prior of mean `prior_mean` weighing `weight` samples."""

    def __init__(
        self,
        samples: _Samples,
        offsets: Sequence[float],
        *,
        step: float,
        prior_mean: float,
        weight: float,
    ) -> None:
        self.step = step
        limit = max(samples.largest(0.0), 3 * prior_mean)
        self.size = int(limit / step) + 2
        # Built a column (horizon) at a time: the same values, each from the same
        # expression, as row by row, with the per-row work done once.
        edges = [i * step for i in range(self.size)]
        above = samples.above_each(edges)
        pseudo = [weight * math.exp(-e / prior_mean) for e in edges]
        columns = []
        for o in offsets:
            if o <= 0:
                columns.append([0.0] * self.size)
                continue
            prior = 1 - math.exp(-o / prior_mean)
            ends = samples.above_each(map(add, edges, repeat(o)))
            columns.append(
                [
                    (a - end + p * prior) / (a + p) if a else prior
                    for a, end, p in zip(above, ends, pseudo, strict=True)
                ]
            )
        self.columns = _Columns(columns)

    def index(self, elapsed: float) -> int:
        """The row that holds for a call `elapsed` seconds in."""
        return min(self.size - 1, max(0, int(elapsed / self.step)))


class _Columns:
    """A table of probabilities p by row and horizon, stored by horizon, with p(1 - p)."""

    def __init__(self, columns: list[list[float]]) -> None:
        self._p = columns
        self._spread = [[p - p * p for p in column] for column in self._p]

    def sums(
        self, rows: list[int], weights: list[int], start: Sequence[float], *, spread: bool
    ) -> list[float]:
        """Per horizon, start + the sum of weight * p (or * p(1 - p)) over the rows."""
        columns = self._spread if spread else self._p
        # sum() adds floats one by one, as the loop it replaces did; only faster.
        return [
            sum(map(mul, weights, map(column.__getitem__, rows)), s)
            for column, s in zip(columns, start, strict=True)
        ]


def _rows_of(sinces: list[float], table: _Table, now: float) -> tuple[list[int], list[int]]:
    """The rows in use and the calls in each, for calls begun at `sinces` (ascending), as
    `table.index(now - since)` places them; one bisect per row in use."""
    hi, last, step = len(sinces), table.size - 1, table.step
    rows: list[int] = []
    calls: list[int] = []
    while hi > 0:
        i = min(last, max(0, int((now - sinces[hi - 1]) / step)))  # table.index
        if i >= last:  # every earlier start is in the last row too
            rows.append(last)
            calls.append(hi)
            break
        lo = min(hi - 1, bisect_right(sinces, now - (i + 1) * step, 0, hi))
        rows.append(i)
        calls.append(hi - lo)
        hi = lo
    return rows, calls


@dataclass(slots=True)
class _PoolCall:
    born: float
    answered: bool = False


@dataclass(slots=True)
class _Agent:
    state: str = "idle"  # idle | reserved | talking | wrapping
    since: float = 0.0


@dataclass(slots=True)
class PacerStats:
    """What the pacer measured; for logs and benchmarks."""

    live_rate: float
    answer_seconds: float
    handle_seconds: float
    margin: float
    window_rate: float | None
    guard_binding: bool
    plans_by_mode: dict[str, int] = field(default_factory=dict)


class Pacer:
    """Decides how many calls to originate now; fed with every dialer event.

    pacer = Pacer(PacingConfig(mode=PacingMode.PREDICTIVE, abandon=UK_RULE))
    plan = pacer.plan(now)                 # Plan(calls=3, mode=PREDICTIVE)
    ... originate plan.calls requests, reserving plan.agents if any ...
    pacer.originated(request, now)         # for each call placed
    pacer.observe(event)                   # for each event the dialer reports
    """

    def __init__(self, config: PacingConfig | None = None) -> None:
        self.config = c = config or PacingConfig()
        self.window = AbandonWindow(c.abandon)
        self.margin = c.margin
        self._agents: dict[str, _Agent] = {}
        # Busy agents by state, in order of `since` (two aligned lists), so the estimate
        # counts them per table row with one bisect per row instead of one step per agent.
        self._busy: dict[str, tuple[list[float], list[str]]] = {
            "talking": ([], []),
            "wrapping": ([], []),
        }
        self._idle: dict[str, None] = {}  # insertion order: longest idle first
        self._pool: dict[str, _PoolCall] = {}
        self._reserved: dict[str, str] = {}  # call key -> agent
        self._bridged: dict[str, str] = {}  # call key -> agent, until the agent hangs up
        self._born: dict[str, float] = {}  # calls not ended yet -> originate time
        self._resolved: set[str] = set()
        self._ages = _Resolutions(c.sample_size)
        self._talk = _Samples(c.sample_size)
        self._wrap = _Samples(c.sample_size)
        self._handle = _Samples(c.sample_size)
        self._prior_live = c.prior_live_rate
        self._prior_handle = c.prior_handle_seconds
        self._guard_binding = False
        self._plans: dict[str, int] = {}
        self._predictive_plans: dict[int, Plan] = {}
        self._next_estimate = -math.inf
        self._built_at = -1
        self._grid: list[float] = []
        self._fresh: list[float] = []
        self._t_talk: _Table | None = None
        self._t_wrap: _Table | None = None
        self._live_rows = 0
        self._live_columns = _Columns([])
        # Originate times of the pool's calls not answered by a person (ascending, as the
        # pool's own order): the estimate's ringing calls.
        self._ringing: list[float] = []

    # ------------------------------------------------------------------ inputs

    def seed(self, history: Iterable[AttemptTally]) -> None:
        """Start from the campaign's recent history: the abandon window and the priors."""
        tallies = sorted(history, key=lambda t: t.start)
        ended = live = bridged = 0
        handle = 0.0
        for t in tallies:
            self.window.seed(
                t.start.timestamp(), t.end.timestamp(), live=t.live, abandoned=t.abandoned
            )
            ended += t.ended
            live += t.live
            bridged += t.bridged
            handle += t.handle_seconds
        if ended >= self.config.prior_weight:
            self._prior_live = min(1.0, max(0.01, live / ended))
        if bridged >= self.config.prior_weight:
            self._prior_handle = handle / bridged
        self._warm_start(tallies)

    def _warm_start(self, history: list[AttemptTally]) -> None:
        """Replay the margin's steps over the last `warm_start` of history, so dialing that
        resumes (the next slice of a day) starts where the controller had got to."""
        if not history:
            return
        c = self.config
        since = max(t.end for t in history) - c.warm_start
        recent = [t for t in history if t.start >= since]
        live = sum(t.live for t in recent)
        abandoned = sum(t.abandoned for t in recent)
        target = c.abandon.cap * c.target_share
        step = c.margin_step * (abandoned - target / (1 - target) * (live - abandoned))
        lo, hi = c.margin_bounds
        self.margin = min(hi, max(lo, c.margin + step))

    def originated(self, request: CallRequest, at: datetime) -> None:
        """A call was placed."""
        now = at.timestamp()
        self._born[request.key] = now
        if request.agent is not None:
            self._reserved[request.key] = request.agent
            self._idle.pop(request.agent, None)
            self._set_agent(request.agent, "reserved", now)
        else:
            self._pool_pop(request.key)
            self._pool[request.key] = _PoolCall(now)
            insort(self._ringing, now)

    def observe(self, event: DialerEvent) -> None:
        """Take in one dialer event."""
        if type(event) is RingingStarted:
            return  # the most frequent event, and nothing the pacer counts
        at = event.at.timestamp()
        match event:
            case AgentSignedIn(agent=name):
                self._set_agent(name, "idle", at)
                self._idle[name] = None
            case AgentSignedOut(agent=name):
                self._set_agent(name, None, at)
                self._idle.pop(name, None)
            case CallAnswered(key=key, answered_by=by):
                self._resolve(key, at, live=by is not AnsweredBy.MACHINE)
                call = self._pool.get(key)
                if call is not None:
                    answered = by is not AnsweredBy.MACHINE
                    if answered is not call.answered:
                        if answered:
                            self._unring(call.born)
                        else:
                            insort(self._ringing, call.born)
                    call.answered = answered
            case CallBridged(key=key, agent=name):
                if self._pool_pop(key):
                    self._steer(abandoned=False)
                self._reserved.pop(key, None)
                self._idle.pop(name, None)
                self._set_agent(name, "talking", at)
                self._bridged[key] = name
                self.window.add(at, live=1)
            case CallEnded(key=key, reason=reason):
                self._resolve(key, at, live=False)
                self._born.pop(key, None)
                self._resolved.discard(key)
                pooled = self._pool_pop(key)
                if reason is EndReason.ABANDONED:
                    self.window.add(at, live=1, abandoned=1)
                    if pooled:
                        self._steer(abandoned=True)
                holder = self._reserved.pop(key, None)
                if holder is not None and holder in self._agents:
                    self._free(holder, at)
                talker = self._bridged.pop(key, None)
                agent = self._agents.get(talker or "")
                if agent is not None and agent.state == "talking":
                    self._talk.add(at - agent.since)
                    self._set_agent(talker or "", "wrapping", at)
            case CallDisposed(agent=name, disposition=disposition):
                agent = self._agents.get(name)
                if agent is not None and agent.state == "wrapping":
                    self._wrap.add(at - agent.since)
                if disposition is Disposition.MACHINE:
                    self.window.add(at, live=-1)  # an agent, not the dialer, found a machine
                if agent is not None:
                    self._free(name, at)
            case _:
                pass

    def _pool_pop(self, key: str) -> bool:
        """Take a call out of the pool; whether it was there."""
        call = self._pool.pop(key, None)
        if call is None:
            return False
        if not call.answered:
            self._unring(call.born)
        return True

    def _unring(self, born: float) -> None:
        del self._ringing[bisect_left(self._ringing, born)]

    def _free(self, name: str, at: float) -> None:
        self._set_agent(name, "idle", at)
        self._idle[name] = None

    def _set_agent(self, name: str, state: str | None, since: float) -> None:
        """Give an agent a state (None: gone), keeping the busy lists in order."""
        old = self._agents.get(name)
        if old is not None and old.state in self._busy:
            sinces, names = self._busy[old.state]
            i = bisect_left(sinces, old.since)
            while names[i] != name:
                i += 1
            del sinces[i], names[i]
        if state is None:
            self._agents.pop(name, None)
            return
        self._agents[name] = _Agent(state, since)
        if state in self._busy:
            sinces, names = self._busy[state]
            i = bisect_right(sinces, since)
            sinces.insert(i, since)
            names.insert(i, name)

    def _resolve(self, key: str, at: float, *, live: bool) -> None:
        """A call's fate for pacing is known once it is answered or over."""
        if key in self._resolved or key not in self._born:
            return
        self._resolved.add(key)
        self._ages.add(at - self._born[key], live=live)

    def _steer(self, *, abandoned: bool) -> None:
        """Move the safety margin so the share of abandoned calls settles at the target."""
        c = self.config
        target = c.abandon.cap * c.target_share
        if abandoned:
            self.margin += c.margin_step
        elif not self._guard_binding:
            self.margin -= c.margin_step * target / (1 - target)
        lo, hi = c.margin_bounds
        self.margin = min(hi, max(lo, self.margin))

    # ------------------------------------------------------------------ estimates

    def live_rate(self) -> float:
        """P(live answer) for a call placed now."""
        w = self.config.prior_weight
        return (len(self._ages.live) + w * self._prior_live) / (len(self._ages.all) + w)

    def answer_seconds(self) -> float:
        """Mean time from origination to a live answer."""
        return self._ages.live.mean(self.config.prior_answer_seconds)

    def handle_seconds(self) -> float:
        """Mean time an agent spends on a call: talk and wrap-up."""
        n, w = len(self._talk), self.config.prior_weight
        measured = self._talk.mean(0.0) + self._wrap.mean(self.config.prior_wrap_seconds)
        return (measured * n + self._prior_handle * w) / (n + w)

    def _build(self) -> None:
        """Tables of conditional probabilities over a grid of horizons, from the samples."""
        c = self.config
        wrap_mean = self._wrap.mean(c.prior_wrap_seconds)
        talk_prior = max(10.0, self._prior_handle - c.prior_wrap_seconds)
        w = float(c.prior_weight)
        top = self._ages.live.quantile(0.95, 2 * c.prior_answer_seconds)
        if len(self._ages.live) < c.prior_weight:
            top = 2 * c.prior_answer_seconds
        self._grid = [top * (k + 1) / _GRID for k in range(_GRID)]
        reach = [h + c.patience for h in self._grid]
        self._t_talk = _Table(
            self._talk, [r - wrap_mean for r in reach], step=2.0, prior_mean=talk_prior, weight=w
        )
        self._t_wrap = _Table(
            self._wrap, reach, step=0.5, prior_mean=c.prior_wrap_seconds, weight=w
        )
        p = self.live_rate()
        live, all_ = self._ages.live, self._ages.all
        n = len(all_)
        self._fresh = []
        for h in self._grid:
            prior = p * min(1.0, h / (2 * c.prior_answer_seconds))
            got = len(live) - live.above(h)
            self._fresh.append((got + w * prior) / (n + w))
        limit = max(all_.largest(0.0), 2 * c.prior_answer_seconds)
        self._live_rows = int(limit / 0.5) + 2
        # A column (horizon) at a time, each value from the same expression as before.
        ages = [i * 0.5 for i in range(self._live_rows)]
        left = [n + 1 for n in all_.above_each(ages)]
        live_above = live.above_each(ages)
        self._live_columns = _Columns(
            [
                [
                    (due - later + fresh) / n_left
                    for due, later, n_left in zip(
                        live_above, live.above_each(map(add, ages, repeat(h))), left, strict=True
                    )
                ]
                for h, fresh in zip(self._grid, self._fresh, strict=True)
            ]
        )
        self._built_at = self._talk.added + self._wrap.added + self._ages.all.added

    # ------------------------------------------------------------------ decisions

    def signed_in(self) -> int:
        """Agents signed in now."""
        return len(self._agents)

    def mode_now(self) -> PacingMode:
        """The mode in effect: predictive falls back to progressive with few agents."""
        c = self.config
        if c.mode is PacingMode.PREDICTIVE and len(self._agents) < c.min_predictive_agents:
            return PacingMode.PROGRESSIVE
        return c.mode

    def next_decision(self, now: datetime) -> datetime | None:
        """When to ask again if no event comes first (predictive re-estimates each tick)."""
        if self.mode_now() is PacingMode.PREDICTIVE:
            return now + self.config.tick
        return None

    def plan(self, now: datetime, *, max_calls: int | None = None) -> Plan:
        """How many calls to originate now, and which agents they reserve."""
        mode = self.mode_now()
        name = _MODE_NAMES[mode]
        self._plans[name] = self._plans.get(name, 0) + 1
        # Calls still waiting for an agent from the pool come first.
        spare = len(self._idle) - len(self._pool)
        room = None if max_calls is None else max_calls - len(self._born)
        if mode is not PacingMode.PREDICTIVE:
            n = spare if room is None else min(spare, room)
            agents = tuple(list(self._idle)[: max(0, n)])
            return Plan(len(agents), mode, agents, preview=mode is PacingMode.PREVIEW)
        t = now.timestamp()
        if t >= self._next_estimate:
            self._next_estimate = t + self.config.tick.total_seconds()
            n = self._predictive(t)
        else:
            n = spare  # between estimates, only calls an idle agent is sure to take
        lines = math.floor(self.config.max_lines_per_agent * len(self._agents))
        n = min(n, lines - len(self._pool))
        if room is not None:
            n = min(n, room)
        # Plans are immutable, and this kind repeats: one object per count.
        n = max(0, n)
        plan = self._predictive_plans.get(n)
        if plan is None:
            plan = self._predictive_plans[n] = Plan(n, mode)
        return plan

    def _predictive(self, now: float) -> int:
        c = self.config
        idle, at_risk = len(self._idle), len(self._pool)
        # The hard guard: even if every call beyond the idle agents were abandoned, the
        # window (as it will stand when they are answered) stays within the cap.
        live, abandoned = self.window.counts(now + c.guard_horizon.total_seconds())
        cap = c.abandon.cap
        budget = max(0, math.floor((cap * live - abandoned) / (1 - cap) + 1e-9))
        guard = budget + idle - at_risk
        wanted = self._estimate(now, idle)
        self._guard_binding = wanted > guard
        return max(idle - at_risk, min(wanted, guard))

    def _estimate(self, now: float, idle: int) -> int:
        """Calls to add so that, at every horizon, live answers due stay below free agents
        by `margin` standard deviations."""
        samples = self._talk.added + self._wrap.added + self._ages.all.added
        if self._t_talk is None or samples - self._built_at >= _REBUILD:
            self._build()
        assert self._t_talk is not None and self._t_wrap is not None
        g = len(self._grid)
        talk, wrap = self._t_talk, self._t_wrap
        # Calls in the same row of a table weigh the same: count them per row, so a large
        # center costs the number of distinct rows (tens), not of agents (thousands).
        talking = _rows_of(self._busy["talking"][0], talk, now)
        wrapping = _rows_of(self._busy["wrapping"][0], wrap, now)
        # Ringing calls by row, oldest first (the pool's order), as
        # min(last, int((now - born) / 0.5)) per call, mapped in C.
        ages = map(truediv, map(sub, repeat(now, len(self._ringing)), self._ringing), repeat(0.5))
        ringing: Counter[int] = Counter(map(min, repeat(self._live_rows - 1), map(int, ages)))
        answered = float(len(self._pool) - len(self._ringing))
        # Per horizon, agents freed and live answers due, with their variances: sums over
        # the table rows in use, in the order the rows were counted.
        supply = talk.columns.sums(*talking, [float(idle)] * g, spread=False)
        supply = wrap.columns.sums(*wrapping, supply, spread=False)
        var = talk.columns.sums(*talking, [0.0] * g, spread=True)
        var = wrap.columns.sums(*wrapping, var, spread=True)
        due = list(ringing), list(ringing.values())
        demand = self._live_columns.sums(*due, [answered] * g, spread=False)
        var = self._live_columns.sums(*due, var, spread=True)
        z, best = self.margin, math.inf
        for k in range(g):
            q = self._fresh[k]
            if q <= 1e-6:
                continue
            room = supply[k] - demand[k]
            n = (room - z * math.sqrt(var[k])) / q
            if n > 0:  # the new calls add their own variance
                n = (room - z * math.sqrt(var[k] + n * q * (1 - q))) / q
            best = min(best, n)
        return 0 if best == math.inf else math.floor(best)

    def stats(self, now: datetime) -> PacerStats:
        """The current estimates."""
        return PacerStats(
            live_rate=self.live_rate(),
            answer_seconds=self.answer_seconds(),
            handle_seconds=self.handle_seconds(),
            margin=self.margin,
            window_rate=self.window.rate(now.timestamp()),
            guard_binding=self._guard_binding,
            plans_by_mode=dict(self._plans),
        )


_GRID = 6  # horizons the matching looks at
_MODE_NAMES = {mode: mode.value for mode in PacingMode}
_REBUILD = 300  # new samples before the tables are rebuilt
