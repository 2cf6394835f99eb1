"""Numbers as people and spreadsheets write them become E.164, or a reason."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.model import ExclusionReason
from campaigns.phone import E164, Rejected, clean, mask, normalise, time_zones


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
    "raw",
    [
        "8613800138000",
        "86 138 0013 8000",
        "+86-138-0013-8000",
        "＋８６ １３８ ００１３ ８０００",
        "（+86）138－0013－8000",
        "0086-138-0013-8000",
        "' 13800138000",
        "\t13800138000\n",
        "13800138000 ext 12",
        "13800138000 EXT. 12",
        "13800138000x12",
        "13800138000#12",
        "13800138000转8001",
        "13800138000 转 8001",
        "13800138000分机8001",
        "tel:+86-138-0013-8000",
    ],
)
def test_prefixes_and_extensions(raw: str) -> None:
    assert normalise(raw, "CN") == E164("+8613800138000", is_mobile=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Digits together make no valid number, digits before the dash do: an extension.
        ("13800138000-8001", "+8613800138000"),
        ("13800138000 - 1", "+8613800138000"),
        ("010-12345678-801", "+861012345678"),
        ("(020) 8888 8888-12", "+862088888888"),
        # Digits together are a valid number: the last dash is only a separator.
        ("138-0013-8000", "+8613800138000"),
        ("010-1234567-1", "+861012345671"),
    ],
)
def test_a_trailing_dash_group_is_an_extension_only_when_that_is_the_valid_reading(
    raw: str, expected: str
) -> None:
    result = normalise(raw, "CN")
    assert isinstance(result, E164) and result.value == expected


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000-1234567",  # seven digits is no extension
        "1380013800-12",  # neither reading is valid
        "12345-6",  # the part before the dash is a short code, not a number
    ],
)
def test_a_dash_group_does_not_rescue_an_invalid_number(raw: str) -> None:
    result = normalise(raw, "CN")
    assert isinstance(result, Rejected) and result.reason is ExclusionReason.INVALID_NUMBER


@pytest.mark.parametrize(
    "raw", ["10086", "10010", "12321", "12345", "95588", "110", "+86 10086", "95588 转 1"]
)
def test_short_codes(raw: str) -> None:
    result = normalise(raw, "CN")
    assert result == Rejected(raw, ExclusionReason.SHORT_CODE)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "'",
        "n/a",
        "无",
        "1380013",
        "abc",
        "0",
        "138001380001234567",
        "13800138000 13900139000",
        '=HYPERLINK("x")',
        '=HYPERLINK("tel:1")',
        '=HYPERLINK("tel:13800138000")',
        '="13800138000"',
        "1.38001E+10",
    ],
)
def test_invalid_inputs(raw: str) -> None:
    result = normalise(raw, "CN")
    assert result == Rejected(raw, ExclusionReason.INVALID_NUMBER)


def test_a_short_code_is_a_short_code_only_in_its_own_region() -> None:
    assert normalise("12321", "US") == Rejected("12321", ExclusionReason.INVALID_NUMBER)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(650) 253-0000", "US", E164("+16502530000", is_mobile=True)),  # fixed line or mobile
        ("0086 138 0013 8000", "US", E164("+8613800138000", is_mobile=True)),
        ("020 7946 0018", "GB", E164("+442079460018", is_mobile=False)),
        ("07400 123456", "GB", E164("+447400123456", is_mobile=True)),
        ("+44 20 7946 0018", "CN", E164("+442079460018", is_mobile=False)),
        ("13800138000", "cn", E164("+8613800138000", is_mobile=True)),
        ("400-810-8888", "CN", E164("+864008108888", is_mobile=False)),
    ],
)
def test_the_branch_region_is_the_default(raw: str, region: str, expected: E164) -> None:
    assert normalise(raw, region) == expected


def test_the_rejection_keeps_the_raw_cell() -> None:
    raw = " ＝HYPERLINK(1) "
    assert normalise(raw) == Rejected(raw, ExclusionReason.INVALID_NUMBER)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("＋８６ １３８", "+86 138"),
        ("'0086 138", "+86 138"),
        (" ' 13800138000 ", "13800138000"),
        ("13800138000转8001", "13800138000 ext 8001"),
    ],
)
def test_clean(raw: str, text: str) -> None:
    assert clean(raw) == text


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
