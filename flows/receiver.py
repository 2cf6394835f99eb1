"""A small real HTTP receiver for branch webhooks, used by the demo and the tests.

It behaves as a branch's endpoint should: with a secret it refuses a request whose
signature is wrong or stale (401), and it acknowledges a request whose idempotency key it
has already seen without keeping it again (a duplicate, e.g. after a resend).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from flows.webhooks import SIGNATURE_HEADER, verify


class WebhookReceiver:
    """Listens on 127.0.0.1, records every POSTed JSON body with its headers."""

    def __init__(self, *, fail_first: int = 0, secret: str | None = None, port: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.duplicates: list[str] = []
        self.rejected = 0
        self.fail_first = fail_first
        self.secret = secret
        self._keys: set[str] = set()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    signature = self.headers.get(SIGNATURE_HEADER)
                    if receiver.secret and not verify(
                        receiver.secret, signature, body, now=time.time()
                    ):
                        receiver.rejected += 1
                        self.send_response(401)
                        self.end_headers()
                        return
                    key = self.headers.get("Idempotency-Key", "")
                    if key and key in receiver._keys:
                        receiver.duplicates.append(key)
                    else:
                        receiver._keys.add(key)
                        receiver.received.append(
                            {
                                "path": self.path,
                                "headers": dict(self.headers),
                                "json": json.loads(body),
                                "body": body,
                            }
                        )
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        # A short poll interval makes shutdown() quick; the default waits up to 0.5 s.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The URL to POST to."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/feedback"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
