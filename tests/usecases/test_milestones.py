"""Milestones (``service.usecases.milestones``): which a household's totals reach, each kept and
texted once however often it is checked, the highest said when several come at once, the
operator's choice of which, and anniversaries on a fake clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import sms
from service.models import households_t, milestones_t
from service.settings import Settings
from service.unit_of_work import Job, UnitOfWork
from service.usecases import milestones, pickups
from service.usecases.milestones import Reached
from tests.fakes import FakeQueue
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, inbound, texts

Uow = Callable[..., UnitOfWork]


def log(uow: UnitOfWork, world: World, grams: int) -> pickups.Logged:
    origin = inbound(uow.session, TUNDE, "LOG ...", uow.now)
    named = sms.Member(code=world.ada.member_code, phone=None)
    return pickups.log_by_text(
        uow, world.collector.id, named, (sms.Line("PET", grams),), seq=None, inbound_id=origin
    )[1]


def kept(session: Session, household_id: int) -> list[tuple[str, bool]]:
    rows = session.execute(
        select(milestones_t.c.name, milestones_t.c.outbox_id)
        .where(milestones_t.c.household_id == household_id)
        .order_by(milestones_t.c.id)
    )
    return [(name, outbox_id is not None) for name, outbox_id in rows]


def test_the_milestones_totals_reach() -> None:
    on = frozenset({"first", "10kg", "50kg", "100kg", "500kg"})
    assert milestones.due(0, 0, on) == []
    assert milestones.due(2_000, 1, on) == ["first"]
    assert milestones.due(10_000, 3, on) == ["first", "10kg"]
    assert milestones.due(499_999, 9, on) == ["first", "10kg", "50kg", "100kg"]
    assert milestones.due(600_000, 9, frozenset({"500kg"})) == ["500kg"]


def test_a_credited_pickup_asks_for_a_check_after_its_commit(
    world: World, uow: Uow, queue: FakeQueue
) -> None:
    work = uow()
    log(work, world, 2000)
    assert any(
        asked.job == Job.CHECK_MILESTONES and asked.arguments == (world.ada.id,) for asked in work.asked
    )


def test_first_then_ten_kilos_each_texted_once(world: World, uow: Uow, session: Session) -> None:
    log(uow(), world, 6000)
    check = uow(MONDAY + timedelta(minutes=1))
    assert milestones.check(check, world.ada.id) == [Reached("first", True)]
    ((to, body),) = texts(check)
    assert to == ADA and body.startswith("Kolekt: well done on your first pickup, Ada!")
    again = uow(MONDAY + timedelta(minutes=2))
    assert milestones.check(again, world.ada.id) == [] and texts(again) == []
    log(uow(MONDAY + timedelta(minutes=3)), world, 5000)  # 11 kg in all
    ten = uow(MONDAY + timedelta(minutes=4))
    assert milestones.check(ten, world.ada.id) == [Reached("10kg", True)]
    assert [body for _, body in texts(ten)] == [
        "Kolekt: Ada, you have now recycled 10kg with us! Thank you for keeping your street clean. "
        "Text IMPACT to see what it saved."
    ]
    assert kept(session, world.ada.id) == [("first", True), ("10kg", True)]


def test_several_at_once_say_the_highest_and_keep_the_rest(world: World, uow: Uow, session: Session) -> None:
    log(uow(), world, 55_000)
    check = uow(MONDAY + timedelta(minutes=1))
    assert milestones.check(check, world.ada.id) == [
        Reached("first", False),
        Reached("10kg", False),
        Reached("50kg", True),
    ]
    assert len(texts(check)) == 1 and "50kg" in texts(check)[0][1]
    assert kept(session, world.ada.id) == [("first", False), ("10kg", False), ("50kg", True)]


def test_the_operator_turns_milestones_off(
    world: World, uow: Uow, settings: Settings, session: Session
) -> None:
    log(uow(), world, 12_000)
    only_ten = UnitOfWork(
        session, dataclasses.replace(settings, milestones=frozenset({"10kg"})), FakeQueue(), MONDAY
    )
    assert milestones.check(only_ten, world.ada.id) == [Reached("10kg", True)]
    off = UnitOfWork(session, dataclasses.replace(settings, milestones=frozenset()), FakeQueue(), MONDAY)
    assert milestones.check(off, world.ada.id) == [] and kept(session, world.ada.id) == [("10kg", True)]


def test_a_suspended_household_keeps_its_milestones_without_a_text(
    world: World, uow: Uow, session: Session
) -> None:
    log(uow(), world, 3000)
    session.execute(update(households_t).where(households_t.c.id == world.ada.id).values(status="suspended"))
    check = uow(MONDAY + timedelta(minutes=1))
    assert milestones.check(check, world.ada.id) == [Reached("first", False)] and texts(check) == []


def test_anniversaries_on_a_fake_clock(world: World, uow: Uow, session: Session) -> None:
    # Ada joined on Monday 23 November 2026 (09:00 UTC, 10:00 in Lagos).
    assert milestones.anniversaries(uow(MONDAY + timedelta(days=364))) == 0
    first = uow(datetime(2027, 11, 23, 0, 30, tzinfo=UTC))  # 01:30 in Lagos, the day itself
    assert milestones.anniversaries(first) == 1
    assert texts(first) == [
        (
            ADA,
            "Kolekt: Ada, you joined us a year ago. Thank you for every pickup! "
            "Text IMPACT to see what you recycled.",
        )
    ]
    assert milestones.anniversaries(uow(datetime(2027, 11, 24, tzinfo=UTC))) == 0  # once
    late = uow(datetime(2028, 11, 29, 12, tzinfo=UTC))  # the clock was down: 6 days late
    assert milestones.anniversaries(late) == 1 and "you joined us 2 years ago" in texts(late)[0][1]
    assert milestones.anniversaries(uow(datetime(2029, 12, 1, 12, tzinfo=UTC))) == 0  # 8 days: too late
    assert [name for name, _ in kept(session, world.ada.id)] == ["year1", "year2"]


def test_whole_years_and_leap_days() -> None:
    assert milestones.full_years(date(2024, 2, 29), date(2025, 2, 28)) == 0
    assert milestones.full_years(date(2024, 2, 29), date(2025, 3, 1)) == 1
    assert milestones.full_years(date(2020, 6, 1), date(2026, 6, 1)) == 6
    assert milestones.years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)
