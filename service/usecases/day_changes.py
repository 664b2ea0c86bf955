"""Changes to a zone's collection days: one day cancelled or moved (a holiday, a flood), or new
regular days and hours from now on. Requests for a day that goes follow it; the households are
told (a notice run for one day; a text each for new days)."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import sms
from service.models import day_changes_t, households_t, phones_t, pickup_requests_t, zones_t
from service.timetable import DayChange, Run, collection_days, day_label, local_day, next_collection_day
from service.unit_of_work import Job, UnitOfWork
from service.usecases import CatalogueError
from service.usecases.reminders import fan_out_arguments, fan_out_id
from service.usecases.zones import Zone, get_zone, next_day_after, parse_days, parse_window, zone_changes

REASON_WIDTH = 60


class ReminderError(CatalogueError):
    """A change to the reminders or collection days that cannot be made; nothing was written."""


def change_day(
    uow: UnitOfWork, zone: Zone, day: date, moved_to: date | None, reason: str, *, actor: str
) -> DayChange:
    """Cancel one of the zone's collection days, or move it to ``moved_to``. Its PICKUP and SKIP
    requests go with it (to the new day, or to the next one). The households are told by the
    notice run, started as soon as this commits (the scheduler would start it within a minute
    anyway: the run's keys make sure nobody is texted twice)."""
    session, now, local = uow.session, uow.now, uow.settings.zone
    reason = " ".join(reason.split())
    if not 0 < len(reason) <= REASON_WIDTH:
        raise ReminderError(f"give a reason of 1 to {REASON_WIDTH} characters (households are told it)")
    today = local_day(now, local)
    changes = zone_changes(session, zone.id, today)
    if day < today:
        raise ReminderError(f"{day} has passed")
    if day in changes:
        raise ReminderError(f"{zone.name}'s {day} is already {'moved' if changes[day] else 'cancelled'}")
    if not collection_days(zone.days, day, day, changes):
        raise ReminderError(f"{day} ({day:%A}) is not a collection day in {zone.name} ({zone.describe()})")
    if moved_to is not None:
        if moved_to < today or moved_to == day:
            raise ReminderError(f"move it to a day from today on, other than {day} itself")
        if abs((moved_to - day).days) > 30:
            raise ReminderError("move it by 30 days at most; cancel it if the day is further away")
        if collection_days(zone.days, moved_to, moved_to, changes):
            raise ReminderError(
                f"{moved_to} is a collection day in {zone.name} already; cancel {day} instead"
            )
    session.execute(
        day_changes_t.insert(),
        {
            "zone_id": zone.id,
            "day": day,
            "moved_to": moved_to,
            "reason": reason,
            "created_at": now,
            "created_by": actor[:80],
        },
    )
    changes = {**changes, day: moved_to}
    _carry_requests(session, zone, day, moved_to or next_day_after(zone, day, local, changes))
    changed = DayChange(zone.id, day, moved_to, reason, now)
    notice = Run(zone.id, day, changed.kind)
    uow.after_commit(Job.FAN_OUT_REMINDERS, *fan_out_arguments(notice), job_id=fan_out_id(notice, "change"))
    return changed


def _carry_requests(session: Session, zone: Zone, day: date, to: date | None) -> int:
    """Move the PICKUP/SKIP requests of ``day`` to ``to``, except where a household has one there;
    returns how many moved."""
    if to is None:
        return 0
    already = select(pickup_requests_t.c.household_id).where(pickup_requests_t.c.collection_date == to)
    moved = session.execute(
        update(pickup_requests_t)
        .where(
            pickup_requests_t.c.zone_id == zone.id,
            pickup_requests_t.c.collection_date == day,
            pickup_requests_t.c.household_id.not_in(already),
        )
        .values(collection_date=to)
    )
    return int(moved.rowcount)  # type: ignore[attr-defined]


class Retimed(NamedTuple):
    zone: Zone
    texted: int  # households told the new days
    moved: int  # PICKUP/SKIP requests carried to a day that is still a collection day


def change_timetable(uow: UnitOfWork, zone: Zone, days: str, window: str) -> Retimed:
    """Give a zone new regular collection days or hours, from now on.

    Requests (PICKUP/SKIP) for a day that is no longer a collection day go to the next one, and
    every active household of the zone that did not opt out is texted the new days and its next
    collection day, in its language (in bulk, after the commit). The evening and morning
    reminders follow the new days by themselves.
    """
    session, now, local, programme = uow.session, uow.now, uow.settings.zone, uow.settings.programme_name
    start, end = parse_window(window)
    session.execute(
        update(zones_t)
        .where(zones_t.c.id == zone.id)
        .values(days=parse_days(days), window_start=start, window_end=end)
    )
    retimed = get_zone(session, zone.id)
    assert retimed is not None
    if (retimed.days, retimed.window) == (zone.days, zone.window):
        raise ReminderError(f"{zone.name} is already {zone.describe()}")  # the caller rolls back
    today = local_day(now, local)
    changes = zone_changes(session, zone.id, today)
    requested = session.execute(
        select(pickup_requests_t.c.collection_date)
        .where(pickup_requests_t.c.zone_id == zone.id, pickup_requests_t.c.collection_date >= today)
        .distinct()
    ).scalars()
    moved = 0
    for day in sorted(requested):
        if not collection_days(retimed.days, day, day, changes):
            moved += _carry_requests(session, retimed, day, next_day_after(retimed, day, local, changes))
    following: object
    try:
        following = day_label(next_collection_day(retimed, now, local, changes))
    except LookupError:
        following = "-"
    values = {"zone": retimed.name, "days": retimed.weekdays(), "next": following}
    recipients = session.execute(
        select(households_t.c.phone, phones_t.c.language)
        .join(phones_t, phones_t.c.number == households_t.c.phone)
        .where(
            households_t.c.zone_id == zone.id,
            households_t.c.status == "active",
            phones_t.c.opted_out_at.is_(None),
        )
        .order_by(households_t.c.id)
    ).all()
    texts = {
        language: sms.render("zone_days_changed", language, programme=programme, **values)
        for language in {row.language for row in recipients}
    }
    texted = uow.outbox.write_bulk(
        [(row.phone, texts[row.language], row.language) for row in recipients],
        template="zone_days_changed",
        kind="reminder",
    )
    return Retimed(retimed, len(texted), moved)
