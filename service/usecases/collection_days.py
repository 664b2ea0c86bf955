"""A household's say in its collection day (PICKUP asks for a pickup on the next one, SKIP says
there is nothing this time), and the route a collector sees: the requests of their zone for its
next collection day, in pages of one text each (ROUTE, ROUTE 2, ROUTE MORE)."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select

from service.db import upsert
from service.models import households_t, pickup_requests_t, route_pages_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused
from service.usecases.households import Member
from service.usecases.roles import active_collector
from service.usecases.zones import Zone, get_zone, next_day_of
from sms.wording import paginate, shorten

# How much of the route one text may hold: a page of stops, in septets. With the rest of the
# reply ("Route Tue 24 Nov 2/3: ... Text ROUTE 3 for more.") it keeps within the route's two
# segments (sms.templates: BUDGETS, WIDTHS["list"]).
ROUTE_WIDTH = 230
ROUTE_SEPARATOR = "; "
# A stop's address and note are shortened, at a word, to these (the member code is whole).
ADDRESS_WIDTH = 30
NOTE_WIDTH = 20


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
    select(
        pickup_requests_t.c.created_at,
        pickup_requests_t.c.household_id,
        households_t.c.member_code,
        households_t.c.address,
        pickup_requests_t.c.note,
    )
    .join(households_t, households_t.c.id == pickup_requests_t.c.household_id)
    .where(
        pickup_requests_t.c.zone_id == bindparam("zone_id"),
        pickup_requests_t.c.collection_date == bindparam("day"),
        pickup_requests_t.c.kind == "pickup",
        households_t.c.status == "active",  # a suspended household's pickup would be refused
    )
    # The order they were asked in (a second PICKUP keeps its place), the household's id between
    # two asked at the same moment: a total order, so the pages are the same from text to text,
    # and a request made later goes at the end, never into a page already sent.
    .order_by(pickup_requests_t.c.created_at, pickup_requests_t.c.household_id)
)

# A stop's place in the route: when it was asked for, by which household.
StopKey = tuple[datetime, int]


class Route(NamedTuple):
    day: date
    zone: Zone
    stops: list[str]  # "K4821X 12 Adeniyi St (2 bags)", in the order they were asked for
    keys: list[StopKey]  # each stop's place, in the same order


def _stop(code: str | None, address: str | None, note: str | None) -> str:
    """A stop as the route writes it: the member code, the address and the note each shortened at
    a word ("K4821X 12 Adeniyi Road (2 bags at gate)"). A ";" typed in them becomes "," so that it
    cannot be taken for the end of the stop."""
    where = shorten((address or "").replace(";", ","), ADDRESS_WIDTH)
    said = shorten((note or "").replace(";", ","), NOTE_WIDTH)
    return " ".join(part for part in (code or "", where, f"({said})" if said else "") if part)


def route(uow: UnitOfWork, collector_id: int) -> Route:
    """ROUTE: the pickups asked for on the next collection day of the collector's zone, in the
    order they were asked for. ``Refused`` for a suspended collector or one with no zone."""
    collector = active_collector(uow.session, collector_id)
    zone = get_zone(uow.session, collector.zone_id) if collector.zone_id is not None else None
    if zone is None:
        raise Refused("collector_no_zone")
    day = next_day_of(uow.session, zone, uow.now, uow.settings.zone)
    rows = uow.session.execute(_ROUTE, {"zone_id": zone.id, "day": day}).all()
    return Route(
        day,
        zone,
        [_stop(code, address, note) for _, _, code, address, note in rows],
        [(asked, household) for asked, household, _, _, _ in rows],
    )


def describe_route(found: Route) -> list[list[str]]:
    """The route's pages: its stops, in order, each page as many as fit in ``ROUTE_WIDTH``
    septets ("; " between them). Every stop is on exactly one page."""
    return paginate(found.stops, ROUTE_WIDTH, ROUTE_SEPARATOR)


class RoutePage(NamedTuple):
    day: date
    zone: Zone
    total: int  # stops on the whole route
    pages: int  # the pages they take
    page: int  # the page sent, from 1; past the last one when there is nothing to send
    text: str  # its stops, "; " between them; "" when there is no such page


def route_page(uow: UnitOfWork, collector_id: int, page: int | None = None, more: bool = False) -> RoutePage:
    """ROUTE (page 1), ROUTE 2 (page 2) or ROUTE MORE: the page holding the first stop after the
    last stop of the last page this collector was sent for the same collection day (page 1 when
    none was); with nothing after it, no page (``text`` ""), so a MORE once new requests came in
    sends them. Each page sent is remembered (``route_pages``); a page that does not exist is not.
    ``Refused`` as ``route``."""
    found = route(uow, collector_id)
    pages = describe_route(found)
    number = page or 1
    if more:
        number = _page_after_last_sent(uow, collector_id, found, pages)
    if not 1 <= number <= len(pages):
        return RoutePage(found.day, found.zone, len(found.stops), len(pages), number, "")
    asked, household = found.keys[sum(len(shown) for shown in pages[:number]) - 1]
    remembered = {
        "collection_date": found.day,
        "page": number,
        "last_requested_at": asked,
        "last_household_id": household,
        "sent_at": uow.now,
    }
    upsert(
        uow.session,
        route_pages_t,
        {"collector_id": collector_id, **remembered},
        conflict=("collector_id",),
        update=remembered,
        returning=(route_pages_t.c.collector_id,),
    )
    return RoutePage(
        found.day, found.zone, len(found.stops), len(pages), number, ROUTE_SEPARATOR.join(pages[number - 1])
    )


def _page_after_last_sent(uow: UnitOfWork, collector_id: int, found: Route, pages: list[list[str]]) -> int:
    """The page ROUTE MORE sends: the one holding the first stop after the last one sent (1 when
    no page of this day was sent; one past the last page when every stop was)."""
    last = uow.session.execute(
        select(route_pages_t.c.last_requested_at, route_pages_t.c.last_household_id).where(
            route_pages_t.c.collector_id == collector_id, route_pages_t.c.collection_date == found.day
        )
    ).one_or_none()
    if last is None:
        return 1
    sent = (last.last_requested_at, last.last_household_id)
    through = sum(key <= sent for key in found.keys)  # stops up to the last one sent (they are in order)
    seen = 0
    for number, shown in enumerate(pages, start=1):
        seen += len(shown)
        if through < seen:
            return number
    return len(pages) + 1
