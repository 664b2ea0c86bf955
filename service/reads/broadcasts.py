"""Broadcasts as the dashboard lists them: the newest first, one with its texts and audience, and
what became of a sent one's texts (queued, sent, delivered, failed, suppressed)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service.models import broadcast_messages_t, broadcasts_t, outbox_t, users_t, zones_t
from service.usecases.broadcasts import Draft, draft_of, naira


@dataclass(frozen=True)
class Broadcast:
    id: int
    draft: Draft
    zone_name: str | None
    status: str
    proposed_by: int
    proposer: str
    proposed_at: datetime
    decided_by: int | None
    decider: str | None
    decided_at: datetime | None
    decision_note: str | None
    sent_at: datetime | None
    recipients: int
    opted_out: int
    suspended: int
    segments: int
    cost_kobo: int

    @property
    def audience(self) -> str:
        """Who it is for, as a page says it."""
        kind = self.draft.audience.kind
        if kind == "zone":
            return f"Zone {self.zone_name}"
        if kind == "list":
            count = len(self.draft.audience.members)
            return f"A list of {count} household{'' if count == 1 else 's'}"
        return "Everyone"

    @property
    def cost(self) -> str:
        return naira(self.cost_kobo)


def _select() -> Select[Any]:
    proposer, decider = users_t.alias("proposer"), users_t.alias("decider")
    return (
        select(
            broadcasts_t,
            zones_t.c.name.label("zone_name"),
            proposer.c.email.label("proposer"),
            decider.c.email.label("decider"),
        )
        .join(proposer, proposer.c.id == broadcasts_t.c.proposed_by)
        .outerjoin(decider, decider.c.id == broadcasts_t.c.decided_by)
        .outerjoin(zones_t, zones_t.c.id == broadcasts_t.c.zone_id)
    )


def _broadcast(row: Any) -> Broadcast:
    return Broadcast(
        id=int(row.id),
        draft=draft_of(row),
        zone_name=row.zone_name,
        status=row.status,
        proposed_by=int(row.proposed_by),
        proposer=row.proposer,
        proposed_at=row.proposed_at,
        decided_by=row.decided_by,
        decider=row.decider,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
        sent_at=row.sent_at,
        recipients=int(row.recipients),
        opted_out=int(row.opted_out),
        suspended=int(row.suspended),
        segments=int(row.segments),
        cost_kobo=int(row.cost_kobo),
    )


def broadcasts(session: Session, *, status: str | None = None, limit: int = 100) -> list[Broadcast]:
    """The newest broadcasts first (of one status, if given)."""
    query = _select().order_by(broadcasts_t.c.id.desc()).limit(limit)
    if status:
        query = query.where(broadcasts_t.c.status == status)
    return [_broadcast(row) for row in session.execute(query)]


def get_broadcast(session: Session, broadcast_id: int) -> Broadcast | None:
    row = session.execute(_select().where(broadcasts_t.c.id == broadcast_id)).first()
    return None if row is None else _broadcast(row)


def delivery(session: Session, broadcast_id: int) -> dict[str, int]:
    """What became of a sent broadcast's texts so far: how many are queued, sent, delivered,
    failed, suppressed (the number opted out before its text went) ..."""
    rows = session.execute(
        select(outbox_t.c.status)
        .join(broadcast_messages_t, broadcast_messages_t.c.outbox_id == outbox_t.c.id)
        .where(broadcast_messages_t.c.broadcast_id == broadcast_id)
    ).scalars()
    return dict(sorted(Counter(rows).items()))
