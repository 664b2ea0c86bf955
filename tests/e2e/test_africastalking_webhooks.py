"""Africa's Talking's webhooks end to end: a secret in the callback URL is their only proof."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.test import TestResponse

from tests.e2e.helpers import (
    AT_DELIVERY,
    AT_INBOUND,
    AT_SECRET,
    AT_SETTINGS,
    NOTHING,
    PHONE,
    counts,
    inbound_rows,
    outbox_row,
    outbox_rows,
    phone_row,
    update_outbox,
)

SHORT_CODE = "12345"


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    return make_app(**AT_SETTINGS)


def at_id() -> str:
    return f"ATXid_{uuid.uuid4().hex}"


def inbound_form(text: str, *, sender: str = PHONE, message_id: str | None = None) -> dict[str, str]:
    return {
        "id": message_id or at_id(),
        "from": sender,
        "to": SHORT_CODE,
        "text": text,
        "date": "2024-11-12 10:15:00",
        "linkId": "",
        "networkCode": "62130",
    }


def post(
    client: FlaskClient, path: str, form: dict[str, str], secret: str | None = AT_SECRET
) -> TestResponse:
    query = "" if secret is None else f"?secret={secret}"
    return client.post(path + query, data=form)


def text(client: FlaskClient, body: str, *, message_id: str | None = None) -> TestResponse:
    response = post(client, AT_INBOUND, inbound_form(body, message_id=message_id))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"status": "received"}
    return response


def test_an_inbound_text_with_the_secret_is_stored_and_answered(app: Flask) -> None:
    form = inbound_form("JOIN Ada Okafor, 12 Adeniyi St Yaba")
    response = post(app.test_client(), AT_INBOUND, form)
    assert response.status_code == 200
    assert response.get_json() == {"status": "received"}
    (inbound,) = inbound_rows(app)
    assert (inbound.provider, inbound.provider_message_id) == ("africastalking", form["id"])
    assert (inbound.sender, inbound.recipient, inbound.command) == (PHONE, SHORT_CODE, "Join")
    (reply,) = outbox_rows(app)
    assert (reply.inbound_id, reply.to_phone, reply.status) == (inbound.id, PHONE, "queued")
    assert reply.body.startswith("Welcome to Kolekt, Ada! Your code is K")
    assert counts(app) == {"inbound_messages": 1, "outbox_messages": 1, "phones": 1, "households": 1}


def test_an_inbound_text_without_the_right_secret_is_refused(app: Flask, subtests: pytest.Subtests) -> None:
    for secret in (None, "", "s", "S%20", "SS", "wrong", "S%00"):
        with subtests.test(secret=secret):
            response = post(app.test_client(), AT_INBOUND, inbound_form("JOIN Ada Okafor"), secret)
            assert response.status_code == 403
            assert response.get_json()["error"]["code"] == "forbidden"
            assert counts(app) == NOTHING


def test_the_secret_in_the_form_instead_of_the_url_is_refused(app: Flask) -> None:
    response = app.test_client().post(AT_INBOUND, data={**inbound_form("BAL"), "secret": AT_SECRET})
    assert response.status_code == 403
    assert counts(app) == NOTHING


def test_without_a_configured_secret_the_endpoints_are_closed(make_app: Callable[..., Flask]) -> None:
    app = make_app()  # console gateway: no callback secret
    client = app.test_client()
    assert post(client, AT_INBOUND, inbound_form("BAL"), "").status_code == 403
    assert post(client, AT_INBOUND, inbound_form("BAL"), None).status_code == 403
    assert post(client, AT_DELIVERY, {"id": at_id(), "status": "Success"}, "").status_code == 403
    assert counts(app) == NOTHING


def test_a_repeated_id_has_no_effect(app: Flask) -> None:
    client = app.test_client()
    message_id = at_id()
    for body in ("JOIN Ada Okafor", "JOIN Ada Okafor", "STOP"):
        text(client, body, message_id=message_id)
    assert counts(app) == {"inbound_messages": 1, "outbox_messages": 1, "phones": 1, "households": 1}
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is None


def test_an_inbound_text_lacking_a_field_is_a_bad_request(app: Flask, subtests: pytest.Subtests) -> None:
    for missing in ("id", "from", "text", "empty id", "empty from"):
        with subtests.test(missing):
            form = inbound_form("BAL")
            if missing.startswith("empty "):
                form[missing.removeprefix("empty ")] = ""
            else:
                del form[missing]
            response = post(app.test_client(), AT_INBOUND, form)
            assert response.status_code == 400
            assert response.get_json()["error"]["code"] == "bad_request"
            assert counts(app) == NOTHING


def test_an_id_no_database_can_key_is_a_bad_request(app: Flask) -> None:
    for message_id in ("ATXid_\x00", "ATXid_" + "9" * 59):
        form = inbound_form("BAL")
        form["id"] = message_id
        response = post(app.test_client(), AT_INBOUND, form)
        assert response.status_code == 400 and "id must be" in response.get_json()["error"]["message"]
        assert counts(app) == NOTHING


def test_a_sender_that_is_not_a_phone_is_a_bad_request(app: Flask) -> None:
    response = post(app.test_client(), AT_INBOUND, inbound_form("BAL", sender="KOLEKT"))
    assert response.status_code == 400
    assert counts(app) == NOTHING


def test_a_request_larger_than_32_kib_is_a_bad_request(app: Flask) -> None:
    response = post(app.test_client(), AT_INBOUND, inbound_form("x" * (33 * 1024)))
    assert response.status_code == 400
    assert counts(app) == NOTHING


def test_stop_is_confirmed_by_kolekt_and_later_replies_are_suppressed(app: Flask) -> None:
    client = app.test_client()
    text(client, "STOP")
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is not None
    (confirmation,) = outbox_rows(app)
    assert (confirmation.template, confirmation.status) == ("stopped", "queued")
    assert confirmation.body == "You will get no more texts from Kolekt. Text START to come back."

    text(client, "BAL")
    later = outbox_rows(app)[1:]
    assert [(row.template, row.status) for row in later] == [("not_member", "suppressed")]

    # A second STOP while opted out gets no second confirmation: one per opt-out.
    text(client, "stop")
    assert outbox_rows(app)[2:] == []

    text(client, "START")
    assert [(row.template, row.status) for row in outbox_rows(app)[2:]] == [("started", "queued")]
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is None
    text(client, "BAL")
    assert outbox_rows(app)[-1].status == "queued"


def a_reply_sent_through_africastalking(app: Flask, provider_id: str) -> int:
    text(app.test_client(), "HELP")
    (reply,) = outbox_rows(app)
    update_outbox(app, reply.id, status="sent", provider="africastalking", provider_message_id=provider_id)
    return reply.id


def test_a_delivery_report_is_matched_by_provider_id_and_moves_forward_only(app: Flask) -> None:
    client = app.test_client()
    provider_id = at_id()
    reply = a_reply_sent_through_africastalking(app, provider_id)

    response = post(client, AT_DELIVERY, {"id": provider_id, "status": "Buffered"})
    assert response.get_json() == {"status": "recorded"}
    assert outbox_row(app, reply).status == "sent"

    response = post(client, AT_DELIVERY, {"id": provider_id, "status": "Success", "phoneNumber": PHONE})
    assert response.status_code == 200
    assert response.get_json() == {"status": "recorded"}
    row = outbox_row(app, reply)
    assert row.status == "delivered" and row.final_at is not None

    for late in ("Sent", "Submitted", "Buffered"):
        assert post(client, AT_DELIVERY, {"id": provider_id, "status": late}).get_json() == {
            "status": "recorded"
        }
        assert outbox_row(app, reply).status == "delivered"


def test_a_failed_delivery_keeps_its_reason(app: Flask) -> None:
    provider_id = at_id()
    reply = a_reply_sent_through_africastalking(app, provider_id)
    form = {"id": provider_id, "status": "Failed", "failureReason": "UserInBlackList"}
    assert post(app.test_client(), AT_DELIVERY, form).get_json() == {"status": "recorded"}
    row = outbox_row(app, reply)
    assert (row.status, row.error_code) == ("failed", "UserInBlackList")
    assert row.last_error == "Failed (UserInBlackList)"
    # the recipient blacklisted the sender with the carrier: Kolekt stops texting the number
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is not None


def test_a_failed_delivery_for_another_reason_leaves_the_number_subscribed(app: Flask) -> None:
    provider_id = at_id()
    a_reply_sent_through_africastalking(app, provider_id)
    form = {"id": provider_id, "status": "Failed", "failureReason": "DeliveryFailure"}
    assert post(app.test_client(), AT_DELIVERY, form).get_json() == {"status": "recorded"}
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is None


def test_a_delivery_report_for_another_providers_id_does_not_match(app: Flask) -> None:
    provider_id = at_id()
    reply = a_reply_sent_through_africastalking(app, provider_id)
    update_outbox(app, reply, provider="twilio")
    response = post(app.test_client(), AT_DELIVERY, {"id": provider_id, "status": "Success"})
    assert response.get_json() == {"status": "unknown message"}
    assert outbox_row(app, reply).status == "sent"


def test_a_delivery_report_for_an_unknown_id_is_acknowledged(app: Flask) -> None:
    reply = a_reply_sent_through_africastalking(app, at_id())
    response = post(app.test_client(), AT_DELIVERY, {"id": at_id(), "status": "Success"})
    assert response.status_code == 200
    assert response.get_json() == {"status": "unknown message"}
    assert outbox_row(app, reply).status == "sent"


def test_a_delivery_report_without_the_secret_changes_nothing(app: Flask, subtests: pytest.Subtests) -> None:
    provider_id = at_id()
    reply = a_reply_sent_through_africastalking(app, provider_id)
    for secret in (None, "", "wrong"):
        with subtests.test(secret=secret):
            response = post(app.test_client(), AT_DELIVERY, {"id": provider_id, "status": "Failed"}, secret)
            assert response.status_code == 403
            row = outbox_row(app, reply)
            assert (row.status, row.error_code) == ("sent", None)


def test_a_delivery_report_lacking_a_field_is_a_bad_request(app: Flask, subtests: pytest.Subtests) -> None:
    reply = a_reply_sent_through_africastalking(app, "ATXid_1")
    forms = ({"status": "Success"}, {"id": "ATXid_1"}, {"id": "ATXid_1", "status": "Delivered!"})
    for form in forms:
        with subtests.test(form=form):
            response = post(app.test_client(), AT_DELIVERY, form)
            assert response.status_code == 400
            assert outbox_row(app, reply).status == "sent"
