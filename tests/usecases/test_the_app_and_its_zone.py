"""The collector app's rules: a collector sees and registers the households of their own zone
only; an operator any zone's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from service.reads import fieldwork
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, sync
from service.usecases.zones import add_zone
from tests.usecases.conftest import MONDAY, World

Uow = Callable[..., UnitOfWork]


def test_a_collector_sees_their_own_zone_only(world: World, session: Session) -> None:
    other = add_zone(session, "Surulere", "mon", "08:00-12:00", MONDAY)
    collector = fieldwork.Viewer(collector=True, zone_id=world.zone.id)
    assert fieldwork.zone_seen(collector, None) == world.zone.id
    assert fieldwork.zone_seen(collector, world.zone.id) == world.zone.id
    with pytest.raises(Refused) as refused:
        fieldwork.zone_seen(collector, other.id)
    assert refused.value.template == "not_your_zone"
    operator = fieldwork.Viewer(collector=False)
    assert fieldwork.zone_seen(operator, other.id) == other.id
    assert fieldwork.zone_seen(operator, None) is None
    code = world.ada.member_code
    assert fieldwork.household_by_code(session, code, collector) is not None
    stranger = fieldwork.Viewer(collector=True, zone_id=other.id)
    assert fieldwork.household_by_code(session, code, stranger) is None
    page, _ = fieldwork.households(
        session, region="NG", viewer=fieldwork.Viewer(collector=True, zone_id=None)
    )
    assert page == []  # a collector with no zone yet sees none


def test_a_household_from_the_app_joins_the_collectors_zone(world: World, uow: Uow) -> None:
    work = uow()
    made = sync.NewHousehold("3b9c1f7e-0000-4000-8000-000000000001", "0805 222 3333", "Bola Ade")
    status, member = sync.register_from_app(work, made, world.collector.zone_id)
    assert (status, member.zone_id, member.phone) == (sync.CREATED, world.zone.id, "+2348052223333")
    again, same = sync.register_from_app(uow(), made, world.collector.zone_id)
    assert (again, same.id) == (sync.DUPLICATE, member.id)


def test_what_the_app_sends_is_read_with_the_same_refusals(world: World, uow: Uow) -> None:
    with pytest.raises(Refused) as phone:
        sync.register_from_app(uow(), sync.NewHousehold("id-1", "not a phone", "Bola"), world.zone.id)
    assert phone.value.template == "bad_phone"
    with pytest.raises(Refused) as name:
        sync.register_from_app(uow(), sync.NewHousehold("id-2", "0805 222 3333", " "), world.zone.id)
    assert name.value.template == "bad_name"
    with pytest.raises(Refused) as language:
        sync.register_from_app(
            uow(), sync.NewHousehold("id-3", "0805 222 3333", "Bola", language="FR"), world.zone.id
        )
    assert language.value.template == "bad_language"
    assert sync.REFUSED_FIELDS["bad_language"] == "language"
    assert sync.reason_of(language.value, uow().settings).message == (
        "Choose a language: LANG EN, PCM, YO, HA or IG."
    )
    assert sync.reason("not_your_zone", uow().settings).message == (
        "A collector registers households in their own zone."
    )
