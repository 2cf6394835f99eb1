"""The fast normaliser gives exactly the reference's answer, for any cell and region."""

from __future__ import annotations

import dataclasses
import itertools
import pickle
import random
import re
import time
from collections.abc import Callable, Iterator

import phonenumbers
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from campaigns import fastphone
from campaigns.fastphone import (
    _GENERAL_GRAPH_LENGTHS,
    _MAX_NSN_LENGTH,
    _PLANS,
    FAST_REGIONS,
    _e164,
    _Nfa,
    _normalise,
    _Plan,
    _Uncertain,
    _Unsupported,
    _walk,
    normalise_columns,
    normalise_fast,
    normalise_many,
)
from campaigns.model import ExclusionReason
from campaigns.phone import E164, Rejected, clean, normalise

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


# ------------------------------------------------------------------ the automata, against re

PLAN = _PLANS["CN"]
REGEX_PLAN = _Plan.build("CN", automata=False)

# Pattern pieces in the subset the automata model, and a few that match no digit at all.
ATOMS = ["0", "1", "5", "9", r"\d", "[2-9]", "[^3]", "[0-35-9]", "[13579]", ".", r"\w"]
ATOMS += ["a", r"[\D]", r"[^\d]", r"\s", r"[^0-8]", r"[\d]", ""]
QUANTIFIERS = ["", "", "", "?", "??", "*", "*?", "+", "+?", "{2}", "{0,2}", "{1,3}?", "{,2}"]
QUANTIFIERS += ["{3,}", "{0}"]


def _compose(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    group = st.builds(
        lambda body, capture: f"({body})" if capture else f"(?:{body})", inner, st.booleans()
    )
    quantified = st.builds(str.__add__, group, st.sampled_from(QUANTIFIERS))
    sequence = st.lists(quantified, min_size=1, max_size=3).map("".join)
    return st.lists(sequence, min_size=1, max_size=3).map("|".join)


patterns = st.recursive(st.sampled_from(ATOMS), _compose, max_leaves=10)
SHORT_STRINGS = ["".join(p) for n in range(4) for p in itertools.product("0123456789", repeat=n)]


def fullmatch_graph(nfa: _Nfa, starts: frozenset[int], accept: int, length: int) -> object:
    return nfa.decisions(starts, length, lambda states: accept in states)


@settings(max_examples=300, deadline=None)
@given(patterns, st.lists(st.text("0123456789", min_size=4, max_size=14), max_size=20))
def test_an_automaton_fullmatches_exactly_what_its_regex_does(
    pattern: str, longer: list[str]
) -> None:
    nfa = _Nfa()
    try:
        starts, accept = nfa.add(pattern)
    except _Unsupported:
        event("unsupported (a repeat of a nullable body)")
        return
    graphs = {}
    for text in SHORT_STRINGS + longer:
        if len(text) not in graphs:
            graphs[len(text)] = fullmatch_graph(nfa, starts, accept, len(text))
        want = re.fullmatch(pattern, text) is not None
        assert _walk(graphs[len(text)], text) is want, (pattern, text)


@settings(max_examples=200, deadline=None)
@given(patterns, st.lists(st.text("0123456789", min_size=3, max_size=10), max_size=20))
def test_a_match_guard_only_turns_away_texts_the_regex_cannot_match(
    pattern: str, longer: list[str]
) -> None:
    nfa = _Nfa()
    try:
        starts, accept = nfa.add(pattern)
    except _Unsupported:
        return
    guard = nfa.match_guard(starts, accept, 3)
    compiled = re.compile(pattern)
    for text in [s for s in SHORT_STRINGS if len(s) == 3] + longer:
        if text[:3] not in guard:
            assert compiled.match(text) is None, (pattern, text)


@pytest.mark.parametrize(
    "pattern",
    [
        "(?=1)1",
        "(?!2)1",
        "(?<=1)1",
        r"(1)\1",
        "^1",
        "1$",
        r"1\Z",
        r"\b1",
        "(?i)1",
        "(?a:1)",
        "(?>12)",
        "1++",
        "1*+",
        "(?:1?)*",
        "(?:1|)+",
        "(?:1?){2}",
        "1{100}",
        "(1)?(?(1)2|3)",
        "(1",
    ],
)
def test_the_automata_refuse_what_they_do_not_model(pattern: str) -> None:
    with pytest.raises(_Unsupported):
        _Nfa().add(pattern)


def _leaves(graph: object, prefix: str = "") -> Iterator[tuple[str, object]]:
    """Every path of a decision graph to a leaf: the digits read, and the verdict."""
    if not isinstance(graph, dict):
        yield prefix, graph
        return
    for digit, child in graph.items():
        yield from _leaves(child, prefix + digit)


def test_china_is_decided_by_graphs_everywhere() -> None:
    """No length, prefix or pattern of CN falls back to a regex on the hot path."""
    assert set(PLAN.type_jumps) == set(range(_MAX_NSN_LENGTH + 1))
    assert set(PLAN.general_graphs) == set(range(_GENERAL_GRAPH_LENGTHS + 1))
    assert len(PLAN.national_prefix_guard) < 200
    assert len(PLAN.international_prefix_guard) < 50
    assert REGEX_PLAN is not None and not REGEX_PLAN.type_jumps


def test_every_path_of_the_type_graphs_is_the_type_regex_verdict() -> None:
    """Each leaf claims every completion of its digits has one verdict; try several."""
    assert REGEX_PLAN is not None
    rng = random.Random(7)
    checked = 0
    for length, graph in PLAN.automata.types.items():
        for prefix, leaf in _leaves(graph):
            rest = length - len(prefix)
            completions = {"0" * rest, "9" * rest}
            completions |= {"".join(rng.choices("0123456789", k=rest)) for _ in range(2)}
            for completion in completions:
                nsn = prefix + completion
                regex = PLAN.types_by_length.get(length)
                kind = None if regex is None else regex.fullmatch(nsn)
                want = None if kind is None else kind.lastgroup in ("both", "mobile")
                assert leaf is want, (nsn, leaf, want)
                assert PLAN.valid(nsn) == REGEX_PLAN.valid(nsn), nsn
                checked += 1
    assert checked > 50_000


def test_every_path_of_the_general_graphs_is_the_general_regex_verdict() -> None:
    rng = random.Random(11)
    for length, graph in PLAN.automata.general.items():
        for prefix, leaf in _leaves(graph):
            rest = length - len(prefix)
            for completion in {"0" * rest, "9" * rest, "".join(rng.choices("0123456789", k=rest))}:
                digits = prefix + completion
                assert leaf is (PLAN.general.fullmatch(digits) is not None), digits
                assert PLAN.general_matches(digits) is leaf


@agreement
@given(st.one_of(digit_strings, bodies(), st.text("0123456789", min_size=18, max_size=40)))
def test_graphs_and_guards_agree_with_the_regexes_on_digit_strings(digits: str) -> None:
    assert REGEX_PLAN is not None
    assert PLAN.valid(digits) == REGEX_PLAN.valid(digits)
    assert PLAN.general_matches(digits) is (PLAN.general.fullmatch(digits) is not None)
    if digits[:3] not in PLAN.national_prefix_guard and len(digits) >= 3:
        assert PLAN.national_prefix.match(digits) is None
    assert PLAN._strip_national_prefix(digits) == REGEX_PLAN._strip_national_prefix(digits)
    if digits[:3] not in PLAN.international_prefix_guard and len(digits) >= 3:
        assert PLAN.international_prefix.match(digits) is None


def test_every_settled_national_prefix_strip_is_the_regexes_strip() -> None:
    assert REGEX_PLAN is not None and not REGEX_PLAN.national_prefix_strips
    assert PLAN.national_prefix_strips  # CN: 0 then anything
    rng = random.Random(13)
    for start in PLAN.national_prefix_strips:
        for length in range(15):
            for _ in range(3):
                number = start + "".join(rng.choices("0123456789", k=length))
                want = REGEX_PLAN._strip_national_prefix(number)
                assert PLAN._strip_national_prefix(number) == want, number


def national_number_by_regex(plan: _Plan, text: str) -> str | None:
    """_Plan.national_number as first written, every step a regex: the oracle for the
    shortcuts it now takes (no _SHAPE regex, prefix guards, general graphs)."""
    shape = fastphone._SHAPE.fullmatch(text)
    if shape is None:
        raise _Uncertain
    digits = re.sub(r"[ ().\-]", "", shape.group(2))
    if len(digits) < 3:
        raise _Uncertain

    def viable(number: str) -> bool:
        return plan.general.fullmatch(number) is not None

    def strip(number: str) -> str:
        found = plan.national_prefix.match(number)
        if found is None:
            return number
        rest = number[found.end() :]
        return number if viable(number) and not viable(rest) else rest

    code = plan.country_code
    if shape.group(1) is not None:
        if not digits.startswith(code):
            raise _Uncertain
        number = digits[len(code) :]
    else:
        if plan.international_prefix.match(digits):
            raise _Uncertain
        number = digits
        if digits.startswith(code):
            rest = strip(digits[len(code) :])
            if (not viable(digits) and viable(rest)) or len(digits) in plan.too_long_lengths:
                number = rest
    if len(number) < 2:
        return None
    stripped = strip(number)
    if len(stripped) in plan.strip_lengths:
        number = stripped
    if len(number) > 17:
        return None
    if number[0] == "0":
        raise _Uncertain
    return number


def _reading(read: Callable[[str], str | None], text: str) -> str | None | type[_Uncertain]:
    try:
        return read(text)
    except _Uncertain:
        return _Uncertain


@pytest.mark.parametrize("region", ["DE", "FR", "IN", "CO", "BO", "AT", "EG", "BE", "CH", "AE"])
def test_graphs_and_guards_of_other_regions_agree_with_their_regexes(region: str) -> None:
    """The automata are not CN-shaped: other regions' plans (not in FAST_REGIONS, so not
    used yet) decide every step exactly as their regexes do."""
    plan, regex_plan = _Plan.build(region), _Plan.build(region, automata=False)
    assert plan is not None and regex_plan is not None
    assert plan.type_jumps and plan.general_graphs
    rng = random.Random(region)
    starts = ["", "0", "00", "1", plan.country_code, "+", "+" + plan.country_code]
    for _ in range(3000):
        digits = "".join(rng.choices("0123456789", k=rng.randint(0, 19)))
        assert plan.valid(digits) == regex_plan.valid(digits), digits
        assert plan.general_matches(digits) is (plan.general.fullmatch(digits) is not None)
        assert plan._strip_national_prefix(digits) == regex_plan._strip_national_prefix(digits)
        text = rng.choice(starts) + digits
        want = _reading(lambda t: national_number_by_regex(regex_plan, t), text)
        assert _reading(plan.national_number, text) == want, text


@agreement
@given(st.one_of(phoneish_text, messy_cells().map(clean), digit_strings))
@example("(((+86 (0)20 8888-8888")
@example("+")
@example("")
@example("+٣٣٣")
@example("(+)123")
def test_national_number_reads_text_as_the_regexes_do(text: str) -> None:
    assert REGEX_PLAN is not None
    want = _reading(lambda t: national_number_by_regex(PLAN, t), text)
    assert _reading(PLAN.national_number, text) == want
    assert _reading(REGEX_PLAN.national_number, text) == want


@agreement
@given(messy_cells(), regions)
def test_the_regex_only_plan_agrees_with_the_reference(raw: str, region: str) -> None:
    """The fallback every graph has (the regexes) is exact on its own."""
    plan = REGEX_PLAN if region.upper() == "CN" else None
    assert _normalise(plan, raw, region) == normalise(raw, region)


def test_a_graph_over_budget_falls_back_to_the_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastphone, "_GRAPH_BUDGET", 3)
    small = _Plan.build("CN")
    assert small is not None
    # Only lengths no number can have (a leaf at the root, one node) kept a graph.
    assert set(small.type_jumps).isdisjoint(PLAN.types_by_length)
    assert not small.general_graphs.keys() & range(7, 13)
    for raw in ["13800138000", "+86 20 8888 8888", "8613800138000", "95588", "4001234567"]:
        assert _normalise(small, raw, "CN") == normalise(raw, "CN")


def test_the_fast_e164_is_an_e164() -> None:
    made = _e164("+8613800138000", True)
    built = E164("+8613800138000", is_mobile=True)
    assert type(made) is E164
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert made != _e164("+8613800138000", False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.value = "+861"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(made)) == built


@agreement
@given(st.one_of(messy_cells(), phoneish_text, st.text()))
@example("+86 138 0013 8000")
@example("(+86) 138-0013-8000")
@example("138 0013 8000")
@example("13-8001")
@example("1" + " " * 300 + "3800138000")
def test_quick_answers_only_what_the_reference_answers(raw: str) -> None:
    number = PLAN.quick(raw)
    if number is not None:
        assert number == normalise(raw, "CN")


def test_quick_takes_the_common_shapes() -> None:
    for raw in ["+86 138 0013 8000", "138-0013-8000", "(+86) 13800138000", "+86 20 8888 8888"]:
        want = normalise(raw, "CN")
        assert isinstance(want, E164) and PLAN.quick(raw) == want
    for raw in [" 13800138000", "'13800138000", "0086 13800138000", "020-8888-8888"]:
        assert PLAN.quick(raw) is None


@agreement
@given(st.lists(st.one_of(bodies(), digit_strings, st.sampled_from(SHORT_CODES)), max_size=30))
def test_normalise_many_agrees_on_bare_digits(raws: list[str]) -> None:
    """Bare digits take normalise_many's shortest path (no clean, no decide)."""
    assert normalise_many(raws, "CN") == [normalise(raw, "CN") for raw in raws]


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
    columns = list(zip(*normalise_columns(cells, "CN"), strict=True))
    as_columns = [_column(reference[raw]) for raw in cells]
    wrong_columns = [
        (raw, want, got)
        for raw, want, got in zip(cells, as_columns, columns, strict=True)
        if got != want
    ]
    elapsed = time.perf_counter() - start
    print(f"\n{count:,} cells ({len(distinct):,} distinct) compared in {elapsed:.1f} s")
    assert not disagreements, disagreements[:20]
    assert checked == count
    assert not wrong_columns, wrong_columns[:20]


def _column(result: E164 | Rejected) -> tuple[str | None, bool, str | None]:
    if isinstance(result, E164):
        return result.value, result.is_mobile, None
    return None, False, result.reason.value


@agreement
@given(
    st.lists(st.one_of(messy_cells(), phoneish_text, st.sampled_from(SHORT_CODES)), max_size=30),
    regions,
)
def test_normalise_columns_is_normalise_on_each_cell(raws: list[str], region: str) -> None:
    """The tables of the common shapes answer as the reference does, cell by cell."""
    got = list(zip(*normalise_columns(raws, region), strict=True)) if raws else []
    assert got == [_column(normalise(raw, region)) for raw in raws]


def test_normalise_columns_reads_the_common_shapes_from_its_tables() -> None:
    """The shapes lists are made of are answered without the full path, and right."""
    shapes = [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+8613800138000",
        "(138) 0013 8000",
        "'13800138000",
        "0086 13800138000",
        "0086-138-0013-8000",
    ]
    columns = fastphone._COLUMNS["CN"]
    for raw in shapes:
        text = raw if raw[0] not in "'0" else fastphone.clean(raw)
        assert columns.number(text) == ("+8613800138000", True), raw
    assert list(zip(*normalise_columns(shapes), strict=True)) == [
        ("+8613800138000", True, None)
    ] * len(shapes)
    # A fixed line (national prefix 0) and an invalid number are left to the full path.
    assert columns.number("02083331234") is None
    assert columns.number("12345678901") is None
