"""When things happen in the programme's own time: collection days with their one-off changes,
when a reminder falls due and until when it is still worth sending, and quiet hours.

Pure functions of a clock passed in: moments are aware datetimes (UTC in the database), days and
times of day are local to the programme's zone (Africa/Lagos by default), so "the evening before"
and "21:00" mean what the people in the zone mean, whatever the servers' clocks say.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import NamedTuple, Protocol

import sms

# A zone's one-off changes: a collection day cancelled (None) or moved to another day.
Changes = Mapping[date, date | None]

# Reminders of a collection day, and the notices of a change to one.
DAY_KINDS = ("eve", "morning")
NOTICE_KINDS = ("cancelled", "moved")
KINDS = DAY_KINDS + NOTICE_KINDS

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class Schedule(Protocol):
    """What the timetable reads of a zone (``service.usecases.zones.Zone`` is one)."""

    @property
    def days(self) -> tuple[int, ...]: ...  # weekday numbers, Monday 0
    @property
    def window_start(self) -> time: ...
    @property
    def window_end(self) -> time: ...
    @property
    def remind_at(self) -> time: ...
    @property
    def morning_at(self) -> time | None: ...


def parse_time(text: str) -> time:
    """``"18:00"`` or ``"7:30"`` -> a time of day; ValueError for anything else."""
    found = _TIME.match(text.strip())
    if found is None:
        raise ValueError(f"a time of day looks like 18:00 (not {text!r})")
    return time(int(found.group(1)), int(found.group(2)))


def at(day: date, moment: time, local: tzinfo) -> datetime:
    """The UTC instant of ``moment`` on ``day`` in the local zone."""
    return datetime.combine(day, moment, tzinfo=local).astimezone(UTC)


def local_day(now: datetime, local: tzinfo) -> date:
    return now.astimezone(local).date()


# --- collection days -------------------------------------------------------------------------------


def collection_days(weekdays: Sequence[int], first: date, last: date, changes: Changes) -> list[date]:
    """The collection days from ``first`` to ``last`` (both included): the zone's weekdays but
    the days cancelled or moved away, and the days moved to."""
    moved_in = {to for to in changes.values() if to is not None}
    found: list[date] = []
    day = first
    while day <= last:
        if (day.weekday() in weekdays and day not in changes) or day in moved_in:
            found.append(day)
        day += timedelta(days=1)
    return found


# Far enough ahead to pass any run of cancelled days an operator would make.
_LOOK_AHEAD = timedelta(days=60)


def next_collection_day(zone: Schedule, now: datetime, local: tzinfo, changes: Changes | None = None) -> date:
    """The zone's next collection day: today if it is one and its window has not ended yet,
    otherwise the first one after today (one-off changes taken into account)."""
    here = now.astimezone(local)
    for day in collection_days(zone.days, here.date(), here.date() + _LOOK_AHEAD, changes or {}):
        if day > here.date() or here.time() < zone.window_end:
            return day
    raise LookupError("no collection day in the next 60 days: every one is cancelled")


def day_label(day: date) -> sms.Day:
    """How a text names a day, said in each reader's language: "Tue 1 Dec"."""
    return sms.Day(day)


# --- reminders -------------------------------------------------------------------------------------


class Run(NamedTuple):
    """One fan-out: every household of a zone gets this kind of text about this collection day."""

    zone_id: int
    day: date
    kind: str


class Due(NamedTuple):
    run: Run
    due_at: datetime
    closes_at: datetime  # past this, the text would come too late to be any use


@dataclass(frozen=True)
class DayChange:
    zone_id: int
    day: date
    moved_to: date | None
    reason: str
    created_at: datetime

    @property
    def kind(self) -> str:
        return "cancelled" if self.moved_to is None else "moved"


def reminder_times(zone: Schedule, day: date, kind: str, local: tzinfo) -> tuple[datetime, datetime] | None:
    """When the ``kind`` reminder of collection ``day`` falls due and when it closes; None when
    the zone sends no such reminder. The evening one: from ``remind_at`` the day before until the
    window opens. The morning one: from ``morning_at`` on the day until the window ends."""
    if kind == "eve":
        return at(day - timedelta(days=1), zone.remind_at, local), at(day, zone.window_start, local)
    if kind == "morning" and zone.morning_at is not None:
        return at(day, zone.morning_at, local), at(day, zone.window_end, local)
    return None


def notice_closes(zone: Schedule, change: DayChange, local: tzinfo) -> datetime:
    """A change is worth telling until the first of the two days it concerns begins."""
    first = min(change.day, change.moved_to) if change.moved_to is not None else change.day
    return at(first, zone.window_start, local)


def runs_due(
    zones: Mapping[int, Schedule],
    changes: Sequence[DayChange],
    now: datetime,
    local: tzinfo,
) -> Iterator[Due]:
    """Every fan-out that is due at ``now`` and not yet closed: the reminders of the zones'
    collection days, and the notices of their changes (due as soon as a change is made)."""
    today = local_day(now, local)
    by_zone: dict[int, dict[date, date | None]] = {}
    for change in changes:
        by_zone.setdefault(change.zone_id, {})[change.day] = change.moved_to
    for zone_id, zone in zones.items():
        for day in collection_days(zone.days, today, today + timedelta(days=1), by_zone.get(zone_id, {})):
            for kind in DAY_KINDS:
                times = reminder_times(zone, day, kind, local)
                if times is not None and times[0] <= now < times[1]:
                    yield Due(Run(zone_id, day, kind), *times)
    for change in changes:
        changed = zones.get(change.zone_id)
        if changed is not None and change.created_at <= now < (
            closes := notice_closes(changed, change, local)
        ):
            yield Due(Run(change.zone_id, change.day, change.kind), change.created_at, closes)


# --- quiet hours -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """Local hours in which nothing is sent but answers to a person's own text (21:00-07:00)."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def until(self, now: datetime, local: tzinfo) -> datetime | None:
        """If ``now`` is in quiet hours, the moment they end (UTC); else None."""
        here = now.astimezone(local)
        moment = here.time().replace(tzinfo=None)
        if self.start < self.end:
            inside, end_day = self.start <= moment < self.end, here.date()
        else:  # across midnight
            inside = moment >= self.start or moment < self.end
            end_day = here.date() + timedelta(days=1) if moment >= self.start else here.date()
        if not inside:
            return None
        end = at(end_day, self.end, local)
        if end <= now:  # the end falls in an hour a fall-back night repeats: the later one
            end = datetime.combine(end_day, self.end, tzinfo=local).replace(fold=1).astimezone(UTC)
        return end


def parse_quiet_hours(text: str) -> QuietHours | None:
    """``"21:00-07:00"`` -> QuietHours; ``""`` -> None (no quiet hours); ValueError otherwise."""
    text = text.strip()
    if not text:
        return None
    start, separator, end = text.partition("-")
    if not separator:
        raise ValueError(f"quiet hours look like 21:00-07:00 (not {text!r})")
    hours = QuietHours(parse_time(start), parse_time(end))
    if hours.start == hours.end:
        raise ValueError(f"quiet hours must start and end at different times (not {text!r})")
    return hours
