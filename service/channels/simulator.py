"""The phone simulator: try Kolekt without an SMS account (demos, training, development).

A text typed here takes the same path as one from a gateway (``inbox.receive``, the
outbox, the send job), and the page shows every reply with its status. It exists only while
the console gateway is in use: with a real gateway, texts come from real phones.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.channels.inbox import Received, receive
from service.models import InboundMessage, OutboxMessage
from service.runtime import Runtime
from service.web.base import db_session, kolekt_runtime
from sms.gateways import Inbound

blueprint = Blueprint("simulator", __name__, url_prefix="/simulator")

SIMULATOR_NUMBER = "KOLEKT"  # what the simulator's texts are addressed to
DEFAULT_PHONE = "+2348031234567"


@blueprint.before_request
def only_with_the_console_gateway() -> None:
    if kolekt_runtime().settings.sms_gateway != "console":
        abort(404, description="the simulator runs only with SMS_GATEWAY=console")


def simulate(runtime: Runtime, phone: str, text: str) -> Received:
    """Inject one text as if a gateway delivered it (its replies are enqueued after the commit)."""
    message = Inbound("simulator", uuid.uuid4().hex, phone, SIMULATOR_NUMBER, text)
    return receive(runtime, message, phone)


def replies_to(session: Session, inbound_id: int | None) -> list[OutboxMessage]:
    if inbound_id is None:
        return []
    return list(
        session.execute(
            select(OutboxMessage).where(OutboxMessage.inbound_id == inbound_id).order_by(OutboxMessage.id)
        ).scalars()
    )


def _shown(moment: datetime, runtime: Runtime) -> str:
    return moment.astimezone(runtime.settings.zone).strftime("%H:%M:%S")


def _outgoing(row: OutboxMessage, runtime: Runtime) -> dict[str, Any]:
    return {
        "id": row.id,
        "direction": "out",
        "to": row.to_phone,
        "body": row.body,
        # A text held back by quiet hours (or a retry) says when it will go.
        "status": f"{row.status} until {_shown(row.next_attempt_at, runtime)[:5]}"
        if row.status == "queued" and row.next_attempt_at > datetime.now(UTC)
        else row.status,
        "segments": row.segments,
        "encoding": row.encoding,
        "time": _shown(row.created_at, runtime),
    }


@blueprint.get("")
def page() -> ResponseReturnValue:
    return render_template("simulator.html", settings=kolekt_runtime().settings, phone=DEFAULT_PHONE)


@blueprint.post("/messages")
def send() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("text"), str)
        or not isinstance(body.get("from"), str)
    ):
        abort(422, description='send JSON {"from": "+2348031234567", "text": "BAL"}')
    runtime = kolekt_runtime()
    phone = sms.normalise_phone(body["from"], runtime.settings.phone_region)
    if phone is None:
        abort(422, description=f"{body['from'][:30]!r} is not a phone number")
    if len(body["text"]) > 2000:
        abort(422, description="a text is at most 2,000 characters here")
    result = simulate(runtime, phone, body["text"])
    replies = replies_to(db_session(), result.inbound_id)
    return jsonify(
        {
            "from": phone,
            "command": result.command,
            "replies": [_outgoing(row, runtime) for row in replies],
        }
    ), 201


@blueprint.get("/conversation")
def conversation() -> ResponseReturnValue:
    """The last texts to and from one phone, oldest first (the page polls this)."""
    runtime = kolekt_runtime()
    phone = sms.normalise_phone(request.args.get("phone", ""), runtime.settings.phone_region)
    if phone is None:
        abort(422, description="give ?phone= a phone number")
    session = db_session()
    inbound = session.execute(
        select(InboundMessage)
        .where(InboundMessage.sender == phone)
        .order_by(InboundMessage.id.desc())
        .limit(30)
    ).scalars()
    outbound = session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.to_phone == phone)
        .order_by(OutboxMessage.id.desc())
        .limit(30)
    ).scalars()
    items = [
        (
            row.received_at,
            0,
            row.id,
            {"id": row.id, "direction": "in", "body": row.body, "time": _shown(row.received_at, runtime)},
        )
        for row in inbound
    ] + [(row.created_at, 1, row.id, _outgoing(row, runtime)) for row in outbound]
    items.sort(key=lambda item: item[:3])
    return jsonify({"phone": phone, "messages": [item[3] for item in items[-40:]]})
