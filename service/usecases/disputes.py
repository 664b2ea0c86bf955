"""Disputes: a household's NO to a receipt, and an operator's decision on it.

Upholding reverses the pickup (reversing transfers: nothing is deleted) and tells the household
and the collector; rejecting keeps the pickup and tells both why. Plain functions on the
caller's session and outbox; the CLI and the dashboard call the same ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

import ledger
import sms
from service.models import collections_t, collectors_t, disputes_t, households_t
from service.outbox import Outbox
from service.usecases.catalogue import get_collector
from service.usecases.households import get_member
from service.usecases.pickups import Pickup, balance_of, language_of, pickup_by_reference, reverse_pickup


class DisputeError(ValueError):
    """A decision that cannot be made; nothing was written."""


class OpenDispute(NamedTuple):
    id: int
    reference: str
    member_code: str
    points: int
    reason: str | None
    opened_at: datetime


def open_dispute(
    session: Session, pickup: Pickup, reason: str | None, now: datetime, inbound_id: int | None
) -> int:
    return int(
        session.execute(
            disputes_t.insert().returning(disputes_t.c.id),
            {
                "collection_id": pickup.id,
                "reason": reason[:160] if reason else None,
                "status": "open",
                "opened_at": now,
                "inbound_id": inbound_id,
            },
        ).scalar_one()
    )


def dispute_status(session: Session, collection_id: int) -> str | None:
    return session.execute(
        select(disputes_t.c.status).where(disputes_t.c.collection_id == collection_id)
    ).scalar()


def open_disputes(session: Session) -> list[OpenDispute]:
    rows = session.execute(
        select(
            disputes_t.c.id,
            collections_t.c.reference,
            households_t.c.member_code,
            collections_t.c.points,
            disputes_t.c.reason,
            disputes_t.c.opened_at,
        )
        .join(collections_t, collections_t.c.id == disputes_t.c.collection_id)
        .join(households_t, households_t.c.id == collections_t.c.household_id)
        .where(disputes_t.c.status == "open")
        .order_by(disputes_t.c.opened_at)
    )
    return [OpenDispute(*row) for row in rows]


class DisputeRow(NamedTuple):
    """A dispute as the dashboard lists it."""

    id: int
    status: str
    reason: str | None
    opened_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    reference: str
    points: int
    grams: int
    pickup_status: str
    occurred_at: datetime
    household_id: int
    member_code: str
    household: str
    collector_id: int
    collector: str


def dispute_rows(
    session: Session, *, open_ones: bool | None, household_id: int | None = None, limit: int = 100
) -> list[DisputeRow]:
    """Open disputes oldest first (the queue); decided ones newest first; or, with ``open_ones``
    None, all of them newest first (a household's)."""
    query = (
        select(
            disputes_t.c.id,
            disputes_t.c.status,
            disputes_t.c.reason,
            disputes_t.c.opened_at,
            disputes_t.c.decided_at,
            disputes_t.c.decided_by,
            disputes_t.c.decision_note,
            collections_t.c.reference,
            collections_t.c.points,
            collections_t.c.grams,
            collections_t.c.status,
            collections_t.c.occurred_at,
            households_t.c.id,
            households_t.c.member_code,
            households_t.c.name,
            collectors_t.c.id,
            collectors_t.c.name,
        )
        .join(collections_t, collections_t.c.id == disputes_t.c.collection_id)
        .join(households_t, households_t.c.id == collections_t.c.household_id)
        .join(collectors_t, collectors_t.c.id == collections_t.c.collector_id)
        .limit(limit)
    )
    if household_id is not None:
        query = query.where(collections_t.c.household_id == household_id)
    if open_ones:
        query = query.where(disputes_t.c.status == "open").order_by(disputes_t.c.opened_at, disputes_t.c.id)
    elif open_ones is False:
        query = query.where(disputes_t.c.status != "open").order_by(disputes_t.c.decided_at.desc())
    else:
        query = query.order_by(disputes_t.c.opened_at.desc(), disputes_t.c.id.desc())
    return [DisputeRow._make(row) for row in session.execute(query)]


def _open(session: Session, dispute_id: int) -> Pickup:
    row = session.execute(
        select(disputes_t.c.status, collections_t.c.reference)
        .join(collections_t, collections_t.c.id == disputes_t.c.collection_id)
        .where(disputes_t.c.id == dispute_id)
        .with_for_update(of=disputes_t)
    ).first()
    if row is None:
        raise DisputeError(f"no dispute {dispute_id}")
    if row.status != "open":
        raise DisputeError(f"dispute {dispute_id} was {row.status} already")
    pickup = pickup_by_reference(session, row.reference)
    assert pickup is not None
    return pickup


def _decide(
    session: Session, dispute_id: int, status: str, operator: str, note: str | None, now: datetime
) -> None:
    session.execute(
        disputes_t.update()
        .where(disputes_t.c.id == dispute_id)
        .values(status=status, decided_at=now, decided_by=operator[:80], decision_note=note and note[:160])
    )


def uphold(
    session: Session, outbox: Outbox, programme: str, dispute_id: int, operator: str, now: datetime
) -> int:
    """Reverse the disputed pickup and tell both parties; returns the points taken back."""
    if not operator.strip():
        raise DisputeError("say who decides (the operator's name or email)")
    pickup = _open(session, dispute_id)
    if pickup.status != "credited":
        raise DisputeError(
            f"pickup {pickup.reference} was {pickup.status} already; reject the dispute instead"
        )
    try:
        points = reverse_pickup(session, pickup, status="reversed", actor=f"operator:{operator}", now=now)
    except ledger.InsufficientFunds as error:
        raise DisputeError(
            f"the household has spent the points of {pickup.reference}; it cannot be reversed in full "
            "(reject it, or make a manual adjustment)"
        ) from error
    _decide(session, dispute_id, "upheld", operator, None, now)
    member = get_member(session, pickup.household_id)
    _tell_both(
        session,
        outbox,
        programme,
        pickup,
        (
            "dispute_upheld",
            {"ref": pickup.reference, "points": points, "balance": balance_of(session, member)},
        ),
        (
            "dispute_upheld_collector",
            {"ref": pickup.reference, "member": member.member_code, "points": points},
        ),
    )
    return points


def reject(
    session: Session,
    outbox: Outbox,
    programme: str,
    dispute_id: int,
    operator: str,
    reason: str,
    now: datetime,
) -> None:
    """Keep the pickup; tell the household why and the collector that it stands."""
    if not operator.strip():
        raise DisputeError("say who decides (the operator's name or email)")
    if not reason.strip():
        raise DisputeError("a rejection needs a reason: the household is told it")
    pickup = _open(session, dispute_id)
    _decide(session, dispute_id, "rejected", operator, reason.strip(), now)
    member = get_member(session, pickup.household_id)
    _tell_both(
        session,
        outbox,
        programme,
        pickup,
        ("dispute_rejected", {"ref": pickup.reference, "reason": reason.strip()}),
        ("dispute_rejected_collector", {"ref": pickup.reference, "member": member.member_code}),
    )


def _tell_both(
    session: Session,
    outbox: Outbox,
    programme: str,
    pickup: Pickup,
    *texts: tuple[str, dict[str, object]],
) -> None:
    """The household's text, then the collector's, each in its own language."""
    member = get_member(session, pickup.household_id)
    collector = get_collector(session, pickup.collector_id)
    assert collector is not None
    for phone, (template, values) in zip((member.phone, collector.phone), texts, strict=True):
        language = language_of(session, phone)
        body = sms.render(template, language, programme=programme, **values)
        outbox.write(phone, body, language=language, template=template)


def settle_pickups(session: Session, now: datetime, window: timedelta, *, limit: int = 5000) -> int:
    """Mark settled the credited pickups whose dispute window has closed with no dispute open:
    from then on they are final. Up to ``limit`` at a time; returns how many."""
    open_dispute = exists().where(
        disputes_t.c.collection_id == collections_t.c.id, disputes_t.c.status == "open"
    )
    ids = (
        select(collections_t.c.id)
        .where(
            collections_t.c.settled_at.is_(None),
            collections_t.c.received_at < now - window,
            collections_t.c.status == "credited",
            ~open_dispute,
        )
        .order_by(collections_t.c.settled_at, collections_t.c.received_at)
        .limit(limit)
    )
    found = [int(i) for i in session.execute(ids).scalars()]
    if found:
        session.execute(update(collections_t).where(collections_t.c.id.in_(found)).values(settled_at=now))
    return len(found)
