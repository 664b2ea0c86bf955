"""What the collector app and the API read: the households of a zone, the materials with their
rates in force, a collector's pickups and totals. Plain reads; nothing here writes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

import sms
from ledger.refs import normalise as normalise_reference
from service.models import collections_t, households_t, material_words_t, materials_t, phones_t
from service.reads.people import PickupLine, lines_of
from service.usecases import Refused
from service.usecases.catalogue import current_rates
from service.usecases.households import zone_allows

MAX_PAGE = 500


class HouseholdEntry(NamedTuple):
    id: int
    code: str
    name: str
    phone: str
    address: str | None
    zone_id: int | None
    status: str
    language: str  # the language its phone is texted in (sms.LANGUAGES)


_HOUSEHOLDS = (
    select(
        households_t.c.id,
        households_t.c.member_code,
        households_t.c.name,
        households_t.c.phone,
        households_t.c.address,
        households_t.c.zone_id,
        households_t.c.status,
        # English for a number with no row of its own (as the outbox texts it).
        func.coalesce(phones_t.c.language, "EN"),
    )
    .select_from(households_t)
    .outerjoin(phones_t, phones_t.c.number == households_t.c.phone)
    .where(households_t.c.member_code.is_not(None))
)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(query: Select[Any], text: str, region: str) -> Select[Any]:
    """A member code (its check letter checked), a phone in any common form, or part of a name."""
    matches: list[ColumnElement[bool]] = [
        func.lower(households_t.c.name).like(_like(text.lower()), escape="\\")
    ]
    code = sms.parse_member_code(text)
    if code is not None:
        matches.append(households_t.c.member_code == code)
    phone = sms.normalise_phone(text, region)
    if phone is not None:
        matches.append(households_t.c.phone == phone)
    return query.where(or_(*matches))


class Viewer(NamedTuple):
    """Who is looking: a collector sees the households of their own zone only (none before they
    have one); anyone else, every zone's."""

    collector: bool
    zone_id: int | None = None
    # COLLECTORS_ANY_ZONE: a collector may look up any zone's household by its code.
    any_zone: bool = False


def zone_seen(viewer: Viewer | None, asked: int | None) -> int | None:
    """The zone whose households ``viewer`` is shown when asking for ``asked`` (None: every zone).
    ``Refused("not_your_zone")`` when a collector asks for another zone's."""
    if viewer is None or not viewer.collector:
        return asked
    if asked is not None and asked != viewer.zone_id:
        raise Refused("not_your_zone")
    return viewer.zone_id


def households(
    session: Session,
    *,
    region: str,
    zone_id: int | None = None,
    text: str = "",
    after: int | None = None,
    limit: int = 100,
    viewer: Viewer | None = None,
) -> tuple[list[HouseholdEntry], int | None]:
    """Households in id order (of one zone when ``zone_id`` is given, and only of the zone the
    ``viewer`` may see), matching ``text`` if any; a keyset page after ``after``, and the id to
    continue after (None on the last page)."""
    zone_id = zone_seen(viewer, zone_id)
    if viewer is not None and viewer.collector and zone_id is None:
        return [], None  # a collector with no zone yet sees none
    query = _HOUSEHOLDS.order_by(households_t.c.id).limit(min(limit, MAX_PAGE) + 1)
    if zone_id is not None:
        query = query.where(households_t.c.zone_id == zone_id)
    if after is not None:
        query = query.where(households_t.c.id > after)
    text = " ".join(text.split())[:80]
    if text:
        query = _search(query, text, region)
    rows = [HouseholdEntry(*row) for row in session.execute(query)]
    page = rows[: min(limit, MAX_PAGE)]
    return page, (page[-1].id if len(rows) > len(page) else None)


def household_by_code(session: Session, code: str, viewer: Viewer | None = None) -> HouseholdEntry | None:
    """The household with this member code, if the ``viewer`` may see it."""
    canonical = sms.parse_member_code(code)
    if canonical is None:
        return None
    row = session.execute(_HOUSEHOLDS.where(households_t.c.member_code == canonical)).first()
    found = None if row is None else HouseholdEntry(*row)
    if (
        found is not None
        and viewer is not None
        and viewer.collector
        and not zone_allows(viewer.zone_id, found.zone_id, any_zone=viewer.any_zone)
    ):
        return None
    return found


class MaterialEntry(NamedTuple):
    code: str
    name: str
    words: list[str]
    points_per_kg: int | None
    commission_per_kg: int | None
    rate_from: datetime | None


def materials(session: Session, now: datetime, commission_per_kg: int | None = None) -> list[MaterialEntry]:
    """Every material, its words, and its rate in force now (None when it has none: a pickup of
    it is refused). ``commission_per_kg`` is a collector's own, replacing the rates' commission."""
    words: dict[str, list[str]] = {}
    for word, code in session.execute(
        select(material_words_t.c.word, material_words_t.c.material_code).order_by(material_words_t.c.word)
    ):
        words.setdefault(code, []).append(word)
    rates = current_rates(session, now)
    found = []
    for code, name in session.execute(
        select(materials_t.c.code, materials_t.c.name).order_by(materials_t.c.code)
    ):
        rate = rates.get(code)
        commission = None if rate is None else rate.commission_per_kg
        if rate is not None and commission_per_kg is not None:
            commission = commission_per_kg
        found.append(
            MaterialEntry(
                code,
                name,
                words.get(code, []),
                None if rate is None else rate.points_per_kg,
                commission,
                None if rate is None else rate.effective_from,
            )
        )
    return found


class PickupEntry(NamedTuple):
    id: int
    reference: str
    household_code: str
    household_name: str
    collector_id: int
    occurred_at: datetime
    received_at: datetime
    channel: str
    status: str
    grams: int
    points: int
    commission: int
    seq: int | None
    lines: tuple[PickupLine, ...]


_PICKUPS = (
    select(
        collections_t.c.id,
        collections_t.c.reference,
        households_t.c.member_code,
        households_t.c.name,
        collections_t.c.collector_id,
        collections_t.c.occurred_at,
        collections_t.c.received_at,
        collections_t.c.channel,
        collections_t.c.status,
        collections_t.c.grams,
        collections_t.c.points,
        collections_t.c.commission,
        collections_t.c.seq,
    )
    .join(households_t, households_t.c.id == collections_t.c.household_id)
    .where(collections_t.c.reference.is_not(None))
)


def _with_lines(session: Session, rows: Sequence[Any]) -> list[PickupEntry]:
    lines = lines_of(session, [int(row[0]) for row in rows])
    return [PickupEntry._make((*row, tuple(lines[int(row[0])]))) for row in rows]


def pickups(
    session: Session, *, collector_id: int | None = None, before: int | None = None, limit: int = 50
) -> tuple[list[PickupEntry], int | None]:
    """Pickups as they were recorded, newest first (one collector's when ``collector_id``); a keyset
    page before ``before`` and the id to continue before (None on the last page)."""
    query = _PICKUPS.order_by(collections_t.c.id.desc()).limit(min(limit, MAX_PAGE) + 1)
    if collector_id is not None:
        query = query.where(collections_t.c.collector_id == collector_id)
    if before is not None:
        query = query.where(collections_t.c.id < before)
    rows = session.execute(query).all()
    page = _with_lines(session, rows[: min(limit, MAX_PAGE)])
    return page, (page[-1].id if len(rows) > len(page) else None)


def pickup(session: Session, reference: str) -> PickupEntry | None:
    """The pickup with this receipt reference (as typed: any case, spaces), or None. Text that
    cannot be a reference is not looked up (a NUL in it is an error on PostgreSQL)."""
    canonical = normalise_reference(reference)
    if canonical is None:
        return None
    row = session.execute(_PICKUPS.where(collections_t.c.reference == canonical)).first()
    return None if row is None else _with_lines(session, [row])[0]


class Totals(NamedTuple):
    pickups: int
    grams: int
    points: int
    commission: int


class Period(NamedTuple):
    day: date
    today: Totals
    week: Totals
    month: Totals


def _totals(session: Session, collector_id: int | None, since: datetime, until: datetime) -> Totals:
    query = select(
        func.count(),
        func.coalesce(func.sum(collections_t.c.grams), 0),
        func.coalesce(func.sum(collections_t.c.points), 0),
        func.coalesce(func.sum(collections_t.c.commission), 0),
    ).where(
        collections_t.c.occurred_at >= since,
        collections_t.c.occurred_at < until,
        collections_t.c.status == "credited",
    )
    if collector_id is not None:
        query = query.where(collections_t.c.collector_id == collector_id)
    count, grams, points, commission = session.execute(query).one()
    return Totals(int(count), int(grams), int(points), int(commission))


def totals(session: Session, day: date, local: tzinfo, collector_id: int | None = None) -> Period:
    """Pickups that stand (not undone or reversed) by when they happened, in the programme's local
    day, its week (from Monday) and its month, up to the end of ``day``."""

    def start(of: date) -> datetime:
        return datetime.combine(of, time(), tzinfo=local)

    until = start(day + timedelta(days=1))
    return Period(
        day,
        _totals(session, collector_id, start(day), until),
        _totals(session, collector_id, start(day - timedelta(days=day.weekday())), until),
        _totals(session, collector_id, start(day.replace(day=1)), until),
    )
