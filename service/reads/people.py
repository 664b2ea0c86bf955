"""Households and collectors as the dashboard shows them: finding a household, its statement with a
running balance, its pickups, texts and disputes; the collectors with their month, and one
collector's pickups, kg, ratings and commission. Queries only: nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import collector_account, member_account
from service.models import (
    collection_lines_t,
    collections_t,
    collectors_t,
    disputes_t,
    households_t,
    inbound_t,
    materials_t,
    outbox_t,
    phones_t,
    ratings_t,
    zones_t,
)
from service.timetable import at, local_day

SEARCH_LIMIT = 50
PICKUPS_LIMIT = 50
MESSAGES_LIMIT = 30
STATEMENT_PAGE = 50
KG_DAYS = 30


# --- households ------------------------------------------------------------------------------------


class HouseholdRow(NamedTuple):
    id: int
    member_code: str | None
    name: str
    phone: str
    zone: str | None
    status: str
    joined_at: datetime


_HOUSEHOLD_ROW = select(
    households_t.c.id,
    households_t.c.member_code,
    households_t.c.name,
    households_t.c.phone,
    zones_t.c.name.label("zone"),
    households_t.c.status,
    households_t.c.created_at,
).outerjoin(zones_t, zones_t.c.id == households_t.c.zone_id)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_households(
    session: Session, text: str, region: str, *, limit: int = SEARCH_LIMIT
) -> list[HouseholdRow]:
    """Households whose member code or phone (typed in any common form) is ``text``, or whose name
    contains it (any case); the newest first. An empty search lists the newest households."""
    text = " ".join(text.split())[:80]
    query = _HOUSEHOLD_ROW.order_by(households_t.c.id.desc()).limit(limit)
    if text:
        matches = [
            households_t.c.member_code == text.upper(),
            func.lower(households_t.c.name).like(_like(text.lower()), escape="\\"),
        ]
        phone = sms.normalise_phone(text, region)
        if phone is not None:
            matches.append(households_t.c.phone == phone)
        query = query.where(or_(*matches))
    return [HouseholdRow(*row) for row in session.execute(query)]


class Household(NamedTuple):
    id: int
    member_code: str | None
    name: str
    phone: str
    address: str | None
    zone: str | None
    status: str
    joined_at: datetime
    joined_via: str
    language: str
    opted_out_at: datetime | None
    balance: int


def _one_with_zone_and_phone(table: Table, person_id: int, *columns: Any) -> Any:
    """One household's or collector's ``columns``, its zone's name among them, then its phone's
    language and opt-out."""
    return (
        select(*columns, phones_t.c.language, phones_t.c.opted_out_at)
        .outerjoin(zones_t, zones_t.c.id == table.c.zone_id)
        .join(phones_t, phones_t.c.number == table.c.phone)
        .where(table.c.id == person_id)
    )


def _points(session: Session, account: str) -> int:
    try:
        return ledger.balance(session, account).credit_balance
    except ledger.UnknownAccount:
        return 0


def household(session: Session, household_id: int) -> Household | None:
    h = households_t.c
    row = session.execute(
        _one_with_zone_and_phone(
            households_t,
            household_id,
            h.id,
            h.member_code,
            h.name,
            h.phone,
            h.address,
            zones_t.c.name,
            h.status,
            h.created_at,
            h.joined_via,
        )
    ).first()
    if row is None:
        return None
    balance = _points(session, member_account(row.member_code)) if row.member_code else 0
    return Household._make((*row, balance))


def statement(
    session: Session, account: str, *, before: int | None = None, limit: int = STATEMENT_PAGE
) -> list[ledger.StatementLine]:
    """An account's transfers newest first, each with the balance right after it (``ledger.statement``)."""
    return ledger.statement(session, account, before=before, limit=limit)


class PickupLine(NamedTuple):
    material_code: str
    material: str
    grams: int
    points: int


class Pickup(NamedTuple):
    id: int
    reference: str | None
    occurred_at: datetime
    channel: str
    status: str
    grams: int
    points: int
    commission: int
    household_id: int
    member_code: str | None
    household: str
    collector_id: int
    collector: str
    dispute: str | None  # the dispute's status, if there is one
    lines: tuple[PickupLine, ...]


def pickups(
    session: Session,
    *,
    household_id: int | None = None,
    collector_id: int | None = None,
    limit: int = PICKUPS_LIMIT,
) -> list[Pickup]:
    """A household's or a collector's pickups, newest first, with their lines."""
    query = (
        select(
            collections_t.c.id,
            collections_t.c.reference,
            collections_t.c.occurred_at,
            collections_t.c.channel,
            collections_t.c.status,
            collections_t.c.grams,
            collections_t.c.points,
            collections_t.c.commission,
            households_t.c.id,
            households_t.c.member_code,
            households_t.c.name,
            collectors_t.c.id,
            collectors_t.c.name,
            disputes_t.c.status,
        )
        .join(households_t, households_t.c.id == collections_t.c.household_id)
        .join(collectors_t, collectors_t.c.id == collections_t.c.collector_id)
        .outerjoin(disputes_t, disputes_t.c.collection_id == collections_t.c.id)
        .order_by(collections_t.c.occurred_at.desc(), collections_t.c.id.desc())
        .limit(limit)
    )
    if household_id is not None:
        query = query.where(collections_t.c.household_id == household_id)
    if collector_id is not None:
        query = query.where(collections_t.c.collector_id == collector_id)
    found = session.execute(query).all()
    lines = lines_of(session, [int(row[0]) for row in found])
    return [Pickup._make((*row, tuple(lines[int(row[0])]))) for row in found]


def lines_of(session: Session, collection_ids: list[int]) -> dict[int, list[PickupLine]]:
    """The lines of these pickups, by pickup id, each pickup's in material order."""
    lines: dict[int, list[PickupLine]] = defaultdict(list)
    if not collection_ids:
        return lines
    for collection_id, *line in session.execute(
        select(
            collection_lines_t.c.collection_id,
            collection_lines_t.c.material_code,
            materials_t.c.name,
            collection_lines_t.c.grams,
            collection_lines_t.c.points,
        )
        .join(materials_t, materials_t.c.code == collection_lines_t.c.material_code)
        .where(collection_lines_t.c.collection_id.in_(collection_ids))
        .order_by(collection_lines_t.c.collection_id, collection_lines_t.c.material_code)
    ):
        lines[int(collection_id)].append(PickupLine(*line))
    return lines


class Message(NamedTuple):
    direction: str  # in | out
    at: datetime
    body: str
    status: str
    what: str | None  # an inbound text's command, an outbound text's template
    error: str | None


def messages(session: Session, phone: str, *, limit: int = MESSAGES_LIMIT) -> list[Message]:
    """The newest texts from and to a phone (up to ``limit`` each way), newest first."""
    received = session.execute(
        select(
            inbound_t.c.received_at,
            inbound_t.c.body,
            inbound_t.c.status,
            inbound_t.c.command,
            inbound_t.c.error,
        )
        .where(inbound_t.c.sender == phone)
        .order_by(inbound_t.c.received_at.desc(), inbound_t.c.id.desc())
        .limit(limit)
    )
    sent = session.execute(
        select(
            outbox_t.c.created_at,
            outbox_t.c.body,
            outbox_t.c.status,
            outbox_t.c.template,
            outbox_t.c.last_error,
        )
        .where(outbox_t.c.to_phone == phone)
        .order_by(outbox_t.c.created_at.desc(), outbox_t.c.id.desc())
        .limit(limit)
    )
    both = [Message("in", *row) for row in received] + [Message("out", *row) for row in sent]
    return sorted(both, key=lambda message: message.at, reverse=True)


# --- collectors ------------------------------------------------------------------------------------


def month_start(now: datetime, local_zone: tzinfo) -> datetime:
    """The start of this month in the programme's zone (UTC)."""
    return at(local_day(now, local_zone).replace(day=1), time(0), local_zone)


def _credited_since(since: datetime) -> Any:
    # The overview counts a pickup in the period it was received (credited); so does this.
    return (collections_t.c.status == "credited") & (collections_t.c.received_at >= since)


class CollectorRow(NamedTuple):
    id: int
    name: str
    phone: str
    zone: str | None
    status: str
    pickups: int  # this month's, credited
    grams: int


def collectors(session: Session, now: datetime, local_zone: tzinfo) -> list[CollectorRow]:
    """Every collector with this month's credited pickups and kg, by name."""
    month = (
        select(
            collections_t.c.collector_id,
            func.count().label("pickups"),
            func.sum(collections_t.c.grams).label("grams"),
        )
        .where(_credited_since(month_start(now, local_zone)))
        .group_by(collections_t.c.collector_id)
        .subquery()
    )
    rows = session.execute(
        select(
            collectors_t.c.id,
            collectors_t.c.name,
            collectors_t.c.phone,
            zones_t.c.name,
            collectors_t.c.status,
            func.coalesce(month.c.pickups, 0),
            func.coalesce(month.c.grams, 0),
        )
        .outerjoin(zones_t, zones_t.c.id == collectors_t.c.zone_id)
        .outerjoin(month, month.c.collector_id == collectors_t.c.id)
        .order_by(collectors_t.c.name, collectors_t.c.id)
    )
    return [CollectorRow(*row[:5], int(row[5]), int(row[6])) for row in rows]


class Collector(NamedTuple):
    id: int
    name: str
    phone: str
    zone: str | None
    status: str
    commission_per_kg: int | None
    joined_at: datetime
    language: str
    opted_out_at: datetime | None
    pickups_this_month: int
    grams_this_month: int
    commission_this_month: int
    commission_balance: int  # the collector's ledger account: all commission credited, less any taken
    ratings: int
    average_stars: float | None
    kg_by_material: list[tuple[str, int]]  # the last KG_DAYS days: (material, grams), heaviest first
    kg_since: date


def collector(session: Session, collector_id: int, now: datetime, local_zone: tzinfo) -> Collector | None:
    c = collectors_t.c
    row = session.execute(
        _one_with_zone_and_phone(
            collectors_t,
            collector_id,
            c.id,
            c.name,
            c.phone,
            zones_t.c.name,
            c.status,
            c.commission_per_kg,
            c.created_at,
        )
    ).first()
    if row is None:
        return None
    pickups_count, grams, commission = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(collections_t.c.grams), 0),
            func.coalesce(func.sum(collections_t.c.commission), 0),
        ).where(collections_t.c.collector_id == collector_id, _credited_since(month_start(now, local_zone)))
    ).one()
    ratings, stars = session.execute(
        select(func.count(), func.avg(ratings_t.c.stars)).where(ratings_t.c.collector_id == collector_id)
    ).one()
    kg_since = local_day(now, local_zone) - timedelta(days=KG_DAYS - 1)
    by_material = session.execute(
        select(materials_t.c.name, func.sum(collection_lines_t.c.grams))
        .select_from(collection_lines_t)
        .join(collections_t, collections_t.c.id == collection_lines_t.c.collection_id)
        .join(materials_t, materials_t.c.code == collection_lines_t.c.material_code)
        .where(
            collections_t.c.collector_id == collector_id,
            collections_t.c.status == "credited",
            collections_t.c.occurred_at >= at(kg_since, time(0), local_zone),
        )
        .group_by(materials_t.c.name)
        .order_by(func.sum(collection_lines_t.c.grams).desc(), materials_t.c.name)
    ).all()
    balance = _points(session, collector_account(collector_id))
    return Collector._make(
        (
            *row,
            int(pickups_count),
            int(grams),
            int(commission),
            balance,
            int(ratings),
            None if stars is None else float(stars),
            [(name, int(total)) for name, total in by_material],
            kg_since,
        )
    )
