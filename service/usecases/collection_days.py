"""A household's say in its collection day (PICKUP asks for a pickup on the next one, SKIP says
there is nothing this time), and the route a collector sees: the requests of their zone for its
next collection day."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from sqlalchemy import bindparam, select

import sms
from service.db import upsert
from service.models import households_t, pickup_requests_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused
from service.usecases.households import Member
from service.usecases.roles import active_collector
from service.usecases.zones import Zone, get_zone, next_day_of

# How much of the route one text may hold.
ROUTE_WIDTH = 220


class Asked(NamedTuple):
    day: date
    zone: Zone


def ask(uow: UnitOfWork, household: Member | None, kind: str, note: str | None = None) -> Asked:
    """PICKUP (``kind`` "pickup", with an optional note) or SKIP ("skip") for the household's next
    collection day; a second request for the same day replaces the first. ``Refused`` for a
    stranger and for a household with no zone yet."""
    if household is None:
        raise Refused("not_member")
    zone = get_zone(uow.session, household.zone_id) if household.zone_id is not None else None
    if zone is None:
        raise Refused("household_no_zone")
    day = next_day_of(uow.session, zone, uow.now, uow.settings.zone)
    upsert(
        uow.session,
        pickup_requests_t,
        {
            "household_id": household.id,
            "collection_date": day,
            "zone_id": zone.id,
            "kind": kind,
            "note": note,
            "created_at": uow.now,
        },
        conflict=("household_id", "collection_date"),
        update={"kind": kind, "note": note, "zone_id": zone.id},
        returning=(pickup_requests_t.c.household_id,),
    )
    return Asked(day, zone)


_ROUTE = (
    select(households_t.c.member_code, households_t.c.address, pickup_requests_t.c.note)
    .join(households_t, households_t.c.id == pickup_requests_t.c.household_id)
    .where(
        pickup_requests_t.c.zone_id == bindparam("zone_id"),
        pickup_requests_t.c.collection_date == bindparam("day"),
        pickup_requests_t.c.kind == "pickup",
    )
    .order_by(pickup_requests_t.c.created_at)
)


class Route(NamedTuple):
    day: date
    zone: Zone
    stops: list[str]  # "K4821X 12 Adeniyi St (2 bags)", in the order they were asked for


def route(uow: UnitOfWork, collector_id: int) -> Route:
    """ROUTE: the pickups asked for on the next collection day of the collector's zone.
    ``Refused`` for a suspended collector or one with no zone."""
    collector = active_collector(uow.session, collector_id)
    zone = get_zone(uow.session, collector.zone_id) if collector.zone_id is not None else None
    if zone is None:
        raise Refused("collector_no_zone")
    day = next_day_of(uow.session, zone, uow.now, uow.settings.zone)
    stops = [
        " ".join(part for part in (code, (address or "")[:30], f"({note[:20]})" if note else "") if part)
        for code, address, note in uow.session.execute(_ROUTE, {"zone_id": zone.id, "day": day})
    ]
    return Route(day, zone, stops)


def describe_route(found: Route) -> str:
    return sms.fit_list(found.stops, ROUTE_WIDTH)
