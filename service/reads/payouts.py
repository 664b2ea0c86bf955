"""Cash payouts as the dashboard shows them: the list (by status, newest first, keyset pages), the
same rows a chunk at a time for the CSV export, today's totals against the programme's daily cap,
and which payouts a reconciliation asks Paystack about."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from service.models import households_t, payout_accounts_t, payouts_t
from service.usecases import banks, payout_accounts

STATUSES = ("held", "sending", "pending", "paid", "failed", "reversed")
NOT_FINAL = ("held", "sending", "pending")
RETURNED = ("failed", "reversed")
# A reconciliation asks about every payout not final, and every payout of this long ago or newer.
RECONCILE_DAYS = 7
CHUNK = 500


@dataclass(frozen=True)
class PayoutRow:
    id: int
    created_at: datetime
    household_id: int
    member_code: str | None
    household: str
    amount_kobo: int
    points: int
    bank: str
    masked: str
    status: str
    reference: str
    transfer_code: str | None
    failure: str | None
    human_ref: str | None
    attempts: int
    sent_at: datetime | None
    final_at: datetime | None
    retry_of: int | None
    retried_as: int | None  # the payout that sent this one again (an operator's retry)


def _query() -> Select[Any]:
    retried = payouts_t.alias("retried")
    retried_as = select(func.min(retried.c.id)).where(retried.c.retry_of == payouts_t.c.id).scalar_subquery()
    p = payouts_t.c
    return (
        select(
            p.id,
            p.created_at,
            p.household_id,
            households_t.c.member_code,
            households_t.c.name,
            p.amount_kobo,
            p.points,
            payout_accounts_t.c.bank_name,
            payout_accounts_t.c.account_number,
            p.status,
            p.reference,
            p.transfer_code,
            p.failure,
            p.human_ref,
            p.attempts,
            p.sent_at,
            p.final_at,
            p.retry_of,
            retried_as.label("retried_as"),
        )
        .join(households_t, households_t.c.id == p.household_id)
        .join(payout_accounts_t, payout_accounts_t.c.id == p.account_id)
    )


def _row(row: Any) -> PayoutRow:
    return PayoutRow(
        id=int(row.id),
        created_at=row.created_at,
        household_id=int(row.household_id),
        member_code=row.member_code,
        household=row.name,
        amount_kobo=int(row.amount_kobo),
        points=int(row.points),
        bank=banks.display(row.bank_name),
        masked=payout_accounts.masked(row.account_number),
        status=row.status,
        reference=row.reference,
        transfer_code=row.transfer_code,
        failure=row.failure,
        human_ref=row.human_ref,
        attempts=int(row.attempts),
        sent_at=row.sent_at,
        final_at=row.final_at,
        retry_of=row.retry_of,
        retried_as=row.retried_as,
    )


def browse(session: Session, status: str | None, *, before: int | None, limit: int) -> list[PayoutRow]:
    """Payouts newest first, ``limit`` of them older than payout ``before`` (keyset on the id)."""
    query = _query()
    if status:
        query = query.where(payouts_t.c.status == status)
    if before is not None:
        query = query.where(payouts_t.c.id < before)
    return [_row(row) for row in session.execute(query.order_by(payouts_t.c.id.desc()).limit(limit))]


def get(session: Session, payout_id: int) -> PayoutRow | None:
    row = session.execute(_query().where(payouts_t.c.id == payout_id)).first()
    return None if row is None else _row(row)


def chunks(session: Session, status: str | None, *, chunk: int = CHUNK) -> Iterator[list[PayoutRow]]:
    """Every payout (of ``status``), oldest first, ``chunk`` at a time: each chunk a short query of
    its own, so nothing holds a cursor open while a slow client downloads."""
    after = 0
    while True:
        query = _query().where(payouts_t.c.id > after)
        if status:
            query = query.where(payouts_t.c.status == status)
        found = [_row(row) for row in session.execute(query.order_by(payouts_t.c.id).limit(chunk))]
        if not found:
            return
        yield found
        if len(found) < chunk:
            return
        after = found[-1].id


@dataclass(frozen=True)
class Totals:
    """Today's payouts (the programme's local day). ``sent``: asked for and not returned, which is
    what the daily cap counts (held, under way or paid); ``paid`` and ``returned``: settled today."""

    sent_count: int
    sent_kobo: int
    paid_count: int
    paid_kobo: int
    returned_count: int
    returned_kobo: int


def totals(session: Session, since: datetime, until: datetime | None = None) -> Totals:
    """What was asked for from ``since`` (and before ``until``), and what was paid or returned
    in that time."""

    def between(column: Any) -> Any:
        return (column >= since) if until is None else ((column >= since) & (column < until))

    def summed(*where: Any) -> tuple[int, int]:
        count, kobo = session.execute(
            select(func.count(), func.coalesce(func.sum(payouts_t.c.amount_kobo), 0)).where(*where)
        ).one()
        return int(count), int(kobo)

    sent = summed(between(payouts_t.c.created_at), payouts_t.c.status.not_in(RETURNED))
    paid = summed(between(payouts_t.c.final_at), payouts_t.c.status == "paid")
    returned = summed(between(payouts_t.c.final_at), payouts_t.c.status.in_(RETURNED))
    return Totals(*sent, *paid, *returned)


@dataclass(frozen=True)
class ToCheck:
    id: int
    reference: str
    status: str


def to_reconcile(session: Session, now: datetime, limit: int) -> tuple[list[ToCheck], int]:
    """The payouts a reconciliation asks Paystack about: every one not final (oldest first), then
    every other one of the last ``RECONCILE_DAYS`` days (newest first); at most ``limit`` of them,
    and how many there are in all."""
    columns = (payouts_t.c.id, payouts_t.c.reference, payouts_t.c.status)
    open_ones = session.execute(
        select(*columns).where(payouts_t.c.status.in_(NOT_FINAL)).order_by(payouts_t.c.id).limit(limit)
    ).all()
    recent = session.execute(
        select(*columns)
        .where(
            payouts_t.c.status.not_in(NOT_FINAL),
            payouts_t.c.created_at >= now - timedelta(days=RECONCILE_DAYS),
        )
        .order_by(payouts_t.c.id.desc())
        .limit(max(0, limit - len(open_ones)))
    ).all()
    total = session.execute(
        select(func.count()).where(
            or_(
                payouts_t.c.status.in_(NOT_FINAL),
                payouts_t.c.created_at >= now - timedelta(days=RECONCILE_DAYS),
            )
        )
    ).scalar_one()
    return [ToCheck(int(row.id), row.reference, row.status) for row in [*open_ones, *recent]], int(total)
