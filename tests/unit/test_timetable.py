"""The programme's timetable as values: which days are collection days once one-off changes are
counted, when each reminder and notice falls due and closes, and quiet hours, all in the
programme's own time (Africa/Lagos, UTC+1 all year) whatever the clock passed in says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.timetable import (
    DAY_KINDS,
    KINDS,
    Changes,
    DayChange,
    Due,
    QuietHours,
    Run,
    Schedule,
    at,
    collection_days,
    day_label,
    local_day,
    next_collection_day,
    notice_closes,
    parse_quiet_hours,
    parse_time,
    reminder_times,
    runs_due,
)

LAGOS = ZoneInfo("Africa/Lagos")  # UTC+1 all year
NEW_YORK = ZoneInfo("America/New_York")  # UTC-5, UTC-4 in summer


@dataclass(frozen=True)
class Timetable:
    """A zone as the timetable reads it, with the usual hours unless a test says otherwise."""

    days: tuple[int, ...]
    window_start: time = time(8)
    window_end: time = time(12)
    remind_at: time = time(18)
    morning_at: time | None = None


MON = date(2026, 11, 30)
TUE = date(2026, 12, 1)
WED = date(2026, 12, 2)
THU = date(2026, 12, 3)
FRI = date(2026, 12, 4)
SAT = date(2026, 12, 5)
SUN = date(2026, 12, 6)
NEXT_MON = date(2026, 12, 7)
NEXT_TUE = date(2026, 12, 8)

YABA = Timetable(days=(1, 4))  # Tue, Fri 8-12, reminded at 18:00 the evening before
EARLY_BIRDS = Timetable(days=(1, 4), morning_at=time(6, 30))  # and again at 6:30 on the day
NIGHT_OWLS = Timetable(days=(1,), remind_at=time(0, 30))  # reminded just after midnight on Monday
LATE_MONDAYS = Timetable(days=(0,), window_start=time(18), window_end=time(23, 59))


def lagos(day: date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=LAGOS)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
minutes_of_day = st.builds(
    time, st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59)
)
weekday_sets = st.sets(st.integers(min_value=0, max_value=6), min_size=1).map(
    lambda days: tuple(sorted(days))
)


@st.composite
def schedules(draw: st.DrawFn) -> Timetable:
    start, end = sorted(draw(st.lists(minutes_of_day, min_size=2, max_size=2, unique=True)))
    return Timetable(
        days=draw(weekday_sets),
        window_start=start,
        window_end=end,
        remind_at=draw(minutes_of_day),
        morning_at=draw(st.none() | minutes_of_day),
    )


def changes_near(around: date, span: int = 21) -> st.SearchStrategy[dict[date, date | None]]:
    """One-off changes to days within ``span`` days either side of ``around``."""
    days = st.integers(min_value=-span, max_value=span).map(lambda ahead: around + timedelta(days=ahead))
    return st.dictionaries(days, st.none() | days, max_size=8)


# --- times of day and instants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("18:00", time(18)),
        ("7:30", time(7, 30)),
        ("07:05", time(7, 5)),
        (" 0:00 ", time(0)),
        ("23:59", time(23, 59)),
    ],
)
def test_a_time_of_day_is_hours_and_minutes(typed: str, meant: time) -> None:
    assert parse_time(typed) == meant


@pytest.mark.parametrize(
    "typed", ["", "18", "24:00", "7:60", "07:5", "7.30", "7:30am", "18:00:00", "-1:00", "abc", "123:00"]
)
def test_anything_else_is_not_a_time_of_day(typed: str) -> None:
    with pytest.raises(ValueError, match="a time of day looks like 18:00"):
        parse_time(typed)


def test_a_lagos_time_of_day_is_an_hour_earlier_in_utc() -> None:
    assert at(TUE, time(18), LAGOS) == utc(TUE, 17)
    assert at(TUE, time(18), LAGOS).tzinfo is UTC
    assert at(TUE, time(0, 30), LAGOS) == utc(MON, 23, 30)  # the UTC date is the day before


def test_the_local_day_is_lagos_s_not_utc_s() -> None:
    assert local_day(utc(MON, 22, 59), LAGOS) == MON  # 23:59 in Lagos
    assert local_day(utc(MON, 23), LAGOS) == TUE  # midnight in Lagos
    assert local_day(lagos(TUE, 0), LAGOS) == TUE


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (TUE, "Tue 1 Dec"),
        (date(2026, 1, 9), "Fri 9 Jan"),
        (date(2026, 11, 1), "Sun 1 Nov"),
        (date(2026, 12, 31), "Thu 31 Dec"),
        (date(2027, 2, 28), "Sun 28 Feb"),
    ],
)
def test_a_day_is_named_without_a_leading_zero(day: date, label: str) -> None:
    assert str(day_label(day)) == label


# --- collection days ------------------------------------------------------------------------------------


def test_collection_days_are_the_zone_s_weekdays_in_the_range() -> None:
    assert collection_days((1, 4), MON, date(2026, 12, 13), {}) == [TUE, FRI, NEXT_TUE, date(2026, 12, 11)]


def test_both_ends_of_the_range_are_included() -> None:
    assert collection_days((1, 4), TUE, FRI, {}) == [TUE, FRI]
    assert collection_days((1,), TUE, TUE, {}) == [TUE]


def test_a_range_without_the_zone_s_weekdays_or_backwards_has_no_days() -> None:
    assert collection_days((1, 4), WED, THU, {}) == []
    assert collection_days((1, 4), FRI, TUE, {}) == []


def test_a_cancelled_day_is_left_out() -> None:
    assert collection_days((1, 4), MON, NEXT_TUE, {TUE: None}) == [FRI, NEXT_TUE]


def test_a_moved_day_is_left_out_and_the_day_it_moved_to_is_in() -> None:
    assert collection_days((1, 4), MON, SUN, {TUE: WED}) == [WED, FRI]
    assert collection_days((1, 4), MON, SUN, {FRI: SAT}) == [TUE, SAT]


def test_a_day_moved_out_of_the_range_is_in_neither_and_one_moved_in_is_in() -> None:
    assert collection_days((1, 4), MON, THU, {TUE: SAT}) == []
    assert collection_days((1, 4), WED, SUN, {NEXT_TUE: THU}) == [THU, FRI]


def test_a_day_moved_onto_another_collection_day_is_counted_once() -> None:
    assert collection_days((1, 4), MON, SUN, {TUE: FRI}) == [FRI]


@given(
    weekday_sets,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(min_value=-1, max_value=40),
    st.data(),
)
def test_collection_days_are_the_weekdays_not_changed_and_the_days_moved_to(
    weekdays: tuple[int, ...], first: date, span: int, data: st.DataObject
) -> None:
    last = first + timedelta(days=span)
    changes = data.draw(changes_near(first + timedelta(days=span // 2), span=span + 7))
    moved_to = {to for to in changes.values() if to is not None}

    found = collection_days(weekdays, first, last, changes)

    assert found == sorted(set(found))
    for day in found:
        assert first <= day <= last
        assert (day.weekday() in weekdays and day not in changes) or day in moved_to
    every_day = [first + timedelta(days=ahead) for ahead in range(span + 1)]
    expected = [d for d in every_day if (d.weekday() in weekdays and d not in changes) or d in moved_to]
    assert found == expected


# --- the next collection day ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "now", "changes", "expected"),
    [
        (YABA, utc(MON, 23, 30), {}, TUE),  # Monday in UTC, Tuesday 00:30 in Lagos
        (YABA, lagos(TUE, 11, 59, 59, 999_999), {}, TUE),  # the window's last moment
        (YABA, lagos(TUE, 12), {}, FRI),  # its end: that day is over
        (YABA, lagos(FRI, 12), {}, NEXT_TUE),  # round the week
        (YABA, lagos(MON, 9), {TUE: None}, FRI),  # cancelled
        (YABA, lagos(MON, 9), {TUE: None, FRI: None}, NEXT_TUE),
        (YABA, lagos(MON, 9), {TUE: WED}, WED),  # moved later
        (YABA, lagos(MON, 9), {FRI: MON}, MON),  # moved onto today, window still to come
        (YABA, lagos(MON, 12), {FRI: MON}, TUE),  # ... and over
        (YABA, lagos(TUE, 9), {TUE: None}, FRI),  # cancelled on the day itself
        (LATE_MONDAYS, utc(MON, 22, 30), {}, MON),  # 23:30 in Lagos: still open
        (LATE_MONDAYS, utc(MON, 22, 59), {}, NEXT_MON),  # 23:59 in Lagos: ended
        (LATE_MONDAYS, utc(MON, 23, 30), {}, NEXT_MON),  # Monday in UTC, Tuesday in Lagos
        (LATE_MONDAYS, utc(date(2026, 11, 29), 23, 30), {}, MON),  # Sunday in UTC, Monday in Lagos
    ],
)
def test_the_next_collection_day_is_counted_in_lagos(
    zone: Timetable, now: datetime, changes: Changes, expected: date
) -> None:
    assert next_collection_day(zone, now, LAGOS, changes) == expected
    assert next_collection_day(zone, now.astimezone(UTC), LAGOS, changes) == expected


def test_without_changes_the_next_collection_day_is_the_weekday_s() -> None:
    assert next_collection_day(YABA, lagos(WED, 9), LAGOS) == FRI
    assert next_collection_day(YABA, lagos(WED, 9), LAGOS, None) == FRI


def test_sixty_days_ahead_is_as_far_as_the_next_collection_day_is_looked_for() -> None:
    every_day = Timetable(days=tuple(range(7)))
    now = lagos(MON, 13)  # today's window is over
    cancelled_up_to_60_days = {MON + timedelta(days=ahead): None for ahead in range(60)}
    assert next_collection_day(every_day, now, LAGOS, cancelled_up_to_60_days) == MON + timedelta(days=60)


def test_with_every_day_for_sixty_days_cancelled_there_is_no_next_collection_day() -> None:
    every_day = Timetable(days=tuple(range(7)))
    all_cancelled = {MON + timedelta(days=ahead): None for ahead in range(61)}
    with pytest.raises(LookupError, match="every one is cancelled"):
        next_collection_day(every_day, lagos(MON, 9), LAGOS, all_cancelled)


@given(instants, schedules(), st.data())
def test_the_next_collection_day_is_the_first_one_still_open(
    now: datetime, zone: Timetable, data: st.DataObject
) -> None:
    here = now.astimezone(LAGOS)
    changes = data.draw(changes_near(here.date(), span=14))  # the weekdays after them never change

    found = next_collection_day(zone, now, LAGOS, changes)

    assert found >= here.date()
    assert collection_days(zone.days, found, found, changes) == [found]
    if found == here.date():
        assert here.time() < zone.window_end
    passed_over = collection_days(zone.days, here.date(), found - timedelta(days=1), changes)
    assert passed_over in ([], [here.date()])
    if passed_over:
        assert here.time() >= zone.window_end


# --- when reminders fall due --------------------------------------------------------------------------


def test_the_eve_reminder_is_due_the_evening_before_until_the_window_opens() -> None:
    assert reminder_times(YABA, TUE, "eve", LAGOS) == (utc(MON, 17), utc(TUE, 7))  # 18:00, 08:00 Lagos


def test_the_eve_reminder_of_a_monday_is_due_on_sunday() -> None:
    assert reminder_times(LATE_MONDAYS, MON, "eve", LAGOS) == (utc(date(2026, 11, 29), 17), utc(MON, 17))


def test_a_reminder_just_after_midnight_is_due_on_the_utc_date_before() -> None:
    due, closes = reminder_times(NIGHT_OWLS, TUE, "eve", LAGOS) or pytest.fail("no eve reminder")
    assert due == datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # 00:30 Monday in Lagos
    assert due.astimezone(LAGOS) == lagos(MON, 0, 30)
    assert closes == utc(TUE, 7)


def test_the_morning_reminder_is_due_from_morning_at_until_the_window_ends() -> None:
    assert reminder_times(EARLY_BIRDS, TUE, "morning", LAGOS) == (utc(TUE, 5, 30), utc(TUE, 11))


def test_a_zone_without_a_morning_time_has_no_morning_reminder() -> None:
    assert reminder_times(YABA, TUE, "morning", LAGOS) is None


@pytest.mark.parametrize("kind", ["cancelled", "moved", "weekly", ""])
def test_only_eve_and_morning_are_reminders(kind: str) -> None:
    assert reminder_times(EARLY_BIRDS, TUE, kind, LAGOS) is None


def test_the_kinds_of_run() -> None:
    assert DAY_KINDS == ("eve", "morning")
    assert KINDS == ("eve", "morning", "cancelled", "moved")


# --- notices of changes ------------------------------------------------------------------------------------


def change(day: date, moved_to: date | None, created_at: datetime, zone_id: int = 1) -> DayChange:
    return DayChange(zone_id, day, moved_to, "the truck is in for repairs", created_at)


def test_a_change_is_cancelled_or_moved() -> None:
    assert change(TUE, None, lagos(MON, 10)).kind == "cancelled"
    assert change(TUE, WED, lagos(MON, 10)).kind == "moved"


def test_a_cancellation_is_worth_telling_until_the_day_s_window_opens() -> None:
    assert notice_closes(YABA, change(TUE, None, lagos(MON, 10)), LAGOS) == utc(TUE, 7)


def test_a_move_is_worth_telling_until_the_earlier_of_its_two_days_begins() -> None:
    assert notice_closes(YABA, change(TUE, THU, lagos(MON, 10)), LAGOS) == utc(TUE, 7)  # later
    assert notice_closes(YABA, change(FRI, WED, lagos(MON, 10)), LAGOS) == utc(WED, 7)  # earlier


# --- runs due ----------------------------------------------------------------------------------------------


def due(
    now: datetime, zones: dict[int, Schedule] | None = None, changes: Sequence[DayChange] = ()
) -> list[Due]:
    return sorted(runs_due({1: YABA} if zones is None else zones, changes, now, LAGOS))


def eve(day: date, zone_id: int = 1) -> Due:
    return Due(Run(zone_id, day, "eve"), utc(day - timedelta(days=1), 17), utc(day, 7))


def morning(day: date, zone_id: int = 1) -> Due:
    return Due(Run(zone_id, day, "morning"), utc(day, 5, 30), utc(day, 11))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (lagos(MON, 17, 59, 59, 999_999), []),  # not yet
        (lagos(MON, 18), [eve(TUE)]),
        (utc(MON, 17), [eve(TUE)]),  # the same instant, said in UTC
        (lagos(MON, 23, 59), [eve(TUE)]),
        (lagos(TUE, 0), [eve(TUE)]),  # past Lagos midnight
        (lagos(TUE, 7, 59, 59, 999_999), [eve(TUE)]),  # still due the next morning
        (lagos(TUE, 8), []),  # the window has opened: too late
        (lagos(TUE, 18), []),  # Wednesday is no collection day
        (lagos(THU, 18), [eve(FRI)]),
        (lagos(SAT, 18), []),
        (lagos(NEXT_MON, 18), [eve(NEXT_TUE)]),
    ],
)
def test_the_eve_run_is_due_from_the_evening_before_until_the_window_opens(
    now: datetime, expected: list[Due]
) -> None:
    assert due(now) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (lagos(TUE, 6, 29), [eve(TUE)]),
        (lagos(TUE, 6, 30), [eve(TUE), morning(TUE)]),
        (lagos(TUE, 8), [morning(TUE)]),
        (lagos(TUE, 11, 59), [morning(TUE)]),
        (lagos(TUE, 12), []),
        (lagos(WED, 6, 30), []),
    ],
)
def test_the_morning_run_is_due_from_morning_at_until_the_window_ends(
    now: datetime, expected: list[Due]
) -> None:
    assert due(now, {1: EARLY_BIRDS}) == expected


def test_a_reminder_just_after_midnight_is_due_from_then() -> None:
    zones: dict[int, Schedule] = {1: NIGHT_OWLS}
    assert due(utc(date(2026, 11, 29), 23, 29), zones) == []  # 00:29 Monday in Lagos, Sunday in UTC
    expected = Due(Run(1, TUE, "eve"), utc(date(2026, 11, 29), 23, 30), utc(TUE, 7))
    assert due(utc(date(2026, 11, 29), 23, 30), zones) == [expected]
    assert due(lagos(TUE, 7, 59), zones) == [expected]


def test_each_zone_gets_its_own_runs() -> None:
    zones: dict[int, Schedule] = {1: YABA, 2: EARLY_BIRDS, 3: LATE_MONDAYS}
    assert due(lagos(TUE, 7), zones) == [eve(TUE, 1), eve(TUE, 2), morning(TUE, 2)]
    assert due(lagos(SUN, 18), zones) == [Due(Run(3, NEXT_MON, "eve"), utc(SUN, 17), utc(NEXT_MON, 17))]


def test_a_cancelled_day_has_no_eve_run_but_a_notice_due_from_when_it_was_cancelled() -> None:
    cancelled = change(TUE, None, created_at=lagos(MON, 10))
    notice = Due(Run(1, TUE, "cancelled"), lagos(MON, 10), utc(TUE, 7))
    assert due(lagos(MON, 9, 59), changes=[cancelled]) == []
    assert due(lagos(MON, 10), changes=[cancelled]) == [notice]
    assert due(lagos(MON, 18), changes=[cancelled]) == [notice]  # and no eve reminder
    assert due(lagos(TUE, 7, 59), changes=[cancelled]) == [notice]
    assert due(lagos(TUE, 8), changes=[cancelled]) == []


def test_a_cancellation_made_after_the_eve_run_opened_is_still_told() -> None:
    cancelled = change(TUE, None, created_at=lagos(MON, 21))
    assert due(lagos(MON, 21, 30), changes=[cancelled]) == [
        Due(Run(1, TUE, "cancelled"), lagos(MON, 21), utc(TUE, 7))
    ]


def test_a_cancellation_made_days_ahead_is_due_until_the_day() -> None:
    cancelled = change(NEXT_TUE, None, created_at=lagos(TUE, 9))
    notice = Due(Run(1, NEXT_TUE, "cancelled"), lagos(TUE, 9), utc(NEXT_TUE, 7))
    assert due(lagos(WED, 12), changes=[cancelled]) == [notice]
    assert due(lagos(THU, 18), changes=[cancelled]) == [eve(FRI), notice]  # Friday is unchanged
    assert due(lagos(NEXT_MON, 18), changes=[cancelled]) == [notice]


def test_a_day_moved_later_is_told_until_the_first_day_and_reminded_on_the_new_one() -> None:
    moved = change(TUE, THU, created_at=lagos(MON, 10))
    notice = Due(Run(1, TUE, "moved"), lagos(MON, 10), utc(TUE, 7))
    assert due(lagos(MON, 18), changes=[moved]) == [notice]  # no eve reminder for Tuesday
    assert due(lagos(TUE, 7, 59), changes=[moved]) == [notice]
    assert due(lagos(TUE, 8), changes=[moved]) == []  # closed at the first of the two days
    assert due(lagos(WED, 17, 59), changes=[moved]) == []
    assert due(lagos(WED, 18), changes=[moved]) == [eve(THU)]
    assert due(lagos(THU, 7, 59), changes=[moved]) == [eve(THU)]


def test_a_day_moved_earlier_is_told_until_the_new_day_begins() -> None:
    moved = change(FRI, WED, created_at=lagos(MON, 10))
    notice = Due(Run(1, FRI, "moved"), lagos(MON, 10), utc(WED, 7))
    assert due(lagos(TUE, 18), changes=[moved]) == [eve(WED), notice]
    assert due(lagos(WED, 7, 59), changes=[moved]) == [eve(WED), notice]
    assert due(lagos(WED, 8), changes=[moved]) == []
    assert due(lagos(THU, 18), changes=[moved]) == []  # nothing on Friday any more


def test_a_change_concerns_only_its_own_zone() -> None:
    zones: dict[int, Schedule] = {1: YABA, 2: YABA}
    cancelled = change(TUE, None, created_at=lagos(MON, 10), zone_id=2)
    assert due(lagos(MON, 18), zones, [cancelled]) == [
        eve(TUE, 1),
        Due(Run(2, TUE, "cancelled"), lagos(MON, 10), utc(TUE, 7)),
    ]


def test_a_change_to_a_zone_not_running_sends_nothing() -> None:
    cancelled = change(TUE, None, created_at=lagos(MON, 10), zone_id=9)
    assert due(lagos(MON, 18), changes=[cancelled]) == [eve(TUE)]


def test_no_zones_no_runs() -> None:
    assert due(lagos(MON, 18), {}, [change(TUE, None, created_at=lagos(MON, 10))]) == []


@given(instants, schedules(), st.data())
def test_exactly_the_reminders_whose_times_contain_now_are_due(
    now: datetime, zone: Timetable, data: st.DataObject
) -> None:
    today = now.astimezone(LAGOS).date()
    days = data.draw(changes_near(today, span=5))
    created = data.draw(st.datetimes(max_value=now.replace(tzinfo=None), timezones=st.just(UTC)))
    changes = [change(day, moved_to, created) for day, moved_to in days.items()]

    found = list(runs_due({1: zone}, changes, now, LAGOS))

    assert len(found) == len(set(found))
    for run, due_at, closes_at in found:
        assert run.zone_id == 1 and run.kind in KINDS
        assert due_at <= now < closes_at
    # Looked for far wider than the day and the next that runs_due looks at.
    expected = set()
    for day in collection_days(zone.days, today - timedelta(days=3), today + timedelta(days=3), days):
        for kind in DAY_KINDS:
            times = reminder_times(zone, day, kind, LAGOS)
            if times is not None and times[0] <= now < times[1]:
                expected.add(Due(Run(1, day, kind), *times))
    assert {one for one in found if one.run.kind in DAY_KINDS} == expected
    notices = {(one.run.day, one.run.kind) for one in found if one.run.kind not in DAY_KINDS}
    assert notices == {(one.day, one.kind) for one in changes if now < notice_closes(zone, one, LAGOS)}


# --- quiet hours -------------------------------------------------------------------------------------------

NIGHT = QuietHours(time(21), time(7))


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("21:00-07:00", NIGHT),
        (" 21:00 - 7:00 ", NIGHT),
        ("12:00-14:00", QuietHours(time(12), time(14))),
        ("9:30-7:15", QuietHours(time(9, 30), time(7, 15))),
    ],
)
def test_quiet_hours_are_a_start_and_an_end(typed: str, hours: QuietHours) -> None:
    assert parse_quiet_hours(typed) == hours


@pytest.mark.parametrize("typed", ["", "   "])
def test_no_quiet_hours_at_all(typed: str) -> None:
    assert parse_quiet_hours(typed) is None


@pytest.mark.parametrize(
    "typed",
    ["21:00", "abc", "25:00-07:00", "21:00-07:60", "21:00-", "-07:00", "-", "21:00-07:00-08:00", "9pm-7am"],
)
def test_quiet_hours_that_are_not_two_times_are_refused(typed: str) -> None:
    with pytest.raises(ValueError, match=r"looks? like (21:00-07:00|18:00)"):
        parse_quiet_hours(typed)


@pytest.mark.parametrize("typed", ["07:00-07:00", "7:00-07:00", "00:00-0:00"])
def test_quiet_hours_must_start_and_end_at_different_times(typed: str) -> None:
    with pytest.raises(ValueError, match="different times"):
        parse_quiet_hours(typed)


def test_quiet_hours_are_written_padded() -> None:
    assert str(NIGHT) == "21:00-07:00"
    hours = parse_quiet_hours("9:30-7:15")
    assert hours is not None and str(hours) == "09:30-07:15"
    assert parse_quiet_hours(str(hours)) == hours


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (lagos(TUE, 22), utc(WED, 6)),  # before midnight: 07:00 tomorrow in Lagos
        (lagos(TUE, 21), utc(WED, 6)),  # the first moment is quiet
        (lagos(TUE, 23, 59, 59, 999_999), utc(WED, 6)),
        (lagos(WED, 0), utc(WED, 6)),  # after midnight: 07:00 the same day
        (lagos(WED, 3), utc(WED, 6)),
        (lagos(WED, 6, 59, 59, 999_999), utc(WED, 6)),
        (utc(TUE, 23, 30), utc(WED, 6)),  # Tuesday in UTC, Wednesday 00:30 in Lagos
        (utc(TUE, 20, 30), utc(WED, 6)),  # 21:30 in Lagos
        (lagos(WED, 7), None),  # the end is not quiet
        (lagos(WED, 12), None),
        (lagos(TUE, 20, 59, 59, 999_999), None),
        (utc(TUE, 19, 59), None),  # 20:59 in Lagos
    ],
)
def test_quiet_hours_across_midnight_end_at_the_next_lagos_seven(
    now: datetime, ends: datetime | None
) -> None:
    assert NIGHT.until(now, LAGOS) == ends


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (lagos(TUE, 11, 59), None),
        (lagos(TUE, 12), utc(TUE, 13)),
        (lagos(TUE, 13, 59), utc(TUE, 13)),
        (lagos(TUE, 14), None),
        (lagos(TUE, 23), None),
        (lagos(TUE, 3), None),
    ],
)
def test_daytime_quiet_hours_end_the_same_day(now: datetime, ends: datetime | None) -> None:
    assert QuietHours(time(12), time(14)).until(now, LAGOS) == ends


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    start, end = draw(st.lists(minutes_of_day, min_size=2, max_size=2, unique=True))
    return QuietHours(start, end)


def since_midnight(moment: time) -> timedelta:
    return timedelta(
        hours=moment.hour, minutes=moment.minute, seconds=moment.second, microseconds=moment.microsecond
    )


@given(instants, quiet_hours())
def test_quiet_hours_end_at_the_first_moment_outside_them_within_a_day(
    now: datetime, hours: QuietHours
) -> None:
    ends = hours.until(now, LAGOS)

    # Counted round the clock from the start, a moment is quiet while it is less than the length.
    length = (since_midnight(hours.end) - since_midnight(hours.start)) % timedelta(days=1)
    into = (since_midnight(now.astimezone(LAGOS).time()) - since_midnight(hours.start)) % timedelta(days=1)
    if into >= length:
        assert ends is None
        return
    assert ends is not None
    assert ends == now + (length - into)
    assert now < ends <= now + timedelta(days=1)
    assert hours.until(ends, LAGOS) is None
    assert hours.until(ends - timedelta(microseconds=1), LAGOS) == ends
    assert ends.astimezone(LAGOS).time() == hours.end


@pytest.mark.parametrize(
    ("now", "ends"),
    [
        (datetime(2026, 7, 1, 22, tzinfo=NEW_YORK), datetime(2026, 7, 2, 11, tzinfo=UTC)),  # EDT, UTC-4
        (datetime(2026, 12, 1, 22, tzinfo=NEW_YORK), datetime(2026, 12, 2, 12, tzinfo=UTC)),  # EST, UTC-5
        (datetime(2026, 12, 2, 3, 30, tzinfo=UTC), datetime(2026, 12, 2, 12, tzinfo=UTC)),  # 22:30 EST
        # Spring forward: 21:00 EST on Saturday to 07:00 EDT on Sunday is nine hours, not ten.
        (datetime(2026, 3, 7, 21, tzinfo=NEW_YORK), datetime(2026, 3, 8, 11, tzinfo=UTC)),
        # Fall back: 21:00 EDT on Saturday to 07:00 EST on Sunday is eleven.
        (datetime(2026, 10, 31, 21, tzinfo=NEW_YORK), datetime(2026, 11, 1, 12, tzinfo=UTC)),
        (datetime(2026, 7, 1, 7, tzinfo=NEW_YORK), None),
    ],
)
def test_quiet_hours_in_a_zone_with_summer_time_end_at_its_local_time(
    now: datetime, ends: datetime | None
) -> None:
    assert NIGHT.until(now, NEW_YORK) == ends


@given(instants, quiet_hours())
def test_quiet_hours_in_a_zone_with_summer_time_end_at_the_local_end_time(
    now: datetime, hours: QuietHours
) -> None:
    ends = hours.until(now, NEW_YORK)
    if ends is None:
        return
    here, there = now.astimezone(NEW_YORK), ends.astimezone(NEW_YORK)
    assert there.date() in (here.date(), here.date() + timedelta(days=1))
    # The end falls on the clock's own time unless the clocks skip it (02:xx on spring forward).
    if there.time() != hours.end:
        assert there.replace(tzinfo=None) - timedelta(hours=1) == datetime.combine(there.date(), hours.end)
    assert ends <= now + timedelta(days=1, hours=1)  # a fall-back day has 25 hours


# In the hour a zone repeats when its clocks go back, a quiet moment in the second pass of that
# hour ends in the second pass too, never before now (a sender would send in quiet hours).
def test_in_the_repeated_hour_of_a_fall_back_night_quiet_hours_end_after_now() -> None:
    hours = QuietHours(time(21), time(1, 30))
    now = datetime(2026, 11, 1, 6, tzinfo=UTC)  # 01:00 EST, the second 01:00 in New York that night
    assert hours.until(now, NEW_YORK) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
