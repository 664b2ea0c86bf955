"""The programme's reference data as values: collection days and hours, points per line, the
next collection day in Lagos (not in UTC), and how a zone's days are said in a welcome."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from random import Random
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.timetable import next_collection_day
from service.usecases import CatalogueError
from service.usecases.catalogue import points_for
from service.usecases.zones import WEEKDAYS, Zone, parse_days, parse_window

LAGOS = ZoneInfo("Africa/Lagos")  # UTC+1 all year
YABA = Zone(1, "Yaba", (1, 4), time(8), time(12), time(18), None)  # Tue, Fri 8-12
# An evening window ending a minute before midnight: an hour before UTC's midnight it is already
# tomorrow in Lagos.
SABO = Zone(2, "Sabo", (1,), time(18), time(23, 59), time(18), None)  # Tue 18-23:59

# --- collection days and hours ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("tue,fri", "tue,fri"),
        ("Fri, TUE", "tue,fri"),
        ("fri tue fri", "tue,fri"),
        ("Tuesday,Friday", "tue,fri"),
        ("tues, thurs", "tue,thu"),
        ("sun,mon", "mon,sun"),
        ("  wed  ", "wed"),
        ("sat,,sun", "sat,sun"),
    ],
)
def test_days_are_stored_in_week_order_without_repeats(typed: str, stored: str) -> None:
    assert parse_days(typed) == stored


@pytest.mark.parametrize(
    "typed",
    ["", " , ", "tue,xyz", "mon-fri", "monkey", "tu", "tuesdays", "1,2", "tue;fri"],
)
def test_days_that_are_not_weekdays_are_refused(typed: str) -> None:
    with pytest.raises(CatalogueError, match="days must be weekdays"):
        parse_days(typed)


@given(st.lists(st.sampled_from(WEEKDAYS), min_size=1), st.randoms(use_true_random=False))
def test_any_order_and_case_of_days_gives_one_canonical_form(days: list[str], random: Random) -> None:
    shuffled = list(days)
    random.shuffle(shuffled)
    typed = ", ".join(day.upper() if i % 2 else day.title() for i, day in enumerate(shuffled))
    stored = parse_days(typed)
    assert stored.split(",") == [day for day in WEEKDAYS if day in days]
    assert parse_days(stored) == stored


@pytest.mark.parametrize(
    ("typed", "window"),
    [
        ("08:00-12:00", ("08:00", "12:00")),
        ("8:00-12:00", ("08:00", "12:00")),
        ("9:00-10:00", ("09:00", "10:00")),  # "9:00" > "10:00" as text: compared once padded
        (" 7:30 - 11:15 ", ("07:30", "11:15")),
        ("00:00-23:59", ("00:00", "23:59")),
    ],
)
def test_a_window_is_padded_to_hh_mm(typed: str, window: tuple[str, str]) -> None:
    assert parse_window(typed) == window


@pytest.mark.parametrize(
    "typed",
    ["", "08:00", "8-12", "08:00-24:00", "24:00-25:00", "08:60-09:00", "08:00-12:00-13:00", "8h-12h"],
)
def test_a_window_that_is_not_hh_mm_hh_mm_is_refused(typed: str) -> None:
    with pytest.raises(CatalogueError, match="must look like 08:00-12:00"):
        parse_window(typed)


@pytest.mark.parametrize("typed", ["12:00-08:00", "08:00-08:00", "10:00-9:59"])
def test_a_window_must_end_after_it_starts(typed: str) -> None:
    with pytest.raises(CatalogueError, match="must end after it starts"):
        parse_window(typed)


# --- points for one line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grams", "per_kg", "points"),
    [
        (4500, 10, 45),
        (1250, 3, 4),  # 3.75
        (1166, 3, 3),  # 3.498
        (500, 1, 1),  # 0.5: half up
        (2500, 1, 3),  # 2.5: up, not to the even 2
        (499, 1, 0),
        (1, 1_000_000, 1000),
        (0, 10, 0),
        (200_000, 0, 0),
    ],
)
def test_points_are_grams_times_rate_rounded_half_up(grams: int, per_kg: int, points: int) -> None:
    assert points_for(grams, per_kg) == points


grams = st.integers(min_value=0, max_value=10_000_000)
rates = st.integers(min_value=0, max_value=1_000_000)


@given(grams, rates)
def test_points_are_the_exact_product_rounded_half_up(weight: int, per_kg: int) -> None:
    exact = Fraction(weight * per_kg, 1000)
    points = points_for(weight, per_kg)
    assert points >= 0
    assert points - Fraction(1, 2) <= exact < points + Fraction(1, 2)


@given(grams, grams, rates)
def test_more_grams_never_earn_fewer_points(one: int, other: int, per_kg: int) -> None:
    lighter, heavier = sorted((one, other))
    assert points_for(lighter, per_kg) <= points_for(heavier, per_kg)


# --- the next collection day --------------------------------------------------------------------------


def lagos(day: date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=LAGOS)


TUE = date(2026, 12, 1)
FRI = date(2026, 12, 4)
NEXT_TUE = date(2026, 12, 8)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        (YABA, lagos(TUE, 7), TUE),  # before the window
        (YABA, lagos(TUE, 10), TUE),  # during it
        (YABA, lagos(TUE, 11, 59, 59, 999_999), TUE),  # its last moment
        (YABA, lagos(TUE, 12), FRI),  # its end: that day is over
        (YABA, lagos(FRI, 12), NEXT_TUE),  # the last day of the week's window: round the week
        (YABA, lagos(FRI + timedelta(days=1), 9), NEXT_TUE),  # Saturday
        (YABA, datetime(2026, 11, 30, 23, 30, tzinfo=UTC), TUE),  # Mon in UTC, Tue 00:30 in Lagos
        (SABO, datetime(2026, 12, 1, 22, 58, tzinfo=UTC), TUE),  # 23:58 in Lagos: still open
        (SABO, datetime(2026, 12, 1, 22, 59, tzinfo=UTC), NEXT_TUE),  # 23:59 in Lagos: ended
        (SABO, datetime(2026, 12, 1, 23, 30, tzinfo=UTC), NEXT_TUE),  # Tue in UTC, Wed in Lagos
        (SABO, lagos(TUE, 0), TUE),  # Lagos midnight: 23:00 on Monday in UTC
    ],
)
def test_the_next_collection_day_is_counted_in_lagos(zone: Zone, now: datetime, expected: date) -> None:
    assert next_collection_day(zone, now, LAGOS) == expected
    assert next_collection_day(zone, now.astimezone(UTC), LAGOS) == expected


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.sets(st.integers(min_value=0, max_value=6), min_size=1),
)
def test_the_next_collection_day_is_the_first_open_one_within_a_week(now: datetime, days: set[int]) -> None:
    zone = Zone(3, "Any", tuple(sorted(days)), time(8), time(12), time(18), None)
    found = next_collection_day(zone, now, LAGOS)
    here = now.astimezone(LAGOS)
    assert found.weekday() in days
    assert 0 <= (found - here.date()).days <= 7
    if found == here.date():
        assert here.time() < time(12)
    skipped = [here.date() + timedelta(days=ahead) for ahead in range(1, (found - here.date()).days)]
    assert all(day.weekday() not in days for day in skipped)


# --- how a zone is described -------------------------------------------------------------------------


def test_a_zone_describes_its_days_and_hours_as_a_welcome_says_them() -> None:
    assert YABA.describe() == "Tue, Fri 8-12"
    assert YABA.window == "08:00-12:00"
    early = Zone(4, "Sabo", (5,), time(7, 30), time(11, 15), time(18), None)
    assert early.describe() == "Sat 7:30-11:15"
    assert early.window == "07:30-11:15"
    every_day = Zone(5, "Ikeja", tuple(range(7)), time(0), time(23, 59), time(18), None)
    assert every_day.describe() == "Mon, Tue, Wed, Thu, Fri, Sat, Sun 0-23:59"
