"""What the end-to-end tests share: signed webhook posts and a look at the rows they leave.

Rows are read through the app's own runtime sessions (the database the app writes to), never
through the app's code paths, so a test sees what was really committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from service.db import transaction
from service.models import Household, InboundMessage, OutboxMessage, Phone
from tests.conftest import TWILIO_TEST_SETTINGS, twilio_signature

T = TypeVar("T")

PHONE = "+2348031234567"
OTHER_PHONE = "+2348039876543"
TWILIO_NUMBER = str(TWILIO_TEST_SETTINGS["twilio_from_number"])
TWILIO_TOKEN = str(TWILIO_TEST_SETTINGS["twilio_auth_token"])
PUBLIC_BASE_URL = str(TWILIO_TEST_SETTINGS["public_base_url"])
TWILIO_INBOUND = "/sms/twilio/inbound"
TWILIO_STATUS = "/sms/twilio/status"

AT_SECRET = "S"
AT_SETTINGS: Mapping[str, object] = {
    "sms_gateway": "africastalking",
    "africastalking_username": "sandbox",
    "africastalking_api_key": "k",
    "africastalking_callback_secret": AT_SECRET,
}
AT_INBOUND = "/sms/africastalking/inbound"
AT_DELIVERY = "/sms/africastalking/delivery"


def message_sid() -> str:
    """A new Twilio-looking message id (SM + 32 hex digits)."""
    return "SM" + uuid.uuid4().hex


def twilio_inbound_form(body: str, *, sender: str = PHONE, sid: str | None = None) -> dict[str, str]:
    """The form Twilio posts for one incoming text."""
    return {
        "MessageSid": sid or message_sid(),
        "SmsSid": sid or message_sid(),
        "AccountSid": str(TWILIO_TEST_SETTINGS["twilio_account_sid"]),
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }


def signed_post(
    client: FlaskClient,
    path: str,
    form: Mapping[str, str],
    *,
    signed_url: str | None = None,
    signed_form: Mapping[str, str] | None = None,
    token: str = TWILIO_TOKEN,
    signature: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> TestResponse:
    """POST ``form`` to ``path`` with the X-Twilio-Signature Twilio would send: computed over
    ``signed_url`` (default PUBLIC_BASE_URL + path) and ``signed_form`` (default the form itself).
    ``signature`` replaces the computed one; pass "" to send no header at all."""
    url = signed_url if signed_url is not None else PUBLIC_BASE_URL + path
    if signature is None:
        signature = twilio_signature(token, url, dict(signed_form if signed_form is not None else form))
    sent_headers = dict(headers or {})
    if signature:
        sent_headers["X-Twilio-Signature"] = signature
    return client.post(path, data=dict(form), headers=sent_headers)


def twilio_text(
    client: FlaskClient, body: str, *, sender: str = PHONE, sid: str | None = None
) -> TestResponse:
    """One incoming text through the signed Twilio webhook; asserts Twilio would be content."""
    response = signed_post(client, TWILIO_INBOUND, twilio_inbound_form(body, sender=sender, sid=sid))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def twilio_status(client: FlaskClient, message_id: int | None, form: Mapping[str, str]) -> TestResponse:
    path = TWILIO_STATUS if message_id is None else f"{TWILIO_STATUS}?m={message_id}"
    return signed_post(client, path, form)


def sessions(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["kolekt.runtime"].sessions
    return factory


def read(app: Flask, statement: Any) -> list[Any]:
    """Every row a select returns, read in a transaction of its own."""
    with transaction(sessions(app)) as session:
        rows = list(session.execute(statement).scalars())
        session.expunge_all()
        return rows


def counts(app: Flask) -> dict[str, int]:
    """How many rows each table the webhooks write holds."""
    with transaction(sessions(app)) as session:
        return {
            model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (InboundMessage, OutboxMessage, Phone, Household)
        }


NOTHING = {"inbound_messages": 0, "outbox_messages": 0, "phones": 0, "households": 0}


def inbound_rows(app: Flask) -> list[InboundMessage]:
    return read(app, select(InboundMessage).order_by(InboundMessage.id))


def outbox_rows(app: Flask, *, to: str | None = None) -> list[OutboxMessage]:
    statement = select(OutboxMessage).order_by(OutboxMessage.id)
    if to is not None:
        statement = statement.where(OutboxMessage.to_phone == to)
    return read(app, statement)


def outbox_row(app: Flask, message_id: int) -> OutboxMessage:
    (row,) = read(app, select(OutboxMessage).where(OutboxMessage.id == message_id))
    return row


def replies_to_sid(app: Flask, sid: str) -> list[OutboxMessage]:
    """The outbox rows written in answer to the inbound text with this provider id."""
    inbound = select(InboundMessage.id).where(InboundMessage.provider_message_id == sid)
    return read(
        app, select(OutboxMessage).where(OutboxMessage.inbound_id.in_(inbound)).order_by(OutboxMessage.id)
    )


def phone_row(app: Flask, number: str = PHONE) -> Phone | None:
    rows = read(app, select(Phone).where(Phone.number == number))
    return rows[0] if rows else None


def household_of(app: Flask, number: str = PHONE) -> Household | None:
    rows = read(app, select(Household).where(Household.phone == number))
    return rows[0] if rows else None


def update_outbox(app: Flask, message_id: int, **values: object) -> None:
    with transaction(sessions(app)) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


SIMULATOR_PHONE = "+2348031234567"  # the phone simulator's own number (and the demo's Ada)


def simulator_send(client: FlaskClient, text: str, sender: str = SIMULATOR_PHONE) -> list[str]:
    """A text typed into the phone simulator: the bodies of its replies."""
    response = client.post("/simulator/messages", json={"from": sender, "text": text})
    assert response.status_code == 201, response.get_data(as_text=True)
    return [reply["body"] for reply in response.get_json()["replies"]]
