"""Milestones (issue 23): a household is texted, once each, when its first pickup is credited,
when its pickups reach 10, 50, 100 and 500 kg, and on each anniversary of joining. The operator
turns any of them off (``MILESTONES``).

Exactly once: each milestone reached is a row, unique on the household and the milestone's name,
inserted with ON CONFLICT DO NOTHING; only the check whose insert went in writes the text, in the
same transaction. Checks read what is committed, so they catch up: a check finds every milestone
the household's totals have reached and that has no row yet, whether or not the pickup that
crossed it asked (a job lost with Redis, two pickups at once that each saw the other's kilos
missing). When one check finds several (a first pickup of 12 kg), one text says the highest; the
others are kept as reached, without a text.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import and_, func, or_, select

import sms
from service.db import insert_ignoring_conflict
from service.models import collections_t, households_t, milestones_t
from service.unit_of_work import UnitOfWork
from service.usecases.impact import CREDITED

KILOS = (10, 50, 100, 500)


class Reached(NamedTuple):
    name: str  # first | 10kg ... | year1, year2 ...
    said: bool  # whether this check texted it


def due(grams: int, pickups: int, enabled: frozenset[str]) -> list[str]:
    """The pickup milestones these totals have reached, lowest first (as ``MILESTONES`` allows)."""
    names = ["first"] if pickups > 0 and "first" in enabled else []
    return names + [f"{kg}kg" for kg in KILOS if grams >= kg * 1000 and f"{kg}kg" in enabled]


def full_years(joined: date, today: date) -> int:
    """Whole years from ``joined`` to ``today`` (29 February's anniversary is 1 March)."""
    years = today.year - joined.year
    if (today.month, today.day) < (joined.month, joined.day):
        years -= 1
    return max(years, 0)


def _keep(uow: UnitOfWork, household_id: int, names: list[str]) -> list[str]:
    """The rows for ``names``; those this check put in (a racing check's are not its own)."""
    return [
        name
        for name in names
        if insert_ignoring_conflict(
            uow.session,
            milestones_t,
            {"household_id": household_id, "name": name, "reached_at": uow.now},
            conflict=("household_id", "name"),
            returning=milestones_t.c.id,
        )
        is not None
    ]


def _say(
    uow: UnitOfWork, household_id: int, phone: str, milestone: str, template: str, /, **values: object
) -> None:
    """The milestone's text, in the household's language, linked from its row."""
    uow.outbox.text(phone, template, **values)
    uow.session.execute(
        milestones_t.update()
        .where(milestones_t.c.household_id == household_id, milestones_t.c.name == milestone)
        .values(outbox_id=uow.outbox.written[-1])
    )


def check(uow: UnitOfWork, household_id: int) -> list[Reached]:
    """The pickup milestones the household has reached and that have no row yet: kept, and the
    highest texted (unless the household is suspended or gone). What was reached."""
    session = uow.session
    member = session.execute(
        select(households_t.c.phone, households_t.c.name, households_t.c.status).where(
            households_t.c.id == household_id, households_t.c.member_code.is_not(None)
        )
    ).first()
    enabled = uow.settings.milestones - {"year"}
    if member is None or not enabled:
        return []
    pickups, grams = session.execute(
        select(func.count(), func.coalesce(func.sum(collections_t.c.grams), 0)).where(
            collections_t.c.household_id == household_id, collections_t.c.status == CREDITED
        )
    ).one()
    wanted = due(int(grams), int(pickups), enabled)
    known = set(
        session.execute(
            select(milestones_t.c.name).where(milestones_t.c.household_id == household_id)
        ).scalars()
    )
    new = _keep(uow, household_id, [name for name in wanted if name not in known])
    if not new:
        return []
    top = new[-1]
    if member.status == "active":
        first_name = sms.first_name(member.name)
        if top == "first":
            _say(uow, household_id, member.phone, top, "milestone_first", name=first_name)
        else:
            kg = top.removesuffix("kg")
            _say(uow, household_id, member.phone, top, "milestone_kg", name=first_name, kg=kg)
    return [Reached(name, name == top and member.status == "active") for name in new]


# An anniversary missed (the clock was down) is still texted this many days late, no later.
CATCH_UP_DAYS = 7


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def anniversaries(uow: UnitOfWork, *, limit: int = 500) -> int:
    """Households whose anniversary of joining (in the programme's days) came in the last
    ``CATCH_UP_DAYS`` days and was not texted yet: kept and texted. How many (at most ``limit`` a
    run; the next run takes the rest)."""
    if "year" not in uow.settings.milestones:
        return 0
    session, local = uow.session, uow.settings.zone
    today = uow.now.astimezone(local).date()
    oldest = session.execute(select(func.min(households_t.c.created_at))).scalar()
    if oldest is None:
        return 0

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), local)

    # Who joined k years before one of the last CATCH_UP_DAYS days, for each k there can be.
    windows = [
        and_(
            households_t.c.created_at >= midnight(years_before(today, k) - timedelta(days=CATCH_UP_DAYS - 1)),
            households_t.c.created_at < midnight(years_before(today, k) + timedelta(days=1)),
        )
        for k in range(1, today.year - oldest.astimezone(local).year + 1)
    ]
    if not windows:
        return 0
    candidates = session.execute(
        select(households_t.c.id, households_t.c.phone, households_t.c.name, households_t.c.created_at)
        .where(households_t.c.member_code.is_not(None), households_t.c.status == "active", or_(*windows))
        .order_by(households_t.c.id)
    ).all()
    texted = 0
    for household_id, phone, name, joined in candidates:
        if texted >= limit:
            break
        years = full_years(joined.astimezone(local).date(), today)
        if years < 1 or not _keep(uow, household_id, [f"year{years}"]):
            continue
        template = "milestone_year_one" if years == 1 else "milestone_year"
        _say(uow, household_id, phone, f"year{years}", template, name=sms.first_name(name), years=years)
        texted += 1
    return texted
