"""Cash-out's rules where they live: BANK, the YES that saves an account, REDEEM CASH's limits and
its hold on the points, and every outcome Paystack can report, in any order, each once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from service.accounts import ISSUANCE, PAYOUTS_PAID, PAYOUTS_PENDING, member_account
from service.models import payout_accounts_t, payouts_t
from service.providers.payouts import ConsolePayouts, Transfer
from service.unit_of_work import Job, UnitOfWork
from service.usecases import Refused, banks, payout_accounts, payout_sending, payouts
from tests.fakes import FakeQueue
from tests.usecases.conftest import MONDAY, World, texts

Uow = Callable[..., UnitOfWork]
NUBAN = "0123456789"


@pytest.fixture(autouse=True)
def bank_list(session: Session) -> None:
    banks.refresh(session, ConsolePayouts().banks("nigeria"), "nigeria", MONDAY)


def credit(session: Session, world: World, points: int) -> None:
    ledger.post(
        session,
        ledger.TransferRequest(
            ISSUANCE, member_account(world.ada.member_code), points, "pickup_credit", f"test:{points}"
        ),
        now=datetime(2026, 11, 1, tzinfo=UTC),
    )


def points_of(session: Session, world: World) -> int:
    return ledger.balance(session, member_account(world.ada.member_code)).credit_balance


def saved_account(world: World, uow: Uow, *, name: str = "Ada Okafor") -> payout_accounts.Account:
    work = uow()
    account = payout_accounts.register(work, world.ada, "gtb", NUBAN)
    payout_accounts.record_resolved(uow(), account.id, name)
    waiting = payout_accounts.awaiting_yes(work.session, world.ada.id, MONDAY)
    assert waiting is not None
    return payout_accounts.confirm(uow(), world.ada, waiting)


def test_bank_asks_paystack_after_the_commit_then_texts_the_name_and_yes_saves_it(
    world: World, uow: Uow, session: Session, queue: FakeQueue
) -> None:
    work = uow()
    account = payout_accounts.register(work, world.ada, "GT bank", "0123-456-789")
    assert (account.status, account.bank_code, account.account_number) == ("resolving", "058", NUBAN)
    assert [asked.job for asked in work.asked] == [Job.RESOLVE_PAYOUT_ACCOUNT]
    named = uow()
    assert payout_accounts.record_resolved(named, account.id, "ada  okafor") == "name texted"
    ((to, body),) = texts(named)
    assert to == world.ada.phone and "ADA OKAFOR" in body and "GTBank ****6789" in body and "YES" in body
    assert payout_accounts.record_resolved(uow(), account.id, "ADA OKAFOR") == "nothing to do"  # once
    waiting = payout_accounts.awaiting_yes(session, world.ada.id, MONDAY + timedelta(minutes=5))
    assert waiting is not None
    saved = payout_accounts.confirm(uow(), world.ada, waiting)
    assert (saved.status, saved.usable_from) == ("active", MONDAY)  # the first one: usable at once
    # Too late: half an hour after, a YES is the opt-in word again.
    later = payout_accounts.register(uow(), world.ada, "uba", "1111111111")
    payout_accounts.record_resolved(uow(), later.id, "ADA OKAFOR")
    assert payout_accounts.awaiting_yes(session, world.ada.id, MONDAY + timedelta(minutes=31)) is None


def test_an_account_paystack_does_not_know_is_refused_and_the_household_told(
    world: World, uow: Uow, session: Session
) -> None:
    account = payout_accounts.register(uow(), world.ada, "zenith", "1234560000")
    told = uow()
    payout_accounts.record_resolved(told, account.id, None, "Could not resolve account name")
    status = session.execute(
        select(payout_accounts_t.c.status).where(payout_accounts_t.c.id == account.id)
    ).scalar_one()
    assert status == "refused" and len(texts(told)) == 1
    assert payout_accounts.active_account(session, world.ada.id) is None


@pytest.mark.parametrize(
    ("words", "number", "template"),
    [("GTB", "12345", "bank_bad_number"), ("NOSUCHBANK", NUBAN, "bank_unknown")],
)
def test_bad_bank_texts_are_refused_and_write_nothing(
    world: World, uow: Uow, session: Session, words: str, number: str, template: str
) -> None:
    with pytest.raises(Refused) as refused:
        payout_accounts.register(uow(), world.ada, words, number)
    assert refused.value.template == template
    assert session.execute(select(payout_accounts_t.c.id)).first() is None


def test_a_replacement_account_waits_the_cooling_off_and_the_household_is_told(
    world: World, uow: Uow, session: Session
) -> None:
    first = saved_account(world, uow)
    later = MONDAY + timedelta(hours=1)
    second = payout_accounts.register(uow(later), world.ada, "opay", "8031234567")
    payout_accounts.record_resolved(uow(later), second.id, "ADA OKAFOR")
    waiting = payout_accounts.awaiting_yes(session, world.ada.id, later)
    assert waiting is not None
    told = uow(later)
    saved = payout_accounts.confirm(told, world.ada, waiting)
    assert saved.usable_from == later + timedelta(hours=24)
    assert payout_accounts.get_account(session, first.id).status == "replaced"  # type: ignore[union-attr]
    assert len(texts(told)) == 1 and "****4567" in texts(told)[0][1]


def test_cash_out_holds_the_points_at_once_and_sends_after_the_commit(
    world: World, uow: Uow, session: Session
) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    work = uow()
    requested = payouts.cash_out(work, world.ada, 500)
    assert (requested.points, requested.amount_kobo) == (500, 50_000)
    assert points_of(session, world) == 300
    assert ledger.balance(session, PAYOUTS_PENDING).credit_balance == 500  # the cash in flight
    assert [asked.job for asked in work.asked] == [Job.SEND_PAYOUT]


@pytest.mark.parametrize(
    ("amount", "template"),
    [(None, "cash_amount_missing"), (50, "cash_min"), (25_000, "cash_max"), (900, "cash_not_enough")],
)
def test_cash_out_refusals_write_nothing(
    world: World, uow: Uow, session: Session, amount: int | None, template: str
) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    with pytest.raises(Refused) as refused:
        payouts.cash_out(uow(), world.ada, amount)
    assert refused.value.template == template
    assert session.execute(select(payouts_t.c.id)).first() is None
    assert points_of(session, world) == 800


def test_cash_out_needs_a_saved_account(world: World, uow: Uow, session: Session) -> None:
    credit(session, world, 800)
    with pytest.raises(Refused) as refused:
        payouts.cash_out(uow(), world.ada, 500)
    assert refused.value.template == "bank_none"


def test_the_daily_cap_counts_what_was_not_returned(world: World, uow: Uow, session: Session) -> None:
    saved_account(world, uow)
    credit(session, world, 50_000)
    for _ in range(2):
        payouts.cash_out(uow(), world.ada, 10_000)
    with pytest.raises(Refused) as refused:
        payouts.cash_out(uow(), world.ada, 100)
    assert refused.value.template == "cash_daily_cap"
    first = session.execute(select(payouts_t.c.reference).order_by(payouts_t.c.id)).scalars().first()
    assert first is not None
    payouts.settle(uow(), first, Transfer(first, "failed", None, 1_000_000, "Account is invalid"))
    payouts.cash_out(uow(), world.ada, 100)  # the failed one no longer counts


def test_paid_moves_the_points_to_paid_and_texts_the_household_once(
    world: World, uow: Uow, session: Session
) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    requested = payouts.cash_out(uow(), world.ada, 500)
    paid = uow()
    assert (
        payouts.settle(
            paid, requested.reference, Transfer(requested.reference, "success", "TRF_1", 50_000)
        ).outcome
        == "paid"
    )
    assert len(texts(paid)) == 1 and "500" in texts(paid)[0][1] and requested.human_ref in texts(paid)[0][1]
    again = uow()
    assert (
        payouts.settle(
            again, requested.reference, Transfer(requested.reference, "success", "TRF_1", 50_000)
        ).outcome
        == "paid already"
    )
    failed_late = uow()
    assert (
        "ignored"
        in payouts.settle(
            failed_late, requested.reference, Transfer(requested.reference, "failed", "TRF_1", 50_000)
        ).outcome
    )
    assert texts(again) == [] and texts(failed_late) == []
    assert ledger.balance(session, PAYOUTS_PAID).credit_balance == 500
    assert ledger.balance(session, PAYOUTS_PENDING).credit_balance == 0
    assert points_of(session, world) == 300


def test_a_failure_returns_the_points_exactly_once(world: World, uow: Uow, session: Session) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    requested = payouts.cash_out(uow(), world.ada, 500)
    failed = uow()
    payouts.settle(
        failed,
        requested.reference,
        Transfer(requested.reference, "failed", None, 50_000, "Account is invalid"),
    )
    assert points_of(session, world) == 800
    assert len(texts(failed)) == 1 and "500" in texts(failed)[0][1]
    assert (
        payouts.settle(
            uow(), requested.reference, Transfer(requested.reference, "failed", None, 50_000)
        ).outcome
        == "failed already"
    )
    assert points_of(session, world) == 800
    assert ledger.verify(session).ok


def test_a_reversal_after_success_returns_the_points(world: World, uow: Uow, session: Session) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    requested = payouts.cash_out(uow(), world.ada, 500)
    reference = requested.reference
    payouts.settle(uow(), reference, Transfer(reference, "success", "TRF_1", 50_000))
    assert points_of(session, world) == 300
    payouts.settle(uow(), reference, Transfer(reference, "reversed", "TRF_1", 50_000))
    payouts.settle(uow(), reference, Transfer(reference, "reversed", "TRF_1", 50_000))
    assert points_of(session, world) == 800
    assert ledger.balance(session, PAYOUTS_PAID).credit_balance == 0
    assert ledger.balance(session, PAYOUTS_PENDING).credit_balance == 0
    assert ledger.verify(session).ok


def test_an_unknown_reference_changes_nothing(uow: Uow) -> None:
    assert (
        payouts.settle(uow(), "kolekt-nope", Transfer("kolekt-nope", "success", None, 100)).outcome
        == "unknown reference"
    )


def test_a_claim_is_taken_once_and_a_dead_jobs_claim_is_taken_again_as_resumed(
    world: World, uow: Uow, session: Session
) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    requested = payouts.cash_out(uow(), world.ada, 500)
    first = payout_sending.claim(session, requested.payout_id, MONDAY)
    assert first is not None and not first.resumed
    assert payout_sending.claim(session, requested.payout_id, MONDAY + timedelta(minutes=1)) is None
    again = payout_sending.claim(session, requested.payout_id, MONDAY + timedelta(minutes=6))
    assert again is not None and again.resumed


def test_transient_failures_wait_then_return_the_points_after_the_last_try(
    world: World, uow: Uow, session: Session
) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    requested = payouts.cash_out(uow(), world.ada, 500)
    now = MONDAY
    for attempt in range(1, payout_sending.MAX_ATTEMPTS + 1):
        claimed = payout_sending.claim(session, requested.payout_id, now)
        assert claimed is not None and claimed.attempt == attempt
        recorded = payout_sending.record_attempt_failed(
            uow(now), requested.payout_id, "Paystack is down", transient=True
        )
        if attempt < payout_sending.MAX_ATTEMPTS:
            assert recorded.retry_in is not None and points_of(session, world) == 300
            now += recorded.retry_in
    assert points_of(session, world) == 800


def test_a_low_float_texts_the_operators_once_a_day(
    world: World, uow: Uow, session: Session, settings: object
) -> None:
    saved_account(world, uow)
    credit(session, world, 800)
    requested = payouts.cash_out(uow(), world.ada, 500)
    work = uow()
    work.settings = work.settings.with_changes(operator_phones=("+2348090000001",))
    assert payout_sending.watch_float(work, requested.payout_id, 60_000)
    assert len(texts(work)) == 1
    second = uow()
    second.settings = work.settings
    assert payout_sending.watch_float(second, requested.payout_id, 60_000) and texts(second) == []
    assert payout_sending.last_float(session) is not None
