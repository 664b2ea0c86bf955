"""GSM-7 and SMS segment counting, because every text we send costs money.

A message in the GSM 03.38 default alphabet carries 160 septets; a single character outside it
(a smart quote, a Yoruba ọ, an emoji) switches the whole message to UCS-2, which carries only 70.
Long messages are split into parts that each lose room to a concatenation header. ``segments``
counts parts the way carriers bill them; ``to_gsm7`` makes values typed by people safe to put in
a GSM-7 reply while losing as little as possible.

Standard library only, like the rest of ``sms``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

# GSM 03.38 default alphabet, in table order (0x00-0x7F). Position 0x1B is the escape to the
# extension table, not a character anyone can send, so it is left out.
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039eÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# Sent as escape + code, so each costs two septets.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")

_GSM7 = GSM7_BASIC | GSM7_EXTENSION

_SINGLE_GSM7 = 160
_PART_GSM7 = 153  # 7 septets go to the concatenation header
_SINGLE_UCS2 = 70
_PART_UCS2 = 67  # 3 code units go to the concatenation header

# Look-alikes people (and phones, and word processors) type; mapping them keeps the meaning where
# decomposition would drop them or change nothing.
LOOKALIKES: dict[str, str] = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2026": "...",
    "\u2044": "/",  # fraction slash, so that NFKD's ½ reads 1/2 rather than 12
    "\u20a6": "NGN",
    "\t": " ",
    "\u2028": "\n",
    "\u2029": "\n",
}


def is_gsm7(text: str) -> bool:
    """Whether the whole text can be sent in GSM-7 (extension characters included)."""
    return all(ch in _GSM7 for ch in text)


@dataclass(frozen=True)
class Segments:
    encoding: Encoding  # "GSM-7" or "UCS-2"
    count: int  # number of SMS parts
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2) in the whole message


def _count_parts(costs: list[int], single: int, part: int) -> int:
    if sum(costs) <= single:
        return 1
    # A character costing two units (escape pair, surrogate pair) is never split between parts,
    # so when it does not fit the rest of a part is left empty and it opens the next one.
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count += 1
            used = 0
        used += cost
    return count


def _septets(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def septets(text: str) -> int:
    """What ``text`` (GSM-7) costs in a message: one septet a character, two for those of the
    extension table (``[``, ``~``, the euro sign...)."""
    return sum(map(_septets, text))


def segments(text: str) -> Segments:
    """How many SMS parts ``text`` costs, counted as carriers count them."""
    if is_gsm7(text):
        costs = [_septets(ch) for ch in text]
        return Segments("GSM-7", _count_parts(costs, _SINGLE_GSM7, _PART_GSM7), sum(costs))
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return Segments("UCS-2", _count_parts(costs, _SINGLE_UCS2, _PART_UCS2), sum(costs))


def fits(text: str, parts: int = 1) -> bool:
    """Whether ``text`` stays in GSM-7 and takes at most ``parts`` SMS parts."""
    return is_gsm7(text) and segments(text).count <= parts


def _convert_char(ch: str) -> str:
    if ch in _GSM7:
        return ch
    if ch in LOOKALIKES:
        return LOOKALIKES[ch]
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    if category in ("Cf", "Cc", "Cs", "Co", "Cn"):
        # invisible or meaningless on a handset
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", ch):
        if part in _GSM7:
            out.append(part)
        elif part in LOOKALIKES:
            out.append(LOOKALIKES[part])
        elif unicodedata.category(part) == "Zs":
            out.append(" ")
        # combining marks and anything else GSM-7 cannot say are dropped
    return "".join(out)


def _convert(text: str) -> str:
    return "".join(_convert_char(ch) for ch in text)


def to_gsm7(text: str) -> str:
    """``text`` made safe for a GSM-7 template, losing as little as possible.

    GSM-7 characters are kept as they are; typographic quotes, dashes, spaces and ₦ become their
    plain equivalents; other accented letters lose their accents (Yoruba ọ becomes o); invisible
    characters, emoji and other scripts are dropped. Whitespace left at either end by what was
    dropped is stripped; whitespace the text itself began or ended with is kept.
    """
    # Composed first, so that e + combining acute is the GSM-7 é rather than a bare e.
    text = unicodedata.normalize("NFC", text)
    core = text.strip()
    if not core:
        return _convert(text)
    start = text.index(core)
    head, tail = text[:start], text[start + len(core) :]
    return _convert(head) + _convert(core).strip() + _convert(tail)
