"""Disputes: a household's NO to a receipt within the dispute window, and an operator's decision
on it.

Upholding reverses the pickup (reversing transfers: nothing is deleted) and tells the household
and the collector; rejecting keeps the pickup and tells both why. The CLI and the dashboard call
the same functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

import ledger
import sms
from service.models import collections_t, disputes_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused
from service.usecases.households import Member, get_member
from service.usecases.pickups import Pickup, balance_of, pickup_by_reference, reverse_pickup
from service.usecases.receipts import own_pickup
from service.usecases.roles import get_collector


class DisputeError(ValueError):
    """A decision that cannot be made; nothing was written."""


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


def dispute(
    uow: UnitOfWork, household: Member | None, reference: str, reason: str | None, *, inbound_id: int | None
) -> int:
    """NO: the household disputes its pickup, within ``DISPUTE_WINDOW_HOURS`` of it; an operator
    decides. ``Refused`` when there is a dispute already, the pickup was undone or reversed, or
    the window has closed."""
    session = uow.session
    pickup = own_pickup(session, household, reference)
    status = dispute_status(session, pickup.id)
    if status is not None:
        raise Refused("dispute_exists", ref=reference, status=sms.Word.or_text(f"status_{status}", status))
    if pickup.status not in ("credited", "held"):
        raise Refused("pickup_reversed", ref=reference)
    window = uow.settings.dispute_window_hours
    if uow.now - pickup.received_at > timedelta(hours=window):
        raise Refused("dispute_too_late", ref=reference, hours=window)
    return open_dispute(session, pickup, reason, uow.now, inbound_id)


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


def uphold(uow: UnitOfWork, dispute_id: int, operator: str) -> int:
    """Reverse the disputed pickup and tell both parties; returns the points taken back."""
    session, now = uow.session, uow.now
    if not operator.strip():
        raise DisputeError("say who decides (the operator's name or email)")
    pickup = _open(session, dispute_id)
    if pickup.status not in ("credited", "held"):
        raise DisputeError(
            f"pickup {pickup.reference} was {pickup.status} already; reject the dispute instead"
        )
    try:
        points = reverse_pickup(session, pickup, status="reversed", actor=f"operator:{operator}", now=now)
    except Refused as error:
        raise DisputeError(f"pickup {pickup.reference} changed meanwhile: look again") from error
    except ledger.InsufficientFunds as error:
        raise DisputeError(
            f"the household has spent the points of {pickup.reference}; it cannot be reversed in full "
            "(reject it, or make a manual adjustment)"
        ) from error
    _decide(session, dispute_id, "upheld", operator, None, now)
    member = get_member(session, pickup.household_id)
    _tell_both(
        uow,
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


def reject(uow: UnitOfWork, dispute_id: int, operator: str, reason: str) -> None:
    """Keep the pickup; tell the household why and the collector that it stands."""
    session, now = uow.session, uow.now
    if not operator.strip():
        raise DisputeError("say who decides (the operator's name or email)")
    if not reason.strip():
        raise DisputeError("a rejection needs a reason: the household is told it")
    pickup = _open(session, dispute_id)
    _decide(session, dispute_id, "rejected", operator, reason.strip(), now)
    member = get_member(session, pickup.household_id)
    _tell_both(
        uow,
        pickup,
        ("dispute_rejected", {"ref": pickup.reference, "reason": reason.strip()}),
        ("dispute_rejected_collector", {"ref": pickup.reference, "member": member.member_code}),
    )


def _tell_both(uow: UnitOfWork, pickup: Pickup, *texts: tuple[str, dict[str, object]]) -> None:
    """The household's text, then the collector's, each in its own language."""
    member = get_member(uow.session, pickup.household_id)
    collector = get_collector(uow.session, pickup.collector_id)
    assert collector is not None
    for phone, (template, values) in zip((member.phone, collector.phone), texts, strict=True):
        uow.outbox.text(phone, template, **values)


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
