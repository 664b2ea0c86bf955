"""Holds on doubtful credits (issue 24). A pickup whose signals pass their thresholds
(``service.usecases.screening``) is credited as held: its points and the collector's commission
go from issuance to ``holds:pickups``, where nobody can spend them, and the household is told in
its language that the credit is being checked and by when it will be decided.

An operator then decides, from the review queue with the pickup's signals:

- **approve**: the points go on to the household and the commission to the collector (transfers
  ``pickup_credit`` and ``commission`` from the holds account), and the household is told;
- **reject**, with a reason: the held transfers are reversed (back to issuance) and both the
  household and the collector are texted the reason;
- a hold nobody decides is **released** on its ``release_on`` day by the ``release_holds`` job,
  as an approval by Kolekt.

The dashboard audits an operator's decision (with who and from where); the job audits its
releases here.

Each decision claims the hold with one conditional update (``status = 'held'``): two operators,
or an operator and the job, cannot both decide one hold, and a held credit is never in the
household's account before its decision. Every decision is in the audit log.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import ledger
import sms
from ledger import TransferRequest
from service.accounts import HOLDS, collector_account, member_account
from service.models import collections_t, holds_t
from service.unit_of_work import Job, UnitOfWork
from service.usecases.audit import record
from service.usecases.households import get_member
from service.usecases.pickups import balance_of, pickup_by_reference, reverse_pickup
from service.usecases.roles import get_collector

HELD = "held"
KOLEKT = "kolekt"  # who releases a hold nobody decided
REASON_WIDTH = 160
RELEASE_BATCH = 200


class HoldError(ValueError):
    """A decision that cannot be made; nothing was written."""


class Held(NamedTuple):
    collection_id: int
    reference: str
    household_id: int
    collector_id: int
    points: int
    commission: int
    occurred_at: datetime


def _held(session: Session, reference: str) -> Held:
    row = session.execute(
        select(
            collections_t.c.id,
            collections_t.c.reference,
            collections_t.c.household_id,
            collections_t.c.collector_id,
            collections_t.c.points,
            collections_t.c.commission,
            collections_t.c.occurred_at,
            holds_t.c.status,
        )
        .join(holds_t, holds_t.c.collection_id == collections_t.c.id)
        .where(collections_t.c.reference == reference)
        .with_for_update(of=collections_t)  # an UNDO or a dispute's reversal waits, and sees it
    ).first()
    if row is None:
        raise HoldError(f"no hold on pickup {reference}")
    if row.status != HELD:
        raise HoldError(f"the hold on {reference} was {row.status} already")
    return Held(*row[:7])


def _decide(
    session: Session, reference: str, status: str, by: str, now: datetime, reason: str | None
) -> Held:
    """Decide the hold, if it is still held: the pickup's row locked, then one conditional update,
    so one decision wins."""
    if not by.strip():
        raise HoldError("say who decides (the operator's name or email)")
    held = _held(session, reference)
    claimed = session.execute(
        update(holds_t)
        .where(holds_t.c.collection_id == held.collection_id, holds_t.c.status == HELD)
        .values(status=status, decided_at=now, decided_by=by[:80], reason=reason)
    ).rowcount  # type: ignore[attr-defined]
    if claimed != 1:
        raise HoldError(f"the hold on {held.reference} was decided already")
    return held


def _pass_on(session: Session, held: Held, by: str, now: datetime) -> None:
    """The held points to the household, the commission to the collector."""
    member = get_member(session, held.household_id)
    transfers = [
        TransferRequest(
            HOLDS,
            member_account(member.member_code),
            held.points,
            "pickup_credit",
            f"hold:{held.collection_id}:member",
            reference=f"pickup:{held.collection_id}",
            memo=f"checked: {held.reference}",
            actor=by,
            occurred_at=now,
        )
    ]
    if held.commission > 0:
        transfers.append(
            TransferRequest(
                HOLDS,
                collector_account(held.collector_id),
                held.commission,
                "commission",
                f"hold:{held.collection_id}:commission",
                reference=f"pickup:{held.collection_id}",
                memo=f"checked: {held.reference}",
                actor=by,
                occurred_at=now,
            )
        )
    ledger.post_linked(session, transfers, now=now)
    session.execute(
        update(collections_t).where(collections_t.c.id == held.collection_id).values(status="credited")
    )


def approve(uow: UnitOfWork, reference: str, operator: str, *, status: str = "approved") -> Held:
    """The held credit goes on to the household and the collector; the household is told."""
    session, now = uow.session, uow.now
    held = _decide(session, reference, status, operator, now, None)
    _pass_on(session, held, operator if status == "approved" else KOLEKT, now)
    member = get_member(session, held.household_id)
    uow.outbox.text(
        member.phone,
        "hold_approved",
        ref=held.reference,
        points=held.points,
        balance=balance_of(session, member),
    )
    uow.after_commit(Job.CHECK_MILESTONES, member.id)
    return held


def reject(uow: UnitOfWork, reference: str, operator: str, reason: str) -> Held:
    """The held transfers are reversed (back to issuance); household and collector told why."""
    session, now = uow.session, uow.now
    reason = " ".join(reason.split())
    if not reason:
        raise HoldError("a rejection needs a reason: the household is told it")
    if len(reason) > REASON_WIDTH:
        raise HoldError(f"the reason is {len(reason)} characters; {REASON_WIDTH} at most")
    if not sms.is_gsm7(reason):
        raise HoldError("the reason has a character a basic phone may not show; use plain letters")
    held = _decide(session, reference, "rejected", operator, now, reason)
    pickup = pickup_by_reference(session, held.reference)
    assert pickup is not None
    reverse_pickup(session, pickup, status="rejected", actor=f"operator:{operator}", now=now)
    member = get_member(session, held.household_id)
    collector = get_collector(session, held.collector_id)
    assert collector is not None
    uow.outbox.text(member.phone, "hold_rejected", ref=held.reference, points=held.points, reason=reason)
    uow.outbox.text(
        collector.phone,
        "hold_rejected_collector",
        ref=held.reference,
        member=member.member_code,
        reason=reason,
    )
    return held


def due(session: Session, today: date, *, limit: int = RELEASE_BATCH) -> list[str]:
    """The references of holds nobody decided whose day has come, oldest first."""
    return [
        str(ref)
        for ref in session.execute(
            select(collections_t.c.reference)
            .join(holds_t, holds_t.c.collection_id == collections_t.c.id)
            .where(holds_t.c.status == HELD, holds_t.c.release_on <= today)
            .order_by(holds_t.c.release_on, holds_t.c.collection_id)
            .limit(limit)
        ).scalars()
    ]


def release(uow: UnitOfWork, reference: str) -> bool:
    """Release one hold whose day has come (an approval by Kolekt); False when it was decided
    meanwhile (an operator got there first)."""
    try:
        held = approve(uow, reference, KOLEKT, status="released")
    except HoldError:
        return False
    record(
        uow.session,
        actor=KOLEKT,
        action="hold.release",
        subject=f"pickup:{held.collection_id}",
        at=uow.now,
        details={"ref": held.reference, "points": held.points, "commission": held.commission},
    )
    return True
