"""Signals read from the database (``service.usecases.signals.recent``): a household's usual pickups
then one of eight times as much, on a programme too young to learn from (the starting points)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session

import sms
from service.unit_of_work import UnitOfWork
from service.usecases import pickups, signals
from tests.usecases.conftest import MONDAY, TUNDE, World, inbound

Uow = Callable[..., UnitOfWork]


def log(uow: UnitOfWork, world: World, grams: int) -> str:
    origin = inbound(uow.session, TUNDE, "LOG ...", uow.now)
    named = sms.Member(code=world.ada.member_code, phone=None)
    logged = pickups.log_by_text(
        uow, world.collector.id, named, (sms.Line("PET", grams),), seq=None, inbound_id=origin
    )
    return logged[1].reference


def test_a_pickup_far_above_the_households_usual_is_listed_with_its_reason(
    world: World, uow: Uow, session: Session
) -> None:
    for week in range(4):
        log(uow(MONDAY + timedelta(days=7 * week)), world, 5000)
    now = MONDAY + timedelta(days=28)
    assert signals.recent(session, now, uow().settings.zone, days=7, p=99.5)[1] == []
    reference = log(uow(now), world, 40_000)
    thresholds, flagged = signals.recent(
        session, now + timedelta(minutes=1), uow().settings.zone, days=7, p=99.5
    )
    assert thresholds.samples == {"heavy": 0, "big_day": 0, "too_fast": 0}  # too young: starting points
    assert [(f.pickup.reference, f.member_code, [s.reason for s in f.signals]) for f in flagged] == [
        (
            reference,
            world.ada.member_code,
            [
                "40 kg, 8.0x this household's usual 5 kg",
                # Tunde is the only collector: his usual day is the 5 kg of the weeks before.
                "their day: 40 kg, 8.0x the usual collector's day of 5 kg",
            ],
        )
    ]
