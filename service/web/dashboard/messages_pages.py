"""Messages: the texts sent and received, newest first (keyset pages), filtered by status and
phone; a failed or undelivered text sent again, once, by an operator; and the way to the phone
simulator when the console gateway is in use."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.models import inbound_t, outbox_t
from service.outbox import REFUSALS
from service.usecases import messages as use
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    OPERATORS,
    audit,
    blueprint,
    keep,
    refused,
    requires,
    settings,
)
from sms.gateways import STATUS_RANK

PAGE = 50
DIRECTIONS = ("out", "in")
STATUSES = {"out": tuple(STATUS_RANK), "in": ("received", "processed", "failed")}
FILTERS = ("direction", "status", "phone")


class FilterError(ValueError):
    pass


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
        return self.status in use.RETRYABLE and self.retried_as is None


class Inbound(NamedTuple):
    id: int
    at: datetime
    phone: str
    body: str
    status: str
    command: str | None
    error: str | None


def read_filter(args: Mapping[str, str]) -> Wanted:
    direction = args.get("direction", "").strip() or "out"
    if direction not in DIRECTIONS:
        raise FilterError(f"direction must be out or in, not {direction[:20]!r}")
    status = args.get("status", "").strip() or None
    if status is not None and status not in STATUSES[direction]:
        raise FilterError(f"status must be one of {', '.join(STATUSES[direction])}, not {status[:20]!r}")
    typed = args.get("phone", "").strip()
    phone = sms.normalise_phone(typed, settings().phone_region) if typed else None
    if typed and phone is None:
        raise FilterError(f"{typed[:30]!r} is not a phone number")
    before = args.get("before", "").strip()
    if before and not (before.isdigit() and int(before) >= 1):
        raise FilterError("before must be a message number")
    return Wanted(direction, status, phone, int(before) if before else None)


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


def _context(args: Mapping[str, str]) -> tuple[dict[str, Any], str | None]:
    """The page's list for these query arguments, or the reason they are refused."""
    shown = keep({name: args.get(name, "").strip()[:40] for name in FILTERS})
    context: dict[str, Any] = {
        "args": shown,
        "direction": shown["direction"] if shown.get("direction") in DIRECTIONS else "out",
        "statuses": (),
        "rows": [],
        "size": PAGE,
        "before": args.get("before"),
    }
    try:
        wanted = read_filter(args)
    except FilterError as error:
        return context, str(error)
    found = outbound if wanted.direction == "out" else inbound
    context.update(direction=wanted.direction, statuses=STATUSES[wanted.direction])
    context.update(rows=found(db_session(), wanted))
    return context, None


@blueprint.get("/messages")
@requires(*ANYONE)
def messages() -> ResponseReturnValue:
    context, error = _context(request.args)
    return render_template("dashboard/messages.html", error=error, **context), (422 if error else 200)


@blueprint.post("/messages/<int:message_id>/retry")
@requires(*OPERATORS)
def retry_message(message_id: int) -> ResponseReturnValue:
    # The form's action carries the page's filters, to come back to the same list.
    back = keep({name: request.args.get(name, "").strip()[:40] for name in FILTERS})
    try:
        with unit_of_work() as uow:
            new_id = use.retry(uow, message_id)
            status = uow.session.execute(
                select(outbox_t.c.status).where(outbox_t.c.id == new_id)
            ).scalar_one()
            audit(uow, "message.retry", f"message:{message_id}", {"retry": new_id, "status": status})
    except use.RetryError as error:
        return refused("dashboard/messages.html", str(error), **_context(back)[0])
    if status == "queued":
        flash(f"Message {message_id} is being sent again, as message {new_id}.", "ok")
    else:
        reason = REFUSALS[status]
        flash(f"Message {message_id} was written again as message {new_id}, but not sent: {reason}.", "error")
    return redirect(url_for("dashboard.messages", **back), 303)
