"""Holds (``service.usecases.holds``): a pickup whose signals pass their thresholds is credited as
held (to ``holds:pickups``, spendable by nobody) and the household is told; an operator approves
or rejects it, or it is released on its day; UNDO and a dispute upheld close it. Each path leaves
the books balanced."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import HOLDS, ISSUANCE, collector_account, member_account
from service.models import audit_log_t, collections_t, collectors_t, holds_t, pickup_signals_t
from service.settings import Settings
from service.unit_of_work import Job, UnitOfWork
from service.usecases import disputes, holds, pickups
from service.usecases.pickups import Logged
from tests.fakes import FakeQueue
from tests.usecases.conftest import ADA, TUNDE, World, inbound, texts

PET_4_5 = (sms.Line("PET", 4500),)
Uow = Callable[..., UnitOfWork]
OPERATOR = "ops@hub.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This module's programme holds doubtful pickups (the suite's default is off)."""
    return settings.with_changes(holds=True, hold_days=7)


@pytest.fixture
def at_home(world: World, session: Session) -> World:
    """Tunde lives at Ada's address: every pickup of his at Ada's is his own household's."""
    session.execute(
        collectors_t.update()
        .where(collectors_t.c.id == world.collector.id)
        .values(home_address="12 ADENIYI st.")
    )
    return world


def log(uow: UnitOfWork, world: World) -> Logged:
    origin = inbound(uow.session, TUNDE, f"LOG {world.ada.member_code} PET 4.5", uow.now)
    member = sms.Member(code=world.ada.member_code, phone=None)
    return pickups.log_by_text(uow, world.collector.id, member, PET_4_5, seq=None, inbound_id=origin)[1]


def points(session: Session, account: str) -> int:
    return ledger.balance(session, account).credit_balance


def balances(session: Session, world: World) -> tuple[int, int, int]:
    return (
        points(session, member_account(world.ada.member_code)),
        points(session, collector_account(world.collector.id)),
        points(session, HOLDS),
    )


def status(session: Session, logged: Logged) -> tuple[str, str]:
    row = session.execute(
        select(collections_t.c.status, holds_t.c.status)
        .join(holds_t, holds_t.c.collection_id == collections_t.c.id)
        .where(collections_t.c.id == logged.collection_id)
    ).one()
    return row[0], row[1]


def books_balance(session: Session) -> None:
    ledger.seal_all(session)
    report = ledger.verify(session)
    assert report.ok, report.problem


def test_a_pickup_at_the_collectors_own_address_is_held_and_the_household_told(
    at_home: World, uow: Uow, session: Session
) -> None:
    work = uow()
    logged = log(work, at_home)
    assert logged.held and (logged.points, logged.commission) == (45, 9)
    assert balances(session, at_home) == (0, 0, 54)  # nobody can spend what waits
    assert status(session, logged) == ("held", "held")
    ((to, body),) = texts(work)
    assert to == ADA
    assert body == (
        "Kolekt: +45 pts from Tunde (PET 4.5kg) being checked, decided by 30/11. "
        f"Wrong? Text NO {logged.reference}"
    )
    (reason,) = session.execute(
        select(pickup_signals_t.c.reason).where(pickup_signals_t.c.collection_id == logged.collection_id)
    ).scalars()
    assert reason == "the household's address is the collector's own"
    assert [asked.job for asked in work.asked] == []  # milestones wait for the approval


def test_without_a_signal_a_pickup_is_credited_as_ever(world: World, uow: Uow, session: Session) -> None:
    logged = log(uow(), world)
    assert not logged.held
    assert balances(session, world) == (45, 9, 0)
    assert session.execute(select(holds_t.c.status)).first() is None


def test_approving_passes_the_points_and_the_commission_on(
    at_home: World, uow: Uow, session: Session
) -> None:
    logged = log(uow(), at_home)
    decision = uow(uow().now + timedelta(hours=2))
    held = holds.approve(decision, logged.reference, OPERATOR)
    assert held.points == 45
    assert balances(session, at_home) == (45, 9, 0)
    assert status(session, logged) == ("credited", "approved")
    ((to, body),) = texts(decision)
    assert (to, body) == (ADA, f"Kolekt: pickup {logged.reference} is checked: +45 pts. Bal 45.")
    assert [(asked.job, asked.arguments) for asked in decision.asked] == [
        (Job.CHECK_MILESTONES, (at_home.ada.id,))
    ]
    transfers = ledger.transfers_for(session, f"pickup:{logged.collection_id}")
    assert sorted(t.code for t in transfers) == [
        "commission",
        "commission_held",
        "pickup_credit",
        "pickup_held",
    ]
    books_balance(session)


def test_rejecting_needs_a_reason_returns_the_points_and_tells_both(
    at_home: World, uow: Uow, session: Session
) -> None:
    issued = points(session, ISSUANCE)
    logged = log(uow(), at_home)
    assert points(session, ISSUANCE) == issued - 54
    for reason, why in (
        ("  ", "a rejection needs a reason"),
        ("x" * 161, "161 characters; 160 at most"),
        ("the scale says 2 kg ✓", "a character a basic phone may not show"),
    ):
        with pytest.raises(holds.HoldError, match=why):
            holds.reject(uow(), logged.reference, OPERATOR, reason)
    assert status(session, logged) == ("held", "held")
    decision = uow()
    holds.reject(decision, logged.reference, OPERATOR, "the scale at the hub says 2 kg")
    assert balances(session, at_home) == (0, 0, 0)
    assert points(session, ISSUANCE) == issued  # the issued points came back
    assert status(session, logged) == ("rejected", "rejected")
    assert texts(decision) == [
        (ADA, f"Kolekt: pickup {logged.reference} (45 pts) was not accepted: the scale at the hub says 2 kg"),
        (
            TUNDE,
            f"Pickup {logged.reference} ({at_home.ada.member_code}) not accepted by the hub: "
            "the scale at the hub says 2 kg",
        ),
    ]
    books_balance(session)


def test_a_hold_is_decided_once(at_home: World, uow: Uow, session: Session) -> None:
    logged = log(uow(), at_home)
    holds.approve(uow(), logged.reference, OPERATOR)
    with pytest.raises(holds.HoldError, match="was approved already"):
        holds.reject(uow(), logged.reference, OPERATOR, "too late")
    with pytest.raises(holds.HoldError, match="was approved already"):
        holds.approve(uow(), logged.reference, OPERATOR)
    with pytest.raises(holds.HoldError, match="no hold on pickup ZZZZ"):
        holds.approve(uow(), "ZZZZ", OPERATOR)
    with pytest.raises(holds.HoldError, match="say who decides"):
        holds.approve(uow(), logged.reference, " ")
    assert balances(session, at_home) == (45, 9, 0)


def test_a_hold_nobody_decides_is_released_on_its_day_and_audited(
    at_home: World, uow: Uow, session: Session
) -> None:
    first = uow()
    logged = log(first, at_home)
    day = first.now.astimezone(first.settings.zone).date()
    assert holds.due(session, day + timedelta(days=6)) == []
    assert holds.due(session, day + timedelta(days=7)) == [logged.reference]
    later = uow(first.now + timedelta(days=7))
    assert holds.release(later, logged.reference)
    assert not holds.release(uow(first.now + timedelta(days=7)), logged.reference)  # once
    assert status(session, logged) == ("credited", "released")
    assert balances(session, at_home) == (45, 9, 0)
    actor, details = session.execute(
        select(audit_log_t.c.actor, audit_log_t.c.details).where(audit_log_t.c.action == "hold.release")
    ).one()
    assert actor == "kolekt" and logged.reference in details
    books_balance(session)


def test_undo_closes_a_hold_and_takes_the_held_points_back(
    at_home: World, uow: Uow, session: Session
) -> None:
    logged = log(uow(), at_home)
    undone = pickups.undo(uow(), at_home.collector.id, logged.reference)
    assert undone.points == 45
    assert status(session, logged) == ("undone", "undone")
    assert balances(session, at_home) == (0, 0, 0)
    with pytest.raises(holds.HoldError, match="was undone already"):
        holds.approve(uow(), logged.reference, OPERATOR)
    books_balance(session)


def test_undo_after_an_approval_takes_back_both_transfers_in_order(
    at_home: World, uow: Uow, session: Session
) -> None:
    logged = log(uow(), at_home)
    holds.approve(uow(), logged.reference, OPERATOR)
    pickups.undo(uow(), at_home.collector.id, logged.reference)
    assert balances(session, at_home) == (0, 0, 0)
    assert status(session, logged) == ("undone", "approved")
    books_balance(session)


def test_a_dispute_upheld_on_a_held_pickup_closes_the_hold(
    at_home: World, uow: Uow, session: Session
) -> None:
    logged = log(uow(), at_home)
    dispute_id = disputes.dispute(
        uow(), at_home.ada, logged.reference, "he weighed my neighbour's", inbound_id=None
    )
    disputes.uphold(uow(), dispute_id, OPERATOR)
    assert status(session, logged) == ("reversed", "reversed")
    assert balances(session, at_home) == (0, 0, 0)
    books_balance(session)


def test_with_holds_off_everything_is_credited(
    world: World, uow: Uow, session: Session, settings: Settings, queue: FakeQueue
) -> None:
    session.execute(
        collectors_t.update()
        .where(collectors_t.c.id == world.collector.id)
        .values(home_address="12 Adeniyi St")
    )
    off = UnitOfWork(session, settings.with_changes(holds=False), queue, uow().now)
    logged = log(off, world)
    assert not logged.held
    assert balances(session, world) == (45, 9, 0)
