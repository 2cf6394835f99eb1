"""What a SIP final response means for a call we placed: the adapter's disposition table.

| SIP response                         | CallEnded                      | engine disposition |
|--------------------------------------|--------------------------------|--------------------|
| 200, then the customer hangs up      | HUNG_UP (after CallBridged)    | the agent's choice |
| 200, no agent within the patience    | ABANDONED                      | ABANDONED          |
| 486 Busy Here, 600 Busy Everywhere   | BUSY                           | BUSY               |
| ringing, our ring timeout (>= 15 s)  | NO_ANSWER                      | NO_ANSWER          |
| 480, 408 after >= 15 s of ringing    | NO_ANSWER                      | NO_ANSWER          |
| 480, 408 sooner (switched off...)    | FAILED / UNREACHABLE           | UNREACHABLE        |
| 404, 484, 604, 410, 485              | FAILED / INVALID_NUMBER        | INVALID            |
| 603 Decline                          | FAILED / DECLINED              | REJECTED           |
| 503 and every other 5xx              | FAILED / NETWORK               | NETWORK_FAIL       |
| 401, 403, 407 and other 4xx/6xx      | FAILED / NETWORK               | NETWORK_FAIL       |
| no response (transport error, 32 s)  | FAILED / NETWORK               | NETWORK_FAIL       |

480 and 408 count as "no answer" only after the 15 s of ringing the contract asks of a
NO_ANSWER; a network that answers 480 at once is telling us the phone is off or out of
coverage (关机 / 无法接通), which the domain retries the next day. The status code and
reason phrase always go into `CallEnded.detail`, so reports show the network's words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from campaigns.ports import EndReason, FailureCause

#: Ringing shorter than this is not a NO_ANSWER (the Dialer contract's rule).
MIN_RING_SECONDS = 15.0

_STATUS = re.compile(r"^\s*(\d{3})\b\s*(.*)$")

_FAILURES: dict[int, FailureCause] = {
    404: FailureCause.INVALID_NUMBER,
    410: FailureCause.INVALID_NUMBER,
    484: FailureCause.INVALID_NUMBER,
    485: FailureCause.INVALID_NUMBER,
    604: FailureCause.INVALID_NUMBER,
    603: FailureCause.DECLINED,
}


@dataclass(frozen=True, slots=True)
class NetworkEnd:
    """How a call that was never answered ended."""

    reason: EndReason
    cause: FailureCause | None
    detail: str


def parse_status(text: str) -> int | None:
    """The SIP status code at the start of baresip's close reason ("486 Busy Here")."""
    match = _STATUS.match(text)
    return int(match.group(1)) if match else None


def classify(reason: str, *, rang_seconds: float | None) -> NetworkEnd:
    """The end of an unanswered call from baresip's close reason and how long it rang."""
    status = parse_status(reason)
    detail = f"SIP {reason.strip()}" if status is not None else reason.strip()
    if status in (486, 600):
        return NetworkEnd(EndReason.BUSY, None, detail)
    if status in (480, 408):
        if rang_seconds is not None and rang_seconds >= MIN_RING_SECONDS:
            return NetworkEnd(EndReason.NO_ANSWER, None, detail)
        return NetworkEnd(EndReason.FAILED, FailureCause.UNREACHABLE, detail)
    if status is not None and status in _FAILURES:
        return NetworkEnd(EndReason.FAILED, _FAILURES[status], detail)
    return NetworkEnd(EndReason.FAILED, FailureCause.NETWORK, detail or "no SIP response")
