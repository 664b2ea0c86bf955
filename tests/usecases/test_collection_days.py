"""PICKUP and SKIP for the next collection day, and the route a collector sees."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy.orm import Session

from service.unit_of_work import UnitOfWork
from service.usecases import Refused, collection_days
from service.usecases.roles import add_collector
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
