"""How values are written in a text: kilograms, a pickup's lines, a first name, a short date, a
list cut to fit. Pure functions, GSM-7 only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from .commands import Line
from .gsm import to_gsm7


def kg(grams: int) -> str:
    """Grams as a person writes kilograms: 4500 -> "4.5", 250 -> "0.25", 3000 -> "3"."""
    whole, rest = divmod(grams, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".") if rest else str(whole)


def describe_lines(lines: Sequence[Line], separator: str = ", ") -> str:
    """A pickup's lines as a receipt says them: "PET 4.5kg, ALU 1.2kg"."""
    return separator.join(f"{line.material} {kg(line.grams)}kg" for line in lines)


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def short_date(moment: datetime, zone: tzinfo) -> str:
    """A moment as its day in ``zone``: "5 Nov"."""
    return moment.astimezone(zone).strftime("%d %b").lstrip("0")


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
