"""Joining: by SMS (JOIN), at the door (a collector's NEW), and one number, one role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError, Refused, households
from service.usecases.phones import ensure_phone
from service.usecases.roles import add_collector, add_partner, role_of, set_collector_status
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, texts

Uow = Callable[..., UnitOfWork]
BOLA = "+2348052223333"


def test_join_puts_the_household_in_the_zone_its_address_names_and_welcomes_it(
    world: World, uow: Uow, session: Session
) -> None:
    work = uow()
    ensure_phone(session, BOLA, MONDAY)
    member = households.join(work, BOLA, "Bola Ade", "3 Herbert Macaulay Way, Yaba")
    assert member.zone_id == world.zone.id
    assert texts(work) == [
        (
            BOLA,
            f"Welcome to Kolekt, Bola! Your code is {member.member_code}. Pickups in Yaba: Tue, Fri 8-12. "
            "Text BAL for points, HELP for help.",
        )
    ]


def test_join_from_a_member_says_so_and_registers_nothing(world: World, uow: Uow) -> None:
    work = uow()
    with pytest.raises(Refused) as refused:
        households.join(work, ADA, "Ada again", None)
    assert (refused.value.template, refused.value.values) == (
        "already_member",
        {"name": "Ada", "code": world.ada.member_code},
    )
    assert texts(work) == []


def test_new_at_the_door_joins_the_collectors_zone(world: World, uow: Uow) -> None:
    member = households.register_at_door(uow(), world.collector.id, BOLA, "Bola Ade", None)
    assert member.zone_id == world.zone.id


def test_new_refuses_a_members_or_a_collectors_number_and_a_suspended_collector(
    world: World, uow: Uow, session: Session
) -> None:
    with pytest.raises(Refused) as member:
        households.register_at_door(uow(), world.collector.id, ADA, "Ada", None)
    assert member.value.template == "already_registered"
    with pytest.raises(Refused) as collector:
        households.register_at_door(uow(), world.collector.id, TUNDE, "Tunde", None)
    assert (collector.value.template, collector.value.values) == ("not_a_member_phone", {"phone": TUNDE})
    set_collector_status(session, TUNDE, "suspended")
    with pytest.raises(Refused) as suspended:
        households.register_at_door(uow(), world.collector.id, BOLA, "Bola", None)
    assert suspended.value.template == "collector_suspended"


def test_one_number_one_role(world: World, session: Session) -> None:
    shop = "+2348060000001"
    add_partner(session, shop, "Mama Put Stores", MONDAY)
    assert role_of(session, shop)[0] == "partner"
    assert role_of(session, TUNDE) == ("collector", world.collector.id)
    assert role_of(session, ADA) == ("household", None)
    with pytest.raises(CatalogueError, match="is a shop's phone; a collector needs their own"):
        add_collector(session, shop, "Kemi", world.zone.id, MONDAY)
    with pytest.raises(CatalogueError, match="is a collector's phone; a shop needs its own"):
        add_partner(session, TUNDE, "Tunde's shop", MONDAY)
    with pytest.raises(CatalogueError, match="is a member household's phone"):
        add_partner(session, ADA, "Ada's shop", MONDAY)
    with pytest.raises(CatalogueError, match="is already a collector"):
        add_collector(session, TUNDE, "Tunde again", world.zone.id, MONDAY)
