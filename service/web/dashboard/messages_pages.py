"""Messages: the texts sent and received, newest first (keyset pages), filtered by status and
phone; a failed or undelivered text sent again, once, by an operator; and the way to the phone
simulator when the console gateway is in use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

import sms
from service.models import outbox_t
from service.outbox import REFUSALS
from service.reads.messages import PAGE, Wanted, inbound, outbound
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

DIRECTIONS = ("out", "in")
STATUSES = {"out": tuple(STATUS_RANK), "in": ("received", "processed", "failed")}
FILTERS = ("direction", "status", "phone")


class FilterError(ValueError):
    pass


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
