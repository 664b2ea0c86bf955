"""Signals on pickups (issue 24): measures that say a pickup may not be what it claims, each with
its reason in words. A collector paid on the kilos they log has a reason to round up, to log
pickups that never happened, or to log them faster than a cargo bike moves.

Each signal is a measure, flagged above (or, for time between pickups, below) the programme's own
percentile of that measure over the last ``WINDOW`` of credited pickups (``SIGNAL_PERCENTILE``,
99.9 by default): what is unusual here, not a number someone guessed. Until the programme has
``MIN_SAMPLES`` of a measure to learn from, a stated starting point stands in (``STARTING``).

- ``heavy``: the pickup's kg against the household's own median of its pickups before it (at
  least ``MIN_HISTORY`` of them): "18.0 kg, 6.0x this household's usual 3.0 kg".
- ``big_day``: the collector's kg on the pickup's local day, as a multiple of the usual
  collector's day (the median of every collector's days in the ``USUAL_DAYS`` before it, so a
  programme that grows does not flag its own growth): "their day: 410 kg, 2.1x the usual
  collector's day of 195 kg".
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
# Until a measure has MIN_SAMPLES: a pickup 4 times the household's usual, a collector's day 2.5
# times the usual collector's day, or two households a minute apart.
STARTING = {"heavy": 4.0, "big_day": 2.5, "too_fast": 60.0}
USUAL_DAYS = timedelta(days=28)
# A percentile flags the same share of any programme's pickups however honest they are: past it,
# a pickup is a signal (kept, and shown on the scorecard). It is held only when it is also past
# these lines, where a measure stops being a programme's ordinary spread: 2.5 times the
# household's usual, twice the usual collector's day, two households within a minute. A programme
# whose own spread is wider is held at its own percentile.
HOLD_BEYOND = {"heavy": 2.5, "big_day": 2.0, "too_fast": 60.0}
# Before any collector's day is known, a day of 300 kg (about three cargo-bike loads) is big.
STARTING_DAY = 300_000


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
    # (collector, day) -> (its grams / the usual collector's day before it, that usual day's grams)
    day_ratio: dict[tuple[int, date], tuple[float, int]] = field(default_factory=dict)
    usual_day: int | None = None  # the usual collector's day over the window's last USUAL_DAYS


@dataclass(frozen=True)
class Thresholds:
    heavy: float
    big_day: float  # a multiple of the usual collector's day
    too_fast: float
    samples: dict[str, int]  # how many of each measure they were learned from (0: the starting point)
    usual_day: int | None = None  # grams: the median collector's day of the last USUAL_DAYS


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
    ratios, usual_day = _day_ratios(totals)
    return Measures(heavy, day_of, totals, gap, ratios, usual_day)


def _day_ratios(
    totals: dict[tuple[int, date], int],
) -> tuple[dict[tuple[int, date], tuple[float, int]], int | None]:
    """Each collector's day against the median of every collector's days in the ``USUAL_DAYS``
    before it (none before: no ratio), and the median of the last ``USUAL_DAYS`` of all."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for (_, day), grams in totals.items():
        by_day[day].append(grams)
    ordered = sorted(by_day)
    span = USUAL_DAYS.days
    ratios: dict[tuple[int, date], tuple[float, int]] = {}
    usual_before: dict[date, int] = {}
    for day in ordered:
        earlier = [g for d in ordered if day - timedelta(days=span) <= d < day for g in by_day[d]]
        if earlier:
            usual_before[day] = int(statistics.median(earlier))
    for (collector, day), grams in totals.items():
        usual = usual_before.get(day)
        if usual:
            ratios[(collector, day)] = (grams / usual, usual)
    if not ordered:
        return ratios, None
    last = [g for d in ordered if d > ordered[-1] - timedelta(days=span) for g in by_day[d]]
    return ratios, int(statistics.median(last))


def learn(measures: Measures, p: float) -> Thresholds:
    """The ``p``-th percentile of each measure (the ``100 - p``-th of the gaps), where there are
    ``MIN_SAMPLES`` to learn from (``MIN_DAYS`` of days); the starting points elsewhere."""
    learned = {
        "heavy": [ratio for ratio, _ in measures.heavy.values()],
        "big_day": [ratio for ratio, _ in measures.day_ratio.values()],
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
    return Thresholds(found["heavy"], found["big_day"], found["too_fast"], samples, measures.usual_day)


def heavy_reason(grams: int, ratio: float, usual: int) -> str:
    return f"{sms.kg(grams)} kg, {ratio:.1f}x this household's usual {sms.kg(usual)} kg"


def big_day_reason(day: int, ratio: float, usual: int) -> str:
    return f"their day: {sms.kg(day)} kg, {ratio:.1f}x the usual collector's day of {sms.kg(usual)} kg"


def judge(pickup: Pickup, measures: Measures, thresholds: Thresholds, p: float) -> list[Signal]:
    """The signals a pickup raises, each with its reason in words."""
    found: list[Signal] = []
    if pickup.id in measures.heavy:
        ratio, usual = measures.heavy[pickup.id]
        if ratio > thresholds.heavy:
            found.append(Signal("heavy", heavy_reason(pickup.grams, ratio, usual)))
    key = measures.day_of.get(pickup.id)
    if key is not None:
        day = measures.days[key]
        ratio, usual = measures.day_ratio.get(key, (0.0, 0))
        if usual and ratio > thresholds.big_day:
            found.append(Signal("big_day", big_day_reason(day, ratio, usual)))
        elif not usual and day > STARTING_DAY:
            found.append(Signal("big_day", f"their day: {sms.kg(day)} kg, above {sms.kg(STARTING_DAY)} kg"))
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
