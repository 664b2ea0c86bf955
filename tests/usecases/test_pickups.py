"""A pickup logged, found again, undone within its window, and a collector's day: the rules in
``service.usecases.pickups``, whatever the channel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import collector_account, member_account
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, pickups
from service.usecases.roles import add_collector, set_collector_status
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, inbound, texts

PET_4_5 = (sms.Line("PET", 4500),)
Uow = Callable[..., UnitOfWork]


def by_code(world: World) -> sms.Member:
    return sms.Member(code=world.ada.member_code, phone=None)


def log(uow: UnitOfWork, world: World, *, seq: int | None = None) -> pickups.Logged:
    origin = inbound(uow.session, TUNDE, f"LOG {world.ada.member_code} PET 4.5 #{seq}", uow.now)
    return pickups.log_by_text(uow, world.collector.id, by_code(world), PET_4_5, seq=seq, inbound_id=origin)[
        1
    ]


def points(session: Session, account: str) -> int:
    return ledger.balance(session, account).credit_balance


def test_a_pickup_credits_the_household_and_the_collector_and_receipts_the_household(
    world: World, uow: Uow, session: Session
) -> None:
    work = uow()
    logged = log(work, world)
    assert (logged.points, logged.commission, logged.duplicate) == (45, 9, False)
    assert points(session, member_account(world.ada.member_code)) == 45
    assert points(session, collector_account(world.collector.id)) == 9
    ((to, body),) = texts(work)
    assert to == ADA
    assert body == f"Kolekt: +45 pts from Tunde (PET 4.5kg). Bal 45. Wrong? Text NO {logged.reference}"


def test_the_same_seq_is_the_same_pickup_and_credits_nothing(
    world: World, uow: Uow, session: Session
) -> None:
    first = log(uow(), world, seq=17)
    again = uow(MONDAY + timedelta(hours=2))
    repeat = log(again, world, seq=17)
    assert (repeat.duplicate, repeat.reference) == (True, first.reference)
    assert points(session, member_account(world.ada.member_code)) == 45
    assert texts(again) == []  # no second receipt


def test_an_unknown_code_or_phone_is_refused_and_credits_nobody(world: World, uow: Uow) -> None:
    work = uow()
    origin = inbound(work.session, TUNDE, "LOG K9999X PET 4.5")
    nobody = sms.Member(code="K9999X", phone=None)
    with pytest.raises(Refused) as refused:
        pickups.log_by_text(work, world.collector.id, nobody, PET_4_5, seq=None, inbound_id=origin)
    assert (refused.value.template, refused.value.values) == ("bad_member_code", {"code": "K9999X"})
    stranger = sms.Member(code=None, phone="+2348039999999")
    with pytest.raises(Refused) as refused:
        pickups.log_by_text(work, world.collector.id, stranger, PET_4_5, seq=None, inbound_id=origin)
    assert refused.value.template == "unknown_member_phone"
    assert texts(work) == []


def test_a_suspended_collector_logs_nothing(world: World, uow: Uow, session: Session) -> None:
    set_collector_status(session, TUNDE, "suspended")
    with pytest.raises(Refused) as refused:
        log(uow(), world)
    assert refused.value.template == "collector_suspended"
    assert points(session, member_account(world.ada.member_code)) == 0


@pytest.mark.parametrize("minutes", [0, 29, 30])
def test_undo_within_the_window_reverses_and_tells_the_household(
    world: World, uow: Uow, session: Session, minutes: int
) -> None:
    logged = log(uow(), world)
    later = uow(MONDAY + timedelta(minutes=minutes))
    undone = pickups.undo(later, world.collector.id, logged.reference)
    assert (undone.member.id, undone.points) == (world.ada.id, 45)
    assert points(session, member_account(world.ada.member_code)) == 0
    assert points(session, collector_account(world.collector.id)) == 0
    assert texts(later) == [
        (ADA, f"Kolekt: pickup {logged.reference} was cancelled by Tunde: -45 pts. Bal 0.")
    ]
    with pytest.raises(Refused) as again:
        pickups.undo(later, world.collector.id, logged.reference)
    assert again.value.template == "pickup_reversed"


def test_undo_after_the_window_is_refused_and_changes_nothing(
    world: World, uow: Uow, session: Session
) -> None:
    logged = log(uow(), world)
    late = uow(MONDAY + pickups.UNDO_WINDOW + timedelta(seconds=1))
    with pytest.raises(Refused) as refused:
        pickups.undo(late, world.collector.id, logged.reference)
    assert (refused.value.template, refused.value.values) == ("undo_too_late", {"ref": logged.reference})
    assert points(session, member_account(world.ada.member_code)) == 45
    assert texts(late) == []


def test_a_collector_cannot_undo_another_collectors_pickup(world: World, uow: Uow, session: Session) -> None:
    other = add_collector(session, "+2348030000002", "Kemi", world.zone.id, MONDAY)
    logged = log(uow(), world)
    with pytest.raises(Refused) as refused:
        pickups.undo(uow(), other.id, logged.reference)
    assert refused.value.template == "unknown_pickup"


def test_today_counts_what_stands(world: World, uow: Uow, session: Session) -> None:
    first = log(uow(), world, seq=1)
    log(uow(), world, seq=2)
    pickups.undo(uow(), world.collector.id, first.reference)
    totals = pickups.day_totals(session, world.collector.id, MONDAY + timedelta(hours=1), uow().settings.zone)
    assert totals == pickups.DayTotals(pickups=1, grams=4500, points=45, commission=9)
