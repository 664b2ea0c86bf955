"""The audit log: every change made from the dashboard, and every sign-in, as who, what and when.

Entries are written in the transaction of the change they describe (a change that rolls back
leaves no entry, and no change is made without one). The table is append-only: the migrations
install triggers that refuse UPDATE and DELETE, so the log cannot be tidied after the fact.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import audit_log_t

PAGE = 50


class Entry(NamedTuple):
    id: int
    at: datetime
    user_id: int | None
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    address: str | None


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    at: datetime,
    details: Mapping[str, Any] | None = None,
    user_id: int | None = None,
    address: str | None = None,
) -> int:
    session.info["kolekt.audited"] = True  # this unit of work says who did what itself
    return int(
        session.execute(
            audit_log_t.insert()
            .values(
                at=at,
                user_id=user_id,
                actor=actor[:254],
                action=action[:40],
                subject=subject[:80],
                details=json.dumps(dict(details or {}), sort_keys=True, default=str),
                address=address and address[:45],
            )
            .returning(audit_log_t.c.id)
        ).scalar_one()
    )


def entries(
    session: Session, *, before: int | None = None, action: str | None = None, limit: int = PAGE
) -> list[Entry]:
    """Newest first, keyset-paged by id; ``action`` matches exactly or as a prefix ending in "."."""
    query = select(audit_log_t).order_by(audit_log_t.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_log_t.c.id < before)
    if action:
        query = query.where(
            audit_log_t.c.action.startswith(action)
            if action.endswith(".")
            else audit_log_t.c.action == action
        )
    return [
        Entry(
            row.id,
            row.at,
            row.user_id,
            row.actor,
            row.action,
            row.subject,
            json.loads(row.details),
            row.address,
        )
        for row in session.execute(query)
    ]


def actions(session: Session) -> list[str]:
    return list(
        session.execute(select(audit_log_t.c.action).distinct().order_by(audit_log_t.c.action)).scalars()
    )
