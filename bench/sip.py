"""SIP adapter figures on this machine: call setup time and simultaneous calls.

Real peers: baresip (started by `SipDialer`) places the calls, SIPp answers them at once
(ring 0 ms) and holds them for --talk seconds. All times come from the adapter's events.

  Figure 1  setup time per call: originate -> RingingStarted (180) and -> CallAnswered
            (200 OK received and ACKed: the call is established), for --setup-calls calls
            placed one at a time; median and p95.
  Figure 2  simultaneous calls: for each N in --lines, N calls originated at once on N
            lines with N agents; how many are established and up together, how long the
            batch took to be all up, and baresip's CPU while they are held.

    .venv/bin/python bench/sip.py
    .venv/bin/python bench/sip.py --lines 50 100 200 --talk 8
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta

from campaigns.errors import DialerUnavailable
from campaigns.ports import CallAnswered, CallEnded, CallRequest, RingingStarted
from dialer_adapters.sip import SipDialer
from dialer_adapters.sip.peers import SippPeers

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


async def setup_times(peers: SippPeers, calls: int) -> tuple[list[float], list[float]]:
    dialer = SipDialer(routes=peers.routes, lines=4, patience=60)
    await dialer.start(agents=["A1"], at=dialer.now())
    ringing, established = [], []
    try:
        for i in range(calls):
            key = f"s{i}"
            placed = dialer.now()
            await dialer.originate([CallRequest(key, i, peers.number("answer", i), 1)])
            rang = answered = None
            deadline = dialer.now() + timedelta(seconds=10)
            while answered is None and dialer.now() < deadline:
                for e in await dialer.receive(until=deadline):
                    if isinstance(e, RingingStarted) and e.key == key:
                        rang = e.at
                    if isinstance(e, CallAnswered) and e.key == key:
                        answered = e.at
            if rang is not None:
                ringing.append((rang - placed).total_seconds() * 1000)
            if answered is not None:
                established.append((answered - placed).total_seconds() * 1000)
            # Let it end before the next one, so each setup is measured on an idle machine.
            deadline = dialer.now() + timedelta(seconds=30)
            ended = False
            while not ended and dialer.now() < deadline:
                ended = any(isinstance(e, CallEnded) for e in await dialer.receive(until=deadline))
    finally:
        await dialer.close()
    return ringing, established


async def simultaneous(peers: SippPeers, n: int, hold: float) -> dict[str, float]:
    agents = [f"A{i}" for i in range(n)]
    dialer = SipDialer(routes=peers.routes, lines=n, patience=60)
    await dialer.start(agents=agents, at=dialer.now())
    try:
        began = time.monotonic()
        await dialer.originate(
            [CallRequest(f"m{i}", i, peers.number("answer", 100_000 + i), 1) for i in range(n)]
        )
        up: set[str] = set()
        failed = 0
        why: Counter[str] = Counter()
        peak = 0
        all_up_after = float("nan")
        deadline = dialer.now() + timedelta(seconds=30)
        while len(up) + failed < n and dialer.now() < deadline:
            for e in await dialer.receive(until=deadline):
                if isinstance(e, CallAnswered):
                    up.add(e.key)
                elif isinstance(e, CallEnded):
                    up.discard(e.key)
                    failed += 1
                    why[e.detail[:60]] += 1
            peak = max(peak, len(up))
        if len(up) == n:
            all_up_after = time.monotonic() - began
        if failed == n:
            raise DialerUnavailable(f"every call failed ({peak} up at the peak): {dict(why)}")
        assert dialer.process is not None and dialer.process.pid is not None
        pid = dialer.process.pid
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        until: datetime = dialer.now() + timedelta(seconds=hold)
        while dialer.now() < until:
            for e in await dialer.receive(until=until):
                if isinstance(e, CallEnded):
                    up.discard(e.key)
                    failed += 1
                    why[e.detail[:60]] += 1
        cpu = (cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        return {
            "n": n,
            "peak": peak,
            "held": len(up),
            "failed": failed,
            "all_up_s": all_up_after,
            "cpu": cpu,
            "why": "; ".join(f"{n}x {d}" for d, n in why.most_common(2)),
        }
    finally:
        await dialer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup-calls", type=int, default=30)
    parser.add_argument("--lines", type=int, nargs="+", default=[25, 50, 100, 150])
    parser.add_argument("--talk", type=float, default=20.0, help="seconds SIPp holds a call")
    parser.add_argument("--hold", type=float, default=5.0, help="seconds all calls are held")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    with SippPeers(ring_ms=0, talk_ms=300, only=("answer",)) as peers:
        ringing, established = asyncio.run(setup_times(peers, args.setup_calls))
    print(f"Figure 1  setup time per call ({len(established)} calls, one at a time)")
    print(
        f"  originate -> ringing      median {statistics.median(ringing):6.1f} ms"
        f"   p95 {p95(ringing):6.1f} ms"
    )
    print(
        f"  originate -> established  median {statistics.median(established):6.1f} ms"
        f"   p95 {p95(established):6.1f} ms"
    )
    print("Figure 2  simultaneous calls (all originated at once, answered at once)")
    for n in args.lines:
        # Fresh peers for each size: no call of the previous size is still open in SIPp.
        with SippPeers(ring_ms=0, talk_ms=int(args.talk * 1000), only=("answer",)) as peers:
            try:
                r = asyncio.run(simultaneous(peers, n, args.hold))
            except DialerUnavailable as exc:
                print(f"  {n:4} lines: baresip stopped answering: {str(exc).splitlines()[0]}")
                break
            print(
                f"  {r['n']:4} lines: {r['peak']:4} up at once, {r['held']:4} held "
                f"{args.hold:g} s, {r['failed']:3} failed, all up after {r['all_up_s']:.2f} s,"
                f" baresip CPU {r['cpu']:.0%} of a core {r['why']}"
            )
            time.sleep(1)


if __name__ == "__main__":
    main()
