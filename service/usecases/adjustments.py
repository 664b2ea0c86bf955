"""Manual adjustments, maker-checker: one user proposes (account, points, reason); a different
user approves, and only then is the transfer posted. The proposer may withdraw it; another user
may reject it with a note. The database refuses an approval by the proposer too (``four_eyes``).

Points credited come from ``programme:adjustments``; points debited go back to it. A household
is told by SMS, with its new balance. Each step is one transaction, with its audit entry
written by the caller in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from service.accounts import ADJUSTMENTS
from service.models import adjustments_t, collectors_t, households_t, users_t
from service.unit_of_work import UnitOfWork

MAX_POINTS = 1_000_000
ADJUSTABLE = ("member:", "collector:")


class AdjustmentError(ValueError):
    """A step that cannot be taken; nothing was written."""


class Adjustment(NamedTuple):
    id: int
    account_code: str
    amount: int
    reason: str
    status: str
    proposed_by: int
    proposer: str
    proposed_at: datetime
    decided_by: int | None
    decider: str | None
    decided_at: datetime | None
    decision_note: str | None
    transfer_id: int | None


def _select() -> object:
    proposer, decider = users_t.alias("proposer"), users_t.alias("decider")
    return (
        select(
            adjustments_t.c.id,
            adjustments_t.c.account_code,
            adjustments_t.c.amount,
            adjustments_t.c.reason,
            adjustments_t.c.status,
            adjustments_t.c.proposed_by,
            proposer.c.email.label("proposer"),
            adjustments_t.c.proposed_at,
            adjustments_t.c.decided_by,
            decider.c.email.label("decider"),
            adjustments_t.c.decided_at,
            adjustments_t.c.decision_note,
            adjustments_t.c.transfer_id,
        )
        .join(proposer, proposer.c.id == adjustments_t.c.proposed_by)
        .outerjoin(decider, decider.c.id == adjustments_t.c.decided_by)
    )


def adjustments(session: Session, *, status: str | None = None, limit: int = 100) -> list[Adjustment]:
    query = _select().order_by(adjustments_t.c.id.desc()).limit(limit)  # type: ignore[attr-defined]
    if status:
        query = query.where(adjustments_t.c.status == status)
    return [Adjustment(*row) for row in session.execute(query)]


def get_adjustment(session: Session, adjustment_id: int) -> Adjustment | None:
    row = session.execute(_select().where(adjustments_t.c.id == adjustment_id)).first()  # type: ignore[attr-defined]
    return None if row is None else Adjustment(*row)


def account_for(text: str) -> str:
    """The account an operator means: ``member:K12X``, ``collector:3``, or a member code ``K12X``."""
    text = text.strip()
    if ":" not in text:
        return f"member:{text.upper()}"
    kind, _, rest = text.partition(":")
    return f"{kind.lower()}:{rest.upper() if kind.lower() == 'member' else rest}"


def propose(
    session: Session, proposer_id: int, account_text: str, amount_text: str, reason: str, now: datetime
) -> int:
    account = account_for(account_text)
    if not account.startswith(ADJUSTABLE):
        raise AdjustmentError("only a household's (member:...) or a collector's account can be adjusted")
    try:
        ledger.get_account(session, account)
    except ledger.UnknownAccount:
        raise AdjustmentError(f"there is no account {account!r}") from None
    text = amount_text.strip().replace(",", "").replace(" ", "")
    if not text.lstrip("+-").isdigit():
        raise AdjustmentError(
            f"the amount is a whole number of points, like 50 or -20, not {amount_text[:20]!r}"
        )
    amount = int(text)
    if amount == 0 or abs(amount) > MAX_POINTS:
        raise AdjustmentError(f"the amount is from 1 to {MAX_POINTS:,} points, + to add or - to take")
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise AdjustmentError("say why, in a few words: the household is told the reason")
    if len(reason) > 160:
        raise AdjustmentError("the reason is at most 160 characters")
    return int(
        session.execute(
            adjustments_t.insert()
            .values(
                account_code=account,
                amount=amount,
                reason=reason,
                status="proposed",
                proposed_by=proposer_id,
                proposed_at=now,
            )
            .returning(adjustments_t.c.id)
        ).scalar_one()
    )


def _proposed(session: Session, adjustment_id: int) -> Adjustment:
    locked = session.execute(
        select(adjustments_t.c.status).where(adjustments_t.c.id == adjustment_id).with_for_update()
    ).scalar()
    if locked is None:
        raise AdjustmentError(f"there is no adjustment {adjustment_id}")
    if locked != "proposed":
        raise AdjustmentError(f"adjustment {adjustment_id} was {locked} already")
    found = get_adjustment(session, adjustment_id)
    assert found is not None
    return found


def _decide(
    session: Session, adjustment_id: int, status: str, user_id: int, now: datetime, **values: object
) -> None:
    session.execute(
        adjustments_t.update()
        .where(adjustments_t.c.id == adjustment_id)
        .values(status=status, decided_by=user_id, decided_at=now, **values)
    )


def approve(uow: UnitOfWork, adjustment_id: int, approver_id: int) -> ledger.PostedTransfer:
    """Post the proposed adjustment (approved by someone else) and tell the account's owner."""
    session, now = uow.session, uow.now
    proposal = _proposed(session, adjustment_id)
    if proposal.proposed_by == approver_id:
        raise AdjustmentError("a different operator must approve it: you proposed it")
    approver = session.execute(select(users_t.c.email).where(users_t.c.id == approver_id)).scalar_one()
    account, points = proposal.account_code, abs(proposal.amount)
    debit, credit = (ADJUSTMENTS, account) if proposal.amount > 0 else (account, ADJUSTMENTS)
    try:
        posted = ledger.post(
            session,
            ledger.TransferRequest(
                debit,
                credit,
                points,
                "adjustment",
                f"adjustment:{adjustment_id}",
                reference=f"adjustment:{adjustment_id}",
                memo=proposal.reason,
                actor=f"user:{approver}",
            ),
            now=now,
        )
    except ledger.InsufficientFunds:
        held = ledger.balance(session, account).credit_balance
        raise AdjustmentError(
            f"{account} holds {held:,} points; it cannot give {points:,} (reject it, or propose less)"
        ) from None
    _decide(session, adjustment_id, "approved", approver_id, now, transfer_id=posted.id)
    _tell_owner(uow, account, proposal, points)
    return posted


def _tell_owner(uow: UnitOfWork, account: str, proposal: Adjustment, points: int) -> None:
    session = uow.session
    kind, _, key = account.partition(":")
    if kind == "member":
        phone = session.execute(
            select(households_t.c.phone).where(households_t.c.member_code == key)
        ).scalar()
    else:
        phone = session.execute(select(collectors_t.c.phone).where(collectors_t.c.id == int(key))).scalar()
    if phone is None:
        return
    template = "adjustment_credit" if proposal.amount > 0 else "adjustment_debit"
    balance = ledger.balance(session, account).credit_balance
    uow.outbox.text(phone, template, points=points, reason=proposal.reason, balance=balance)


def reject(session: Session, adjustment_id: int, user_id: int, note: str, now: datetime) -> None:
    """Refuse someone else's proposal, saying why (nothing is posted)."""
    proposal = _proposed(session, adjustment_id)
    if proposal.proposed_by == user_id:
        raise AdjustmentError("withdraw your own proposal instead of rejecting it")
    note = " ".join(note.split())
    if not note:
        raise AdjustmentError("say why it is rejected")
    _decide(session, adjustment_id, "rejected", user_id, now, decision_note=note[:160])


def withdraw(session: Session, adjustment_id: int, user_id: int, now: datetime) -> None:
    """The proposer takes back a proposal not yet decided."""
    proposal = _proposed(session, adjustment_id)
    if proposal.proposed_by != user_id:
        raise AdjustmentError("only who proposed it can withdraw it; reject it instead")
    # decided_by stays empty: the four-eyes check keeps decided_by apart from proposed_by.
    session.execute(
        adjustments_t.update()
        .where(adjustments_t.c.id == adjustment_id)
        .values(status="withdrawn", decided_at=now)
    )
