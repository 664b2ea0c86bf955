"""How values are written in a text: kilograms, a pickup's lines, a first name, a short date, a
list cut to fit or into pages, a value shortened at a word. Pure functions, GSM-7 only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from .commands import Line
from .days import say_day
from .gsm import septets, to_gsm7


def kg(grams: int) -> str:
    """Grams as a person writes kilograms: 4500 -> "4.5", 250 -> "0.25", 3000 -> "3"."""
    whole, rest = divmod(grams, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".") if rest else str(whole)


def describe_lines(lines: Sequence[Line], separator: str = ", ") -> str:
    """A pickup's lines as a receipt says them: "PET 4.5kg, ALU 1.2kg"."""
    return separator.join(f"{line.material} {kg(line.grams)}kg" for line in lines)


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def short_date(moment: datetime, zone: tzinfo, language: str = "EN") -> str:
    """A moment as its day in ``zone``, in ``language``: "5 Nov"."""
    return say_day(moment.astimezone(zone).date(), language, weekday=False)


def fit_list(items: Sequence[str], width: int) -> str:
    """Items joined by "; " within ``width`` characters, with "+N more" for those left out."""
    shown: list[str] = []
    for index, item in enumerate(items):
        rest = len(items) - index - 1
        candidate = "; ".join([*shown, item])
        more = f"; +{rest} more" if rest else ""
        if len(candidate) + len(more) > width:
            return "; ".join(shown) + f"; +{len(items) - len(shown)} more" if shown else f"{len(items)} stops"
        shown.append(item)
    return "; ".join(shown)


# What a cut may leave dangling at the end of a value: "12 Adeniyi Road," -> "12 Adeniyi Road".
_TRAILING = " ,;:-/&+."


def shorten(text: str, width: int) -> str:
    """``text`` made GSM-7, on one line, within ``width`` septets: cut after the last whole word
    that fits ("12 Adeniyi Road, Yaba, Lagos" in 20 -> "12 Adeniyi Road"), never in the middle of
    one unless the first word alone is too long, and without the punctuation a cut (or the text
    itself) leaves at the end."""
    words = to_gsm7(text).split()
    kept: list[str] = []
    used = -1  # no space before the first word
    for word in words:
        cost = septets(word) + 1
        if used + cost > width:
            break
        kept.append(word)
        used += cost
    if not kept and words:  # one word longer than the width: as much of it as fits
        first = ""
        for character in words[0]:
            if septets(first + character) > width:
                break
            first += character
        kept = [first]
    return " ".join(kept).rstrip(_TRAILING)


def paginate(items: Sequence[str], width: int, separator: str = "; ") -> list[list[str]]:
    """``items``, in their order, cut into pages: each page as many items as fit in ``width``
    septets once joined by ``separator``, the next page starting with the first that did not fit.
    Every item is on exactly one page; an item too long for a page on its own is shortened to
    fit (``shorten``). Items are expected in GSM-7 already. No items, no pages."""
    pages: list[list[str]] = []
    page: list[str] = []
    used = 0
    gap = septets(separator)
    for item in items:
        if septets(item) > width:
            item = shorten(item, width)
        if page and used + gap + septets(item) > width:
            pages.append(page)
            page, used = [], 0
        used += (gap if page else 0) + septets(item)
        page.append(item)
    if page:
        pages.append(page)
    return pages


# The fewest characters of a quoted text worth showing ("LOG K00.." still says which text).
MIN_QUOTE = 8


def quoted(text: str, reply: str, budget: int = 160) -> str:
    """``reply`` led by the text it answers, ``"LOG K0001E PET 2": OK 7F2K ...``, cut to keep the
    whole within ``budget`` characters (one segment): for an answer that comes late, so the
    person knows which of their texts it is about. The reply alone when there is no room."""
    said = " ".join(to_gsm7(text).replace('"', "'").split())
    room = budget - len(reply) - len('"": ')
    if room < MIN_QUOTE or not said:
        return reply
    if len(said) > room:
        said = said[: room - 2].rstrip() + ".."
    return f'"{said}": {reply}'
