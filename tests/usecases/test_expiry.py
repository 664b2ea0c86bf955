"""Points that expire (``service.usecases.expiry``), on a fake clock: off by default; oldest first,
at the start of the month ``months`` after the month earned; warned 30 and 7 days before, once
each; never taken without a warning in time, never more than the warning said; a ledger transfer
to the breakage account that an adjustment can give back. And a year of it, against a model."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import ledger
from service.accounts import BREAKAGE, ISSUANCE, member_account
from service.models import expiry_notices_t, households_t, outbox_t
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import adjustments, expiry, points
from service.usecases.users import add_user
from tests.fakes import FakeQueue
from tests.usecases.conftest import ADA, World, texts

Clock = Callable[[datetime], UnitOfWork]


def at(day: str, hour: int = 9) -> datetime:
    """``day`` (YYYY-MM-DD) at ``hour`` in Lagos (UTC+1)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC) - timedelta(hours=1)


@pytest.fixture
def clock(session: Session, settings: Settings, queue: FakeQueue) -> Clock:
    """Units of work of a programme whose points expire 3 months after the month earned."""
    expiring = settings.with_changes(points_expire_months=3)
    return lambda now: UnitOfWork(session, expiring, queue, now)


def account(world: World) -> str:
    return member_account(world.ada.member_code)


def credit(session: Session, world: World, amount: int, when: datetime) -> None:
    ledger.post(
        session,
        ledger.TransferRequest(
            ISSUANCE,
            account(world),
            amount,
            "pickup_credit",
            f"test:credit:{when.isoformat()}:{amount}",
            occurred_at=when,
        ),
        now=when,
    )


def spend(session: Session, world: World, amount: int, when: datetime) -> None:
    ledger.post(
        session,
        ledger.TransferRequest(
            account(world),
            "rewards:airtime",
            amount,
            "redemption",
            f"test:spend:{when.isoformat()}:{amount}",
            occurred_at=when,
        ),
        now=when,
    )


def held(session: Session, world: World) -> int:
    return ledger.balance(session, account(world)).credit_balance


def notices(session: Session) -> list[tuple[str, int, int]]:
    rows = session.execute(
        select(expiry_notices_t.c.expires_on, expiry_notices_t.c.days, expiry_notices_t.c.points).order_by(
            expiry_notices_t.c.id
        )
    )
    return [(on.isoformat(), days, amount) for on, days, amount in rows]


def test_off_by_default_nothing_is_warned_or_taken(
    world: World, uow: Callable[..., UnitOfWork], session: Session
) -> None:
    credit(session, world, 100, at("2026-01-10"))
    for day in ("2026-04-01", "2026-04-25", "2026-05-01", "2027-01-01"):
        assert expiry.warn_due(uow(at(day))) == 0
        assert expiry.expire_due(uow(at(day))) == 0
    assert notices(session) == [] and held(session, world) == 100


def test_warned_30_and_7_days_before_then_the_oldest_unspent_points_expire(
    world: World, clock: Clock, session: Session
) -> None:
    credit(session, world, 100, at("2026-01-10"))  # January's: gone on 1 May (3 months after January)
    credit(session, world, 40, at("2026-02-03"))  # February's: gone on 1 June
    assert expiry.warn_due(clock(at("2026-03-31"))) == 0  # 31 days before 1 May: too early
    first = clock(at("2026-04-01"))
    assert expiry.warn_due(first) == 1
    assert texts(first) == [
        (
            ADA,
            "Kolekt: 100 of your pts expire on 01/05/2026. Spend them before then: text REWARDS to see "
            "what they buy. Bal 140 pts.",
        )
    ]
    assert expiry.warn_due(clock(at("2026-04-01", 10))) == 0  # once
    spend(session, world, 30, at("2026-04-10"))  # the oldest points go first: 70 of January's left
    seven = clock(at("2026-04-24"))
    assert expiry.warn_due(seven) == 1
    assert "70 of your pts expire on 01/05/2026" in texts(seven)[0][1]
    assert expiry.expire_due(clock(at("2026-04-30", 23))) == 0  # not yet
    due = clock(at("2026-05-01", 1))
    assert expiry.expire_due(due) == 1
    assert texts(due) == [
        (
            ADA,
            "Kolekt: 70 pts earned before 02/2026 have expired, as the terms say. Bal 40 pts. "
            "Think it is wrong? Call the hub.",
        )
    ]
    assert held(session, world) == 40
    assert ledger.balance(session, BREAKAGE).credit_balance == 70
    assert expiry.expire_due(clock(at("2026-05-01", 2))) == 0  # once
    # What the hub sees of the next date (1 June): February's 40 points, nobody warned yet.
    seen = expiry.outlook(session, 3, clock(at("2026-05-02")).settings.zone, at("2026-05-02"))
    assert (seen.households, seen.points, seen.warned) == (1, 40, {30: 0, 7: 0})
    assert seen.before == at("2026-03-01", 0)
    assert notices(session) == [("2026-05-01", 30, 100), ("2026-05-01", 7, 70), ("2026-05-01", 0, 70)]
    # CHECK names it; the receipt is the transfer's.
    expired = ledger.find_by_ref(
        session, ledger.latest_transfers(session, account(world), limit=1)[0].human_ref
    )
    assert expired is not None and points.check(session, expired.human_ref).what == "expiry"


def test_points_are_not_taken_without_a_warning_in_time_nor_beyond_it(
    world: World, clock: Clock, session: Session
) -> None:
    credit(session, world, 100, at("2026-01-10"))
    late = clock(at("2026-04-28"))  # expiry turned on 3 days before 1 May: a 7-day warning only
    assert expiry.warn_due(late) == 1
    assert expiry.expire_due(clock(at("2026-05-01", 1))) == 0  # too little notice: kept
    assert held(session, world) == 100
    assert expiry.warn_due(clock(at("2026-05-02"))) == 1  # 30 days before 1 June
    # A pickup of January that came in late (an offline app's sync): more than the warning said.
    credit(session, world, 25, at("2026-01-20"))
    assert expiry.warn_due(clock(at("2026-05-25"))) == 1  # the 7-day one says 125
    expiry.expire_due(clock(at("2026-06-01", 1)))
    # The 30-day warning said 100: no more goes; the other 25 wait for July's date, warned.
    assert held(session, world) == 25
    assert expiry.warn_due(clock(at("2026-06-01", 9))) == 1
    assert expiry.expire_due(clock(at("2026-07-01", 1))) == 1
    assert held(session, world) == 0 and ledger.balance(session, BREAKAGE).credit_balance == 125


def test_nothing_left_to_expire_sends_nothing(world: World, clock: Clock, session: Session) -> None:
    credit(session, world, 100, at("2026-01-10"))
    assert expiry.warn_due(clock(at("2026-04-01"))) == 1
    spend(session, world, 100, at("2026-04-20"))  # spent after the warning
    assert expiry.warn_due(clock(at("2026-04-24"))) == 0  # nothing to warn of
    done = clock(at("2026-05-01", 1))
    assert expiry.expire_due(done) == 1 and texts(done) == []
    assert ledger.balance(session, BREAKAGE).credit_balance == 0
    assert notices(session)[-1] == ("2026-05-01", 0, 0)


def test_an_adjustment_gives_expired_points_back(world: World, clock: Clock, session: Session) -> None:
    credit(session, world, 100, at("2026-01-10"))
    expiry.warn_due(clock(at("2026-04-01")))
    expiry.expire_due(clock(at("2026-05-01", 1)))
    assert held(session, world) == 0
    maker = add_user(session, "maker@example.org", "a long enough password 1", "admin", at("2026-05-01")).id
    checker = add_user(
        session, "checker@example.org", "a long enough password 2", "admin", at("2026-05-01")
    ).id
    proposal = adjustments.propose(
        session, maker, world.ada.member_code, "100", "expired points given back", at("2026-05-02")
    )
    adjustments.approve(clock(at("2026-05-02", 10)), proposal, checker)
    assert held(session, world) == 100
    # The points given back are new: they expire three months after May, with warnings first.
    assert expiry.warn_due(clock(at("2026-06-02"))) == 0
    assert ledger.unspent_before(session, "member", at("2026-06-01")) == {account(world): 100}


def test_a_year_of_pickups_spending_and_expiry_matches_first_in_first_out(
    world: World, clock: Clock, session: Session
) -> None:
    """A year of days on a fake clock, with pickups and spending at random: after each expiry run
    the household holds exactly its unexpired credits less what it spent (a model of lots, the
    oldest spent first), the breakage account holds what expired, and the ledger verifies."""
    rng = random.Random(23)
    lots: list[list[object]] = []  # [month earned (first day), points left], oldest first
    expired_total = 0
    day = datetime(2026, 1, 1, 8, tzinfo=UTC)  # 09:00 in Lagos
    while day < datetime(2027, 1, 1, tzinfo=UTC):
        local = (day + timedelta(hours=1)).date()
        if rng.random() < 0.3:
            amount = rng.randint(5, 60)
            credit(session, world, amount, day)
            lots.append([local.replace(day=1), amount])
        left = held(session, world)
        if left and rng.random() < 0.1:
            amount = rng.randint(1, min(left, 40))
            spend(session, world, amount, day + timedelta(minutes=5))
            while amount:
                taken = min(amount, int(lots[0][1]))  # type: ignore[call-overload]
                lots[0][1] = int(lots[0][1]) - taken  # type: ignore[call-overload]
                amount -= taken
                if lots[0][1] == 0:
                    lots.pop(0)
        run = clock(day + timedelta(minutes=30))
        if expiry.expire_due(run) and local.day == 1:
            # On the 1st: the lots of three months before and earlier are gone.
            month = local.year * 12 + local.month - 1 - 3
            cut = local.replace(year=month // 12, month=month % 12 + 1)
            while lots and lots[0][0] < cut:  # type: ignore[operator]
                expired_total += int(lots.pop(0)[1])  # type: ignore[call-overload]
        expiry.warn_due(run)
        assert held(session, world) == sum(int(lot[1]) for lot in lots)  # type: ignore[call-overload]
        assert ledger.balance(session, BREAKAGE).credit_balance == expired_total
        day += timedelta(days=1)
    assert expired_total > 0
    ledger.seal_all(session)
    report = ledger.verify(session)
    assert report.ok, report.problem
    warnings = session.execute(
        select(func.count()).select_from(expiry_notices_t).where(expiry_notices_t.c.days > 0)
    ).scalar_one()
    expiries = session.execute(
        select(func.count()).select_from(expiry_notices_t).where(expiry_notices_t.c.days == 0)
    ).scalar_one()
    assert expiries <= 12 and warnings <= 2 * 12


def test_a_warning_that_never_reached_the_phone_or_a_suspended_household_keeps_the_points(
    world: World, clock: Clock, session: Session
) -> None:
    credit(session, world, 100, at("2026-01-10"))
    first = clock(at("2026-04-01"))
    assert expiry.warn_due(first) == 1
    for status in ("suppressed", "failed"):  # the number sent STOP; the provider gave up
        session.execute(update(outbox_t).where(outbox_t.c.id.in_(first.outbox.written)).values(status=status))
        assert expiry.expire_due(clock(at("2026-05-01", 1))) == 0
    session.execute(
        update(outbox_t).where(outbox_t.c.id.in_(first.outbox.written)).values(status="delivered")
    )
    session.execute(update(households_t).where(households_t.c.id == world.ada.id).values(status="suspended"))
    assert expiry.expire_due(clock(at("2026-05-01", 1))) == 0
    assert held(session, world) == 100


def test_the_next_dates_warning_waits_for_this_dates_expiry(
    world: World, clock: Clock, session: Session
) -> None:
    credit(session, world, 100, at("2026-10-10"))  # goes on 1 February 2027
    credit(session, world, 30, at("2026-11-10"))  # goes on 1 March 2027
    assert expiry.warn_due(clock(at("2027-01-02"))) == 1
    early = clock(at("2027-02-01", 1))  # March is 28 days away, but February's expiry has not run
    assert expiry.warn_due(early) == 0
    assert expiry.expire_due(clock(at("2027-02-01", 1))) == 1
    later = clock(at("2027-02-01", 2))
    assert expiry.warn_due(later) == 1
    assert "30 of your pts expire on 01/03/2027" in texts(later)[0][1]
