"""The overview's trends: the last twelve weeks, week by week.

Weeks are the programme's own: Monday 00:00 to Monday 00:00 in its zone (``TIMEZONE``, Lagos by
default), whatever the servers' clock says; the current week is included and marked partial.
Each week has:

- kg collected, pickups, active households (with at least one pickup that week) and points
  issued: the pickups still credited, by when they were received (as the overview's "This week");
- points redeemed: redemptions made that week and not refunded;
- reminder to pickup: of the households texted a reminder for a collection day that week (the
  evening before or the morning of), how many had a pickup that day or the next.

Who was reminded for which day is exact: each reminder row names its household, collection day
and the outbox row of its text. A household counts once per collection day (an evening and a
morning reminder are one), and only if the text went out: its outbox row, or the operator's
retry of it (one retry deep), was sent or delivered (a text still queued, failed or suppressed
reminded nobody). It converted if it has a pickup still credited that *happened*
(``occurred_at``: an app's pickup synced later still counts) from the collection day's 00:00 to
the end of the next day, local time. Collection days after today are left out (their reminders
went out, their pickups cannot have yet); today's and yesterday's days are still open, which is
one more reason the current week is partial.

Each measure is one query over the twelve weeks (no query per week): a week's bounds are UTC
instants computed here, and rows are put in their week by a CASE over those bounds (the same SQL
on SQLite and PostgreSQL, exact across a zone's daylight saving time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Date, Integer, and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from ledger.models import UTCDateTime
from service.models import collections_t, outbox_t, redemptions_t, reminders_t, zones_t
from service.reads.insights import SENT
from service.timetable import DAY_KINDS, at, local_day

WEEKS = 12


@dataclass(frozen=True)
class Bounds:
    """One local week: Monday, and the UTC instants of its start and of the next Monday."""

    first: date
    start: datetime
    end: datetime

    @property
    def last(self) -> date:
        return self.first + timedelta(days=6)


def weeks(now: datetime, local: tzinfo, count: int = WEEKS) -> list[Bounds]:
    """The ``count`` local weeks up to and including the current one, oldest first."""
    today = local_day(now, local)
    monday = today - timedelta(days=today.weekday())
    firsts = [monday - timedelta(weeks=back) for back in range(count - 1, -1, -1)]
    return [
        Bounds(first, at(first, time(0), local), at(first + timedelta(days=7), time(0), local))
        for first in firsts
    ]


@dataclass(frozen=True)
class Week:
    bounds: Bounds
    partial: bool  # the current week: up to now only
    pickups: int = 0
    grams: int = 0
    active_households: int = 0
    points_issued: int = 0
    points_redeemed: int = 0
    reminded: int = 0  # (household, collection day) pairs texted a reminder
    converted: int = 0  # of those, with a pickup that day or the next

    @property
    def first(self) -> date:
        return self.bounds.first

    @property
    def conversion_percent(self) -> int | None:
        """``converted`` of ``reminded`` as a whole percent (half up); None with no reminders."""
        if not self.reminded:
            return None
        return (200 * self.converted + self.reminded) // (2 * self.reminded)


def _bucket(column: Any, bounds: Sequence[Bounds]) -> ColumnElement[int]:
    """The index of the week ``column`` falls in (0 the oldest), for rows already within the weeks."""
    return case(
        *((column < week.end, index) for index, week in enumerate(bounds[:-1])),
        else_=len(bounds) - 1,
    )


def _within(column: Any, bounds: Sequence[Bounds]) -> ColumnElement[bool]:
    return and_(column >= bounds[0].start, column < bounds[-1].end)


def _pickups(session: Session, bounds: Sequence[Bounds]) -> dict[int, tuple[int, int, int, int]]:
    """Week -> (pickups, grams, households, points issued) of the pickups still credited."""
    received = collections_t.c.received_at
    rows = (
        select(
            _bucket(received, bounds).label("week"),
            collections_t.c.grams,
            collections_t.c.points,
            collections_t.c.household_id,
        )
        .where(collections_t.c.status == "credited", _within(received, bounds))
        .subquery()
    )
    found = session.execute(
        select(
            rows.c.week,
            func.count(),
            func.sum(rows.c.grams),
            func.count(rows.c.household_id.distinct()),
            func.sum(rows.c.points),
        ).group_by(rows.c.week)
    )
    return {
        int(week): (int(n), int(grams), int(households), int(issued))
        for week, n, grams, households, issued in found
    }


def _redeemed(session: Session, bounds: Sequence[Bounds]) -> dict[int, int]:
    """Week -> points redeemed (refunded redemptions left out, as on the overview)."""
    created = redemptions_t.c.created_at
    rows = (
        select(_bucket(created, bounds).label("week"), redemptions_t.c.points)
        .where(redemptions_t.c.status != "refunded", _within(created, bounds))
        .subquery()
    )
    found = session.execute(select(rows.c.week, func.sum(rows.c.points)).group_by(rows.c.week))
    return {int(week): int(total) for week, total in found}


def _texted() -> ColumnElement[bool]:
    """The reminder's text went out: its outbox row, or an operator's retry of it, was sent."""
    retry = outbox_t.alias("retry")
    return or_(
        outbox_t.c.status.in_(SENT),
        exists().where(retry.c.retry_of == outbox_t.c.id, retry.c.status.in_(SENT)),
    )


def _conversion(
    session: Session, bounds: Sequence[Bounds], today: date, local: tzinfo
) -> dict[int, tuple[int, int]]:
    """Week -> (households reminded, of them with a pickup that day or the next), by collection day."""
    last = min(today, bounds[-1].last)
    days = []
    for index, week in enumerate(bounds):
        day = week.first
        while day <= min(last, week.last):
            days.append((index, day))
            day += timedelta(days=1)
    if not days:
        return {}
    # Each day's window, computed here in the programme's zone: a derived table of a row a day.
    windows = union_all(
        *(
            select(
                literal(index, Integer).label("week"),
                literal(day, Date).label("day"),
                literal(at(day, time(0), local), UTCDateTime).label("opens"),
                literal(at(day + timedelta(days=2), time(0), local), UTCDateTime).label("closes"),
            )
            for index, day in days
        )
    ).subquery("windows")
    reminded = (
        select(reminders_t.c.household_id, reminders_t.c.collection_date)
        .join(outbox_t, outbox_t.c.id == reminders_t.c.outbox_id)
        .where(
            # Every zone: the reminders' key begins with the zone, so its index finds the days.
            reminders_t.c.zone_id.in_(select(zones_t.c.id)),
            reminders_t.c.kind.in_(DAY_KINDS),
            reminders_t.c.collection_date.between(days[0][1], last),
            _texted(),
        )
        .distinct()
        .subquery("reminded")
    )
    picked_up = exists().where(
        collections_t.c.household_id == reminded.c.household_id,
        collections_t.c.status == "credited",
        collections_t.c.occurred_at >= windows.c.opens,
        collections_t.c.occurred_at < windows.c.closes,
    )
    pairs = (
        select(windows.c.week, picked_up.label("converted"))
        .select_from(reminded)
        .join(windows, windows.c.day == reminded.c.collection_date)
        .subquery("pairs")
    )
    found = session.execute(
        select(pairs.c.week, func.count(), func.sum(case((pairs.c.converted, 1), else_=0))).group_by(
            pairs.c.week
        )
    )
    return {int(week): (int(n), int(converted)) for week, n, converted in found}


def trends(session: Session, now: datetime, local: tzinfo, count: int = WEEKS) -> list[Week]:
    """The last ``count`` local weeks, oldest first, the current (partial) one last; a week
    without pickups, redemptions or reminders is there, with zeros."""
    bounds = weeks(now, local, count)
    pickups = _pickups(session, bounds)
    redeemed = _redeemed(session, bounds)
    conversion = _conversion(session, bounds, local_day(now, local), local)
    found = []
    for index, week in enumerate(bounds):
        n, grams, households, issued = pickups.get(index, (0, 0, 0, 0))
        reminded, converted = conversion.get(index, (0, 0))
        found.append(
            Week(
                bounds=week,
                partial=index == len(bounds) - 1,
                pickups=n,
                grams=grams,
                active_households=households,
                points_issued=issued,
                points_redeemed=redeemed.get(index, 0),
                reminded=reminded,
                converted=converted,
            )
        )
    return found
