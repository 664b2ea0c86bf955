"""Reasons to stay (issue 23): what a household's recycling adds up to (IMPACT), and how its zone
is doing this month (ZONE). Read-only: totals from the pickups credited, never a word about
anyone else's household.
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import sms
from service.models import collection_lines_t, collections_t, households_t, materials_t, zones_t
from service.usecases import CatalogueError, Refused
from service.usecases.households import Member

CREDITED = "credited"  # undone and reversed pickups do not count


class Impact(NamedTuple):
    """A household's pickups since it joined: each material's total (most first), the grams of
    CO2e their recycling avoided, and the points they earned."""

    recycled: tuple[sms.Recycled, ...]
    co2e_grams: int
    points: int


def household_impact(session: Session, household: Member | None) -> Impact:
    """IMPACT; ``Refused("not_member")`` for a stranger."""
    if household is None:
        raise Refused("not_member")
    credited = (collections_t.c.household_id == household.id) & (collections_t.c.status == CREDITED)
    rows = session.execute(
        select(
            collection_lines_t.c.material_code,
            func.sum(collection_lines_t.c.grams),
            materials_t.c.items_per_kg,
            materials_t.c.item_unit,
            materials_t.c.co2e_g_per_kg,
        )
        .join(collections_t, collections_t.c.id == collection_lines_t.c.collection_id)
        .join(materials_t, materials_t.c.code == collection_lines_t.c.material_code)
        .where(credited)
        .group_by(
            collection_lines_t.c.material_code,
            materials_t.c.items_per_kg,
            materials_t.c.item_unit,
            materials_t.c.co2e_g_per_kg,
        )
    ).all()
    earned = select(func.coalesce(func.sum(collections_t.c.points), 0)).where(credited)
    points = session.execute(earned).scalar()
    recycled = sorted(
        (
            sms.Recycled(code, int(grams), int(grams) * items // 1000 if items else None, unit)
            for code, grams, items, unit, _ in rows
        ),
        key=lambda line: (-line.grams, line.material),
    )
    co2e = sum(int(grams) * (per_kg or 0) // 1000 for _, grams, _, _, per_kg in rows)
    return Impact(tuple(recycled), co2e, int(points or 0))


class ZoneMonth(NamedTuple):
    """A zone this month: its name, its kilos (grams) so far, its rank among every zone (1 the
    most; zones level share a rank), how many zones, and its grams last month."""

    name: str
    grams: int
    rank: int
    zones: int
    last_month: int


def month_start(now: datetime, local: tzinfo, months_back: int = 0) -> datetime:
    """The first moment of the programme's month, ``months_back`` months before this one."""
    today = now.astimezone(local).date()
    month = today.year * 12 + today.month - 1 - months_back
    return datetime.combine(date(month // 12, month % 12 + 1, 1), time(), local)


def _grams_by_zone(session: Session, start: datetime, end: datetime) -> dict[int, int]:
    rows = session.execute(
        select(households_t.c.zone_id, func.sum(collections_t.c.grams))
        .join(households_t, households_t.c.id == collections_t.c.household_id)
        .where(
            collections_t.c.status == CREDITED,
            collections_t.c.occurred_at >= start,
            collections_t.c.occurred_at < end,
            households_t.c.zone_id.is_not(None),
        )
        .group_by(households_t.c.zone_id)
    ).all()
    return {int(zone_id): int(grams) for zone_id, grams in rows}


def zone_month(session: Session, zone_id: int, now: datetime, local: tzinfo) -> ZoneMonth:
    """ZONE: this month's kilos of the zone's households (pickups credited, by when they
    happened), its rank among all the programme's zones, and last month's kilos."""
    this_month, last_month = month_start(now, local), month_start(now, local, 1)
    now_grams = _grams_by_zone(session, this_month, now)
    before = _grams_by_zone(session, last_month, this_month)
    names: dict[int, str] = {
        int(row.id): row.name for row in session.execute(select(zones_t.c.id, zones_t.c.name))
    }
    grams = now_grams.get(zone_id, 0)
    rank = 1 + sum(1 for zone in names if now_grams.get(zone, 0) > grams)
    return ZoneMonth(names[zone_id], grams, rank, len(names), before.get(zone_id, 0))


class CollectorMonth(NamedTuple):
    pickups: int
    grams: int


def collector_month(session: Session, collector_id: int, now: datetime, local: tzinfo) -> CollectorMonth:
    """A collector's own pickups and kilos this month (credited ones)."""
    count, grams = session.execute(
        select(func.count(), func.coalesce(func.sum(collections_t.c.grams), 0)).where(
            collections_t.c.collector_id == collector_id,
            collections_t.c.status == CREDITED,
            collections_t.c.occurred_at >= month_start(now, local),
        )
    ).one()
    return CollectorMonth(int(count), int(grams))


def change_on(grams: int, last_month: int) -> str | None:
    """The change on last month as a reply says it ("+15%", "-8%"); None when last month had none."""
    if last_month <= 0:
        return None
    percent = round((grams - last_month) * 100 / last_month)
    return f"{percent:+d}%"


class Factors(NamedTuple):
    """What a kilo of a material means (IMPACT): items a kg and what an item is, and grams of CO2e
    its recycling avoids; None where the programme does not say."""

    code: str
    items_per_kg: int | None
    item_unit: str | None
    co2e_g_per_kg: int | None


MAX_FACTOR = 100_000  # items or grams of CO2e a kg: more is a typo


def factors(session: Session) -> list[Factors]:
    """Every material's factors, by code."""
    rows = session.execute(
        select(
            materials_t.c.code,
            materials_t.c.items_per_kg,
            materials_t.c.item_unit,
            materials_t.c.co2e_g_per_kg,
        ).order_by(materials_t.c.code)
    )
    return [Factors(*row) for row in rows]


def set_factors(
    session: Session, code: str, *, items_per_kg: int | None, item_unit: str | None, co2e_g_per_kg: int | None
) -> Factors:
    """A material's factors, as the operator sets them (None: not said). ``CatalogueError`` for an
    unknown material, a unit that is not a bottle, can or sachet, a count without its unit (or a
    unit without its count), or a figure out of range."""
    code = code.strip().upper()
    if item_unit is not None and item_unit not in sms.UNITS:
        raise CatalogueError(f"an item is one of {', '.join(sms.UNITS)}, not {item_unit!r}")
    if (items_per_kg is None) != (item_unit is None):
        raise CatalogueError("give both the items a kg and what an item is (or neither)")
    for name, value in (("items a kg", items_per_kg), ("grams of CO2e a kg", co2e_g_per_kg)):
        if value is not None and not 0 < value <= MAX_FACTOR:
            raise CatalogueError(f"{name} must be between 1 and {MAX_FACTOR:,}")
    changed = session.execute(
        update(materials_t)
        .where(materials_t.c.code == code)
        .values(items_per_kg=items_per_kg, item_unit=item_unit, co2e_g_per_kg=co2e_g_per_kg)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        raise CatalogueError(f"no material {code}")
    return Factors(code, items_per_kg, item_unit, co2e_g_per_kg)
