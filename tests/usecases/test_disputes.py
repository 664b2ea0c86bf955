"""A household's NO within the dispute window, and an operator's decision on it: the rules in
``service.usecases.disputes``, shared by SMS, the dashboard and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import member_account
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, disputes, pickups
from service.usecases.households import Member
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, inbound, texts

Uow = Callable[..., UnitOfWork]
WINDOW = timedelta(hours=48)  # DISPUTE_WINDOW_HOURS by default


def logged(uow: UnitOfWork, world: World) -> pickups.Logged:
    origin = inbound(uow.session, TUNDE, "LOG", uow.now)
    named = sms.Member(code=world.ada.member_code, phone=None)
    return pickups.log_by_text(
        uow, world.collector.id, named, (sms.Line("PET", 4500),), seq=None, inbound_id=origin
    )[1]


def no(uow: UnitOfWork, household: Member | None, reference: str) -> int:
    return disputes.dispute(
        uow, household, reference, "wrong weight", inbound_id=inbound(uow.session, ADA, "NO", uow.now)
    )


@pytest.mark.parametrize("after", [timedelta(0), WINDOW])
def test_a_no_within_the_window_opens_a_dispute(
    world: World, uow: Uow, session: Session, after: timedelta
) -> None:
    pickup = logged(uow(), world)
    dispute_id = no(uow(MONDAY + after), world.ada, pickup.reference)
    assert disputes.dispute_status(session, pickup.collection_id) == "open"
    assert dispute_id > 0


def test_a_no_after_the_window_is_refused_with_the_window_in_hours(
    world: World, uow: Uow, session: Session
) -> None:
    pickup = logged(uow(), world)
    with pytest.raises(Refused) as refused:
        no(uow(MONDAY + WINDOW + timedelta(seconds=1)), world.ada, pickup.reference)
    assert (refused.value.template, refused.value.values) == (
        "dispute_too_late",
        {"ref": pickup.reference, "hours": 48},
    )
    assert disputes.dispute_status(session, pickup.collection_id) is None


def test_a_second_no_says_there_is_one_already(world: World, uow: Uow) -> None:
    pickup = logged(uow(), world)
    no(uow(), world.ada, pickup.reference)
    with pytest.raises(Refused) as refused:
        no(uow(), world.ada, pickup.reference)
    assert (refused.value.template, refused.value.values) == (
        "dispute_exists",
        {"ref": pickup.reference, "status": sms.Word("status_open")},
    )


def test_only_the_household_itself_may_dispute_a_pickup_that_stands(world: World, uow: Uow) -> None:
    pickup = logged(uow(), world)
    with pytest.raises(Refused) as stranger:
        no(uow(), None, pickup.reference)
    assert stranger.value.template == "not_member"
    pickups.undo(uow(), world.collector.id, pickup.reference)
    with pytest.raises(Refused) as undone:
        no(uow(), world.ada, pickup.reference)
    assert undone.value.template == "pickup_reversed"


def test_upholding_reverses_the_pickup_and_tells_the_household_then_the_collector(
    world: World, uow: Uow, session: Session
) -> None:
    pickup = logged(uow(), world)
    dispute_id = no(uow(), world.ada, pickup.reference)
    decision = uow(MONDAY + timedelta(hours=3))
    assert disputes.uphold(decision, dispute_id, "ops@hub.example") == 45
    assert ledger.balance(session, member_account(world.ada.member_code)).credit_balance == 0
    assert [to for to, _ in texts(decision)] == [ADA, TUNDE]
    with pytest.raises(disputes.DisputeError, match="upheld already"):
        disputes.reject(uow(), dispute_id, "ops@hub.example", "too late")


def test_a_rejection_needs_a_reason_and_keeps_the_pickup(world: World, uow: Uow, session: Session) -> None:
    pickup = logged(uow(), world)
    dispute_id = no(uow(), world.ada, pickup.reference)
    with pytest.raises(disputes.DisputeError, match="needs a reason"):
        disputes.reject(uow(), dispute_id, "ops@hub.example", "  ")
    disputes.reject(uow(), dispute_id, "ops@hub.example", "the hub's scale agrees with the collector")
    assert disputes.dispute_status(session, pickup.collection_id) == "rejected"
    assert ledger.balance(session, member_account(world.ada.member_code)).credit_balance == 45
