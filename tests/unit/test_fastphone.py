"""The fast normaliser gives exactly the reference's answer, for any cell and region."""

from __future__ import annotations

import random
import time

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from campaigns.fastphone import FAST_REGIONS, normalise_fast, normalise_many
from campaigns.model import ExclusionReason
from campaigns.phone import E164, Rejected, normalise

REGIONS = ["CN", "US", "GB", "cn"]
FULL_WIDTH = str.maketrans("0123456789+-().", "０１２３４５６７８９＋－（）．")
SEPARATORS = ["", "", "", "", " ", "-", ".", "(", ")", " - ", "  ", "\u3000", "－", "．", "\t", "/"]
PREFIXES = [
    *([""] * 8),
    "+86",
    "+86 ",
    "+86-",
    "0086",
    "0086 ",
    "86",
    "86 ",
    "+",
    "+ 86",
    "(+86)",
    "(+86) ",
    "+86(0)",
    "+86 0",
    "860",
    "0",
    "00",
    "000",
    "+0",
    "+860",
    "＋８６",
    "+1",
    "+44",
    "+852",
    "001",
    "011",
    "17951",
    "17951 ",
    "12593",
    "11",
    "179",
    "8",
    "+8",
    "(",
    "((",
    "'",
    "' ",
    "''",
    "-",
    "tel:",
    "=",
]
SUFFIXES = [
    *([""] * 8),
    " ext 12",
    " ext. 12",
    "ext12",
    " EXT 1",
    "#12",
    " #12",
    "# 12",
    "#",
    "##12",
    "#12#",
    "-8001",
    "-1",
    " - 99",
    "-1234567",
    "-",
    "--1",
    "转8001",
    "转",
    "分机 12",
    " x 3",
    "x",
    ";ext=1",
    ",,12",
    ",12",
    ";12",
    " ext 1234567890",
    ")",
    ".",
    " ",
    " (mobile)",
    "张三",
    "/13900139000",
]
SHORT_CODES = ["10086", "10010", "12321", "12345", "95588", "110", "120", "12306", "96110"]
SHORT_CODES += ["1", "10", "100", "1008", "100861", "95", "955", "9558", "106", "1069012345678"]
STARTS = ["1", "13", "14", "15", "16", "17", "18", "19", "12", "11", "10", "179", "1740"]
STARTS += ["2", "20", "21", "3", "4", "400", "5", "6", "7", "755", "8", "80", "86", "9"]
STARTS += ["0", "00", "01", "010", "02", "020", "0755", "08", "086", "0086"]


def _other_regions_numbers() -> list[str]:
    """Example numbers of other regions, written three ways, from phonenumbers itself."""
    formats = (
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
    )
    out = []
    for region in ("US", "GB", "HK", "TW", "DE", "JP", "SG", "AU", "IN", "FR", "KR"):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                out += [phonenumbers.format_number(number, f) for f in formats]
    return out


OTHER_REGIONS = _other_regions_numbers()

# ------------------------------------------------------------------ hypothesis strategies

digit_strings = st.text(alphabet="0123456789", max_size=22)


@st.composite
def bodies(draw: st.DrawFn) -> str:
    """Digits shaped like numbers: mobiles, fixed lines, short codes, junk lengths."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return (
            "1"
            + draw(st.sampled_from("0123456789"))
            + draw(st.text("0123456789", min_size=9, max_size=9))
        )
    if kind == 1:
        return draw(st.sampled_from(STARTS)) + draw(st.text("0123456789", min_size=4, max_size=12))
    if kind == 2:
        return draw(st.sampled_from(SHORT_CODES)) + draw(st.text("0123456789", max_size=2))
    return draw(digit_strings)


@st.composite
def messy_cells(draw: st.DrawFn) -> str:
    """A number as a person or a spreadsheet might have written it, or nearly."""
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from(OTHER_REGIONS))
    else:
        digits = draw(bodies())
        gaps = draw(
            st.lists(st.sampled_from(SEPARATORS), min_size=len(digits), max_size=len(digits))
        )
        body = "".join(d + g for d, g in zip(digits, gaps, strict=True))
    cell = draw(st.sampled_from(PREFIXES)) + body + draw(st.sampled_from(SUFFIXES))
    if draw(st.booleans()):
        cell = cell.translate(FULL_WIDTH)
    pad = st.sampled_from(["", "", " ", "\u3000", "\t", "\u00a0", "\n"])
    return draw(pad) + cell + draw(pad)


phoneish_text = st.text(alphabet="0123456789０１２８６+＋ -.()（）'#x转ext,;/=\u3000٣", max_size=30)
regions = st.sampled_from(REGIONS)
agreement = settings(max_examples=400, deadline=None)


def assert_agree(raw: str, region: str) -> None:
    want = normalise(raw, region)
    got = normalise_fast(raw, region)
    assert got == want, f"{raw!r} in {region}: reference {want!r}, fast {got!r}"
    if isinstance(got, Rejected):
        assert got.raw == raw


@agreement
@given(st.text(), regions)
def test_agrees_on_any_text(raw: str, region: str) -> None:
    assert_agree(raw, region)


@agreement
@given(phoneish_text, regions)
def test_agrees_on_text_made_of_phone_characters(raw: str, region: str) -> None:
    assert_agree(raw, region)


@agreement
@given(messy_cells(), regions)
@example("8613800138000", "CN")
@example("17951 13800138000", "CN")
@example("+86 (0)20 8888 8888", "CN")
@example("13800138000-8001", "CN")
@example("13800138000 ext 12", "CN")
@example("010-12345678-801", "CN")
@example("10086#1", "CN")
@example("1 2", "CN")
@example("0", "CN")
def test_agrees_on_messy_numbers(raw: str, region: str) -> None:
    assert_agree(raw, region)


@agreement
@given(st.lists(st.one_of(messy_cells(), st.sampled_from(SHORT_CODES)), max_size=30), regions)
def test_normalise_many_is_normalise_on_each_cell(raws: list[str], region: str) -> None:
    assert normalise_many(raws, region) == [normalise(raw, region) for raw in raws]


def test_the_fast_path_covers_china() -> None:
    assert "CN" in FAST_REGIONS
    assert normalise_fast("＋８６ １３８ ００１３ ８０００") == E164(
        "+8613800138000", is_mobile=True
    )
    assert normalise_fast("95588") == Rejected("95588", ExclusionReason.SHORT_CODE)


# ------------------------------------------------------------------ the million


COMMON_PREFIXES = ["+86", "+86 ", "+86-", "0086", "0086 ", "86", "(+86)", "'", "＋８６", "0"]
COMMON_SEPARATORS = [" ", "-", ".", " - ", "－", "\u3000", "  "]


def _generated_cell(rng: random.Random, tails: list[str]) -> str:
    rand, choice, randint = rng.random, rng.choice, rng.randint
    kind = rand()
    if kind < 0.04:
        junk = "0123456789０１２８+＋ -.()（）'#x转ext,;/=\u3000٣aA张"
        return "".join(choice(junk) for _ in range(randint(0, 16)))
    if kind < 0.07:
        return choice(OTHER_REGIONS)
    if kind < 0.10:
        return choice(SHORT_CODES) + choice(SUFFIXES)
    # Random digits at the front, where the metadata patterns look; any length.
    if kind < 0.60:
        digits = "1" + str(randint(0, 9999)).zfill(4) + choice(tails)[:6]
    elif kind < 0.80:
        digits = choice(STARTS) + str(randint(0, 9999)) + choice(tails)[: randint(0, 8)]
    else:
        digits = str(randint(0, 10**5)) + choice(tails)
    style = rand()
    if style < 0.5:
        cell = digits
    elif style < 0.9:
        sep = choice(COMMON_SEPARATORS)
        cell = "".join(d + (sep if rand() < 0.25 else "") for d in digits)
    else:
        cell = "".join(d + choice(SEPARATORS) for d in digits)
    if rand() < 0.35:
        cell = choice(COMMON_PREFIXES if rand() < 0.7 else PREFIXES) + cell
    if rand() < 0.15:
        cell += choice(SUFFIXES)
    if rand() < 0.05:
        cell = cell.translate(FULL_WIDTH)
    if rand() < 0.03:
        cell = f" {cell} "
    return cell


def generated_cells(count: int, seed: int) -> list[str]:
    """Cheap seeded cells, drawn with repeats from a pool of count // 2 generated ones.

    Repeats keep the reference's share of the work (it is the slow side) within CI time;
    both normalisers are pure, so a repeated cell needs comparing only once.
    """
    rng = random.Random(seed)
    tails = [
        "".join(rng.choice("0123456789") for _ in range(n)) for n in range(15) for _ in range(40)
    ]
    pool = [_generated_cell(rng, tails) for _ in range(count // 2)]
    return rng.choices(pool, k=count)


MILLION = 1_000_000


@pytest.mark.parametrize("count", [MILLION], ids=["one-million"])
def test_differential_one_million_generated_cells(count: int) -> None:
    """THE BIG ONE: a million seeded cells through both paths, zero disagreements.

    Both normalisers are pure, so each distinct cell is compared once; every one of the
    million cells is then checked against its distinct cell's reference answer through
    normalise_many. Select or skip it with `-k one-million`.
    """
    start = time.perf_counter()
    cells = generated_cells(count, seed=20251101)
    assert len(cells) == count
    distinct = list(dict.fromkeys(cells))
    reference = {raw: normalise(raw, "CN") for raw in distinct}
    disagreements = [
        (raw, want, got)
        for raw, want in reference.items()
        if (got := normalise_fast(raw, "CN")) != want
    ]
    many = normalise_many(cells, "CN")
    checked = sum(1 for raw, got in zip(cells, many, strict=True) if got == reference[raw])
    elapsed = time.perf_counter() - start
    print(f"\n{count:,} cells ({len(distinct):,} distinct) compared in {elapsed:.1f} s")
    assert not disagreements, disagreements[:20]
    assert checked == count
