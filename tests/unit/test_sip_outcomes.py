"""The SIP adapter's pure parts: ctrl_tcp netstring framing and the disposition table."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.ports import EndReason, FailureCause
from dialer_adapters.sip.netstring import Decoder, NetstringError, encode
from dialer_adapters.sip.outcomes import classify, parse_status

messages = st.dictionaries(
    st.text(max_size=10),
    st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none()),
    max_size=5,
)


@given(st.lists(messages, max_size=6), st.integers(min_value=1, max_value=40))
def test_netstrings_survive_any_split(batch: list[dict[str, Any]], chunk: int) -> None:
    stream = b"".join(encode(m) for m in batch)
    decoder = Decoder()
    out: list[dict[str, Any]] = []
    for i in range(0, len(stream), chunk):
        out += decoder.feed(stream[i : i + chunk])
    assert out == batch


def test_a_baresip_event_frame_is_read() -> None:
    frame = b'60:{"event":true,"type":"CALL_RINGING","class":"call","id":"x"},'
    assert Decoder().feed(frame) == [
        {"event": True, "type": "CALL_RINGING", "class": "call", "id": "x"}
    ]


@pytest.mark.parametrize("junk", [b"abc:{},", b"2:{}}", b"5:nojso,", b"x" * 30])
def test_a_broken_stream_is_an_error(junk: bytes) -> None:
    with pytest.raises(NetstringError):
        Decoder().feed(junk)


@pytest.mark.parametrize(
    ("reason", "rang", "expected"),
    [
        ("486 Busy Here", 1.0, (EndReason.BUSY, None)),
        ("600 Busy Everywhere", None, (EndReason.BUSY, None)),
        ("404 Not Found", None, (EndReason.FAILED, FailureCause.INVALID_NUMBER)),
        ("484 Address Incomplete", None, (EndReason.FAILED, FailureCause.INVALID_NUMBER)),
        ("604 Does Not Exist Anywhere", None, (EndReason.FAILED, FailureCause.INVALID_NUMBER)),
        ("480 Temporarily Unavailable", 2.0, (EndReason.FAILED, FailureCause.UNREACHABLE)),
        ("480 Temporarily Unavailable", 20.0, (EndReason.NO_ANSWER, None)),
        ("408 Request Timeout", 30.0, (EndReason.NO_ANSWER, None)),
        ("408 Request Timeout", None, (EndReason.FAILED, FailureCause.UNREACHABLE)),
        ("603 Decline", 3.0, (EndReason.FAILED, FailureCause.DECLINED)),
        ("503 Service Unavailable", None, (EndReason.FAILED, FailureCause.NETWORK)),
        ("403 Forbidden", None, (EndReason.FAILED, FailureCause.NETWORK)),
        ("Connection refused", None, (EndReason.FAILED, FailureCause.NETWORK)),
        ("", None, (EndReason.FAILED, FailureCause.NETWORK)),
    ],
)
def test_the_disposition_table(
    reason: str, rang: float | None, expected: tuple[EndReason, FailureCause | None]
) -> None:
    end = classify(reason, rang_seconds=rang)
    assert (end.reason, end.cause) == expected
    assert end.detail
    if parse_status(reason) is not None:
        assert end.detail == f"SIP {reason}"
