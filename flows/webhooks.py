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
            ts = str(int(time.time()))
            sig = hmac.new(self.secret.encode(), f"{ts}.".encode() + body, hashlib.sha256)
            headers["X-Outbound-Signature"] = f"t={ts},v1={sig.hexdigest()}"
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
                    # Jitter spreads retries of many reports that failed together.
                    self._sleep(self.backoff * (2**attempt) * (0.5 + random.random() / 2))
            return error
        finally:
            if self._client is None:
                client.close()
