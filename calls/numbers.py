"""Phone numbers in one form, so a caller is recognised however the network spelt them.

Thai numbers become the national form, a `0` and the subscriber digits (0812345678), with
`+66`, `66` and `0066` folded; short codes such as 1169 stay as they are, other international
numbers become `+<digits>`, and anything anonymous or not a number is None. Digit strings
of no known shape (lab trunks) are kept.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-.()/]")
_DIGITS = re.compile(r"\+?[0-9]+")
_THAI_MOBILE = re.compile(r"0[689][0-9]{8}")
_THAI_LANDLINE = re.compile(r"0[2-7][0-9]{7}")
_ANONYMOUS = frozenset(
    {"", "anonymous", "unknown", "<unknown>", "private", "restricted", "unavailable"}
)
_MIN_DIGITS = 3
_MAX_DIGITS = 15  # E.164
_THAI_CC = "66"
_THAI_SUBSCRIBER = (8, 9)  # landline, mobile digits after the trunk prefix 0


def normalise(raw: str | None) -> str | None:
    """The canonical form of a caller number, or None when there is no usable number."""
    if raw is None:
        return None
    text = raw.strip()
    if text.lower() in _ANONYMOUS:
        return None
    text = _SEPARATORS.sub("", text)
    if not _DIGITS.fullmatch(text):
        return None
    international = text.startswith("+")
    digits = text.lstrip("+")
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return None
    if international:
        if digits.startswith(_THAI_CC):
            return _thai_national(digits[len(_THAI_CC) :])
        if digits.startswith("0"):
            return _thai_national(digits)
        return "+" + digits
    if digits.startswith(_THAI_CC) and len(digits) - len(_THAI_CC) in _THAI_SUBSCRIBER:
        return _thai_national(digits[len(_THAI_CC) :])
    return digits


def _thai_national(subscriber: str) -> str | None:
    """`0` + the subscriber digits, tolerating a trunk 0 written after the country code."""
    national = "0" + subscriber.lstrip("0")
    return national if len(national) >= _MIN_DIGITS else None


def is_surveyable(number: str | None) -> bool:
    """Whether the survey may call this number back: a Thai mobile or landline only."""
    national = normalise(number)
    if national is None:
        return False
    return bool(_THAI_MOBILE.fullmatch(national) or _THAI_LANDLINE.fullmatch(national))


def masked(number: str) -> str:
    """A number with all but its last 4 digits hidden, for screens that need to tell calls
    apart but not to call anyone back; short codes (4 digits or fewer) are not personal."""
    if len(number) <= 4:
        return number
    return "•" * (len(number) - 4) + number[-4:]
