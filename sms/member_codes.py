"""Household member codes: "K", 4 to 9 digits, and a check letter ("K0007" + check letter).

Codes are read out and typed on keypads, and a pickup credited to the wrong household cannot
be taken back quietly, so a mistyped code must be refused, never credited elsewhere. The check
letter is the weighted digit sum (weights 1, 2, ... from the left) modulo the prime 23, as a
letter of a 23-letter alphabet without I, O and Z. Because 23 is prime and larger than every
weight and every digit difference:

- a changed digit changes the sum by w * (d' - d), which is never 0 mod 23;
- two swapped different neighbours a, b change it by a - b, never 0 mod 23;
- a changed check letter names a different value;
- the last digit swapped with the check letter puts a letter among the digits: not a code.

A household number has exactly one code: padded to 4 digits, and without leading zeros beyond.
"""

from __future__ import annotations

import re
import unicodedata

PREFIX = "K"
CHECK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXY"
MIN_DIGITS = 4
MAX_DIGITS = 9

_MODULUS = len(CHECK_ALPHABET)  # 23, a prime greater than MAX_DIGITS and than any digit difference
_SHAPE = re.compile(rf"{PREFIX}([0-9]{{{MIN_DIGITS},{MAX_DIGITS}}})([A-Z])")


def check_letter(digits: str) -> str:
    """The check letter for the digits of a code, e.g. ``check_letter("4821")``."""
    if not (MIN_DIGITS <= len(digits) <= MAX_DIGITS and digits.isascii() and digits.isdigit()):
        raise ValueError(f"a member code has {MIN_DIGITS} to {MAX_DIGITS} digits, not {digits!r}")
    total = sum(weight * int(digit) for weight, digit in enumerate(digits, start=1))
    return CHECK_ALPHABET[total % _MODULUS]


def member_code(number: int) -> str:
    """The code of household ``number`` (1 to 999999999): ``member_code(7) == "K0007" + check``."""
    if isinstance(number, bool) or not 1 <= number < 10**MAX_DIGITS:
        raise ValueError(f"a household number is 1 to {10**MAX_DIGITS - 1}, not {number!r}")
    digits = str(number).zfill(MIN_DIGITS)
    return f"{PREFIX}{digits}{check_letter(digits)}"


def _shape(text: str) -> re.Match[str] | None:
    """Match ``text`` against the code's shape, forgiving case, spaces, dashes and invisibles."""
    kept = "".join(
        char for char in text if not (char.isspace() or unicodedata.category(char) in ("Cf", "Pd"))
    )
    if not kept.isascii():  # before upper(): the long s (U+017F) upper-cases to "S"
        return None
    return _SHAPE.fullmatch(kept.upper())


def looks_like_member_code(text: str) -> bool:
    """Whether ``text`` has the shape of a code (K, 4 to 9 digits, a letter), right check or not.

    Lets the parser answer "No member K4812. Check the code." rather than not understanding.
    """
    return _shape(text) is not None


def parse_member_code(text: str) -> str | None:
    """The canonical code typed as ``text`` ("k 4821-x" -> "K4821X"), or None unless it checks.

    None too for a code padded beyond 4 digits ("K00007..."): one household, one code.
    """
    match = _shape(text)
    if match is None:
        return None
    digits, letter = match.groups()
    if len(digits) > MIN_DIGITS and digits.startswith("0"):
        return None
    if check_letter(digits) != letter:
        return None
    return f"{PREFIX}{digits}{letter}"


def member_number(code: str) -> int:
    """The household number of a valid canonical code: ``member_number(member_code(n)) == n``."""
    if parse_member_code(code) != code:
        raise ValueError(f"not a valid canonical member code: {code!r}")
    return int(code[len(PREFIX) : -1])


def mask_code(code: str) -> str:
    """A member code as CHECK shows it to anyone: enough to recognise one's own, not to use."""
    return code[0] + "*" * (len(code) - 3) + code[-2:]
