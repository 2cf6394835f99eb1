"""baresip as a child process: its config in a temp dir, start, health check, stop."""

from __future__ import annotations

import asyncio
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from campaigns.errors import ConfigurationError, DialerUnavailable

MODULE_PATH = "/usr/lib/baresip/modules"


def die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the process that started us dies.

    A dialer killed hard (kill -9, a test timeout) must not leave a baresip or SIPp
    behind, ringing phones and burning CPU. Linux only; elsewhere a no-op. The signal
    comes when the starting *thread* ends, which is after `close()` in every caller here.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A local port nobody listens on right now."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class SipAccount:
    """The SIP identity calls go out as: one line of baresip's `accounts` file.

    Against a PBX or trunk: `aor="sip:1001@pbx.example.com"`, the password, `regint=3600`
    if the PBX expects registration, and `outbound_proxy="sip:sbc.example.com;lr"` when
    calls must go through a session border controller.
    """

    aor: str = "sip:dialer@127.0.0.1"
    password: SecretStr | None = None
    auth_user: str | None = None
    outbound_proxy: str | None = None
    regint: int = 0  # 0: never register (a peer that takes calls from our address)
    codecs: tuple[str, ...] = ("PCMU", "PCMA")

    def line(self) -> str:
        """The accounts-file line (holds the password: written to a 0600 file only)."""
        params = [f"regint={self.regint}", f"audio_codecs={','.join(self.codecs)}"]
        if self.auth_user:
            params.append(f"auth_user={self.auth_user}")
        if self.password is not None:
            params.append(f"auth_pass={self.password.get_secret_value()}")
        if self.outbound_proxy:
            params.append(f'outbound="{self.outbound_proxy}"')
        return f"<{self.aor}>;" + ";".join(params)


def config_text(*, ctrl_port: int, sip_listen: str, max_calls: int, rtp_ports: str) -> str:
    """baresip's `config`: no sound card (a sine tone out, audio dropped), ctrl_tcp on."""
    return "\n".join(
        [
            f"module_path {MODULE_PATH}",
            f"sip_listen {sip_listen}",
            f"call_max_calls {max_calls}",
            f"rtp_ports {rtp_ports}",
            # Codecs first: account.so reads the accounts file as it loads, and an
            # `audio_codecs` entry naming a codec not loaded yet is dropped.
            "module g711.so",
            "module ausine.so",
            "module aubridge.so",
            "module account.so",
            # menu provides dial, callfind and hangup; ctrl_tcp forwards commands to it.
            "module menu.so",
            "module_app ctrl_tcp.so",
            f"ctrl_tcp_listen 127.0.0.1:{ctrl_port}",
            "audio_player aubridge,nil",
            "audio_source ausine,440",
            "ausrc_srate 48000",
            "auplay_srate 48000",
            "ausrc_channels 2",
            "auplay_channels 2",
            "",
        ]
    )


class BaresipProcess:
    """A baresip we start and stop; `ctrl_port` is where its ctrl_tcp listens."""

    def __init__(
        self,
        *,
        account: SipAccount,
        binary: str = "baresip",
        sip_listen: str | None = None,
        max_calls: int = 500,
        rtp_ports: str = "20000-39999",
        startup_timeout: float = 10.0,
    ) -> None:
        self.account = account
        self.binary = binary
        self.sip_listen = sip_listen
        self.max_calls = max_calls
        self.rtp_ports = rtp_ports
        self.startup_timeout = startup_timeout
        self.ctrl_port = 0
        self.directory: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        """The end of baresip's own output, for error messages."""
        if self.directory is None or not (self.directory / "baresip.log").exists():
            return ""
        text = (self.directory / "baresip.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    async def start(self) -> None:
        """Write the config, start baresip and wait until ctrl_tcp accepts connections."""
        path = shutil.which(self.binary)
        if path is None:
            raise ConfigurationError(
                f"{self.binary!r} is not installed (Debian: apt-get install baresip-core)"
            )
        self.directory = Path(tempfile.mkdtemp(prefix="outbound-baresip-"))
        self.ctrl_port = free_port()
        listen = self.sip_listen or f"127.0.0.1:{free_port(socket.SOCK_DGRAM)}"
        (self.directory / "config").write_text(
            config_text(
                ctrl_port=self.ctrl_port,
                sip_listen=listen,
                max_calls=self.max_calls,
                rtp_ports=self.rtp_ports,
            )
        )
        accounts = self.directory / "accounts"
        fd = os.open(accounts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.account.line() + "\n")
        log = open(self.directory / "baresip.log", "wb")  # noqa: SIM115 (the child owns it)
        try:
            self._proc = subprocess.Popen(
                [path, "-f", str(self.directory)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal is ours to handle
                preexec_fn=die_with_parent,
            )
        finally:
            log.close()
        await self._wait_healthy()

    async def _wait_healthy(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.startup_timeout
        last: Exception | None = None
        while loop.time() < deadline:
            if not self.running:
                break
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.ctrl_port)
            except OSError as exc:
                last = exc
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return
        tail = self.log_tail()
        self.stop()
        raise DialerUnavailable(f"baresip did not come up:\n{tail}") from (
            last or ChildProcessError("baresip exited")
        )

    def stop(self) -> None:
        """Stop baresip (it hangs up what is still up) and remove its directory."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
