"""PICKUP and SKIP for the next collection day, and the route a collector sees, in pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

import sms
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, collection_days
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.roles import add_collector
from sms.wording import septets
from tests.usecases.conftest import MONDAY, World

Uow = Callable[..., UnitOfWork]
TUESDAY = date(2026, 11, 24)


def test_a_pickup_asked_on_monday_is_for_tuesday_and_on_the_route(world: World, uow: Uow) -> None:
    asked = collection_days.ask(uow(), world.ada, "pickup", "2 bags")
    assert (asked.day, asked.zone.name) == (TUESDAY, "Yaba")
    found = collection_days.route(uow(), world.collector.id)
    assert found.day == TUESDAY
    assert found.stops == [f"{world.ada.member_code} 12 Adeniyi St (2 bags)"]


def test_skip_replaces_the_pickup_asked_for_the_same_day(world: World, uow: Uow) -> None:
    collection_days.ask(uow(), world.ada, "pickup", None)
    collection_days.ask(uow(), world.ada, "skip", None)
    assert collection_days.route(uow(), world.collector.id).stops == []


def test_a_suspended_households_pickup_leaves_the_route_and_comes_back_when_it_is_reinstated(
    world: World, uow: Uow, session: Session
) -> None:
    from service.usecases.households import set_household_status

    collection_days.ask(uow(), world.ada, "pickup", "2 bags")
    set_household_status(session, world.ada.id, "suspended", "moved away")
    assert collection_days.route(uow(), world.collector.id).stops == []
    set_household_status(session, world.ada.id, "active", "")
    assert collection_days.route(uow(), world.collector.id).stops == [
        f"{world.ada.member_code} 12 Adeniyi St (2 bags)"
    ]


def test_strangers_and_people_without_a_zone_are_told_why(world: World, uow: Uow, session: Session) -> None:
    with pytest.raises(Refused) as stranger:
        collection_days.ask(uow(), None, "pickup", None)
    assert stranger.value.template == "not_member"
    with pytest.raises(Refused) as no_zone:
        collection_days.ask(uow(), world.ada._replace(zone_id=None), "pickup", None)
    assert no_zone.value.template == "household_no_zone"
    roaming = add_collector(session, "+2348030000009", "Kemi", None, MONDAY)
    with pytest.raises(Refused) as collector:
        collection_days.route(uow(), roaming.id)
    assert collector.value.template == "collector_no_zone"


# --- the route in pages: ROUTE, ROUTE 2, ROUTE MORE ---------------------------------------------------

STREETS = ("Herbert Macaulay Road", "Adeniyi Jones Avenue", "Commercial Avenue", "Akoka Road")


def sixteen_requests(session: Session, uow: Uow, world: World, now: datetime = MONDAY) -> list[Member]:
    """Ada and 15 neighbours asking for a pickup, with long addresses ("112 Herbert Macaulay Road,
    Sabo Yaba") and notes: a route of several pages."""
    members = [world.ada]
    for number in range(1, 16):
        phone = f"+23480500000{number:02d}"
        ensure_phone(session, phone, now)
        address = f"{100 + number} {STREETS[number % len(STREETS)]}, Sabo Yaba, Lagos"
        members.append(
            register_household(
                session, phone, f"Neighbour {number}", address, "sms", now, zone_id=world.zone.id
            )
        )
    for number, member in enumerate(members):
        collection_days.ask(uow(now), member, "pickup", "2 bags; at the gate" if number % 3 else None)
    return members


def every_page(uow: Uow, world: World) -> list[collection_days.RoutePage]:
    first = collection_days.route_page(uow(), world.collector.id)
    return [first] + [
        collection_days.route_page(uow(), world.collector.id, n) for n in range(2, first.pages + 1)
    ]


def test_the_pages_hold_every_stop_once_in_the_order_asked_and_each_fits_its_text(
    world: World, uow: Uow, session: Session
) -> None:
    members = sixteen_requests(session, uow, world)
    found = collection_days.route(uow(), world.collector.id)
    assert [stop.split()[0] for stop in found.stops] == [member.member_code for member in members]
    assert found.stops[1] == f"{members[1].member_code} 101 Adeniyi Jones Avenue, Sabo (2 bags, at the gate)"
    assert found.stops[3] == f"{members[3].member_code} 103 Akoka Road, Sabo Yaba"
    assert found.stops[4] == f"{members[4].member_code} 104 Herbert Macaulay Road (2 bags, at the gate)"
    assert not any(stop.endswith((",", ";")) or ",;" in stop or ", (" in stop for stop in found.stops)
    pages = every_page(uow, world)
    assert len(pages) >= 3 and all(page.pages == len(pages) and page.total == 16 for page in pages)
    assert [stop for page in pages for stop in page.text.split("; ")] == found.stops
    for page in pages:
        assert septets(page.text) <= collection_days.ROUTE_WIDTH
        reply = sms.render(
            "route_page", "EN", date="Wed 30 Sep", page=page.page, pages=page.pages, list=page.text, next=99
        )
        assert sms.segments(reply).encoding == "GSM-7" and sms.segments(reply).count <= 2
    assert [page.page for page in pages] == list(range(1, len(pages) + 1))


def test_more_sends_the_page_after_the_last_one_sent_and_then_says_there_is_no_more(
    world: World, uow: Uow, session: Session
) -> None:
    sixteen_requests(session, uow, world)
    pages = every_page(uow, world)  # pages 1..n sent: MORE has nothing left
    more = collection_days.route_page(uow(), world.collector.id, more=True)
    assert (more.page, more.text, more.total) == (len(pages) + 1, "", 16)
    again = collection_days.route_page(uow(), world.collector.id)  # ROUTE: page 1 again
    assert again == pages[0]
    for page in pages[1:]:
        assert collection_days.route_page(uow(), world.collector.id, more=True) == page
    assert collection_days.route_page(uow(), world.collector.id, more=True).text == ""
    collection_days.route_page(uow(), world.collector.id, 2)
    assert collection_days.route_page(uow(), world.collector.id, more=True) == pages[2]
    # A page that does not exist is not remembered as sent.
    beyond = collection_days.route_page(uow(), world.collector.id, 99)
    assert (beyond.page, beyond.pages, beyond.text) == (99, len(pages), "")
    assert collection_days.route_page(uow(), world.collector.id, more=True) == pages[3]


def test_more_is_each_collectors_own_and_starts_at_page_1(world: World, uow: Uow, session: Session) -> None:
    sixteen_requests(session, uow, world)
    kemi = add_collector(session, "+2348030000002", "Kemi Ade", world.zone.id, MONDAY)
    pages = every_page(uow, world)
    assert collection_days.route_page(uow(), kemi.id, more=True) == pages[0]
    assert collection_days.route_page(uow(), kemi.id, more=True) == pages[1]


def test_a_request_made_after_the_last_page_was_sent_comes_with_the_next_more(
    world: World, uow: Uow, session: Session
) -> None:
    sixteen_requests(session, uow, world)
    pages = every_page(uow, world)
    late = MONDAY + timedelta(hours=3)
    ensure_phone(session, "+2348059999999", late)
    bola = register_household(
        session, "+2348059999999", "Bola Ade", "3 Oju St", "sms", late, zone_id=world.zone.id
    )
    collection_days.ask(uow(late), bola, "pickup", None)
    more = collection_days.route_page(uow(late), world.collector.id, more=True)
    assert more.text.endswith(f"{bola.member_code} 3 Oju St") and more.page in (len(pages), len(pages) + 1)
    assert more.page == more.pages
    assert collection_days.route_page(uow(late), world.collector.id, more=True).text == ""


def test_a_skip_on_a_page_already_sent_does_not_make_more_miss_a_stop(
    world: World, uow: Uow, session: Session
) -> None:
    members = sixteen_requests(session, uow, world)
    second = collection_days.route_page(uow(), world.collector.id, 2)
    collection_days.route_page(uow(), world.collector.id, 1)  # page 1 is the last one sent
    collection_days.ask(uow(), members[0], "skip", None)  # a stop of page 1 drops out
    collection_days.ask(uow(), members[1], "skip", None)
    now = collection_days.describe_route(collection_days.route(uow(), world.collector.id))
    more = collection_days.route_page(uow(), world.collector.id, more=True)
    # The stops moved up a page: MORE sends the page holding the first stop not sent yet, so
    # every stop of the old page 2 is on it or after it (a page number alone would skip some).
    assert more.text == "; ".join(now[more.page - 1])
    assert second.text.split("; ")[0] in more.text.split("; ")
    assert set(second.text.split("; ")) <= {stop for page in now[more.page - 1 :] for stop in page}


def test_more_for_a_new_collection_day_starts_at_page_1(world: World, uow: Uow, session: Session) -> None:
    members = sixteen_requests(session, uow, world)
    collection_days.route_page(uow(), world.collector.id, 2)  # Tuesday's page 2
    wednesday = MONDAY + timedelta(days=2)
    for member in members:
        collection_days.ask(uow(wednesday), member, "pickup", None)  # for Friday
    friday = collection_days.route_page(uow(wednesday), world.collector.id, more=True)
    assert (friday.day, friday.page) == (date(2026, 11, 27), 1)
