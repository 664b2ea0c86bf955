"""Points as people ask about them: a household's balance and its last movements (BAL, HIST), a
collector's commission, and any receipt checked against the ledger (CHECK: anyone may)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import collector_account, member_account
from service.models import collections_t
from service.usecases import Refused
from service.usecases.households import Member

# What CHECK calls each kind of transfer.
KINDS = {
    "pickup_credit": "pickup",
    "commission": "commission",
    "redemption": "redemption",
    "refund": "refund",
    "reversal": "reversal",
    "adjustment": "adjustment",
    "expiry": "expiry",
    "pickup_held": "pickup",
    "commission_held": "commission",
}


class Movement(NamedTuple):
    points: int  # + credited, - debited
    occurred_at: datetime
    ref: str


class Statement(NamedTuple):
    points: int
    latest: list[Movement]  # newest first
    held: int = 0  # points of its pickups held for the hub's check (service.usecases.holds)


def statement(session: Session, household: Member | None, *, latest: int) -> Statement:
    """The household's points and its ``latest`` movements; ``Refused`` for a stranger."""
    if household is None:
        raise Refused("not_member")
    account = member_account(household.member_code)
    points = ledger.balance(session, account).credit_balance
    moves = [
        Movement(t.amount if t.credit == account else -t.amount, t.occurred_at, t.human_ref)
        for t in ledger.latest_transfers(session, account, limit=latest)
    ]
    held = session.execute(
        select(func.coalesce(func.sum(collections_t.c.points), 0)).where(
            collections_t.c.household_id == household.id, collections_t.c.status == "held"
        )
    ).scalar_one()
    return Statement(points, moves, int(held))


def collector_points(session: Session, collector_id: int) -> int:
    """A collector's commission, earned and not yet paid out."""
    return ledger.balance(session, collector_account(collector_id)).credit_balance


class Receipt(NamedTuple):
    ref: str
    what: str  # pickup, commission, redemption, ...
    points: int
    party: str  # the member's code masked, or the kind of account
    occurred_at: datetime


def check(session: Session, reference: str) -> Receipt:
    """CHECK: whether a receipt is in the ledger, with what it was for, its points, when, and who
    it was for (masked: enough to recognise one's own). ``Refused`` when there is no such one."""
    transfer = ledger.find_by_ref(session, reference)
    if transfer is None:
        raise Refused("check_unknown", ref=reference)
    party = next(
        (side for side in (transfer.credit, transfer.debit) if side.startswith(("member:", "collector:"))),
        transfer.credit,
    )
    kind, _, code = party.partition(":")
    return Receipt(
        transfer.human_ref,
        KINDS.get(transfer.code, transfer.code),
        transfer.amount,
        sms.mask_code(code) if kind == "member" else kind,
        transfer.occurred_at,
    )
