"""What a household's recycling means, as a reply says it (IMPACT): each material's kilos, and
how many bottles, cans or sachets that is, in the reply's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .templates import WIDTHS, template
from .wording import kg

# What an item of a material is called (a reply's ``unit_*`` word).
UNITS = ("bottle", "can", "sachet")


@dataclass(frozen=True)
class Recycled:
    """One material's total: its grams, and how many items that is (None: not counted)."""

    material: str
    grams: int
    items: int | None = None
    unit: str | None = None


def about_kg(grams: int) -> str:
    """A rough quantity as people say it: one decimal under 10 kg, whole kilos above, with
    thousands separated: 430 -> "0.4", 12_345 -> "12", 1_234_567 -> "1,235"."""
    if grams <= 0:
        return "0"
    if grams < 9_950:
        tenths = max(1, (grams + 50) // 100)  # a little is never "0"
        whole, tenth = divmod(tenths, 10)
        return f"{whole}.{tenth}" if tenth else str(whole)
    return f"{(grams + 500) // 1000:,}"


@dataclass(frozen=True)
class RecycledList:
    """The materials a household recycled, most first, said in a reply's language ("PET 12.5kg
    (625 bottles), ALU 2kg (134 cans)") within ``width``: those that do not fit become "+2"."""

    recycled: Sequence[Recycled]
    width: int = WIDTHS["recycled"]

    def _one(self, line: Recycled, language: str) -> str:
        said = f"{line.material} {kg(line.grams)}kg"
        if line.items and line.unit in UNITS:
            said += f" ({line.items:,} {template(f'unit_{line.unit}', language)})"
        return said

    def say(self, language: str) -> str:
        parts = [self._one(line, language) for line in self.recycled]
        for shown in range(len(parts), 0, -1):
            left = len(parts) - shown
            text = ", ".join(parts[:shown]) + (f" +{left}" if left else "")
            if len(text) <= self.width:
                return text
        return f"{len(parts)}"
