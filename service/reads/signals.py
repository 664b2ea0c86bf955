"""Signals on pickups (issue 24): measures that say a pickup may not be what it claims, each with
its reason in words. A collector paid on the kilos they log has a reason to round up, to log
pickups that never happened, or to log them faster than a cargo bike moves.

Each signal is a measure, flagged above (or, for time between pickups, below) the programme's own
percentile of that measure over the last ``WINDOW`` of credited pickups (``SIGNAL_PERCENTILE``,
99.5 by default): what is unusual here, not a number someone guessed. Until the programme has
``MIN_SAMPLES`` of a measure to learn from, a stated starting point stands in (``STARTING``).

- ``heavy``: the pickup's kg against the household's own median of its pickups before it (at
  least ``MIN_HISTORY`` of them): "18.0 kg, 6.0x this household's usual 3.0 kg".
- ``big_day``: the collector's kg on the pickup's local day, against the other collectors' days:
  "their day: 410 kg, above 99.5% of other collectors' days".
- ``too_fast``: seconds since the collector's previous pickup at another household the same
  day: "40 s after their pickup at another household".
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.models import collections_t, collectors_t, households_t

WINDOW = timedelta(days=90)
MIN_SAMPLES = 50  # of a measure, before its percentile is trusted
MIN_DAYS = 30  # collectors' days, the same
MIN_HISTORY = 3  # a household's pickups before one can be compared with them
HISTORY = 10  # the household's latest pickups its median is taken over
CREDITED = "credited"
# Until a measure has MIN_SAMPLES: a pickup 4 times the household's usual, a collector's day of
# 300 kg (about three cargo-bike loads), or two households a minute apart.
STARTING = {"heavy": 4.0, "big_day": 300_000.0, "too_fast": 60.0}


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


class Pickup(NamedTuple):
    id: int
    reference: str | None
    collector_id: int
    household_id: int
    occurred_at: datetime
    grams: int


@dataclass(frozen=True)
class Measures:
    """Each pickup's measures, from one read of the window's credited pickups."""

    heavy: dict[int, tuple[float, int]] = field(default_factory=dict)  # id -> (ratio, usual grams)
    day_of: dict[int, tuple[int, date]] = field(default_factory=dict)  # id -> (collector, local day)
    days: dict[tuple[int, date], int] = field(default_factory=dict)  # (collector, day) -> grams
    gap: dict[int, float] = field(default_factory=dict)  # id -> seconds since another household's


@dataclass(frozen=True)
class Thresholds:
    heavy: float
    big_day: float  # over every collector's days (what the hub is shown)
    too_fast: float
    samples: dict[str, int]  # how many of each measure they were learned from (0: the starting point)
    # A collector's day is judged against their peers' days only (theirs would hide a habit).
    big_day_for: dict[int, float] = field(default_factory=dict)


class Signal(NamedTuple):
    name: str  # heavy | big_day | too_fast
    reason: str


def measure(pickups: Sequence[Pickup], local: tzinfo) -> Measures:
    """Every pickup's measures (the household's history and the collector's day are the window's)."""
    heavy: dict[int, tuple[float, int]] = {}
    history: dict[int, list[int]] = defaultdict(list)
    days: dict[tuple[int, date], list[Pickup]] = defaultdict(list)
    for pickup in sorted(pickups, key=lambda p: (p.occurred_at, p.id)):
        before = history[pickup.household_id]
        if len(before) >= MIN_HISTORY:
            usual = statistics.median(before[-HISTORY:])
            heavy[pickup.id] = (pickup.grams / usual if usual else math.inf, int(usual))
        before.append(pickup.grams)
        days[(pickup.collector_id, pickup.occurred_at.astimezone(local).date())].append(pickup)
    day_of: dict[int, tuple[int, date]] = {}
    gap: dict[int, float] = {}
    for key, day in days.items():
        for previous, pickup in zip([None, *day[:-1]], day, strict=True):
            day_of[pickup.id] = key
            if previous is not None and previous.household_id != pickup.household_id:
                gap[pickup.id] = (pickup.occurred_at - previous.occurred_at).total_seconds()
    totals = {key: sum(p.grams for p in day) for key, day in days.items()}
    return Measures(heavy, day_of, totals, gap)


def learn(measures: Measures, p: float) -> Thresholds:
    """The ``p``-th percentile of each measure (the ``100 - p``-th of the gaps), where there are
    ``MIN_SAMPLES`` to learn from (``MIN_DAYS`` of days); the starting points elsewhere."""
    learned = {
        "heavy": [ratio for ratio, _ in measures.heavy.values()],
        "big_day": [float(grams) for grams in measures.days.values()],
        "too_fast": list(measures.gap.values()),
    }
    enough = {"heavy": MIN_SAMPLES, "big_day": MIN_DAYS, "too_fast": MIN_SAMPLES}
    found = {}
    for name, values in learned.items():
        if len(values) < enough[name]:
            found[name] = STARTING[name]
        else:
            found[name] = percentile(values, 100 - p) if name == "too_fast" else percentile(values, p)
    samples = {name: (len(values) if len(values) >= enough[name] else 0) for name, values in learned.items()}
    by_collector: dict[int, list[float]] = defaultdict(list)
    for (collector, _), grams in measures.days.items():
        by_collector[collector].append(float(grams))
    everyone = learned["big_day"]
    big_day_for = {}
    for collector, own in by_collector.items():
        peers = len(everyone) - len(own)
        big_day_for[collector] = (
            percentile(_without(everyone, own), p) if peers >= MIN_DAYS else STARTING["big_day"]
        )
    return Thresholds(found["heavy"], found["big_day"], found["too_fast"], samples, big_day_for)


def _without(values: list[float], taken: list[float]) -> list[float]:
    left = sorted(values)
    for value in taken:
        left.remove(value)
    return left


def judge(pickup: Pickup, measures: Measures, thresholds: Thresholds, p: float) -> list[Signal]:
    """The signals a pickup raises, each with its reason in words."""
    found: list[Signal] = []
    if pickup.id in measures.heavy:
        ratio, usual = measures.heavy[pickup.id]
        if ratio > thresholds.heavy:
            found.append(
                Signal(
                    "heavy",
                    f"{sms.kg(pickup.grams)} kg, {ratio:.1f}x this household's usual {sms.kg(usual)} kg",
                )
            )
    key = measures.day_of.get(pickup.id)
    if key is not None:
        day, limit = measures.days[key], thresholds.big_day_for.get(key[0], thresholds.big_day)
        if day > limit:
            found.append(
                Signal("big_day", f"their day: {sms.kg(day)} kg, above {p:g}% of other collectors' days")
            )
    gap = measures.gap.get(pickup.id)
    if gap is not None and gap < thresholds.too_fast:
        found.append(Signal("too_fast", f"{gap:.0f} s after their pickup at another household"))
    return found


def window(session: Session, now: datetime) -> list[Pickup]:
    """The credited pickups of the last ``WINDOW``."""
    rows = session.execute(
        select(
            collections_t.c.id,
            collections_t.c.reference,
            collections_t.c.collector_id,
            collections_t.c.household_id,
            collections_t.c.occurred_at,
            collections_t.c.grams,
        ).where(
            collections_t.c.status == CREDITED,
            collections_t.c.occurred_at >= now - WINDOW,
            collections_t.c.occurred_at <= now,
        )
    ).all()
    return [Pickup(*row) for row in rows]


class Flagged(NamedTuple):
    pickup: Pickup
    collector: str
    member_code: str | None
    signals: list[Signal]


def recent(
    session: Session, now: datetime, local: tzinfo, *, days: int, p: float
) -> tuple[Thresholds, list[Flagged]]:
    """The pickups of the last ``days`` that raise a signal, newest first, with the thresholds."""
    pickups = window(session, now)
    measures = measure(pickups, local)
    thresholds = learn(measures, p)
    since = now - timedelta(days=days)
    collectors = dict(session.execute(select(collectors_t.c.id, collectors_t.c.name)).all())
    codes = dict(session.execute(select(households_t.c.id, households_t.c.member_code)).all())
    flagged = [
        Flagged(
            pickup,
            str(collectors.get(pickup.collector_id, pickup.collector_id)),
            codes.get(pickup.household_id),
            found,
        )
        for pickup in sorted(pickups, key=lambda p: (p.occurred_at, p.id), reverse=True)
        if pickup.occurred_at >= since and (found := judge(pickup, measures, thresholds, p))
    ]
    return thresholds, flagged
