"""Sending a payout: the job's claim, a failed attempt (tried again, or the points given back),
the float seen before each send, and the sweeps: held payouts no job is going to send, and
payouts Paystack took whose outcome has not come (``service.jobs.payouts`` calls Paystack)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from service.models import payout_accounts_t, payouts_t
from service.unit_of_work import UnitOfWork
from service.usecases import payouts

log = logging.getLogger(__name__)

# A claim this old belongs to a job that died: another may take the payout (after asking Paystack).
CLAIM_TTL = timedelta(minutes=5)
# A held payout this old with no live claim was never enqueued, or its job was lost.
SWEEP_GRACE = timedelta(seconds=60)
# A pending payout whose webhook has not come this long after it was sent is asked about.
RECONCILE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 6
BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=2),
)


@dataclass(frozen=True)
class Claimed:
    """What the job needs to send one payout (read when it was claimed)."""

    payout_id: int
    reference: str
    amount_kobo: int
    attempt: int
    resumed: bool  # a claim a dead job left, or a retry: ask Paystack before sending again
    account_id: int
    bank_code: str
    account_number: str
    account_name: str
    recipient_code: str | None
    reason: str


def claim(session: Session, payout_id: int, now: datetime) -> Claimed | None:
    """Take a payout to send (its claim and attempt, committed by the caller); None when there is
    nothing to do: final, under way at Paystack, not due yet, or another job holds a live claim."""
    row = session.execute(
        select(payouts_t.c.status, payouts_t.c.attempts, payouts_t.c.claimed_at)
        .where(payouts_t.c.id == payout_id)
        .with_for_update()
    ).first()
    if row is None:
        return None
    claimed: Any = session.execute(
        update(payouts_t)
        .where(
            payouts_t.c.id == payout_id,
            payouts_t.c.status.in_(("held", "sending")),
            payouts_t.c.not_before <= now,
            or_(payouts_t.c.claimed_at.is_(None), payouts_t.c.claimed_at <= now - CLAIM_TTL),
        )
        .values(status="sending", claimed_at=now, attempts=payouts_t.c.attempts + 1)
    )
    if claimed.rowcount != 1:
        return None
    found = session.execute(
        select(
            payouts_t.c.reference,
            payouts_t.c.amount_kobo,
            payouts_t.c.attempts,
            payouts_t.c.human_ref,
            payout_accounts_t.c.id.label("account_id"),
            payout_accounts_t.c.bank_code,
            payout_accounts_t.c.account_number,
            payout_accounts_t.c.account_name,
            payout_accounts_t.c.recipient_code,
        )
        .join(payout_accounts_t, payout_accounts_t.c.id == payouts_t.c.account_id)
        .where(payouts_t.c.id == payout_id)
    ).one()
    return Claimed(
        payout_id,
        found.reference,
        int(found.amount_kobo),
        int(found.attempts),
        resumed=row.status == "sending" or int(found.attempts) > 1,
        account_id=int(found.account_id),
        bank_code=found.bank_code,
        account_number=found.account_number,
        account_name=found.account_name or "",
        recipient_code=found.recipient_code,
        reason=f"Kolekt cash-out {found.human_ref or payout_id}",
    )


def record_attempt_failed(
    uow: UnitOfWork, payout_id: int, message: str, *, transient: bool, unsure: bool = False
) -> payouts.Recorded:
    """Paystack could not be reached, or refused the request itself. A transient failure leaves the
    payout held and tried again later; a permanent one, or the last transient one, returns the points
    (the job has asked Paystack that it holds no transfer under the reference). ``unsure``: Paystack
    may hold one and could not be asked: never returned, tried again (and asked) later."""
    row = payouts.locked(uow.session, payouts_t.c.id == payout_id)
    if row is None or row.status not in ("held", "sending"):
        return payouts.Recorded("nothing to do")
    if transient and (row.attempts < MAX_ATTEMPTS or unsure):
        wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        uow.session.execute(
            update(payouts_t)
            .where(payouts_t.c.id == payout_id)
            .values(status="held", claimed_at=None, not_before=uow.now + wait, failure=message[:300])
        )
        return payouts.Recorded(f"retry in {int(wait.total_seconds())}s: {message}", retry_in=wait)
    payouts.give_back(uow, row, "failed", message)
    return payouts.Recorded(f"returned: {message}")


# --- the float: the programme's Paystack balance ----------------------------------------------


def watch_float(uow: UnitOfWork, payout_id: int, available_kobo: int) -> bool:
    """Note the float seen before sending a payout; when what is left after it falls under
    ``PAYOUT_FLOAT_LOW_NAIRA``, text the operators (once a day). True when it is low."""
    session = uow.session
    amount = int(
        session.execute(select(payouts_t.c.amount_kobo).where(payouts_t.c.id == payout_id)).scalar_one()
    )
    session.execute(update(payouts_t).where(payouts_t.c.id == payout_id).values(float_kobo=available_kobo))
    low = uow.settings.payout_float_low_naira * 100
    if available_kobo - amount >= low:
        return False
    from service.models import outbox_t

    told = session.execute(
        select(outbox_t.c.id)
        .where(outbox_t.c.template == "float_low", outbox_t.c.created_at >= payouts.today_start(uow))
        .limit(1)
    ).first()
    if told is None:
        for phone in uow.settings.operator_phones:
            uow.outbox.text(phone, "float_low", float=payouts.naira(available_kobo), low=payouts.naira(low))
        log.warning(
            "payouts: the float is NGN %s, under NGN %s", payouts.naira(available_kobo), payouts.naira(low)
        )
    return True


def last_float(session: Session) -> tuple[int, datetime] | None:
    """The float last seen, and when (the dashboard, the daily summary)."""
    row = session.execute(
        select(payouts_t.c.float_kobo, payouts_t.c.claimed_at, payouts_t.c.sent_at, payouts_t.c.created_at)
        .where(payouts_t.c.float_kobo.is_not(None))
        .order_by(payouts_t.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return int(row.float_kobo), row.sent_at or row.claimed_at or row.created_at


# --- the sweeps: payouts no job is going to send, payouts whose outcome has not come ------------


def to_send(session: Session, now: datetime, *, limit: int = 200) -> list[int]:
    """Held payouts that are due, with no live claim, older than a minute (or due after a wait)."""
    return [
        int(payout_id)
        for payout_id in session.execute(
            select(payouts_t.c.id)
            .where(
                payouts_t.c.status.in_(("held", "sending")),
                payouts_t.c.not_before <= now - SWEEP_GRACE,
                or_(payouts_t.c.claimed_at.is_(None), payouts_t.c.claimed_at <= now - CLAIM_TTL),
            )
            .order_by(payouts_t.c.id)
            .limit(limit)
        ).scalars()
    ]


def to_reconcile(session: Session, now: datetime, *, limit: int = 200) -> list[str]:
    """References of payouts Paystack took whose outcome has not come after ``RECONCILE_AFTER``."""
    return [
        str(reference)
        for reference in session.execute(
            select(payouts_t.c.reference)
            .where(payouts_t.c.status == "pending", payouts_t.c.sent_at <= now - RECONCILE_AFTER)
            .order_by(payouts_t.c.id)
            .limit(limit)
        ).scalars()
    ]
