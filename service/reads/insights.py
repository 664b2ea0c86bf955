"""The overview's figures for a period (this week, this month): kg by material and by zone,
points issued, redeemed and outstanding, active households, pickups per collector, texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

import ledger
from service.models import (
    collection_lines_t,
    collections_t,
    collectors_t,
    households_t,
    materials_t,
    outbox_t,
    redemptions_t,
    zones_t,
)
from service.timetable import at, local_day

SENT = ("sent", "delivered")
FAILED = ("failed", "undelivered")


@dataclass(frozen=True)
class Period:
    label: str
    first: date
    last: date  # inclusive
    start: datetime
    end: datetime


def periods(now: datetime, local: tzinfo) -> list[Period]:
    """This week (from Monday) and this month, in the programme's zone, up to today."""
    today = local_day(now, local)
    week = today - timedelta(days=today.weekday())
    month = today.replace(day=1)
    tomorrow = at(today + timedelta(days=1), time(0), local)
    return [
        Period("This week", week, today, at(week, time(0), local), tomorrow),
        Period("This month", month, today, at(month, time(0), local), tomorrow),
    ]


@dataclass(frozen=True)
class Figures:
    period: Period
    kg_by_material: list[tuple[str, int]]  # (material name, grams), heaviest first
    kg_by_zone: list[tuple[str, int]]
    pickups_by_collector: list[tuple[str, int, int]]  # (name, pickups, grams)
    pickups: int
    grams: int
    points_issued: int
    points_redeemed: int
    active_households: int
    sms_sent: int
    sms_delivered: int
    sms_failed: int
    sms_segments: int

    @property
    def pickups_per_collector(self) -> list[tuple[str, int]]:
        return [(name, count) for name, count, _grams in self.pickups_by_collector]


def _during(column: Any, period: Period) -> Any:
    return (column >= period.start) & (column < period.end)


def figures(session: Session, period: Period) -> Figures:
    credited = (collections_t.c.status == "credited") & _during(collections_t.c.received_at, period)
    by_material = session.execute(
        select(materials_t.c.name, func.sum(collection_lines_t.c.grams))
        .select_from(collection_lines_t)
        .join(collections_t, collections_t.c.id == collection_lines_t.c.collection_id)
        .join(materials_t, materials_t.c.code == collection_lines_t.c.material_code)
        .where(credited)
        .group_by(materials_t.c.name)
        .order_by(func.sum(collection_lines_t.c.grams).desc())
    ).all()
    by_zone = session.execute(
        select(func.coalesce(zones_t.c.name, "(no zone)"), func.sum(collections_t.c.grams))
        .select_from(collections_t)
        .join(households_t, households_t.c.id == collections_t.c.household_id)
        .outerjoin(zones_t, zones_t.c.id == households_t.c.zone_id)
        .where(credited)
        .group_by(zones_t.c.name)
        .order_by(func.sum(collections_t.c.grams).desc())
    ).all()
    by_collector = session.execute(
        select(collectors_t.c.name, func.count(), func.sum(collections_t.c.grams))
        .select_from(collections_t)
        .join(collectors_t, collectors_t.c.id == collections_t.c.collector_id)
        .where(credited)
        .group_by(collectors_t.c.id, collectors_t.c.name)
        .order_by(func.count().desc(), collectors_t.c.name)
    ).all()
    pickups, grams, issued, households = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(collections_t.c.grams), 0),
            func.coalesce(func.sum(collections_t.c.points), 0),
            func.count(collections_t.c.household_id.distinct()),
        ).where(credited)
    ).one()
    redeemed = session.execute(
        select(func.coalesce(func.sum(redemptions_t.c.points), 0)).where(
            _during(redemptions_t.c.created_at, period), redemptions_t.c.status != "refunded"
        )
    ).scalar_one()

    def count_of(statuses: tuple[str, ...], value: Any = 1) -> Any:
        return func.coalesce(func.sum(case((outbox_t.c.status.in_(statuses), value), else_=0)), 0)

    texts = session.execute(
        select(
            count_of(SENT),
            count_of(("delivered",)),
            count_of(FAILED),
            count_of(SENT, outbox_t.c.segments),
        ).where(_during(outbox_t.c.created_at, period))
    ).one()
    return Figures(
        period=period,
        kg_by_material=[(name, int(total)) for name, total in by_material],
        kg_by_zone=[(name, int(total)) for name, total in by_zone],
        pickups_by_collector=[(name, int(n), int(total)) for name, n, total in by_collector],
        pickups=int(pickups),
        grams=int(grams),
        points_issued=int(issued),
        points_redeemed=int(redeemed),
        active_households=int(households),
        sms_sent=int(texts[0]),
        sms_delivered=int(texts[1]),
        sms_failed=int(texts[2]),
        sms_segments=int(texts[3]),
    )


def points_outstanding(session: Session) -> int:
    """Points households hold now: what the programme owes them (the ledger's counters)."""
    return ledger.kind_balance(session, "member").credit_balance
