"""An operator's changes to households and collectors at the hub: registering a household (its
code and its welcome, as at the door), its name, address, language, zone, phone and status; a
collector's name, zone and status. Each refuses a bad value with the reason and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import sms
from service.models import collectors_t, households_t, outbox_t, phones_t, pickup_requests_t, route_pages_t
from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError, Refused, collection_days, households, pickups, roles
from service.usecases.roles import add_partner
from service.usecases.zones import Zone, add_zone
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, inbound, texts

Uow = Callable[..., UnitOfWork]
BOLA = "+2348052223333"
SHOP = "+2348060000001"


@pytest.fixture
def surulere(session: Session, world: World) -> Zone:
    return add_zone(session, "Surulere", "wed,sat", "09:00-13:00", MONDAY)


def count(session: Session, table: object, *where: object) -> int:
    return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


# --- registering at the hub ------------------------------------------------------------------------


def test_a_household_registered_at_the_hub_gets_its_code_zone_and_welcome(world: World, uow: Uow) -> None:
    work = uow()
    member = households.register_at_hub(
        work, BOLA, "  Bola   Ade ", world.zone.id, " 3 Herbert  Macaulay Way "
    )
    assert member.member_code == sms.member_code(member.id)
    found = households.get_household(work.session, member.id)
    assert found == households.Household(
        member.id,
        member.member_code,
        "Bola Ade",
        BOLA,
        "3 Herbert Macaulay Way",
        world.zone.id,
        "active",
        "EN",
    )
    joined_via = work.session.execute(
        select(households_t.c.joined_via).where(households_t.c.id == member.id)
    ).scalar_one()
    assert joined_via == "dashboard"
    assert texts(work) == [
        (
            BOLA,
            f"Welcome to Kolekt, Bola! Your code is {member.member_code}. Pickups in Yaba: Tue, Fri 8-12. "
            "Text BAL for points, HELP for help.",
        )
    ]


def test_a_household_registered_in_a_language_is_welcomed_in_it(world: World, uow: Uow) -> None:
    work = uow()
    member = households.register_at_hub(work, BOLA, "Bola Ade", world.zone.id, None, language="yo")
    found = households.get_household(work.session, member.id)
    assert found is not None and (found.language, found.address) == ("YO", None)
    language = work.session.execute(
        select(outbox_t.c.language).where(outbox_t.c.id.in_(work.outbox.written))
    ).scalar_one()
    assert language == "YO"


@pytest.mark.parametrize(
    ("phone", "name", "zone", "language", "reason"),
    [
        (TUNDE, "Tunde", "yaba", None, "is a collector's phone; a household needs its own"),
        (SHOP, "Shop", "yaba", None, "is a partner shop's phone; a household needs its own"),
        (ADA, "Ada again", "yaba", None, "is already member"),
        (BOLA, "   ", "yaba", None, "a household needs a name of 1 to 80 characters"),
        (BOLA, "x" * 81, "yaba", None, "a household needs a name of 1 to 80 characters"),
        (BOLA, "Bola", None, None, "choose one of the zones"),
        (BOLA, "Bola", 9999, None, "choose one of the zones"),
        (BOLA, "Bola", "yaba", "FR", "the language must be one of EN, PCM, YO, HA, IG"),
    ],
)
def test_registering_at_the_hub_refuses_bad_values_and_writes_nothing(
    world: World,
    uow: Uow,
    session: Session,
    phone: str,
    name: str,
    zone: object,
    language: str | None,
    reason: str,
) -> None:
    add_partner(session, SHOP, "Mama Put Stores", MONDAY)
    households_before, phones_before = count(session, households_t), count(session, phones_t)
    work = uow()
    zone_id = world.zone.id if zone == "yaba" else zone
    with pytest.raises(CatalogueError, match=reason):
        households.register_at_hub(work, phone, name, zone_id, None, language=language)  # type: ignore[arg-type]
    assert (count(session, households_t), count(session, phones_t)) == (households_before, phones_before)
    assert texts(work) == []


def test_an_address_over_160_characters_is_refused(world: World, uow: Uow) -> None:
    with pytest.raises(CatalogueError, match="an address is at most 160 characters"):
        households.register_at_hub(uow(), BOLA, "Bola", world.zone.id, "y" * 161)


# --- a household's name, address, language, zone, phone, status --------------------------------------


def test_editing_a_household_changes_its_name_address_and_language(world: World, session: Session) -> None:
    changed = households.edit_household(session, world.ada.id, "Ada N. Okafor", "", "pcm", MONDAY)
    assert (changed.before.name, changed.before.address, changed.before.language) == (
        "Ada Okafor",
        "12 Adeniyi St",
        "EN",
    )
    assert (changed.after.name, changed.after.address, changed.after.language) == (
        "Ada N. Okafor",
        None,
        "PCM",
    )
    language = session.execute(select(phones_t.c.language).where(phones_t.c.number == ADA)).scalar_one()
    assert language == "PCM"  # every text to the phone is in it now


def test_an_edit_that_changes_nothing_or_empties_the_name_is_refused(world: World, session: Session) -> None:
    with pytest.raises(CatalogueError, match="nothing to change"):
        households.edit_household(session, world.ada.id, " Ada  Okafor ", "12 Adeniyi St", "en", MONDAY)
    with pytest.raises(CatalogueError, match="a household needs a name"):
        households.edit_household(session, world.ada.id, "", "12 Adeniyi St", "EN", MONDAY)
    with pytest.raises(CatalogueError, match="there is no household 9999"):
        households.edit_household(session, 9999, "Nobody", None, "EN", MONDAY)
    found = households.get_household(session, world.ada.id)
    assert found is not None and (found.name, found.address) == ("Ada Okafor", "12 Adeniyi St")


def test_moving_a_household_drops_its_requests_for_the_old_zones_coming_days(
    world: World, uow: Uow, session: Session, surulere: Zone
) -> None:
    asked = collection_days.ask(uow(), world.ada, "pickup", "2 bags")  # Tuesday, in Yaba
    session.execute(  # one from last week stays: it is history
        pickup_requests_t.insert(),
        {
            "household_id": world.ada.id,
            "collection_date": asked.day - timedelta(days=7),
            "zone_id": world.zone.id,
            "kind": "pickup",
            "note": None,
            "created_at": MONDAY - timedelta(days=7),
        },
    )
    moved = households.move_household(uow(), world.ada.id, surulere.id)
    assert (moved.before.zone_id, moved.after.zone_id, moved.dropped) == (world.zone.id, surulere.id, 1)
    left = session.execute(
        select(pickup_requests_t.c.collection_date).where(pickup_requests_t.c.household_id == world.ada.id)
    ).scalars()
    assert list(left) == [asked.day - timedelta(days=7)]
    # Its next PICKUP is for the new zone's day (Wednesday).
    again = collection_days.ask(uow(), households.get_member(session, world.ada.id), "pickup")
    assert (again.zone.name, again.day.weekday()) == ("Surulere", 2)


def test_moving_a_household_to_its_own_or_an_unknown_zone_is_refused(world: World, uow: Uow) -> None:
    with pytest.raises(CatalogueError, match=f"{world.ada.member_code} is in Yaba already"):
        households.move_household(uow(), world.ada.id, world.zone.id)
    with pytest.raises(CatalogueError, match="choose one of the zones"):
        households.move_household(uow(), world.ada.id, 9999)


def test_a_suspended_household_has_its_pickups_refused_until_reinstated(
    world: World, uow: Uow, session: Session
) -> None:
    with pytest.raises(CatalogueError, match="say why the household is suspended"):
        households.set_household_status(session, world.ada.id, "suspended", "  ")
    changed = households.set_household_status(session, world.ada.id, "suspended", "moved away, phone shared")
    assert (changed.before.status, changed.after.status) == ("active", "suspended")
    with pytest.raises(CatalogueError, match="is suspended already"):
        households.set_household_status(session, world.ada.id, "suspended", "again")

    def log(work: UnitOfWork) -> object:
        origin = inbound(session, TUNDE, f"LOG {world.ada.member_code} PET 2", work.now)
        named = sms.Member(code=world.ada.member_code, phone=None)
        return pickups.log_by_text(
            work, world.collector.id, named, (sms.Line("PET", 2000),), seq=None, inbound_id=origin
        )

    with pytest.raises(Refused) as refused:
        log(uow())
    assert refused.value.template == "member_suspended"
    households.set_household_status(session, world.ada.id, "active", "")  # reinstating needs no reason
    assert log(uow()) is not None
    with pytest.raises(CatalogueError, match="status must be one of active, suspended"):
        households.set_household_status(session, world.ada.id, "gone", "x")


def test_a_new_phone_takes_the_households_language_and_a_used_number_is_refused(
    world: World, session: Session
) -> None:
    households.edit_household(session, world.ada.id, "Ada Okafor", "12 Adeniyi St", "HA", MONDAY)
    changed = households.change_household_phone(session, world.ada.id, BOLA, MONDAY)
    assert (changed.before.phone, changed.after.phone, changed.after.language) == (ADA, BOLA, "HA")
    assert households.member_by_phone(session, BOLA) is not None
    assert households.member_by_phone(session, ADA) is None
    add_partner(session, SHOP, "Mama Put Stores", MONDAY)
    other = households.register_household(
        session, ADA, "Chidi Obi", None, "sms", MONDAY, zone_id=world.zone.id
    )
    for used, reason in (
        (TUNDE, "is a collector's phone"),
        (SHOP, "is a partner shop's phone"),
        (ADA, f"is already member {other.member_code}"),
        (BOLA, "is .* phone already"),
    ):
        with pytest.raises(CatalogueError, match=reason):
            households.change_household_phone(session, world.ada.id, used, MONDAY)
    found = households.get_household(session, world.ada.id)
    assert found is not None and found.phone == BOLA


# --- collectors --------------------------------------------------------------------------------------


def test_a_collector_is_renamed_moved_and_suspended(world: World, session: Session, surulere: Zone) -> None:
    renamed = roles.edit_collector(session, world.collector.id, " Tunde  B. ")
    assert (renamed.before.name, renamed.after.name) == ("Tunde Bakare", "Tunde B.")
    session.execute(
        route_pages_t.insert(),
        {
            "collector_id": world.collector.id,
            "collection_date": MONDAY.date() + timedelta(days=1),
            "page": 1,
            "last_requested_at": MONDAY,
            "last_household_id": world.ada.id,
            "sent_at": MONDAY,
        },
    )
    moved = roles.move_collector(session, world.collector.id, surulere.id)
    assert (moved.before.zone_id, moved.after.zone_id) == (world.zone.id, surulere.id)
    assert count(session, route_pages_t, route_pages_t.c.collector_id == world.collector.id) == 0
    suspended = roles.change_collector_status(session, world.collector.id, "suspended", "lost scale")
    assert (suspended.before.status, suspended.after.status) == ("active", "suspended")
    with pytest.raises(Refused, match="collector_suspended"):
        roles.active_collector(session, world.collector.id)
    back = roles.change_collector_status(session, world.collector.id, "active", "")
    assert back.after.status == "active"


def test_a_collectors_bad_changes_are_refused_and_change_nothing(world: World, session: Session) -> None:
    for change, reason in (
        (lambda: roles.edit_collector(session, world.collector.id, ""), "a collector needs a name"),
        (lambda: roles.edit_collector(session, world.collector.id, "Tunde Bakare"), "nothing to change"),
        (lambda: roles.move_collector(session, world.collector.id, world.zone.id), "covers Yaba already"),
        (lambda: roles.move_collector(session, world.collector.id, None), "choose one of the zones"),
        (lambda: roles.change_collector_status(session, world.collector.id, "suspended", ""), "say why"),
        (lambda: roles.change_collector_status(session, world.collector.id, "active", ""), "active already"),
        (lambda: roles.edit_collector(session, 9999, "Nobody"), "there is no collector 9999"),
        (lambda: roles.add_collector(session, BOLA, "Kemi", 9999, MONDAY), "choose one of the zones"),
    ):
        with pytest.raises(CatalogueError, match=reason):
            change()
    assert roles.get_collector(session, world.collector.id) == world.collector
    assert count(session, collectors_t) == 1
