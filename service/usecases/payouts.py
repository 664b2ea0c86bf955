"""Cash-out: REDEEM CASH <naira> sends money to the household's payout account through Paystack.

The points are held at once, in the text's own transaction: a debit member:<code> ->
``payouts:pending`` (whose balance is the cash in flight). Then either

- paid: ``payouts:pending`` -> ``payouts:paid`` when Paystack says the transfer succeeded; or
- returned: an exact reversal of the debit when it failed, or was reversed after it succeeded
  (then the paid transfer is reversed first).

Not a two-phase "pending" transfer: Kolekt's ledger is append-only and has no pending state; a
debit and its exact reversal is how redemptions already hold and return points, and every step
is a transfer anyone can verify.

A payout moves held -> sending (a job claimed it) -> pending (Paystack took it) -> paid | failed |
reversed. The job calls Paystack outside any transaction, with the payout's ``reference``: a
retry, or a job that finds a claim a dead worker left, first asks Paystack for that reference
(``verify``) and adopts what it finds, so a payout is never sent twice. Outcomes come from
Paystack's webhooks and, for a payout whose webhook has not come, from the reconciliation job;
``settle`` takes each in any order: a failure after a success changes nothing, a reversal after
a success returns the points, the same event twice is done once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

import ledger
import sms
from ledger import TransferRequest
from service.accounts import PAYOUTS_PAID, PAYOUTS_PENDING, member_account
from service.models import households_t, payout_accounts_t, payouts_t, phones_t
from service.providers.payouts import Transfer
from service.unit_of_work import Job, UnitOfWork
from service.usecases import Refused, banks, payout_accounts
from service.usecases.households import Member, get_member

log = logging.getLogger(__name__)

ACTOR = "system:payouts"
# Paystack's transfer statuses, as Kolekt reads them.
PAID = {"success"}
FAILED = {"failed", "abandoned", "rejected", "blocked"}
REVERSED = {"reversed"}
UNDER_WAY = {"pending", "otp", "received", "queued", "processing"}
FINAL = ("paid", "failed", "reversed")


def naira(kobo: int) -> str:
    """Kobo as a text writes naira: 50000 -> "500", 2000000 -> "20,000", 50050 -> "500.50"."""
    whole, rest = divmod(kobo, 100)
    return f"{whole:,}" + (f".{rest:02d}" if rest else "")


# --- REDEEM CASH ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requested:
    payout_id: int
    reference: str
    human_ref: str
    points: int
    amount_kobo: int
    not_before: datetime
    account: payout_accounts.Account


def today_start(uow: UnitOfWork) -> datetime:
    local = uow.now.astimezone(uow.settings.zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _sent_since(session: Session, since: datetime, household_id: int | None = None) -> int:
    """Kobo asked for since ``since`` and not returned (held, under way or paid)."""
    query = select(func.coalesce(func.sum(payouts_t.c.amount_kobo), 0)).where(
        payouts_t.c.created_at >= since, payouts_t.c.status.not_in(("failed", "reversed"))
    )
    if household_id is not None:
        query = query.where(payouts_t.c.household_id == household_id)
    return int(session.execute(query).scalar_one())


def _serialise(session: Session) -> None:
    """One cash-out at a time across the programme while the daily caps are checked and the points
    taken (PostgreSQL: an advisory lock to the end of the transaction; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext('kolekt-payouts'))"))


def cash_out(
    uow: UnitOfWork, household: Member | None, amount_naira: int | None, *, inbound_id: int | None = None
) -> Requested:
    """REDEEM CASH <naira>: the points held at once and the payout sent by a job after the commit
    (its text says it is on its way). ``Refused`` with the reason: nothing written."""
    if household is None:
        raise Refused("not_member")
    amount_kobo, points = _allowed(uow, household, amount_naira)
    account = payout_accounts.active_account(uow.session, household.id)
    if account is None:
        raise Refused("bank_none")
    return _held(uow, household, account, amount_kobo, points, inbound_id=inbound_id)


def _allowed(uow: UnitOfWork, household: Member, amount_naira: int | None) -> tuple[int, int]:
    """Cash-out is on, the household active, the amount within the limits and a whole number of
    points: its kobo and points, or ``Refused``."""
    settings = uow.settings
    if not settings.cash_out:
        raise Refused("cash_off")
    if household.status != "active":
        raise Refused("account_suspended")
    if amount_naira is None:
        raise Refused("cash_amount_missing")
    low, high = settings.payout_min_naira, settings.payout_max_naira
    if amount_naira < low:
        raise Refused("cash_min", min=f"{low:,}")
    if amount_naira > high:
        raise Refused("cash_max", max=f"{high:,}")
    amount_kobo = amount_naira * 100
    points, rest = divmod(amount_kobo, settings.kobo_per_point)
    if rest:
        step = (
            settings.kobo_per_point // 100 if settings.kobo_per_point % 100 == 0 else settings.kobo_per_point
        )
        raise Refused("cash_step", step=step)
    return amount_kobo, points


def _held(
    uow: UnitOfWork,
    household: Member,
    account: payout_accounts.Account,
    amount_kobo: int,
    points: int,
    *,
    inbound_id: int | None = None,
    retry_of: int | None = None,
    actor: str | None = None,
) -> Requested:
    """The daily caps and the balance checked, one cash-out at a time, then the points held and
    the payout's job asked for after the commit."""
    settings, session = uow.settings, uow.session
    amount_naira = amount_kobo // 100
    _serialise(session)
    today = today_start(uow)
    own = _sent_since(session, today, household.id)
    if own + amount_kobo > settings.payout_daily_naira_per_household * 100:
        left = max(0, settings.payout_daily_naira_per_household * 100 - own)
        raise Refused(
            "cash_daily_cap", cap=f"{settings.payout_daily_naira_per_household:,}", left=naira(left)
        )
    if _sent_since(session, today) + amount_kobo > settings.payout_daily_naira * 100:
        raise Refused("cash_programme_cap")
    balance = ledger.balance(session, member_account(household.member_code)).credit_balance
    if balance < points:
        raise Refused("cash_not_enough", naira=f"{amount_naira:,}", need=points, balance=balance)
    not_before = max(uow.now, account.usable_from or uow.now)
    try:
        with session.begin_nested():
            requested = _hold(
                uow, household, account, amount_kobo, points, not_before, inbound_id, retry_of, actor
            )
    except ledger.InsufficientFunds:
        balance = ledger.balance(session, member_account(household.member_code)).credit_balance
        raise Refused("cash_not_enough", naira=f"{amount_naira:,}", need=points, balance=balance) from None
    wait = not_before - uow.now
    uow.after_commit(
        Job.SEND_PAYOUT,
        requested.payout_id,
        job_id=f"payout-{requested.payout_id}",
        wait=wait if wait > timedelta(0) else None,
    )
    return requested


def _hold(
    uow: UnitOfWork,
    household: Member,
    account: payout_accounts.Account,
    amount_kobo: int,
    points: int,
    not_before: datetime,
    inbound_id: int | None,
    retry_of: int | None = None,
    actor: str | None = None,
) -> Requested:
    session, now = uow.session, uow.now
    reference = f"kolekt-{secrets.token_hex(8)}"
    payout_id = int(
        session.execute(
            payouts_t.insert().returning(payouts_t.c.id),
            {
                "household_id": household.id,
                "account_id": account.id,
                "amount_kobo": amount_kobo,
                "points": points,
                "reference": reference,
                "status": "held",
                "attempts": 0,
                "not_before": not_before,
                "created_at": now,
                "inbound_id": inbound_id,
                "retry_of": retry_of,
            },
        ).scalar_one()
    )
    debit = ledger.post(
        session,
        TransferRequest(
            member_account(household.member_code),
            PAYOUTS_PENDING,
            points,
            "payout",
            f"payout:{payout_id}",
            reference=f"payout:{payout_id}",
            memo=f"cash NGN {naira(amount_kobo)} to {account.bank} {account.masked}",
            actor=actor or member_account(household.member_code),
            occurred_at=now,
        ),
        now=now,
    )
    session.execute(update(payouts_t).where(payouts_t.c.id == payout_id).values(human_ref=debit.human_ref))
    return Requested(payout_id, reference, debit.human_ref, points, amount_kobo, not_before, account)


# --- an operator's retry of a failed payout ---------------------------------------------------


class NotRetried(ValueError):
    """A failed payout cannot be sent again now; the message says why, to an operator. Nothing
    was written."""


# A cash-out rule's refusal, as an operator reads it (the household's own words are its text's).
_RETRY_REFUSALS = {
    "cash_off": "Cash-out is off (CASH_OUT=off).",
    "account_suspended": "The household is suspended: reinstate it first.",
    "bank_none": "The household has no cash-out account: save one on its page first.",
    "cash_min": "The amount is under PAYOUT_MIN_NAIRA (NGN {min}).",
    "cash_max": "The amount is over PAYOUT_MAX_NAIRA (NGN {max}).",
    "cash_step": "The amount is not a whole number of points (steps of NGN {step}).",
    "cash_daily_cap": "It would pass the household's daily cap of NGN {cap}: NGN {left} is left today.",
    "cash_programme_cap": "It would pass the programme's daily cap (PAYOUT_DAILY_NAIRA).",
    "cash_not_enough": "Not enough points: NGN {naira} needs {need} points and the household has {balance}.",
}


def retry(uow: UnitOfWork, payout_id: int, by: str) -> Requested:
    """Send a failed payout again: a new payout (``retry_of`` naming it) for the same household
    and amount, to the household's active account now, its points held again under cash-out's
    own rules (limits, daily caps, balance), sent by a job after the commit. The household is
    texted that it is on its way. ``by`` is who asked ("user:<id> <email>"), the hold's actor.
    Once: a payout retried already is not retried again. ``NotRetried`` says why not."""
    session = uow.session
    _serialise(session)
    row = session.execute(select(payouts_t).where(payouts_t.c.id == payout_id).with_for_update()).first()
    if row is None:
        raise NotRetried(f"There is no payout {payout_id}.")
    if row.status != "failed":
        raise NotRetried(f"Payout {payout_id} is {row.status}: only a failed payout is sent again.")
    again = session.execute(select(payouts_t.c.id).where(payouts_t.c.retry_of == payout_id)).scalar()
    if again is not None:
        raise NotRetried(f"Payout {payout_id} was sent again already, as payout {again}.")
    household = get_member(session, int(row.household_id))
    amount_kobo = int(row.amount_kobo)
    try:
        if amount_kobo % 100:
            raise Refused("cash_step", step=1)
        amount_kobo, points = _allowed(uow, household, amount_kobo // 100)
        account = payout_accounts.active_account(session, household.id)
        if account is None:
            raise Refused("bank_none")
        requested = _held(uow, household, account, amount_kobo, points, retry_of=payout_id, actor=by)
    except Refused as refused:
        reason = _RETRY_REFUSALS.get(refused.template, "Cash-out refused it ({template}).")
        raise NotRetried(reason.format(template=refused.template, **refused.values)) from None
    values = {
        "naira": naira(amount_kobo),
        "bank": requested.account.bank,
        "masked": requested.account.masked,
        "points": requested.points,
        "ref": requested.human_ref,
    }
    if requested.not_before > uow.now:
        when = payout_accounts.when(uow, requested.not_before)
        uow.outbox.text(household.phone, "cash_waits", when=when, **values)
    else:
        uow.outbox.text(household.phone, "cash_held", **values)
    log.info("payout %d sent again as payout %d by %s", payout_id, requested.payout_id, by)
    return requested


# --- the outcome: paid, or the points given back ------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    outcome: str
    retry_in: timedelta | None = None


def locked(session: Session, *where: Any) -> Any:
    """The payout with what its texts need, its row locked (PostgreSQL) until the commit."""
    return session.execute(
        select(
            payouts_t,
            households_t.c.phone,
            households_t.c.member_code,
            phones_t.c.language,
            payout_accounts_t.c.bank_name,
            payout_accounts_t.c.account_number,
        )
        .join(households_t, households_t.c.id == payouts_t.c.household_id)
        .join(phones_t, phones_t.c.number == households_t.c.phone)
        .join(payout_accounts_t, payout_accounts_t.c.id == payouts_t.c.account_id)
        .where(*where)
        .with_for_update(of=payouts_t)
    ).first()


def settle(uow: UnitOfWork, reference: str, transfer: Transfer) -> Recorded:
    """What Paystack says of the transfer with ``reference`` (its answer to the send, a webhook, or
    the reconciliation's verify), in any order and any number of times."""
    row = locked(uow.session, payouts_t.c.reference == reference)
    if row is None:
        log.warning("payout: Paystack spoke of reference %r, which Kolekt did not make", reference)
        return Recorded("unknown reference")
    status = transfer.status
    if transfer.transfer_code and row.transfer_code != transfer.transfer_code:
        uow.session.execute(
            update(payouts_t)
            .where(payouts_t.c.id == row.id)
            .values(transfer_code=transfer.transfer_code[:60])
        )
    if status in PAID:
        if row.status == "paid":
            return Recorded("paid already")
        if row.status in ("failed", "reversed"):
            # Paystack's failures are final, so this should not happen; the money went and the
            # points came back: the hub must see it.
            log.error("payout %d: Paystack says paid, but it was %s and returned", row.id, row.status)
            return Recorded(f"paid after it was {row.status}: for the hub")
        _paid(uow, row)
        return Recorded("paid")
    if status in REVERSED:
        if row.status in ("failed", "reversed"):
            return Recorded(f"{row.status} already")
        give_back(uow, row, "reversed", transfer.reason or "the bank sent the money back")
        return Recorded("reversed")
    if status in FAILED:
        if row.status == "paid":
            log.warning("payout %d: a failure after its success changes nothing", row.id)
            return Recorded("paid already; the failure is ignored")
        if row.status in ("failed", "reversed"):
            return Recorded(f"{row.status} already")
        give_back(uow, row, "failed", transfer.reason or f"Paystack: {status}")
        return Recorded("failed")
    # Under way (pending, otp, ...): Paystack has it.
    if row.status in ("held", "sending"):
        uow.session.execute(
            update(payouts_t)
            .where(payouts_t.c.id == row.id)
            .values(status="pending", sent_at=row.sent_at or uow.now, claimed_at=None)
        )
        return Recorded("under way")
    return Recorded(f"{row.status}; Paystack says {status}")


def _text(uow: UnitOfWork, row: Any, template: str, **values: object) -> None:
    uow.outbox.text(row.phone, template, row.language, **values)


def _paid(uow: UnitOfWork, row: Any) -> None:
    session, now = uow.session, uow.now
    ledger.post(
        session,
        TransferRequest(
            PAYOUTS_PENDING,
            PAYOUTS_PAID,
            int(row.points),
            "payout_paid",
            f"payout:{row.id}:paid",
            reference=f"payout:{row.id}",
            memo=f"paid: NGN {naira(int(row.amount_kobo))}",
            actor=ACTOR,
            occurred_at=now,
        ),
        now=now,
    )
    session.execute(
        update(payouts_t)
        .where(payouts_t.c.id == row.id)
        .values(status="paid", final_at=now, sent_at=row.sent_at or now, claimed_at=None, failure=None)
    )
    _text(
        uow,
        row,
        "cash_sent",
        naira=naira(int(row.amount_kobo)),
        bank=banks.display(row.bank_name),
        masked=payout_accounts.masked(row.account_number),
        ref=row.human_ref or "",
    )


def give_back(uow: UnitOfWork, row: Any, status: str, reason: str) -> None:
    """The points back, exactly: the paid transfer reversed first if there was one, then the debit;
    the household told why."""
    session, now = uow.session, uow.now
    posted = {t.idempotency_key: t for t in ledger.transfers_for(session, f"payout:{row.id}")}
    for key, code in ((f"payout:{row.id}:paid", "payout_reversed"), (f"payout:{row.id}", "refund")):
        original = posted.get(key)
        if original is None or f"{key}:return" in posted:
            continue
        ledger.post(
            session,
            ledger.reversal_of(
                original,
                idempotency_key=f"{key}:return",
                actor=ACTOR,
                memo=f"{status}: {reason}"[:500],
                code=code,
                occurred_at=now,
            ),
            now=now,
        )
    session.execute(
        update(payouts_t)
        .where(payouts_t.c.id == row.id)
        .values(status=status, final_at=now, claimed_at=None, failure=reason[:300])
    )
    log.warning("payout %d %s, points returned: %s", row.id, status, reason)
    _text(
        uow,
        row,
        "cash_refunded",
        naira=naira(int(row.amount_kobo)),
        why=_why(status, reason),
        points=int(row.points),
        ref=row.human_ref or "",
    )


def _why(status: str, reason: str) -> sms.Word:
    """Why the money did not go, in the household's own words (Paystack's are English)."""
    said = reason.lower()
    if status == "reversed":
        return sms.Word("why_reversed")
    if "account" in said or "recipient" in said or "invalid" in said:
        return sms.Word("why_account")
    if "reach" in said or "answer" in said or "float" in said or "bank" in said:
        return sms.Word("why_bank")
    return sms.Word("why_failed")
