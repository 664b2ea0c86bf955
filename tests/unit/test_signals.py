"""Signals on pickups (``service.usecases.signals``), pure: the percentile, and three months of
synthetic pickups by honest collectors with planted frauds (inflated weights, impossible routes,
an impossible day). Every planted pickup raises its signal, and few honest ones raise any: the
rate is printed (``pytest -s``) and must stay under 2%."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.usecases.signals import MIN_SAMPLES, STARTING, Pickup, judge, learn, measure, percentile

LAGOS = ZoneInfo("Africa/Lagos")
START = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # 08:00 in Lagos
P = 99.9


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200), st.floats(0.01, 100))
def test_the_percentile_is_one_of_the_values_with_enough_at_or_below_it(
    values: list[float], p: float
) -> None:
    found = percentile(values, p)
    assert found in values
    assert sum(value <= found for value in values) >= p / 100 * len(values)
    assert sum(value < found for value in values) < p / 100 * len(values)


class Month:
    """Pickups as a programme makes them: households with their own usual kg, collected weekly by
    their collector, one after another through the morning."""

    def __init__(self, seed: int, collectors: int = 8, households: int = 320, weeks: int = 13) -> None:
        self.rng = random.Random(seed)
        self.pickups: list[Pickup] = []
        self.planted: dict[int, str] = {}  # pickup id -> the signal it must raise
        usual = {h: self.rng.lognormvariate(1.5, 0.4) * 1000 for h in range(households)}  # ~4.5 kg
        rounds = {c: [h for h in range(households) if h % collectors == c] for c in range(collectors)}
        for week in range(weeks):
            for collector, route in rounds.items():
                day = START + timedelta(days=7 * week + collector % 5)
                moment = day
                for household in route:
                    moment += timedelta(seconds=self.rng.uniform(240, 900))  # 4 to 15 minutes
                    grams = max(300, round(usual[household] * self.rng.gauss(1, 0.2), -2))
                    self.add(collector, household, moment, int(grams))

    def add(
        self, collector: int, household: int, at: datetime, grams: int, planted: str | None = None
    ) -> None:
        pickup = Pickup(len(self.pickups) + 1, None, collector, household, at, grams)
        self.pickups.append(pickup)
        if planted:
            self.planted[pickup.id] = planted

    def plant(self) -> None:
        last_week = START + timedelta(days=7 * 13)
        # Inflated weights: collector 0 logs five times what 10 of its households usually give.
        given: dict[int, list[int]] = {}
        for p in self.pickups:
            if p.collector_id == 0:
                given.setdefault(p.household_id, []).append(p.grams)
        for n, household in enumerate(list(given)[:10]):
            inflated = int(statistics.median(given[household]) * 5)
            self.add(0, household, last_week + timedelta(hours=1, minutes=20 * n), inflated, "heavy")
        # An impossible route: collector 1 logs 10 households 20 s apart.
        route = [h for h in range(320) if h % 8 == 1][:10]
        for n, household in enumerate(route):
            self.add(
                1, household, last_week + timedelta(days=1, seconds=20 * n), 4000, "too_fast" if n else None
            )
        # An impossible day: collector 2 logs 120 pickups of 9 kg, one every 5 minutes.
        route = [h for h in range(320) if h % 8 == 2]
        for n in range(120):
            self.add(2, route[n % len(route)], last_week + timedelta(days=2, minutes=5 * n), 9000, "big_day")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_frauds_are_flagged_and_honest_pickups_seldom(seed: int) -> None:
    month = Month(seed)
    thresholds = learn(measure(month.pickups, LAGOS), P)  # learned before, as the nightly job does
    month.plant()
    measures = measure(month.pickups, LAGOS)
    assert all(thresholds.samples[name] >= MIN_SAMPLES for name in STARTING)  # learned, not assumed
    raised = {p.id: {signal.name for signal in judge(p, measures, thresholds, P)} for p in month.pickups}
    caught = [pickup_id for pickup_id, name in month.planted.items() if name in raised[pickup_id]]
    honest = [p.id for p in month.pickups if p.collector_id >= 3]
    false = [pickup_id for pickup_id in honest if raised[pickup_id]]
    recall, false_rate = len(caught) / len(month.planted), len(false) / len(honest)
    print(
        f"\nseed {seed}: planted {len(month.planted)}, caught {len(caught)} (recall {recall:.0%}); honest "
        f"{len(honest)}, flagged {len(false)} ({false_rate:.2%}); thresholds heavy {thresholds.heavy:.2f}x, "
        f"big day {thresholds.big_day:.2f}x the usual day, too fast {thresholds.too_fast:.0f} s"
    )
    assert recall == 1.0
    assert false_rate < 0.02


def test_until_there_is_enough_to_learn_from_the_starting_points_stand() -> None:
    month = Month(7, collectors=2, households=6, weeks=2)
    thresholds = learn(measure(month.pickups, LAGOS), P)
    assert (thresholds.heavy, thresholds.big_day, thresholds.too_fast) == (
        STARTING["heavy"],
        STARTING["big_day"],
        STARTING["too_fast"],
    )
    assert set(thresholds.samples.values()) == {0}


def test_each_signal_says_why_in_words() -> None:
    month = Month(4, collectors=1, households=4, weeks=4)
    household = month.pickups[-1].household_id
    month.add(0, household, month.pickups[-1].occurred_at + timedelta(seconds=30), 40_000)
    measures = measure(month.pickups, LAGOS)
    thresholds = learn(measures, P)
    reasons = {signal.name: signal.reason for signal in judge(month.pickups[-1], measures, thresholds, P)}
    assert reasons["heavy"].startswith("40 kg, ") and "x this household's usual" in reasons["heavy"]
    assert "too_fast" not in reasons  # the same household twice is not a route
