"""The texts sent and received, as the dashboard lists them: newest first, a keyset page at a time,
filtered by status and phone; a text sent again names the row that repeated it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import inbound_t, outbox_t
from service.usecases.messages import RETRYABLE

PAGE = 50


class Wanted(NamedTuple):
    direction: str
    status: str | None
    phone: str | None
    before: int | None


class Outbound(NamedTuple):
    id: int
    at: datetime
    phone: str
    body: str
    status: str
    error_code: str | None
    error: str | None
    attempts: int
    segments: int
    encoding: str
    template: str
    kind: str
    retry_of: int | None
    retried_as: int | None  # the row that sent this one again

    @property
    def retryable(self) -> bool:
        return self.status in RETRYABLE and self.retried_as is None


class Inbound(NamedTuple):
    id: int
    at: datetime
    phone: str
    body: str
    status: str
    command: str | None
    error: str | None


def outbound(session: Session, wanted: Wanted, limit: int = PAGE) -> list[Outbound]:
    query = select(
        outbox_t.c.id,
        outbox_t.c.created_at,
        outbox_t.c.to_phone,
        outbox_t.c.body,
        outbox_t.c.status,
        outbox_t.c.error_code,
        outbox_t.c.last_error,
        outbox_t.c.attempts,
        outbox_t.c.segments,
        outbox_t.c.encoding,
        outbox_t.c.template,
        outbox_t.c.kind,
        outbox_t.c.retry_of,
    )
    rows = session.execute(
        _page(query, wanted, outbox_t.c.id, outbox_t.c.status, outbox_t.c.to_phone, limit)
    ).all()
    retried = (
        dict(
            session.execute(
                select(outbox_t.c.retry_of, outbox_t.c.id).where(
                    outbox_t.c.retry_of.in_([row.id for row in rows])
                )
            ).all()
        )
        if rows
        else {}
    )
    return [Outbound._make((*row, retried.get(row.id))) for row in rows]


def _page(query: Any, wanted: Wanted, id_: Any, status: Any, phone: Any, limit: int) -> Any:
    """One direction's page: its filters, newest first, keyset by id."""
    if wanted.status:
        query = query.where(status == wanted.status)
    if wanted.phone:
        query = query.where(phone == wanted.phone)
    if wanted.before:
        query = query.where(id_ < wanted.before)
    return query.order_by(id_.desc()).limit(limit)


def inbound(session: Session, wanted: Wanted, limit: int = PAGE) -> list[Inbound]:
    query = select(
        inbound_t.c.id,
        inbound_t.c.received_at,
        inbound_t.c.sender,
        inbound_t.c.body,
        inbound_t.c.status,
        inbound_t.c.command,
        inbound_t.c.error,
    )
    page = _page(query, wanted, inbound_t.c.id, inbound_t.c.status, inbound_t.c.sender, limit)
    return [Inbound(*row) for row in session.execute(page)]
