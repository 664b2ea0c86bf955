"""Zones: a neighbourhood's collection days and hours, when its reminders go, and its one-off
changes (a day cancelled or moved); its next collection day.

Plain functions on the caller's session; each refuses bad values with ``CatalogueError`` (its
message is what a CLI or a form shows) and writes nothing then.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import sms
from service.models import day_changes_t, zones_t
from service.timetable import DayChange, local_day, next_collection_day, parse_time
from service.usecases import CatalogueError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)$")


class Zone(NamedTuple):
    id: int
    name: str
    days: tuple[int, ...]  # weekday numbers, Monday 0
    window_start: time
    window_end: time
    remind_at: time  # the evening before a collection day
    morning_at: time | None  # on the morning of it, if at all

    @property
    def window(self) -> str:
        return f"{self.window_start:%H:%M}-{self.window_end:%H:%M}"

    def describe(self) -> str:
        """The days and hours as a page or a log says them: "Tue, Fri 8-12"."""
        return str(self.weekdays())

    def weekdays(self) -> sms.Weekdays:
        """The days and hours as a text says them, in each reader's language."""
        return sms.Weekdays(self.days, f"{_hour(self.window_start)}-{_hour(self.window_end)}")


def _hour(moment: time) -> str:
    return str(moment.hour) if moment.minute == 0 else f"{moment.hour}:{moment.minute:02d}"


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(word: str) -> str | None:
    """``"tue"``, ``"tues"``, ``"Tuesday"`` -> ``"tue"``; None for anything else. A whole word must
    name the day: cutting every word to three letters read "mon-fri" as Monday alone."""
    word = word.lower()
    for short, full in zip(WEEKDAYS, _DAY_NAMES, strict=True):
        if len(word) >= 3 and full.startswith(word):
            return short
    return None


def parse_days(text: str) -> str:
    """``"Tue,fri"`` -> ``"tue,fri"`` (week order, no repeats); CatalogueError if a day is unknown."""
    days = [_weekday(word) for word in re.split(r"[,\s]+", text.strip()) if word]
    if not days or None in days:
        raise CatalogueError(f"days must be weekdays like tue,fri (not {text!r})")
    return ",".join(day for day in WEEKDAYS if day in days)


def parse_window(text: str) -> tuple[str, str]:
    """``"8:00-12:00"`` -> ``("08:00", "12:00")``; the window must end after it starts."""
    found = _WINDOW.match(text.strip().replace(" ", ""))
    if found is None:
        raise CatalogueError(f"the window must look like 08:00-12:00 (not {text!r})")
    start = f"{int(found.group(1)):02d}:{found.group(2)}"
    end = f"{int(found.group(3)):02d}:{found.group(4)}"
    if end <= start:
        raise CatalogueError(f"the window must end after it starts (not {text!r})")
    return start, end


def _zone(row: object) -> Zone:
    days = tuple(WEEKDAYS.index(day) for day in row.days.split(","))  # type: ignore[attr-defined]
    return Zone(
        row.id,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        days,
        time.fromisoformat(row.window_start),  # type: ignore[attr-defined]
        time.fromisoformat(row.window_end),  # type: ignore[attr-defined]
        time.fromisoformat(row.remind_at),  # type: ignore[attr-defined]
        time.fromisoformat(row.morning_at) if row.morning_at else None,  # type: ignore[attr-defined]
    )


def add_zone(session: Session, name: str, days: str, window: str, now: datetime) -> Zone:
    name = " ".join(name.split())
    if not name or len(name) > 40:
        raise CatalogueError("a zone needs a name of 1 to 40 characters")
    start, end = parse_window(window)
    if zone_by_name(session, name) is not None:
        raise CatalogueError(f"there is already a zone called {name}")
    zone_id = session.execute(
        zones_t.insert().returning(zones_t.c.id),
        {"name": name, "days": parse_days(days), "window_start": start, "window_end": end, "created_at": now},
    ).scalar_one()
    found = get_zone(session, zone_id)
    assert found is not None
    return found


def get_zone(session: Session, zone_id: int) -> Zone | None:
    row = session.execute(select(zones_t).where(zones_t.c.id == zone_id)).first()
    return None if row is None else _zone(row)


def zone_by_name(session: Session, name: str) -> Zone | None:
    wanted = " ".join(name.split()).lower()
    row = session.execute(select(zones_t).where(func.lower(zones_t.c.name) == wanted)).first()
    return None if row is None else _zone(row)


def zones(session: Session) -> list[Zone]:
    return [_zone(row) for row in session.execute(select(zones_t).order_by(zones_t.c.name))]


def set_reminder_times(
    session: Session,
    zone: Zone,
    *,
    evening: str | None = None,
    morning: str | None = None,
    no_morning: bool = False,
) -> Zone:
    """The evening reminder's time ("18:00", the day before) and the morning one's (on the day,
    before the window ends), or no morning reminder; what is not given stays as it is."""
    values: dict[str, str | None] = {}
    try:
        if evening is not None:
            values["remind_at"] = f"{parse_time(evening):%H:%M}"
        if no_morning:
            values["morning_at"] = None
        elif morning is not None:
            values["morning_at"] = f"{parse_time(morning):%H:%M}"
    except ValueError as error:
        raise CatalogueError(str(error)) from error
    morning_at = values.get("morning_at")
    if morning_at is not None and morning_at >= f"{zone.window_end:%H:%M}":
        raise CatalogueError(f"the morning reminder must come before the window ends ({zone.window})")
    if values:
        session.execute(zones_t.update().where(zones_t.c.id == zone.id).values(**values))
    found = get_zone(session, zone.id)
    assert found is not None
    return found


def zone_changes(session: Session, zone_id: int, since: date) -> dict[date, date | None]:
    """The zone's one-off changes from ``since`` on: day -> the day it moved to, or None (cancelled)."""
    rows = session.execute(
        select(day_changes_t.c.day, day_changes_t.c.moved_to).where(
            day_changes_t.c.zone_id == zone_id,
            (day_changes_t.c.day >= since) | (day_changes_t.c.moved_to >= since),
        )
    )
    return {row.day: row.moved_to for row in rows}


def next_day_of(session: Session, zone: Zone, now: datetime, local: tzinfo) -> date:
    """The zone's next collection day, its one-off changes taken into account."""
    return next_collection_day(zone, now, local, zone_changes(session, zone.id, local_day(now, local)))


def next_day_after(zone: Zone, after: date, local: tzinfo, changes: dict[date, date | None]) -> date | None:
    """The first collection day after ``after`` (None if none in the next 60 days)."""
    try:
        end_of_day = datetime.combine(after, zone.window_end, tzinfo=local)
        return next_collection_day(zone, end_of_day, local, changes)
    except LookupError:
        return None


def day_changes_from(session: Session, since: date) -> list[DayChange]:
    """Every zone's changes concerning ``since`` or later, oldest day first."""
    rows = session.execute(
        select(day_changes_t)
        .where((day_changes_t.c.day >= since) | (day_changes_t.c.moved_to >= since))
        .order_by(day_changes_t.c.day, day_changes_t.c.zone_id)
    )
    return [DayChange(row.zone_id, row.day, row.moved_to, row.reason, row.created_at) for row in rows]
