"""Phone numbers become E.164 value objects at the edge; the domain never handles raw strings.

`normalise` is the reference: every decision about what a raw cell means is made here, on
top of phonenumbers. `campaigns.fastphone` is a faster path that must agree with it on every
input, so a change to the rules below must be mirrored there (its differential tests will
say so if it is not).

How a raw cell is read:

- NFKC folds full-width digits, plus signs and punctuation (１３８, ＋, （）) into ASCII.
- A leading apostrophe (Excel's "keep as text" marker) and surrounding blanks are dropped.
- A leading ``00`` is the international prefix and reads as ``+``; ``86`` in front of a
  national number is recognised by phonenumbers when the rest is a possible number.
- Spreadsheet formulas (``=HYPERLINK("tel:…")``, ``="138…"``) are rejected: the cell holds
  an expression, not the number, and its text is not what a person typed.
- An extension is read and dropped from the E.164 result: ``ext 12``, ``x12``, ``#12``,
  ``转8001``, ``分机8001``. A trailing dash group (``13800138000-8001``,
  ``010-12345678-801``) is ambiguous; it is read as an extension only when the digits taken
  together are not a valid number and the digits before the last dash are, which is how
  Chinese lists write 总机-分机.
- A valid number wins; otherwise a valid short number for the region (10086, 95588, 12345,
  110) is SHORT_CODE; anything else is INVALID_NUMBER.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

from campaigns.model import ExclusionReason

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

# phonenumbers knows "ext", "x" and "#" but not the words Chinese lists use for an extension.
_EXTENSION_WORDS = re.compile(r"\s*(?:转|分机|分機)\s*")

#: A trailing "-digits" group that may be an extension (see the module docstring).
DASH_EXTENSION = re.compile(r"(.*\d)\s*-\s*(\d{1,6})")


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


def clean(raw: str) -> str:
    """The text phonenumbers is given for a raw cell (empty when nothing is left)."""
    text = unicodedata.normalize("NFKC", raw).strip()
    # Excel's "keep as text" marker.
    text = text.lstrip("'").strip()
    if not text.isascii():  # the extension words are not, and most cells are
        text = _EXTENSION_WORDS.sub(" ext ", text)
    if text.startswith("00"):
        # 00 is the international prefix in China and most of the world; phonenumbers only
        # recognises the default region's own prefix, and US branches dial 011.
        text = "+" + text[2:]
    return text


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _valid(parsed: phonenumbers.PhoneNumber | None) -> E164 | None:
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        return None
    return E164(
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        is_mobile=phonenumbers.number_type(parsed) in _MOBILE_TYPES,
    )


def normalise(raw: str, region: str = "CN") -> E164 | Rejected:
    """Parse a raw number as typed by a person or exported by a spreadsheet."""
    # Settings may spell the region in lower case; the short-number check would miss it.
    region = region.upper()
    text = clean(raw)
    if not text or text.startswith("="):
        return Rejected(raw, ExclusionReason.INVALID_NUMBER)
    parsed = _parse(text, region)
    number = _valid(parsed)
    if number is not None:
        return number
    dashed = DASH_EXTENSION.fullmatch(text)
    if dashed is not None:
        number = _valid(_parse(dashed.group(1), region))
        if number is not None:
            return number
    if parsed is not None and shortnumberinfo.is_valid_short_number_for_region(parsed, region):
        return Rejected(raw, ExclusionReason.SHORT_CODE)
    return Rejected(raw, ExclusionReason.INVALID_NUMBER)


def mask(number: str) -> str:
    """Mask a phone number for reports and logs: +8613800138000 -> 138****8000."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if number.startswith("+86") or (digits.startswith("86") and len(digits) == 13):
        digits = digits[2:]
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


#: A phone number inside free text: +86/86 and a mainland mobile, or any E.164 number.
_NUMBER_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d{9}(?!\d)|\+\d{8,15}(?!\d)")


def mask_numbers(text: str) -> str:
    """Mask every phone number found in free text, such as an agent's note."""
    return _NUMBER_IN_TEXT.sub(lambda m: mask(m.group(0)), text)


def time_zones(number: str) -> tuple[str, ...]:
    """Every candidate IANA zone of a number; a call must be allowed in all of them."""
    from phonenumbers import timezone as pn_timezone

    parsed = phonenumbers.parse(number, None)
    # phonenumbers answers 'Etc/Unknown' (not an IANA zone) for ranges it cannot place.
    found = pn_timezone.time_zones_for_number(parsed)
    zones = tuple(z for z in found if "/" in z and z != "Etc/Unknown")
    return zones or ("Asia/Shanghai",)
