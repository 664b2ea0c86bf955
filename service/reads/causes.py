"""What a ledger transfer was posted for: the pickup, redemption or adjustment behind it.

Transfers carry their cause as ``reference`` (``pickup:41``, ``redemption:7``, ``adjustment:3``);
this turns one into what an operator wants to see next to the transfer.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.models import adjustments_t, collections_t, collectors_t, households_t, redemptions_t, users_t


class Cause(NamedTuple):
    kind: str  # pickup | redemption | adjustment
    id: int
    facts: list[tuple[str, str]]
    household_id: int | None = None
    collector_id: int | None = None


def cause_of(session: Session, reference: str) -> Cause | None:
    kind, _, number = reference.partition(":")
    if not number.isdigit():
        return None
    key = int(number)
    if kind == "pickup":
        row = session.execute(
            select(collections_t, households_t.c.member_code, collectors_t.c.name.label("collector"))
            .join(households_t, households_t.c.id == collections_t.c.household_id)
            .join(collectors_t, collectors_t.c.id == collections_t.c.collector_id)
            .where(collections_t.c.id == key)
        ).first()
        if row is None:
            return None
        facts = [
            ("Receipt", row.reference or ""),
            ("Household", row.member_code or ""),
            ("Collector", row.collector),
            ("Weight", f"{sms.kg(row.grams)} kg"),
            ("Points", str(row.points)),
            ("Status", row.status),
            ("Channel", row.channel),
        ]
        return Cause("pickup", key, facts, row.household_id, row.collector_id)
    if kind == "redemption":
        found = session.execute(
            select(redemptions_t, households_t.c.member_code)
            .join(households_t, households_t.c.id == redemptions_t.c.household_id)
            .where(redemptions_t.c.id == key)
        ).first()
        if found is None:
            return None
        facts = [
            ("Household", found.member_code or ""),
            ("Reward", f"{found.reward_code} x{found.units}"),
            ("Points", str(found.points)),
            ("Status", found.status),
        ]
        return Cause("redemption", key, facts, found.household_id)
    if kind == "adjustment":
        proposer = users_t.alias("proposer")
        approver = users_t.alias("approver")
        adjustment = session.execute(
            select(adjustments_t, proposer.c.email.label("proposer"), approver.c.email.label("approver"))
            .join(proposer, proposer.c.id == adjustments_t.c.proposed_by)
            .outerjoin(approver, approver.c.id == adjustments_t.c.decided_by)
            .where(adjustments_t.c.id == key)
        ).first()
        if adjustment is None:
            return None
        facts = [
            ("Account", adjustment.account_code),
            ("Amount", f"{adjustment.amount:+d}"),
            ("Reason", adjustment.reason),
            ("Proposed by", adjustment.proposer),
            ("Approved by", adjustment.approver or ""),
        ]
        return Cause("adjustment", key, facts)
    return None
