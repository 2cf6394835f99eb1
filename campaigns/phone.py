"""Phone numbers become E.164 value objects at the edge; the domain never handles raw strings."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

from campaigns.model import ExclusionReason

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


@dataclass(frozen=True, slots=True)
class E164:
    """A validated phone number in E.164 form, e.g. +8613800138000."""

    value: str
    is_mobile: bool

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Rejected:
    """A raw input that is not a callable number, with the reason."""

    raw: str
    reason: ExclusionReason


def _clean(raw: str) -> str:
    # NFKC folds full-width digits and plus signs (１３８, ＋) into ASCII.
    text = unicodedata.normalize("NFKC", raw).strip()
    # Excel keeps long numbers as text by prefixing an apostrophe.
    text = text.lstrip("'").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def normalise(raw: str, region: str = "CN") -> E164 | Rejected:
    """Parse a raw number as typed by a person or exported by a spreadsheet."""
    text = _clean(raw)
    if not text:
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)
    if not phonenumbers.is_valid_number(parsed):
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)
    kind = phonenumbers.number_type(parsed)
    return E164(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        is_mobile=kind in _MOBILE_TYPES,
    )


def mask(number: str) -> str:
    """Mask a phone number for reports and logs: +8613800138000 -> 138****8000."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.startswith("+86") or (digits.startswith("86") and len(digits) == 13):
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def time_zones(number: str) -> tuple[str, ...]:
    """Every candidate IANA zone of a number; a call must be allowed in all of them."""
    from phonenumbers import timezone as pn_timezone

    parsed = phonenumbers.parse(number, None)
    zones = tuple(z for z in pn_timezone.time_zones_for_number(parsed) if "/" in z)
    return zones or ("Asia/Shanghai",)
