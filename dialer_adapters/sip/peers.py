"""Called parties played by SIPp: one SIPp process per scenario, each on its own port.

A number's scenario is known in advance from its digits: `+86138<d>xxxxxxx`, where the
digit `d` names the scenario (1 answers, 2 is busy, ...). `routes` maps each prefix to
its SIPp's address, in the form `SipDialer(routes=...)` takes, so the adapter's own
prefix routing sends every call to the peer that plays its scenario.
"""

from __future__ import annotations

import itertools
import re
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import TracebackType

from campaigns.model import Disposition
from dialer_adapters.sip.process import die_with_parent, free_port


@dataclass(frozen=True)
class Scenario:
    """One called-party behaviour: its XML template, the values filled in, its digit."""

    name: str
    digit: int
    template: str
    values: dict[str, str]
    #: What the engine must record for it (answered calls: the agent's disposition).
    disposition: Disposition | None


def scenarios(*, ring_ms: int = 1000, talk_ms: int = 2000) -> dict[str, Scenario]:
    """Every scenario the peers play, by name."""

    def reject(status: int, reason: str) -> dict[str, str]:
        return {"status": str(status), "reason": reason, "delay_ms": "100"}

    all_ = [
        Scenario(
            "answer",
            1,
            "answer.xml",
            # SIPp reads a timeout of 0 as "none": ring at least 1 ms.
            {"ring_ms": str(max(1, ring_ms)), "talk_ms": str(talk_ms)},
            None,
        ),
        Scenario("busy", 2, "reject.xml", reject(486, "Busy Here"), Disposition.BUSY),
        Scenario("ring", 3, "ring.xml", {}, Disposition.NO_ANSWER),
        Scenario(
            "unavailable",
            4,
            "reject.xml",
            reject(480, "Temporarily Unavailable"),
            Disposition.UNREACHABLE,
        ),
        Scenario("notfound", 5, "reject.xml", reject(404, "Not Found"), Disposition.INVALID),
        Scenario(
            "congested",
            6,
            "reject.xml",
            reject(503, "Service Unavailable"),
            Disposition.NETWORK_FAIL,
        ),
        Scenario("silent", 7, "silent.xml", {}, Disposition.NETWORK_FAIL),
    ]
    return {s.name: s for s in all_}


def fill(template: str, values: dict[str, str]) -> str:
    """The scenario with its `@name@` placeholders replaced (SIPp owns `[$var]` and `$`)."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    left = re.search(r"@[a-z_]+@", template)
    if left:
        raise ValueError(f"scenario placeholder {left.group()} has no value")
    return template


def _udp_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
        return False


class SippPeers:
    """SIPp processes playing called parties; use as a context manager."""

    def __init__(
        self,
        *,
        ring_ms: int = 1000,
        talk_ms: int = 2000,
        only: tuple[str, ...] | None = None,
        binary: str = "sipp",
    ) -> None:
        every = scenarios(ring_ms=ring_ms, talk_ms=talk_ms)
        self.scenarios = {n: s for n, s in every.items() if only is None or n in only}
        self.binary = binary
        self.ports: dict[str, int] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        self.directory: Path | None = None

    def prefix(self, scenario: str) -> str:
        """The number prefix routed to a scenario."""
        return f"+86138{self.scenarios[scenario].digit}"

    def number(self, scenario: str, i: int) -> str:
        """The i-th number that plays `scenario`."""
        return f"{self.prefix(scenario)}{i:07d}"

    def scenario_of(self, number: str) -> str:
        """Which scenario a number plays."""
        digit = int(number[6])
        return next(s.name for s in self.scenarios.values() if s.digit == digit)

    def numbers(self, n: int, mix: tuple[str, ...] | None = None) -> list[str]:
        """`n` distinct numbers cycling through the scenarios (or `mix`)."""
        names = itertools.cycle(mix or tuple(self.scenarios))
        return [self.number(next(names), i) for i in range(n)]

    @property
    def templates(self) -> dict[str, str]:
        """Scenario name -> the dial URI template of its SIPp."""
        return {name: f"sip:{{digits}}@127.0.0.1:{port}" for name, port in self.ports.items()}

    @property
    def routes(self) -> dict[str, str]:
        """Prefix -> dial URI template, for `SipDialer(routes=...)`."""
        return {
            self.prefix(name): f"sip:{{digits}}@127.0.0.1:{port}"
            for name, port in self.ports.items()
        }

    def start(self) -> None:
        """Start one SIPp per scenario and wait until each listens."""
        path = shutil.which(self.binary)
        if path is None:
            raise FileNotFoundError("sipp is not installed (Debian: apt-get install sip-tester)")
        self.directory = Path(tempfile.mkdtemp(prefix="outbound-sipp-"))
        source = files("dialer_adapters.sip") / "scenarios"
        try:
            for s in self.scenarios.values():
                xml = fill((source / s.template).read_text(), s.values)
                scenario_file = self.directory / f"{s.name}.xml"
                scenario_file.write_text(xml)
                port = free_port(socket.SOCK_DGRAM)
                media = self._media_port()
                self._procs.append(
                    subprocess.Popen(
                        [
                            path,
                            "-sf",
                            str(scenario_file),
                            "-i",
                            "127.0.0.1",
                            "-p",
                            str(port),
                            "-mi",
                            "127.0.0.1",
                            "-mp",
                            str(media),
                            "-nostdin",
                            # Open calls are capped far above any test (SIPp's default
                            # depends on its call rate), with room for bursts of INVITEs.
                            "-l",
                            "2000",
                            "-buff_size",
                            "4194304",
                            "-trace_err",
                            "-error_file",
                            str(self.directory / f"{s.name}.errors"),
                        ],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        preexec_fn=die_with_parent,
                        stderr=open(self.directory / f"{s.name}.log", "wb"),  # noqa: SIM115
                    )
                )
                self.ports[s.name] = port
            deadline = time.monotonic() + 10
            for (name, port), proc in zip(self.ports.items(), self._procs, strict=True):
                while not _udp_in_use(port):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log = (self.directory / f"{name}.log").read_text(errors="replace")
                        raise RuntimeError(f"SIPp for {name!r} did not start: {log[-500:]}")
                    time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _media_port() -> int:
        # SIPp takes the media port and the one two above it (for video).
        while True:
            port = free_port(socket.SOCK_DGRAM)
            if port % 2 == 0 and not _udp_in_use(port + 2):
                return port

    def stop(self) -> None:
        """Stop every SIPp and remove the scenario files."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> SippPeers:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
