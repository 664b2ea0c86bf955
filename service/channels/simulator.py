"""The phone simulator: try Kolekt without an SMS account (demos, training, development).

A text typed here takes the same path as one from a gateway (``inbox.receive``, the
outbox, the send job), and the page shows every reply with its status. Beside it, a USSD phone
dials the service code: each of its requests goes through ``ussd.respond`` as Africa's Talking's
do. It exists only while the console gateway is in use: with a real gateway, texts come from real
phones.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.channels import ussd
from service.channels.inbox import Received, receive
from service.channels.ussd.endpoint import MAX_TEXT
from service.models import InboundMessage, OutboxMessage
from service.runtime import Runtime
from service.web.base import db_session, kolekt_runtime
from sms.gateways import Inbound

blueprint = Blueprint("simulator", __name__, url_prefix="/simulator")

SIMULATOR_NUMBER = "KOLEKT"  # what the simulator's texts are addressed to
DEFAULT_PHONE = "+2348031234567"
# No setting names the service code: Africa's Talking gives it, and Kolekt never reads it.
USSD_SERVICE_CODE = "*384*2580#"
USSD_NETWORK = "simulator"
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@blueprint.before_request
def only_with_the_console_gateway() -> None:
    if kolekt_runtime().settings.sms_gateway != "console":
        abort(404, description="the simulator runs only with SMS_GATEWAY=console")


def simulate(runtime: Runtime, phone: str, text: str) -> Received:
    """Inject one text as if a gateway delivered it (its replies are enqueued after the commit)."""
    message = Inbound("simulator", uuid.uuid4().hex, phone, SIMULATOR_NUMBER, text)
    return receive(runtime, message, phone)


def new_ussd_session(prefix: str = "SIM") -> str:
    """A new session's id, as each dial of a real phone gets one from the network."""
    return f"{prefix}_{uuid.uuid4().hex}"


def dial_ussd(runtime: Runtime, phone: str, session_id: str, answers: list[str]) -> str:
    """One request of a USSD session, the answers so far sent as the network sends them (joined
    by ``*`` and read back, so an answer typed with a ``*`` in it is two, as on a real phone):
    ``CON ...`` or ``END ...``."""
    request = ussd.Request(
        session_id=session_id,
        service_code=USSD_SERVICE_CODE,
        phone=phone,
        network=USSD_NETWORK,
        answers=sms.ussd.inputs("*".join(answers)),
    )
    return ussd.respond(runtime, request)


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
    return render_template(
        "simulator.html",
        settings=kolekt_runtime().settings,
        phone=DEFAULT_PHONE,
        service_code=USSD_SERVICE_CODE,
    )


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


@blueprint.post("/ussd")
def ussd_request() -> ResponseReturnValue:
    """One screen of the USSD phone: ``{"phone", "answers"}`` dials (a new session), and with the
    ``session`` it answered, sends the answers so far in that session."""
    body = request.get_json(silent=True)
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("phone"), str)
        or not isinstance(body.get("answers"), list)
        or not all(isinstance(answer, str) for answer in body["answers"])
    ):
        abort(422, description='send JSON {"phone": "+2348031234567", "answers": [], "session": "..."}')
    runtime = kolekt_runtime()
    phone = sms.normalise_phone(body["phone"], runtime.settings.phone_region)
    if phone is None:
        abort(422, description=f"{body['phone'][:30]!r} is not a phone number")
    session_id = body.get("session")
    if session_id is None:
        if body["answers"]:
            abort(422, description="answers belong to a session: dial first, then send its session")
        session_id = new_ussd_session()
    elif not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        abort(422, description="session is the id a dial answered with")
    if len("*".join(body["answers"])) > MAX_TEXT:
        abort(422, description=f"a session's answers are at most {MAX_TEXT} characters in all")
    screen = dial_ussd(runtime, phone, session_id, body["answers"])
    return jsonify(
        {
            "phone": phone,
            "session": session_id,
            "service_code": USSD_SERVICE_CODE,
            "screen": screen,
            "ended": screen.startswith("END "),
        }
    )


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
