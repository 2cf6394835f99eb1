"""Branch webhooks over httpx: POST JSON with an idempotency key and a signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Outbound-Signature"
#: A signature older than this is refused, so a captured request cannot be replayed later.
SIGNATURE_TOLERANCE = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value, Stripe style: `t=<unix time>,v1=<hex HMAC-SHA256>` of
    `<t>.<body>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    now: float,
    tolerance: int = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether a signature header is valid for this body and recent enough."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class HttpxFeedbackSender:
    """Sends feedback payloads; returns an error text instead of raising, so it can be stored."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        secret: str | None = None,
        client: httpx.Client | None = None,
        retries: int = 2,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.timeout = timeout
        self.secret = secret
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._client = client

    def send(self, url: str, payload: dict[str, Any], *, idempotency_key: str) -> str | None:
        """POST the payload, retrying transport errors and 5xx; None on success."""
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body, int(time.time()))
        client = self._client or httpx.Client(timeout=self.timeout)
        error: str | None = None
        try:
            for attempt in range(self.retries + 1):
                try:
                    response = client.post(url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code < 300:
                        return None
                    error = f"HTTP {response.status_code}"
                    if response.status_code < 500:
                        return error
                if attempt < self.retries:
                    # Exponential backoff; jitter spreads the retries of many reports that
                    # failed together (the branch's server was down for all of them).
                    self._sleep(self.backoff * (2**attempt) * (0.5 + random.random() / 2))
            return error
        finally:
            if self._client is None:
                client.close()
