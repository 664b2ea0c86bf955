"""The gateways' webhooks: inbound texts and delivery reports from Twilio and Africa's Talking.

Every request proves where it comes from before anything else is read or written: Twilio's
``X-Twilio-Signature`` over the URL as Twilio saw it (``PUBLIC_BASE_URL``, or the request's own
URL rebuilt by ProxyFix) and the form; Africa's Talking's secret in the callback URL. Without
that proof the answer is 403 and nothing changes, in every mode. Views stay thin: read the
provider's fields (``sms.gateways``), call one use case (``inbox.receive``, or the delivery's record).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

from flask import Blueprint, Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge, ServiceUnavailable

import sms
from service.channels.inbox import receive
from service.usecases.messages import record_delivery
from service.web.base import kolekt_runtime
from sms.gateways import BadRequest, DeliveryReport, Inbound
from sms.gateways.africastalking import (
    read_africastalking_inbound,
    read_africastalking_report,
    secret_matches,
)
from sms.gateways.twilio_sms import read_twilio_inbound, read_twilio_status, verify_twilio_signature

T = TypeVar("T")
log = logging.getLogger(__name__)
blueprint = Blueprint("webhooks", __name__, url_prefix="/sms")

# A text is at most 1,600 characters; with the provider's other fields a form stays far below this.
MAX_WEBHOOK_BYTES = 32 * 1024
# What a 503 asks a provider to wait before it sends the text again.
STORE_RETRY_AFTER_SECONDS = 5
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _form() -> Mapping[str, str]:
    """The posted form (every value of a repeated field kept, as signatures cover them all),
    refused (400) when larger than any real webhook."""
    request.max_content_length = MAX_WEBHOOK_BYTES
    try:
        return request.form
    except RequestEntityTooLarge:
        abort(400, description=f"the request is larger than {MAX_WEBHOOK_BYTES} bytes")


def _url_as_the_provider_saw_it() -> str:
    settings = kolekt_runtime().settings
    query = request.query_string.decode("latin-1")
    path = request.path + (f"?{query}" if query else "")
    if settings.public_base_url:
        return settings.public_base_url + path
    return f"{request.scheme}://{request.host}{request.root_path}{path}"


def _twilio_form() -> Mapping[str, str]:
    form = _form()
    token = kolekt_runtime().settings.twilio_auth_token
    signature = request.headers.get("X-Twilio-Signature")
    if not verify_twilio_signature(token, _url_as_the_provider_saw_it(), form, signature):
        abort(403, description="missing or invalid X-Twilio-Signature")
    return form


def _africastalking_form() -> Mapping[str, str]:
    if not secret_matches(
        kolekt_runtime().settings.africastalking_callback_secret, request.args.get("secret")
    ):
        abort(403, description="missing or wrong secret in the callback URL")
    return _form()


def _accept(message: Inbound) -> None:
    """Store the text, then act on it (its replies are enqueued after the commit). Once it is
    stored the provider gets 200 whatever acting on it does (a failed try is tried again); if it
    cannot even be stored, 503 with Retry-After, so a provider set to retry sends it again
    (docs/operations.md: Twilio's #rc/#rp overrides on the webhook URL)."""
    runtime = kolekt_runtime()
    sender = sms.normalise_phone(message.sender, runtime.settings.phone_region)
    if sender is None:
        abort(400, description="the sender is not a phone number Kolekt can answer")
    try:
        receive(runtime, message, sender)
    except SQLAlchemyError:
        log.exception("inbound %s %s could not be stored", message.provider, message.provider_id)
        raise ServiceUnavailable(
            description="the text could not be stored: send it again", retry_after=STORE_RETRY_AFTER_SECONDS
        ) from None


def _read(reader: Callable[[Mapping[str, str]], T], form: Mapping[str, str]) -> T:
    """The provider's fields read into Kolekt's values; 400 when a required one is missing."""
    try:
        return reader(form)
    except BadRequest as error:
        abort(400, description=str(error))


@blueprint.post("/twilio/inbound")
def twilio_inbound() -> ResponseReturnValue:
    form = _twilio_form()
    message = _read(read_twilio_inbound, form)
    # Twilio answers STOP and START itself (inbox.CONFIRMS_OPT_OUT), then refuses to send there.
    _accept(message)
    return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


@blueprint.post("/africastalking/inbound")
def africastalking_inbound() -> ResponseReturnValue:
    form = _africastalking_form()
    message = _read(read_africastalking_inbound, form)
    _accept(message)
    return jsonify({"status": "received"})


def _record(report: DeliveryReport, message_id: int | None) -> ResponseReturnValue:
    found = kolekt_runtime().transact(
        lambda uow: record_delivery(uow.session, report, uow.now, message_id=message_id)
    )
    # 200 either way: a report for a message Kolekt does not know must not be retried forever.
    return jsonify({"status": "recorded" if found else "unknown message"})


@blueprint.post("/twilio/status")
def twilio_status() -> ResponseReturnValue:
    form = _twilio_form()
    report = _read(read_twilio_status, form)
    message_id = request.args.get("m", type=int)
    if message_id is not None and not 0 < message_id < 2**63:
        abort(400, description="m must be a message id")
    return _record(report, message_id)


@blueprint.post("/africastalking/delivery")
def africastalking_delivery() -> ResponseReturnValue:
    form = _africastalking_form()
    report = _read(read_africastalking_report, form)
    return _record(report, None)
