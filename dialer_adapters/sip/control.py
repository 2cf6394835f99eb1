"""A client for baresip's `ctrl_tcp` module: commands with tokens, events to a callback.

baresip answers each command with `{"response": true, "ok": ..., "data": ..., "token": ...}`
and reports call progress as `{"event": true, "type": "CALL_RINGING", "id": ..., ...}`,
all netstring-framed on one TCP connection. Commands are written in the order given and
baresip runs them in that order, on its single thread, between the SIP events it handles.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any

from dialer_adapters.sip.netstring import Decoder, NetstringError, encode

log = logging.getLogger(__name__)

#: Commands per write. baresip 1.0's ctrl_tcp loses commands when one read brings it
#: many frames at once (100 dials in one write went unanswered; 50 did not), so a long
#: batch goes in chunks, each answered before the next is written.
WRITE_CHUNK = 16


class ControlLost(ConnectionError):
    """The control connection to baresip closed or broke."""


class BaresipControl:
    """One ctrl_tcp connection; `on_event` gets every event, `on_lost` the reason it closed."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        on_event: Callable[[dict[str, Any]], None],
        on_lost: Callable[[Exception], None],
        timeout: float = 5.0,
    ) -> None:
        self.host, self.port = host, port
        self.timeout = timeout
        self._on_event = on_event
        self._on_lost = on_lost
        self._tokens = itertools.count(1)
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._socket: Any = None

    async def connect(self) -> None:
        """Open the connection (OSError or TimeoutError when baresip is not there)."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )
        self._reader, self._writer = reader, writer
        self._socket = writer.get_extra_info("socket")
        if self._socket is not None:
            # Commands and events are small writes. baresip leaves Nagle on, so its answer
            # to a dial waits for our ACK of the event it sent just before; acknowledging
            # at once (TCP_QUICKACK, re-armed after each read) saves ~40 ms per call.
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._quickack()
        self._closing = False
        self._task = asyncio.create_task(self._read(), name="baresip-ctrl")

    @property
    def connected(self) -> bool:
        """Whether commands can be sent."""
        return self._writer is not None and self._task is not None and not self._task.done()

    async def command(self, command: str, params: str = "") -> dict[str, Any]:
        """Run one command and return baresip's response."""
        (response,) = await self.commands([(command, params)])
        return response

    async def commands(self, batch: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        """Run commands in order, written WRITE_CHUNK at a time; their responses.

        Commands written together run back to back in baresip (nothing comes between two
        of them); an even chunk size keeps `callfind` + `hangup` pairs together.
        """
        if not self.connected or self._writer is None:
            raise ControlLost("not connected to baresip")
        out: list[dict[str, Any]] = []
        for i in range(0, len(batch), WRITE_CHUNK):
            out += await self._write(batch[i : i + WRITE_CHUNK])
        return out

    async def _write(self, batch: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        futures = []
        frames = []
        for command, params in batch:
            token = f"o{next(self._tokens)}"
            future: asyncio.Future[dict[str, Any]] = loop.create_future()
            self._pending[token] = future
            futures.append(future)
            frames.append(encode({"command": command, "params": params, "token": token}))
        if self._writer is None:
            raise ControlLost("not connected to baresip")
        try:
            self._writer.write(b"".join(frames))
            await self._writer.drain()
            return list(await asyncio.wait_for(asyncio.gather(*futures), self.timeout))
        except (OSError, TimeoutError) as exc:
            raise ControlLost(f"baresip did not answer {batch[0][0]!r}: {exc!r}") from exc

    async def close(self) -> None:
        """Close the connection; pending commands fail with ControlLost."""
        self._closing = True
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._writer = self._reader = self._task = None
        self._fail_pending(ControlLost("connection closed"))

    async def _read(self) -> None:
        assert self._reader is not None
        decoder = Decoder()
        reason: Exception = ControlLost("baresip closed the control connection")
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                self._quickack()
                for message in decoder.feed(data):
                    self._dispatch(message)
        except (OSError, NetstringError) as exc:
            reason = ControlLost(f"control connection broke: {exc!r}")
            reason.__cause__ = exc
        self._fail_pending(reason)
        if not self._closing:
            self._on_lost(reason)

    def _quickack(self) -> None:
        quickack = getattr(socket, "TCP_QUICKACK", None)  # Linux only
        if quickack is not None and self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.setsockopt(socket.IPPROTO_TCP, quickack, 1)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("response"):
            future = self._pending.pop(str(message.get("token")), None)
            if future is not None and not future.done():
                future.set_result(message)
        elif message.get("event"):
            self._on_event(message)

    def _fail_pending(self, reason: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(reason)
