"""``POST /ussd/africastalking``: Africa's Talking's USSD callback. It proves itself like the SMS
callback (the secret in the URL; 403 otherwise, nothing read), posts ``sessionId``,
``serviceCode``, ``phoneNumber``, ``networkCode`` and ``text`` (the answers so far, joined by
``*``), and gets plain text: ``CON`` and a screen, or ``END`` and the last one."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue

import sms
from service.channels import ussd
from service.channels.ussd.engine import Request
from service.web.base import kolekt_runtime
from sms.gateways.africastalking import secret_matches

log = logging.getLogger("service").getChild("ussd")
blueprint = Blueprint("ussd", __name__, url_prefix="/ussd")

MAX_BYTES = 8 * 1024
MAX_SESSION_ID = 200
MAX_TEXT = 1000  # a session's answers so far; a real one is far shorter


def _field(form: dict[str, str], name: str, longest: int) -> str:
    value = form.get(name, "")
    if len(value) > longest:
        abort(400, description=f"{name} is longer than {longest} characters")
    return value


@blueprint.post("/africastalking")
def africastalking() -> ResponseReturnValue:
    runtime = kolekt_runtime()
    if not secret_matches(runtime.settings.africastalking_callback_secret, request.args.get("secret")):
        abort(403, description="missing or wrong secret in the callback URL")
    request.max_content_length = MAX_BYTES
    form = request.form.to_dict()
    session_id = _field(form, "sessionId", MAX_SESSION_ID).strip()
    if not session_id:
        abort(400, description="sessionId is required")
    phone = sms.normalise_phone(_field(form, "phoneNumber", 32), runtime.settings.phone_region)
    if phone is None:
        abort(400, description="phoneNumber is not a phone number Kolekt can answer")
    read = Request(
        session_id=session_id,
        service_code=_field(form, "serviceCode", 32),
        phone=phone,
        network=_field(form, "networkCode", 16),
        answers=sms.ussd.inputs(_field(form, "text", MAX_TEXT)),
    )
    return Response(ussd.respond(runtime, read), status=200, mimetype="text/plain")
