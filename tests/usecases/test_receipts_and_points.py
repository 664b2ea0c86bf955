"""What a household says of a receipt (YES, RATE), its points (BAL, HIST), and CHECK, which
anyone may text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.models import ratings_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, pickups, points, receipts
from tests.usecases.conftest import TUNDE, World, inbound

Uow = Callable[..., UnitOfWork]


def logged(uow: UnitOfWork, world: World) -> pickups.Logged:
    origin = inbound(uow.session, TUNDE, "LOG", uow.now)
    named = sms.Member(code=world.ada.member_code, phone=None)
    lines = (sms.Line("PET", 4500),)
    return pickups.log_by_text(uow, world.collector.id, named, lines, seq=None, inbound_id=origin)[1]


def test_yes_and_rate_are_the_households_own_say(world: World, uow: Uow, session: Session) -> None:
    pickup = logged(uow(), world)
    receipts.confirm(uow(), world.ada, pickup.reference)
    assert receipts.rate(uow(), world.ada, pickup.reference, 4).name == "Tunde Bakare"
    receipts.rate(uow(), world.ada, pickup.reference, 5)  # a second rating replaces the first
    assert session.execute(select(ratings_t.c.stars)).scalars().all() == [5]
    with pytest.raises(Refused) as stranger:
        receipts.confirm(uow(), None, pickup.reference)
    assert stranger.value.template == "not_member"
    with pytest.raises(Refused) as unknown:
        receipts.rate(uow(), world.ada, "ZZZZ", 5)
    assert unknown.value.template == "unknown_pickup"


def test_bal_hist_and_check_read_the_ledger(world: World, uow: Uow, session: Session) -> None:
    assert points.statement(session, world.ada, latest=3) == points.Statement(0, [])
    pickup = logged(uow(), world)
    found = points.statement(session, world.ada, latest=3)
    assert (found.points, [move.points for move in found.latest]) == (45, [45])
    assert points.collector_points(session, world.collector.id) == 9
    receipt = points.check(session, pickup.reference.lower())
    assert (receipt.what, receipt.points, receipt.party) == (
        "pickup",
        45,
        sms.mask_code(world.ada.member_code),
    )
    with pytest.raises(Refused) as unknown:
        points.check(session, "ZZZZ")
    assert unknown.value.template == "check_unknown"
