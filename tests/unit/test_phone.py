"""Numbers as people and spreadsheets write them become E.164, or a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.model import ExclusionReason
from campaigns.phone import E164, Rejected, mask, normalise, time_zones


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138 0013 8000",
        "138-0013-8000",
        "138.0013.8000",
        "(138) 0013 8000",
        "008613800138000",
        "+8613800138000",
        "８６１３８００１３８０００",
        "１３８００１３８０００",
        "'13800138000",
        " 13800138000 ",
    ],
)
def test_messy_mobile_numbers(raw: str) -> None:
    result = normalise(raw, "CN")
    assert result == E164("+8613800138000", is_mobile=True)


@pytest.mark.parametrize(
    "raw", ["", "n/a", "12345", "1380013", "abc", '=HYPERLINK("x")', "138001380001234567"]
)
def test_invalid_inputs(raw: str) -> None:
    result = normalise(raw, "CN")
    assert isinstance(result, Rejected) and result.reason is ExclusionReason.INVALID_NUMBER


def test_fixed_line_is_not_mobile() -> None:
    result = normalise("020-8888 8888", "CN")
    assert isinstance(result, E164) and not result.is_mobile and result.value == "+862088888888"


def test_mask() -> None:
    assert mask("+8613800138000") == "138****8000"
    assert mask("13800138000") == "138****8000"
    assert mask("123") == "***"


def test_time_zones_of_a_chinese_mobile() -> None:
    assert time_zones("+8613800138000") == ("Asia/Shanghai",)


@given(st.integers(min_value=0, max_value=10**8 - 1), st.sampled_from(["138", "139", "150", "187"]))
def test_round_trip_and_mask_hides_the_middle(n: int, prefix: str) -> None:
    local = f"{prefix}{n:08d}"
    result = normalise(local, "CN")
    assert isinstance(result, E164)
    assert result.value == f"+86{local}"
    masked = mask(result.value)
    assert masked == f"{local[:3]}****{local[-4:]}" and local not in masked
