"""The operator's CRM as a `SubscriberSource`, over httpx.

The contract with the CRM, one request per batch of at most `batch_size` numbers:

    POST {base_url}/subscribers/lookup
    Authorization: Bearer <token>
    Content-Type: application/json

    {"numbers": ["+8613800138000", "+8613900139000"]}

    200 OK
    {"subscribers": [
        {"msisdn": "+8613800138000",                       required, E.164 as asked
         "status": "ACTIVE",                               required: ACTIVE, SUSPENDED, CANCELLED
         "segment": "family",                              string or null; may be absent
         "branch": "GZ",                                   branch code or null; may be absent
         "services": ["5G_PLUS_59"],                       service codes held; may be absent
         "follow_up": true,                                a prior follow-up; absent means false
         "last_contacted_at": "2026-11-20T10:00:00+08:00"  ISO 8601 with an offset, or null
        }
    ]}

Numbers the CRM does not know are left out of "subscribers"; entries for numbers that were
not asked about are ignored, and so are fields not listed here.

How failures come back:

- transport errors, timeouts, 429 and 5xx are retried `retries` times, waiting
  `backoff * 2**n` seconds (half of it random jitter, at most `max_backoff`, or the
  Retry-After of a 429/503 when longer); then `SourceUnavailable`, chained from the last
  httpx error.
- any other status is permanent and not retried: 400 and 422 raise `ValidationError`
  (the CRM refused the numbers), the rest (401, 403, 404, a redirect) `ConfigurationError`
  (check the URL and the token). Both carry the status and the start of the body.
- a 2xx whose body breaks the contract raises `SourceUnavailable`, saying what is wrong.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC
from types import TracebackType
from typing import Self

import httpx
import pydantic
from pydantic import AwareDatetime, BaseModel, ConfigDict, SecretStr

from campaigns.errors import ConfigurationError, SourceUnavailable, ValidationError
from campaigns.model import SubscriberFacts, SubscriberStatus

_EXCERPT = 200  # characters of a response body quoted in an error


class _Subscriber(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    msisdn: str
    status: SubscriberStatus
    segment: str | None = None
    branch: str | None = None
    services: list[str] = []
    follow_up: bool = False
    last_contacted_at: AwareDatetime | None = None


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    subscribers: list[_Subscriber]


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:_EXCERPT] + ("…" if len(text) > _EXCERPT else "") if text else "(empty body)"


def _status_error(response: httpx.Response) -> httpx.HTTPStatusError:
    return httpx.HTTPStatusError(
        f"HTTP {response.status_code}", request=response.request, response=response
    )


def _retry_after(response: httpx.Response) -> float | None:
    # Only the delay-seconds form; an HTTP date is rare from an API and not worth parsing.
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class HttpxCrmSubscriberSource:
    """Subscriber facts from the operator's CRM; see the module docstring for the contract."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr | str,
        *,
        client: httpx.Client | None = None,
        batch_size: int = 500,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if batch_size < 1 or retries < 0:
            raise ConfigurationError("CRM batch_size must be at least 1 and retries at least 0")
        self.url = base_url.rstrip("/") + "/subscribers/lookup"
        self.batch_size = batch_size
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout)

    def lookup(self, numbers: Sequence[str]) -> dict[str, SubscriberFacts]:
        """Facts for the known numbers, one POST per `batch_size` distinct numbers."""
        wanted = list(dict.fromkeys(numbers))
        out: dict[str, SubscriberFacts] = {}
        for start in range(0, len(wanted), self.batch_size):
            part = wanted[start : start + self.batch_size]
            out.update(self._facts(self._post(part), set(part)))
        return out

    def close(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        ceiling = min(self.max_backoff, self.backoff * 2.0**attempt)
        # Half fixed, half random: waits still grow, and clients that failed together spread.
        delay = ceiling / 2 + self._rng.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_backoff))
        return delay

    def _post(self, part: Sequence[str]) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {self._token.get_secret_value()}",
            "Accept": "application/json",
        }
        last: httpx.HTTPError | None = None
        problem = ""
        retry_after: float | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self._delay(attempt - 1, retry_after))
            retry_after = None
            try:
                response = self._client.post(
                    self.url, json={"numbers": list(part)}, headers=headers, timeout=self.timeout
                )
            except httpx.UnsupportedProtocol as exc:
                raise ConfigurationError(f"CRM URL {self.url} is not http(s): {exc}") from exc
            except httpx.TransportError as exc:
                last, problem = exc, f"{type(exc).__name__} {exc}".strip()
                continue
            except httpx.DecodingError as exc:
                raise SourceUnavailable(
                    f"the CRM at {self.url} sent a body that cannot be decoded: {exc}"
                ) from exc
            if response.is_success:
                return response
            status = response.status_code
            if status == 429 or status >= 500:
                last, problem = _status_error(response), f"HTTP {status}: {_excerpt(response)}"
                retry_after = _retry_after(response)
                continue
            message = f"the CRM at {self.url} refused the lookup with HTTP {status}: "
            if status in (400, 422):
                raise ValidationError(message + _excerpt(response)) from _status_error(response)
            raise ConfigurationError(
                message + f"{_excerpt(response)} (check the CRM URL and token)"
            ) from _status_error(response)
        raise SourceUnavailable(
            f"the CRM at {self.url} did not answer after {self.retries + 1} attempts; "
            f"last: {problem}"
        ) from last

    def _facts(self, response: httpx.Response, asked: set[str]) -> dict[str, SubscriberFacts]:
        try:
            answer = _Answer.model_validate_json(response.content, strict=True)
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            raise SourceUnavailable(
                f"the CRM at {self.url} answered HTTP {response.status_code} with a body that "
                f"breaks the contract ({exc.error_count()} problem(s); {where}: {first['msg']}): "
                f"{_excerpt(response)}"
            ) from exc
        return {
            s.msisdn: SubscriberFacts(
                msisdn=s.msisdn,
                status=s.status,
                segment=s.segment,
                branch_code=s.branch,
                services=frozenset(s.services),
                has_follow_up=s.follow_up,
                last_contacted_at=(
                    s.last_contacted_at.astimezone(UTC) if s.last_contacted_at else None
                ),
            )
            for s in answer.subscribers
            # Callers key results by the numbers they sent; a stray entry is not an answer.
            if s.msisdn in asked
        }
