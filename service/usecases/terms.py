"""The programme's terms: what TERMS answers by SMS and /terms shows. The operator's own words
(``PROGRAMME_TERMS``), or by default what a point is worth, how a receipt is disputed, how texts
are stopped, and where the rest is read."""

from __future__ import annotations

from typing import NamedTuple

from service.settings import Settings


class Terms(NamedTuple):
    own: str  # the operator's text; empty for the default
    naira_per_point: str  # "1", "0.50"
    dispute_hours: int
    url: str  # where the whole terms are read


def naira(kobo: int) -> str:
    """Kobo as naira the way a price is written: 100 -> "1", 50 -> "0.50", 150 -> "1.50"."""
    whole, rest = divmod(kobo, 100)
    return f"{whole}.{rest:02d}" if rest else str(whole)


def terms(settings: Settings) -> Terms:
    base = settings.public_base_url
    return Terms(
        own=settings.programme_terms,
        naira_per_point=naira(settings.kobo_per_point),
        dispute_hours=settings.dispute_window_hours,
        url=f"{base}/terms" if base else "/terms",
    )
