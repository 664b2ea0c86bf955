"""Redemptions: points spent on a reward (REDEEM), the reward delivered by a job after the commit,
fulfilment's record, refunds, and a partner shop's VERIFY of a voucher.

A redemption moves created -> fulfilled, or created -> refunded when fulfilment fails for good:

1. REDEEM, in the inbound text's unit of work: the reward's stock is taken (a conditional UPDATE,
   so two households cannot take the last one), the redemption row is written and the household's
   points are debited to ``rewards:<kind>``, all under one savepoint. The ledger's no-overdraft
   limit on member accounts is the final guard: two REDEEMs racing past the balance check end
   with one of them refused (``InsufficientFunds``) and nothing of it written. The fulfilment job
   (``Job.FULFIL_REDEMPTION``) is enqueued after the commit.
2. The job (``service.jobs.fulfilment``) claims the row (committed), calls the fulfiller outside
   any transaction, and records the outcome with the household's reply in one transaction. A
   transient failure is tried again later; a permanent one (or the last transient one) is
   refunded: a ledger reversal of the debit, the stock put back, the household told.
3. The redemption sweep enqueues rows no job is going to fulfil (Redis was down, a worker died).

Every refusal (``Refused``) leaves nothing behind and names the reply that says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import ledger
import sms
from ledger import TransferRequest
from service.accounts import member_account
from service.models import households_t, phones_t, redemptions_t, rewards_t
from service.providers.fulfilment import (
    Fulfilled,
    FulfilmentError,
    Order,
    new_voucher_code,
    show_voucher,
    store_unique,
)
from service.unit_of_work import Job, UnitOfWork
from service.usecases import Refused
from service.usecases.households import Member
from service.usecases.rewards import Reward, find_reward
from service.usecases.roles import active_partner

log = logging.getLogger(__name__)

# A claim this old belongs to a job that died: another may take the redemption.
CLAIM_TTL = timedelta(minutes=5)
# A created redemption this old with no live claim was never enqueued, or its job was lost.
SWEEP_GRACE = timedelta(seconds=60)
# Tries of a fulfilment in all, and the wait before each retry after a transient failure.
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
SYSTEM_ACTOR = "system:fulfilment"


def _points_of(session: Session, member_code: str) -> int:
    return ledger.balance(session, member_account(member_code)).credit_balance


def redeem(
    uow: UnitOfWork,
    household: Member | None,
    item: str,
    amount: int | None,
    *,
    inbound_id: int | None = None,
) -> int:
    """REDEEM: spend a household's points on a reward; returns the new redemption's id. Its
    fulfilment is a job enqueued after the commit (it answers the household). ``amount``: naira
    of airtime or how many items (default the reward's least). ``Refused`` when it cannot be
    done: nothing written."""
    if household is None:
        raise Refused("not_member")
    session, now = uow.session, uow.now
    if household.status != "active":
        raise Refused("account_suspended")
    reward = find_reward(session, item)
    if reward is None:
        raise Refused("unknown_reward", item=item)
    units = reward.min_units if amount is None else amount
    if units < reward.min_units:
        raise Refused("below_minimum", reward=reward.name, min=reward.min_units, item=reward.code)
    if units > reward.max_units:
        raise Refused("above_maximum", reward=reward.name, max=reward.max_units)
    if reward.stock is not None and reward.stock < units:
        raise Refused("out_of_stock", reward=reward.name)
    points = reward.price * units
    balance = _points_of(session, household.member_code)
    if balance < points:
        raise Refused("not_enough_points", reward=reward.name, need=points, balance=balance)
    try:
        with session.begin_nested():
            redemption_id = _take(session, household, reward, units, points, now, inbound_id)
    except ledger.InsufficientFunds:
        # Another debit got there between the check and the posting; the ledger's limit held.
        balance = _points_of(session, household.member_code)
        raise Refused("not_enough_points", reward=reward.name, need=points, balance=balance) from None
    uow.after_commit(Job.FULFIL_REDEMPTION, redemption_id)
    return redemption_id


def _take(
    session: Session,
    household: Member,
    reward: Reward,
    units: int,
    points: int,
    now: datetime,
    inbound_id: int | None,
) -> int:
    """The stock, the redemption row and the debit (under the caller's savepoint)."""
    taken: Any = session.execute(
        update(rewards_t)
        .where(
            rewards_t.c.code == reward.code,
            or_(rewards_t.c.stock.is_(None), rewards_t.c.stock >= units),
        )
        .values(stock=rewards_t.c.stock - units)  # NULL (unlimited) stays NULL
    )
    if taken.rowcount != 1:  # the last ones went to someone else a moment ago
        raise Refused("out_of_stock", reward=reward.name)
    redemption_id = session.execute(
        redemptions_t.insert().returning(redemptions_t.c.id),
        {
            "household_id": household.id,
            "reward_code": reward.code,
            "units": units,
            "points": points,
            "status": "created",
            "attempts": 0,
            "inbound_id": inbound_id,
            "created_at": now,
        },
    ).scalar_one()
    account = member_account(household.member_code)
    memo = f"{reward.name}: NGN {units}" if reward.kind == "airtime" else f"{reward.name} x {units}"
    debit = ledger.post(
        session,
        TransferRequest(
            account,
            f"rewards:{reward.kind}",
            points,
            "redemption",
            f"redemption:{redemption_id}",
            reference=f"redemption:{redemption_id}",
            memo=memo,
            actor=account,
            occurred_at=now,
        ),
        now=now,
    )
    session.execute(
        redemptions_t.update().where(redemptions_t.c.id == redemption_id).values(reference=debit.human_ref)
    )
    return int(redemption_id)


# --- fulfilment: claim, record, refund, sweep -----------------------------------------------------


def claim(session: Session, redemption_id: int, now: datetime) -> Order | None:
    """Take a created redemption for fulfilment (its claim and attempt, committed by the caller);
    None when there is nothing to do: done already, or another job holds a live claim."""
    claimed: Any = session.execute(
        update(redemptions_t)
        .where(
            redemptions_t.c.id == redemption_id,
            redemptions_t.c.status == "created",
            or_(redemptions_t.c.claimed_at.is_(None), redemptions_t.c.claimed_at <= now - CLAIM_TTL),
        )
        .values(claimed_at=now, attempts=redemptions_t.c.attempts + 1)
    )
    if claimed.rowcount != 1:
        return None
    row = session.execute(_ORDER.where(redemptions_t.c.id == redemption_id)).one()
    return Order(
        redemption_id=row.id,
        kind=row.kind,
        reward_code=row.reward_code,
        reward_name=row.name,
        units=row.units,
        phone=row.phone,
        reference=row.reference or "",
        attempt=row.attempts,
    )


_ORDER = (
    select(
        redemptions_t.c.id,
        redemptions_t.c.reward_code,
        redemptions_t.c.units,
        redemptions_t.c.points,
        redemptions_t.c.status,
        redemptions_t.c.attempts,
        redemptions_t.c.reference,
        redemptions_t.c.inbound_id,
        rewards_t.c.kind,
        rewards_t.c.name,
        households_t.c.phone,
        households_t.c.member_code,
        phones_t.c.language,
    )
    .join(rewards_t, rewards_t.c.code == redemptions_t.c.reward_code)
    .join(households_t, households_t.c.id == redemptions_t.c.household_id)
    .join(phones_t, phones_t.c.number == households_t.c.phone)
)


def _locked(session: Session, redemption_id: int) -> Any:
    """The redemption with what its reply needs, its row locked (PostgreSQL) until the commit."""
    return session.execute(
        _ORDER.where(redemptions_t.c.id == redemption_id).with_for_update(of=redemptions_t)
    ).one()


@dataclass(frozen=True)
class Recorded:
    """What became of a fulfilment attempt: ``outcome`` for the job's record, and the wait before
    the next try (transient failures only)."""

    outcome: str
    retry_in: timedelta | None = None


def _reply(uow: UnitOfWork, row: Any, template: str, **values: object) -> None:
    body = sms.render(template, row.language, programme=uow.settings.programme_name, **values)
    # The answer to the household's own REDEEM: it goes even in quiet hours.
    uow.outbox.write(
        row.phone,
        body,
        language=row.language,
        template=template,
        inbound_id=row.inbound_id,
        reply=row.inbound_id is not None,
    )


def record_fulfilled(uow: UnitOfWork, redemption_id: int, done: Fulfilled) -> Recorded:
    """The reward was delivered: the redemption fulfilled and the household told, together."""
    session, now = uow.session, uow.now
    row = _locked(session, redemption_id)
    if row.status != "created":
        return Recorded(f"already {row.status}")
    session.execute(
        redemptions_t.update()
        .where(redemptions_t.c.id == redemption_id)
        .values(status="fulfilled", fulfilled_at=now, provider_ref=done.provider_ref)
    )
    balance = _points_of(session, row.member_code)
    said: dict[str, object] = {"points": row.points, "balance": balance}
    if row.kind == "voucher":
        drawn = iter([done.voucher_code] if done.voucher_code else [])
        code = store_unique(
            lambda candidate: _store_voucher(session, redemption_id, candidate),
            lambda: next(drawn, None) or new_voucher_code(),
        )
        template, said = "voucher_issued", {**said, "voucher": show_voucher(code), "reward": row.name}
    elif row.kind == "airtime":
        template, said = "airtime_sent", {**said, "units": row.units, "ref": row.reference}
    else:
        template, said = (
            "goods_ordered",
            {**said, "units": row.units, "reward": row.name, "ref": row.reference},
        )
    _reply(uow, row, template, **said)
    return Recorded("fulfilled")


def _store_voucher(session: Session, redemption_id: int, code: str) -> bool:
    """Give the redemption this code; False when another voucher has it (the unique constraint)."""
    try:
        with session.begin_nested():
            session.execute(
                redemptions_t.update().where(redemptions_t.c.id == redemption_id).values(voucher_code=code)
            )
    except IntegrityError:
        return False
    return True


def record_failure(uow: UnitOfWork, redemption_id: int, error: FulfilmentError) -> Recorded:
    """Fulfilment failed. Transient, with tries left: the claim lapses when the retry is due (so
    neither the sweep nor another job takes it sooner). Otherwise: refunded and the household told."""
    session, now = uow.session, uow.now
    row = _locked(session, redemption_id)
    if row.status != "created":
        return Recorded(f"already {row.status}")
    message = str(error)[:200]
    if error.transient and row.attempts < MAX_ATTEMPTS:
        wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        session.execute(
            redemptions_t.update()
            .where(redemptions_t.c.id == redemption_id)
            .values(claimed_at=now + wait - CLAIM_TTL, failure=message)
        )
        return Recorded(f"retry in {int(wait.total_seconds())}s: {message}", retry_in=wait)
    refund(uow, row, message)
    return Recorded(f"refunded: {message}")


def refund(uow: UnitOfWork, row: Any, reason: str) -> None:
    """Give the points back (a reversal of the debit: nothing is deleted), put the stock back and
    tell the household. The row is locked and still "created"."""
    session, now = uow.session, uow.now
    debit = next(
        t
        for t in ledger.transfers_for(session, f"redemption:{row.id}")
        if t.idempotency_key == f"redemption:{row.id}"
    )
    ledger.post(
        session,
        ledger.reversal_of(
            debit,
            idempotency_key=f"redemption:{row.id}:refund",
            actor=SYSTEM_ACTOR,
            memo=f"refund: {reason}"[:500],
            code="refund",
            occurred_at=now,
        ),
        now=now,
    )
    # Failed, and refunded in the same breath: "refunded" is the failure's final state.
    session.execute(
        redemptions_t.update().where(redemptions_t.c.id == row.id).values(status="refunded", failure=reason)
    )
    session.execute(
        update(rewards_t)
        .where(rewards_t.c.code == row.reward_code, rewards_t.c.stock.is_not(None))
        .values(stock=rewards_t.c.stock + row.units)
    )
    log.warning("redemption %d refunded: %s", row.id, reason)
    balance = _points_of(session, row.member_code)
    _reply(uow, row, "redeem_refunded", reward=row.name, points=row.points, balance=balance)


def to_sweep(session: Session, now: datetime, *, limit: int = 500) -> list[int]:
    """Created redemptions no job is going to fulfil: older than a minute, with no live claim."""
    return [
        int(i)
        for i in session.execute(
            select(redemptions_t.c.id)
            .where(
                redemptions_t.c.status == "created",
                redemptions_t.c.created_at < now - SWEEP_GRACE,
                or_(redemptions_t.c.claimed_at.is_(None), redemptions_t.c.claimed_at <= now - CLAIM_TTL),
            )
            .order_by(redemptions_t.c.id)
            .limit(limit)
        ).scalars()
    ]


# --- VERIFY: a partner shop takes a voucher ------------------------------------------------------


class VoucherCheck(NamedTuple):
    """What a VERIFY found: ``ok`` (now used by this shop), ``used`` (before), or ``unknown``."""

    result: str
    reward: str = ""
    member_code: str = ""
    used_at: datetime | None = None


def use_voucher(session: Session, code: str, partner_id: int, now: datetime) -> VoucherCheck:
    """Use a voucher up, once: of two shops checking the same code at once, one gets ``ok``."""
    code = "".join(code.split()).replace("-", "").upper()
    used: Any = session.execute(
        update(redemptions_t)
        .where(
            redemptions_t.c.voucher_code == code,
            redemptions_t.c.status == "fulfilled",
            redemptions_t.c.voucher_used_at.is_(None),
        )
        .values(voucher_used_at=now, voucher_used_by=partner_id)
    )
    row = session.execute(
        select(
            rewards_t.c.name,
            households_t.c.member_code,
            redemptions_t.c.voucher_used_at,
            redemptions_t.c.status,
        )
        .select_from(redemptions_t)
        .join(rewards_t, rewards_t.c.code == redemptions_t.c.reward_code)
        .join(households_t, households_t.c.id == redemptions_t.c.household_id)
        .where(redemptions_t.c.voucher_code == code)
    ).first()
    if used.rowcount == 1 and row is not None:
        return VoucherCheck("ok", row.name, row.member_code, now)
    if row is not None and row.voucher_used_at is not None:
        return VoucherCheck("used", row.name, row.member_code, row.voucher_used_at)
    return VoucherCheck("unknown")


def verify(uow: UnitOfWork, partner_id: int, code: str) -> VoucherCheck:
    """VERIFY: a partner shop uses a voucher up; ``Refused`` when the shop is suspended."""
    active_partner(uow.session, partner_id)
    return use_voucher(uow.session, code, partner_id, uow.now)
