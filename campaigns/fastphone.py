"""A fast path for `campaigns.phone.normalise`: the same answer for every input, quicker.

Most list cells are Chinese numbers written with ordinary separators: ``138 0013 8000``,
``+86-138-0013-8000``, ``0086 13800138000``, ``(020) 8888 8888``, full-width digits, an
apostrophe in front, now and then ``ext 12`` or ``#12`` after. Once `campaigns.phone.clean`
has run, such a cell is drawn from a narrow alphabet (ASCII digits, one leading ``+``,
blanks, dashes, dots, parentheses), and for that alphabet phonenumbers' parse, validation
and E.164 formatting reduce to a few steps on the digit string: the ``+`` or the country
code written without it, the international prefix, the national prefix (0) or a carrier
code, and length checks. This module replays exactly those steps with the region's own
metadata (number patterns, possible lengths, prefixes, short-number patterns), compiled
once at import, so a metadata update moves both paths together.

Anything else, or anything the replay cannot settle without more of phonenumbers' logic
(letters, other extension forms, two-digit cells, an international prefix, a leading zero
after the prefix, a country code other than the region's own, regions without a plan),
goes to the reference. tests/unit/test_fastphone.py compares the two paths on a million
generated cells.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

from campaigns.model import ExclusionReason
from campaigns.phone import DASH_EXTENSION, E164, Rejected, clean, normalise

# Regions the replay has been checked against the reference for; others use the reference.
FAST_REGIONS = ("CN",)

# The alphabet the replay understands: phonenumbers skips anything before the first "+" or
# digit, and the only punctuation allowed after it is what it strips without meaning.
_SHAPE = re.compile(r"\(*(\+)?([0-9][0-9 ().\-]*)")
# An explicit extension after the number: phonenumbers drops it (the earliest place its
# extension pattern can match is the blanks before the marker) and parses what precedes.
_EXTENSION = re.compile(r"(.*\d) *(?:ext|#) *\d{1,9}")
# phonenumbers needs two digits (any script: its patterns use \d) to read a number at all,
# and so does DASH_EXTENSION.
_TWO_DIGITS = re.compile(r"\d\D*\d")
_NEVER = re.compile(r"(?!)")

# Bounds phonenumbers applies while parsing (phonenumberutil._MAX_INPUT_STRING_LENGTH etc.).
_MAX_INPUT_LENGTH = 250
_MIN_NSN_LENGTH = 2
_MAX_NSN_LENGTH = 17


class _Uncertain(Exception):
    """The replay cannot settle this text; the reference must."""


@dataclass(frozen=True, slots=True)
class _Desc:
    """One PhoneNumberDesc: its pattern and the lengths it may take (empty: any)."""

    pattern: str
    lengths: frozenset[int]

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> _Desc | None:
        # A desc without a pattern never matches (phonenumbers' _match_national_number).
        if desc is None or not desc.national_number_pattern:
            return None
        return cls(desc.national_number_pattern, frozenset(desc.possible_length))

    def allows(self, length: int) -> bool:
        # As phonenumbers' _is_number_matching_desc: lengths first, when there are any.
        return not self.lengths or length in self.lengths


def _alternatives(descs: Iterable[_Desc]) -> str:
    return "|".join(f"(?:{d.pattern})" for d in descs)


def _type_pattern(
    length: int,
    general: _Desc,
    non_geographic: Sequence[_Desc],
    fixed_line: _Desc | None,
    mobile: _Desc | None,
    same_mobile_and_fixed_line: bool,
) -> re.Pattern[str] | None:
    """phonenumbers' _number_type_helper for numbers of one length, as one regex.

    Alternatives of a regex are tried in order and fullmatch takes the first that matches
    the whole number, so the named group that matched is the type number_type would return:
    "other" (premium rate, toll free, shared cost, ...), "both" (fixed line or mobile),
    "fixed" or "mobile". No match means UNKNOWN, i.e. invalid.
    """
    if not general.allows(length):
        return None
    others = [d for d in non_geographic if d.allows(length)]
    fixed = fixed_line if fixed_line is not None and fixed_line.allows(length) else None
    mob = mobile if mobile is not None and mobile.allows(length) else None
    branches = []
    if others:
        branches.append(f"(?P<other>{_alternatives(others)})")
    if fixed is not None:
        if same_mobile_and_fixed_line:
            branches.append(f"(?P<both>{_alternatives([fixed])})")
        else:
            if mob is not None:
                branches.append(f"(?P<both>(?=(?:{mob.pattern})\\Z){_alternatives([fixed])})")
            branches.append(f"(?P<fixed>{_alternatives([fixed])})")
    if mob is not None and not same_mobile_and_fixed_line:
        branches.append(f"(?P<mobile>{_alternatives([mob])})")
    if not branches:
        return None
    return re.compile(f"(?=(?:{general.pattern})\\Z)(?:{'|'.join(branches)})")


def _length_verdict(length: int, possible: Sequence[int], local_only: Collection[int]) -> str:
    # phonenumbers' _test_number_length for an unknown type, outcome by outcome.
    if length in local_only:
        return "local-only"
    if length == possible[0]:
        return "possible"
    if length < possible[0]:
        return "too-short"
    if length > possible[-1]:
        return "too-long"
    return "possible" if length in possible[1:] else "invalid-length"


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the replay needs to know about one region, taken from phonenumbers' metadata."""

    country_code: str
    e164_prefix: str
    general: re.Pattern[str]
    # Lengths whose _test_number_length verdict lets parse keep a stripped national prefix,
    # and those it calls too long.
    strip_lengths: frozenset[int]
    too_long_lengths: frozenset[int]
    types_by_length: dict[int, re.Pattern[str]]
    international_prefix: re.Pattern[str]
    national_prefix: re.Pattern[str]
    short_code_by_length: dict[int, tuple[re.Pattern[str], re.Pattern[str]]]

    @classmethod
    def build(cls, region: str) -> _Plan | None:
        """A plan for the region, or None when the replay's assumptions do not hold there."""
        meta = PhoneMetadata.metadata_for_region(region)
        short = PhoneMetadata.short_metadata_for_region(region)
        if meta is None or short is None or meta.country_code is None:
            return None
        if meta.general_desc is None or not meta.general_desc.possible_length:
            return None
        code = str(meta.country_code)
        # A shared country code makes validity depend on which region the number is from,
        # and a code that extends a shorter one would be split differently.
        if COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code) != (region,) or any(
            int(code[:i]) in COUNTRY_CODE_TO_REGION_CODE for i in range(1, len(code))
        ):
            return None
        # A transform rule rewrites the national number; the replay only strips prefixes.
        if meta.national_prefix_transform_rule:
            return None
        general = _Desc.of(meta.general_desc)
        if general is None:
            return None
        possible = tuple(meta.general_desc.possible_length)
        non_geographic = [
            d
            for d in map(
                _Desc.of,
                (
                    meta.premium_rate,
                    meta.toll_free,
                    meta.shared_cost,
                    meta.voip,
                    meta.personal_number,
                    meta.pager,
                    meta.uan,
                    meta.voicemail,
                ),
            )
            if d is not None
        ]
        fixed_line, mobile = _Desc.of(meta.fixed_line), _Desc.of(meta.mobile)
        short_general, short_code = _Desc.of(short.general_desc), _Desc.of(short.short_code)
        every = [general, *non_geographic, fixed_line, mobile, short_general, short_code]
        # Named groups wrap each pattern; a capturing group of its own would confuse them.
        if any(d is not None and re.compile(d.pattern).groups for d in every):
            return None
        lengths = range(_MAX_INPUT_LENGTH + 1)
        local_only = frozenset(meta.general_desc.possible_length_local_only)
        verdicts = {n: _length_verdict(n, possible, local_only) for n in lengths}
        same = bool(meta.same_mobile_and_fixed_line_pattern)
        types = {
            n: pattern
            for n in lengths
            if (pattern := _type_pattern(n, general, non_geographic, fixed_line, mobile, same))
        }
        shorts = {}
        if short_general is not None and short_code is not None:
            pair = (re.compile(short_general.pattern), re.compile(short_code.pattern))
            shorts = {n: pair for n in lengths if short_general.allows(n) and short_code.allows(n)}
        return cls(
            country_code=code,
            e164_prefix="+" + code,
            general=re.compile(general.pattern),
            strip_lengths=frozenset(
                n
                for n, v in verdicts.items()
                if v not in ("too-short", "local-only", "invalid-length")
            ),
            too_long_lengths=frozenset(n for n, v in verdicts.items() if v == "too-long"),
            types_by_length=types,
            international_prefix=(
                re.compile(meta.international_prefix) if meta.international_prefix else _NEVER
            ),
            national_prefix=(
                re.compile(meta.national_prefix_for_parsing)
                if meta.national_prefix_for_parsing
                else _NEVER
            ),
            short_code_by_length=shorts,
        )

    # ------------------------------------------------------------------ parse, replayed

    def _strip_national_prefix(self, number: str) -> str:
        # phonenumbers' _maybe_strip_national_prefix_carrier_code without a transform rule.
        found = self.national_prefix.match(number)
        if found is None:
            return number
        rest = number[found.end() :]
        general = self.general.fullmatch
        if general(number) is not None and general(rest) is None:
            return number
        return rest

    def national_number(self, text: str) -> str | None:
        """The national significant number phonenumbers parses text into; None if it fails."""
        shape = _SHAPE.fullmatch(text)
        if shape is None:
            raise _Uncertain
        digits = shape.group(2)
        if not digits.isdigit():
            digits = (
                digits.replace(" ", "")
                .replace("-", "")
                .replace(".", "")
                .replace("(", "")
                .replace(")", "")
            )
        if len(digits) < 3:
            # Two digits are viable only when nothing separates them.
            raise _Uncertain
        code = self.country_code
        if shape.group(1) is not None:
            if not digits.startswith(code):
                raise _Uncertain
            number = digits[len(code) :]
        else:
            if self.international_prefix.match(digits):
                raise _Uncertain
            number = digits
            if digits.startswith(code):
                # The default region's country code written without "+": taken off when the
                # digits only make sense without it, or are too long with it.
                rest = self._strip_national_prefix(digits[len(code) :])
                general = self.general.fullmatch
                if (general(digits) is None and general(rest) is not None) or len(
                    digits
                ) in self.too_long_lengths:
                    number = rest
        if len(number) < _MIN_NSN_LENGTH:
            return None
        stripped = self._strip_national_prefix(number)
        if len(stripped) in self.strip_lengths:
            number = stripped
        if len(number) > _MAX_NSN_LENGTH:
            return None
        if number[0] == "0":
            # Italian-style leading zeros are kept by phonenumbers; not replayed here.
            raise _Uncertain
        return number

    # ------------------------------------------------------------------ validation, replayed

    def valid(self, nsn: str | None) -> E164 | None:
        """The E.164 number when nsn is a valid number of the region."""
        if nsn is None:
            return None
        types = self.types_by_length.get(len(nsn))
        kind = None if types is None else types.fullmatch(nsn)
        if kind is None:
            return None
        return E164(self.e164_prefix + nsn, is_mobile=kind.lastgroup in ("both", "mobile"))

    def is_short_code(self, nsn: str) -> bool:
        """phonenumbers' is_valid_short_number_for_region for a number of this region."""
        patterns = self.short_code_by_length.get(len(nsn))
        return (
            patterns is not None
            and patterns[0].fullmatch(nsn) is not None
            and patterns[1].fullmatch(nsn) is not None
        )

    def decide(self, raw: str, text: str) -> E164 | Rejected:
        """The reference's decision for cleaned text, replayed; raises _Uncertain."""
        if len(text) > _MAX_INPUT_LENGTH:
            raise _Uncertain
        extension = _EXTENSION.fullmatch(text) if "#" in text or "ext" in text else None
        nsn = self.national_number(text if extension is None else extension.group(1))
        number = self.valid(nsn)
        if number is not None:
            return number
        if "-" in text:
            dashed = DASH_EXTENSION.fullmatch(text)
            if dashed is not None:
                number = self.valid(self.national_number(dashed.group(1)))
                if number is not None:
                    return number
        if nsn is not None and self.is_short_code(nsn):
            return Rejected(raw, ExclusionReason.SHORT_CODE)
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)


_PLANS = {region: plan for region in FAST_REGIONS if (plan := _Plan.build(region)) is not None}


def _normalise(plan: _Plan | None, raw: str, region: str) -> E164 | Rejected:
    if plan is None:
        return normalise(raw, region)
    text = clean(raw)
    if not text or text[0] == "=":
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)
    try:
        return plan.decide(raw, text)
    except _Uncertain:
        if _TWO_DIGITS.search(text) is None:
            return Rejected(raw, ExclusionReason.INVALID_NUMBER)
        return normalise(raw, region)


def normalise_fast(raw: str, region: str = "CN") -> E164 | Rejected:
    """Exactly `campaigns.phone.normalise`, faster on the shapes most cells take."""
    return _normalise(_PLANS.get(region.upper()), raw, region)


def normalise_many(raws: Iterable[str], region: str = "CN") -> list[E164 | Rejected]:
    """Normalise a column of cells; a cell repeated in the column is read once."""
    plan = _PLANS.get(region.upper())
    seen: dict[str, E164 | Rejected] = {}
    results: list[E164 | Rejected] = []
    for raw in raws:
        result = seen.get(raw)
        if result is None:
            result = seen[raw] = _normalise(plan, raw, region)
        results.append(result)
    return results
