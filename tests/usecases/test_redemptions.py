"""REDEEM: the points spent in the text's own unit of work, and the reward's delivery asked for
once it commits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from service.accounts import ISSUANCE, member_account
from service.models import redemptions_t
from service.unit_of_work import Job, UnitOfWork
from service.usecases import Refused, redemptions
from service.usecases.rewards import add_reward
from tests.fakes import FakeQueue
from tests.usecases.conftest import MONDAY, World

Uow = Callable[..., UnitOfWork]


def credit(session: Session, world: World, points: int) -> None:
    ledger.post(
        session,
        ledger.TransferRequest(
            ISSUANCE, member_account(world.ada.member_code), points, "pickup_credit", f"test:{points}"
        ),
        now=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_redeem_debits_at_once_and_asks_for_its_delivery_after_the_commit(
    world: World, uow: Uow, session: Session, queue: FakeQueue
) -> None:
    add_reward(session, "AIRTIME", "Airtime", "airtime", 1, MONDAY)
    credit(session, world, 500)
    work = uow()
    redemption_id = redemptions.redeem(work, world.ada, "airtime", 200)
    assert ledger.balance(session, member_account(world.ada.member_code)).credit_balance == 300
    assert queue.jobs == []  # nothing before the commit
    work.enqueue()
    assert queue.jobs == [(Job.FULFIL_REDEMPTION, (redemption_id,), None)]


def test_redeem_with_too_few_points_writes_nothing_and_asks_for_nothing(
    world: World, uow: Uow, session: Session
) -> None:
    add_reward(session, "AIRTIME", "Airtime", "airtime", 1, MONDAY)
    credit(session, world, 150)
    work = uow()
    with pytest.raises(Refused) as refused:
        redemptions.redeem(work, world.ada, "AIRTIME", 200)
    assert (refused.value.template, refused.value.values) == (
        "not_enough_points",
        {"reward": "Airtime", "need": 200, "balance": 150},
    )
    assert session.execute(select(func.count()).select_from(redemptions_t)).scalar_one() == 0
    assert work.asked == []


def test_a_stranger_is_asked_to_join(uow: Uow) -> None:
    with pytest.raises(Refused) as refused:
        redemptions.redeem(uow(), None, "AIRTIME", 200)
    assert refused.value.template == "not_member"
