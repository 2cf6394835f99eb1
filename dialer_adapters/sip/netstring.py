"""Netstrings (`<length>:<bytes>,`), the framing baresip's `ctrl_tcp` module speaks."""

from __future__ import annotations

import json
from typing import Any

#: A frame longer than this is a broken stream, not a message (baresip's help text is ~2 kB).
MAX_FRAME = 1 << 20


class NetstringError(ValueError):
    """The byte stream is not a sequence of netstrings."""


def encode(message: dict[str, Any]) -> bytes:
    """One JSON message as a netstring."""
    body = json.dumps(message, separators=(",", ":")).encode()
    return b"%d:%s," % (len(body), body)


class Decoder:
    """Splits a byte stream into JSON messages; feed it whatever the socket returns."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        """Messages completed by `data` (a partial frame waits for the next feed)."""
        self._buffer += data
        out: list[dict[str, Any]] = []
        while True:
            colon = self._buffer.find(b":")
            if colon < 0:
                if len(self._buffer) > 20:
                    raise NetstringError(f"no length prefix in {bytes(self._buffer[:20])!r}")
                return out
            head = bytes(self._buffer[:colon])
            if not head.isdigit():
                raise NetstringError(f"bad netstring length {head[:20]!r}")
            size = int(head)
            if size > MAX_FRAME:
                raise NetstringError(f"netstring of {size} bytes exceeds {MAX_FRAME}")
            end = colon + 1 + size
            if len(self._buffer) <= end:
                return out
            if self._buffer[end : end + 1] != b",":
                raise NetstringError("netstring not terminated by ','")
            body = bytes(self._buffer[colon + 1 : end])
            del self._buffer[: end + 1]
            try:
                message = json.loads(body)
            except ValueError as exc:
                raise NetstringError(f"frame is not JSON: {body[:60]!r}") from exc
            if isinstance(message, dict):
                out.append(message)
