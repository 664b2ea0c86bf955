"""Disputes as the dashboard and the CLI list them: the queue, the decided ones, a household's."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import collections_t, collectors_t, disputes_t, households_t


class OpenDispute(NamedTuple):
    id: int
    reference: str
    member_code: str
    points: int
    reason: str | None
    opened_at: datetime


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
