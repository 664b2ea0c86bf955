"""Paystack's webhook: a transfer's outcome (``transfer.success``, ``transfer.failed``,
``transfer.reversed``) at ``POST /payouts/paystack``.

The request proves itself before anything is read: ``x-paystack-signature`` must be the
HMAC-SHA512 of the raw body with the secret key (403 otherwise, nothing changed). Each event is
kept once (the SHA-256 of its body): Paystack resends until it gets 200, and a replay is answered
200 and changes nothing. The outcome is settled in the same transaction (``payouts.settle``,
which takes events in any order); if that cannot be stored the answer is 503, and Paystack sends
it again. Events Kolekt does not act on are acknowledged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable

from service.db import insert_ignoring_conflict
from service.models import payout_events_t
from service.providers.payouts import PayoutError, signature_ok, transfer_from_event
from service.unit_of_work import UnitOfWork
from service.usecases import payouts
from service.web.base import kolekt_runtime

log = logging.getLogger(__name__)
blueprint = Blueprint("paystack", __name__, url_prefix="/payouts")

MAX_EVENT_BYTES = 64 * 1024
OUTCOMES = {"transfer.success": "success", "transfer.failed": "failed", "transfer.reversed": "reversed"}


@blueprint.post("/paystack")
def paystack_event() -> ResponseReturnValue:
    settings = kolekt_runtime().settings
    if (request.content_length or 0) > MAX_EVENT_BYTES:
        abort(400, description=f"the request is larger than {MAX_EVENT_BYTES} bytes")
    raw = request.get_data(cache=False)
    signature = request.headers.get("x-paystack-signature")
    if settings.payout_provider != "paystack" or not signature_ok(
        settings.paystack_secret_key, raw, signature
    ):
        abort(403, description="missing or invalid x-paystack-signature")
    try:
        payload = json.loads(raw)
    except ValueError:
        abort(400, description="the body is not JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        abort(400, description="an event needs its name in 'event'")
    data = payload.get("data")
    event = payload["event"][:40]
    reference = data.get("reference") if isinstance(data, dict) else None
    reference = reference[:60] if isinstance(reference, str) and reference else None
    digest = hashlib.sha256(raw).hexdigest()
    transfer = None
    if event in OUTCOMES:
        try:
            transfer = replace(transfer_from_event(data), status=OUTCOMES[event])
        except PayoutError as error:
            abort(400, description=str(error))

    def record(uow: UnitOfWork) -> str:
        first = insert_ignoring_conflict(
            uow.session,
            payout_events_t,
            {"digest": digest, "event": event, "reference": reference, "received_at": uow.now},
            conflict=("digest",),
            returning=payout_events_t.c.id,
        )
        if first is None:
            return "seen already"
        if transfer is None:
            return "not acted on"
        return payouts.settle(uow, transfer.reference, transfer).outcome

    try:
        outcome = kolekt_runtime().transact(record)
    except SQLAlchemyError:
        log.exception("Paystack event %s for %s could not be stored", event, reference)
        raise ServiceUnavailable(description="the event could not be stored: send it again") from None
    return jsonify({"status": outcome})
