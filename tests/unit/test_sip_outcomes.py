"""The SIP adapter's pure parts: ctrl_tcp framing, the disposition table, routing, settings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.errors import ConfigurationError
from campaigns.ports import EndReason, FailureCause
from dialer_adapters.sip import SipDialer
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


def test_numbers_route_by_their_longest_prefix() -> None:
    dialer = SipDialer(
        uri="sip:{number}@trunk.example.com",
        routes={"+86": "sip:0{digits}@cn.example.com", "+86138": "sip:{digits}@mobile.example"},
    )
    assert dialer.dial_uri("+8613800138000", "t1") == "sip:8613800138000@mobile.example;obkey=t1"
    assert dialer.dial_uri("+862012345678", "t2") == "sip:0862012345678@cn.example.com;obkey=t2"
    assert dialer.dial_uri("+14155550100", "t3") == "sip:+14155550100@trunk.example.com;obkey=t3"


@pytest.mark.parametrize(
    "options",
    [{"ring_timeout": 10}, {"lines": 0}, {"uri": "sip:fixed@example.com"}],
)
def test_settings_that_break_the_contract_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        SipDialer(**options)


def test_the_account_line_carries_proxy_and_codecs_and_the_password_stays_hidden() -> None:
    dialer = SipDialer(
        aor="sip:1001@pbx.example.com",
        password="s3cret",
        auth_user="1001",
        outbound_proxy="sip:sbc.example.com;lr",
        regint=3600,
        codecs=["PCMA"],
    )
    line = dialer.account.line()
    assert line.startswith("<sip:1001@pbx.example.com>;regint=3600;audio_codecs=PCMA;")
    assert "auth_pass=s3cret" in line and 'outbound="sip:sbc.example.com;lr"' in line
    assert "s3cret" not in repr(dialer.account)
