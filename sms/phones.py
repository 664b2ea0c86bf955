"""Phone numbers as people type them in Nigeria, normalised to E.164.

A household is found by its phone number, so every spelling of one number ("0803 123 4567",
"+234 803 123 4567", "2348031234567", text pasted with invisible characters) must become one key,
and anything that is not a valid number must be refused rather than guessed at. phonenumbers
knows the numbering plans; this module only decides what text it is shown. phonenumbers reads
letters as keypad digits and drops trailing junk, so a number here may contain only digits,
spaces, dashes, dots, parentheses and one leading '+'.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import phonenumbers

DEFAULT_REGION = "NG"

_SEPARATORS = frozenset("-.()")
_PLUS = frozenset("+\uff0b")  # '+' and the full-width plus some keyboards produce
_MIN_PHONE_DIGITS = 7
_ASCII_DIGITS = frozenset("0123456789")
# Numbers met lately, normalised once (every text names its sender's, and a LOG a household's).
_CACHED = 4096


@lru_cache(maxsize=_CACHED)
def _compact(text: str) -> str | None:
    """The number as ASCII digits with an optional leading '+', or None if it holds anything else.

    Invisible characters (zero-width spaces, joiners, direction marks: Unicode category Cf) are
    dropped, any whitespace and any dash are separators, and decimal digits of any script become
    ASCII digits.
    """
    bare = text.removeprefix("+")
    if bare and _ASCII_DIGITS.issuperset(bare):  # the usual case, at once
        return text
    out: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace() or category in ("Cf", "Pd") or char in _SEPARATORS:
            continue
        if char in _PLUS:
            if out:  # a '+' only opens the number
                return None
            out.append("+")
        elif category == "Nd":
            out.append(str(unicodedata.decimal(char)))
        else:
            return None
    digits = "".join(out).removeprefix("+")
    return "".join(out) if digits else None


def _e164_if_valid(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=_CACHED)
def normalise_phone(text: str, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 form of ``text`` ("+2348031234567"), or None if it is not a valid phone number.

    A number without '+' is read as national for ``region``; if that is not valid and it starts
    with the region's country code ("2348031234567"), it is read as international. Never raises.
    """
    compact = _compact(text)
    if compact is None:
        return None
    region = region.upper()
    if compact.startswith("+"):
        return _e164_if_valid(compact, None)
    national = _e164_if_valid(compact, region)
    if national is not None:
        return national
    country_code = phonenumbers.country_code_for_region(region)
    if country_code and compact.startswith(str(country_code)):
        return _e164_if_valid("+" + compact, None)
    return None


def looks_like_phone(token: str) -> bool:
    """Whether ``token`` is meant as a phone number: 7 or more digits and only number punctuation.

    Cheap and syntactic: the parser uses it to tell a phone number from a member code, and then
    reports an invalid number as such instead of as an unknown code.
    """
    compact = _compact(token)
    return compact is not None and len(compact.removeprefix("+")) >= _MIN_PHONE_DIGITS


def mask_phone(e164: str) -> str:
    """``e164`` with the middle of the national number hidden: "+2348031234567" -> "+234803***4567".

    For replies that name a household without revealing its number. The country code, the first
    3 and the last 4 national digits stay (of a national number under 8 digits at most the last 2,
    never half); the rest
    becomes one '*' per digit. The result is always plain ASCII (GSM-7 safe). Text that is not a
    number in international form shows at most its last 4 digits.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        digits = "".join(char for char in e164 if char in "0123456789")
        return "***" + digits[-4:] if len(digits) >= 8 else "***"
    national = phonenumbers.national_significant_number(number)
    head, tail = (3, 4) if len(national) >= 8 else (0, min(2, len(national) // 2))
    shown_tail = national[len(national) - tail :]
    return f"+{number.country_code}{national[:head]}{'*' * (len(national) - head - tail)}{shown_tail}"
