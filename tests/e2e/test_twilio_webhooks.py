"""Twilio's webhooks end to end: signed posts through the Flask test client, rows in the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue

import ledger
from ledger import TransferRequest
from service.accounts import ISSUANCE, member_account, open_programme_accounts
from service.db import transaction
from service.jobs.registry import JOBS
from service.unit_of_work import Job
from tests.conftest import TWILIO_TEST_SETTINGS, twilio_signature
from tests.e2e.helpers import (
    NOTHING,
    PHONE,
    PUBLIC_BASE_URL,
    TWILIO_INBOUND,
    TWILIO_STATUS,
    counts,
    household_of,
    inbound_rows,
    message_sid,
    outbox_row,
    outbox_rows,
    phone_row,
    replies_to_sid,
    sessions,
    signed_post,
    twilio_inbound_form,
    twilio_status,
    twilio_text,
    update_outbox,
)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    return make_app(**TWILIO_TEST_SETTINGS)


def assert_refused(response_status: int, app: Flask, status: int = 403) -> None:
    assert response_status == status
    assert counts(app) == NOTHING


# --- inbound texts -----------------------------------------------------------------------------


def enqueued(redis: Redis) -> set[str]:
    """The send jobs waiting in Redis."""
    return set(Queue(JOBS[Job.SEND_MESSAGE].queue, connection=redis).job_ids)


def test_a_signed_text_is_stored_answered_and_acknowledged_with_empty_twiml(app: Flask, redis: Redis) -> None:
    client = app.test_client()
    form = twilio_inbound_form("JOIN Ada Okafor, 12 Adeniyi St Yaba")
    response = signed_post(client, TWILIO_INBOUND, form)
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == EMPTY_TWIML

    (inbound,) = inbound_rows(app)
    assert (inbound.provider, inbound.provider_message_id) == ("twilio", form["MessageSid"])
    assert (inbound.sender, inbound.recipient, inbound.body) == (PHONE, form["To"], form["Body"])
    assert (inbound.status, inbound.command) == ("processed", "Join")
    (reply,) = outbox_rows(app)
    assert reply.inbound_id == inbound.id
    assert (reply.to_phone, reply.status, reply.template) == (PHONE, "queued", "welcome_no_zone")
    household = household_of(app)
    assert household is not None and household.member_code is not None
    assert household.name == "Ada Okafor" and household.address == "12 Adeniyi St Yaba"
    assert reply.body.startswith(f"Welcome to Kolekt, Ada! Your code is {household.member_code}.")
    assert (reply.segments, reply.encoding) == (1, "GSM-7")
    assert enqueued(redis) == {f"send-{reply.id}-0"}


def test_a_text_from_a_local_number_is_stored_in_e164(app: Flask) -> None:
    twilio_text(app.test_client(), "HELP", sender="0803 123 4567")
    assert [row.sender for row in inbound_rows(app)] == [PHONE]
    assert [row.to_phone for row in outbox_rows(app)] == [PHONE]


def test_an_unproven_text_is_refused_and_changes_nothing(app: Flask, subtests: pytest.Subtests) -> None:
    form = twilio_inbound_form("JOIN Ada Okafor")
    cases: dict[str, dict[str, Any]] = {
        "forged": {"signature": "bm90IGEgc2lnbmF0dXJlIGF0IGFsbCE="},
        "another_url": {"signed_url": "http://localhost" + TWILIO_INBOUND},
        "http_not_https": {"signed_url": PUBLIC_BASE_URL.replace("https", "http") + TWILIO_INBOUND},
        "another_path": {"signed_url": PUBLIC_BASE_URL + TWILIO_STATUS},
        "another_form": {"signed_form": {**form, "Body": "JOIN Eve"}},
        "a_field_added": {"signed_form": {k: v for k, v in form.items() if k != "NumMedia"}},
        "another_token": {"token": "someone-elses-token"},
        "no_header": {"signature": ""},
        "empty_header": {"signature": "", "headers": {"X-Twilio-Signature": ""}},
    }
    for case, changes in cases.items():
        with subtests.test(case):
            response = signed_post(app.test_client(), TWILIO_INBOUND, form, **changes)
            assert_refused(response.status_code, app)
            error = response.get_json()["error"]
            assert error["code"] == "forbidden" and "X-Twilio-Signature" in error["message"]


def test_the_signature_is_checked_in_debug_and_testing_modes_too(
    make_app: Callable[..., Flask], subtests: pytest.Subtests
) -> None:
    app = make_app(**TWILIO_TEST_SETTINGS)
    form = twilio_inbound_form("BAL")
    for debug, testing in ((True, False), (False, True), (True, True), (False, False)):
        with subtests.test(debug=debug, testing=testing):
            app.debug, app.testing = debug, testing
            response = signed_post(app.test_client(), TWILIO_INBOUND, form, signature="")
            assert_refused(response.status_code, app)
            response = signed_post(app.test_client(), TWILIO_INBOUND, form, signed_url="http://localhost/")
            assert_refused(response.status_code, app)


def test_without_an_auth_token_no_signature_is_good(make_app: Callable[..., Flask]) -> None:
    app = make_app(**{**TWILIO_TEST_SETTINGS, "twilio_auth_token": ""})
    form = twilio_inbound_form("BAL")
    response = signed_post(app.test_client(), TWILIO_INBOUND, form, token="")
    assert_refused(response.status_code, app)


def test_the_twilio_webhook_refuses_everything_on_the_console_gateway(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    response = signed_post(app.test_client(), TWILIO_INBOUND, twilio_inbound_form("BAL"), token="")
    assert_refused(response.status_code, app)


def test_a_repeated_message_sid_is_acknowledged_and_ignored(app: Flask) -> None:
    client = app.test_client()
    sid = message_sid()
    for _ in range(3):
        response = twilio_text(client, "HELP", sid=sid)
        assert response.get_data(as_text=True) == EMPTY_TWIML
    assert len(inbound_rows(app)) == 1
    assert len(outbox_rows(app)) == 1
    # Even a repeat with another body is the same message to Kolekt (the id decides).
    twilio_text(client, "JOIN Ada Okafor", sid=sid)
    assert counts(app) == {"inbound_messages": 1, "outbox_messages": 1, "phones": 1, "households": 0}


def test_a_signed_text_lacking_a_required_field_is_a_bad_request(
    app: Flask, subtests: pytest.Subtests
) -> None:
    for missing in ("From", "Body", "MessageSid", "empty From", "empty MessageSid"):
        with subtests.test(missing):
            form = twilio_inbound_form("BAL")
            name = missing.removeprefix("empty ")
            for field in (name, "SmsSid") if name == "MessageSid" else (name,):
                if missing.startswith("empty "):
                    form[field] = ""
                else:
                    del form[field]
            response = signed_post(app.test_client(), TWILIO_INBOUND, form)
            assert_refused(response.status_code, app, 400)
            assert response.get_json()["error"]["code"] == "bad_request"


def test_a_message_sid_no_database_can_key_is_a_bad_request(app: Flask, subtests: pytest.Subtests) -> None:
    """Issue 17, finding 6: a NUL byte or 65 characters in MessageSid was a 500 (DataError) and
    Twilio was left to guess; now 400, and nothing stored."""
    for sid in ("SM\x00" + "a" * 32, "SM" + "a" * 63, "SM\x1b[2J", "SM\u00e9t\u00e9"):
        with subtests.test(sid=repr(sid)):
            response = signed_post(app.test_client(), TWILIO_INBOUND, twilio_inbound_form("BAL", sid=sid))
            assert_refused(response.status_code, app, 400)
            assert "MessageSid" in response.get_json()["error"]["message"]
            report = {"MessageSid": sid, "MessageStatus": "delivered"}
            assert twilio_status(app.test_client(), None, report).status_code == 400
    assert (
        signed_post(
            app.test_client(), TWILIO_INBOUND, twilio_inbound_form("BAL", sid="SM" + "a" * 62)
        ).status_code
        == 200
    )  # 64 characters is still an id


def test_an_empty_body_is_a_real_text_and_gets_help(app: Flask) -> None:
    form = twilio_inbound_form("")
    assert signed_post(app.test_client(), TWILIO_INBOUND, form).status_code == 200
    (reply,) = outbox_rows(app)
    assert reply.template == "help_stranger"  # from a number that is nobody's yet: how to join
    assert reply.body.startswith("Kolekt gives points for bottles, sachets and cans. To join, text JOIN")


def test_a_sender_that_is_not_a_phone_number_is_a_bad_request(app: Flask, subtests: pytest.Subtests) -> None:
    for sender in ("hello", "12", "+999123", "whatsapp:+2348031234567x", "0" * 30):
        with subtests.test(sender=sender):
            response = signed_post(
                app.test_client(), TWILIO_INBOUND, twilio_inbound_form("BAL", sender=sender)
            )
            assert_refused(response.status_code, app, 400)


def test_a_request_larger_than_32_kib_is_a_bad_request(app: Flask, subtests: pytest.Subtests) -> None:
    form = twilio_inbound_form("B" * (33 * 1024))
    for signed in (True, False):
        with subtests.test(signed=signed):
            response = signed_post(
                app.test_client(), TWILIO_INBOUND, form, **({} if signed else {"signature": ""})
            )
            assert_refused(response.status_code, app, 400)
            assert "32768" in response.get_json()["error"]["message"]


def test_a_text_longer_than_a_phone_can_send_gets_one_short_reply(app: Flask) -> None:
    twilio_text(app.test_client(), "BAL " + "x" * 1700)
    (inbound,) = inbound_rows(app)
    assert inbound.command == "parse-error:too_long"
    (reply,) = outbox_rows(app)
    assert reply.template == "too_long" and reply.segments == 1


def test_behind_a_proxy_the_signature_is_over_the_url_the_proxy_was_asked_for(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    # Behind one proxy (TRUSTED_PROXIES=1), whose X-Forwarded-* headers are read.
    app = make_app(**{**TWILIO_TEST_SETTINGS, "public_base_url": "", "trusted_proxies": 1})
    client = app.test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "public.example.net"}
    public_url = "https://public.example.net" + TWILIO_INBOUND

    form = twilio_inbound_form("HELP")
    # The right signature without the proxy's headers: the app sees http://localhost, refuses.
    assert signed_post(client, TWILIO_INBOUND, form, signed_url=public_url).status_code == 403
    # Signed over the URL as the app sees it without the proxy but sent through it: refused.
    response = signed_post(
        client, TWILIO_INBOUND, form, signed_url="http://localhost" + TWILIO_INBOUND, headers=proxy
    )
    assert response.status_code == 403
    # Another forwarded host than the one signed: refused.
    response = signed_post(
        client,
        TWILIO_INBOUND,
        form,
        signed_url=public_url,
        headers={**proxy, "X-Forwarded-Host": "evil.example.com"},
    )
    assert response.status_code == 403
    assert counts(app) == NOTHING

    response = signed_post(client, TWILIO_INBOUND, form, signed_url=public_url, headers=proxy)
    assert response.status_code == 200
    assert len(inbound_rows(app)) == 1 and len(outbox_rows(app)) == 1


def test_a_household_conversation_end_to_end(app: Flask, redis: Redis) -> None:
    client = app.test_client()

    def say(text: str) -> list[str]:
        sid = message_sid()
        twilio_text(client, text, sid=sid)
        return [f"{row.status}|{row.template}|{row.language}|{row.body}" for row in replies_to_sid(app, sid)]

    (welcome,) = say("JOIN Ada Okafor, 12 Adeniyi St Yaba")
    household = household_of(app)
    assert household is not None and household.member_code is not None
    code = household.member_code
    assert welcome.startswith(f"queued|welcome_no_zone|EN|Welcome to Kolekt, Ada! Your code is {code}.")

    assert say("bal") == ["queued|balance_new|EN|Kolekt: 0 pts. No pickups yet. Text PICKUP to ask for one."]

    (help_text,) = say("HELP")
    assert help_text.startswith("queued|help_household|EN|Kolekt: BAL points")

    assert say("LANG PCM") == ["queued|language_set|PCM|OK, Kolekt go dey text you for Pidgin."]
    phone = phone_row(app)
    assert phone is not None and phone.language == "PCM"

    assert say("BAL") == [
        "queued|balance_new|PCM|Kolekt: you get 0 pts. We never do pickup for you yet. "
        "Text PICKUP make we come."
    ]

    # Twilio confirms STOP itself: Kolekt records the opt-out and stays silent.
    assert say("STOP") == []
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is not None
    assert inbound_rows(app)[-1].command == "Stop"

    (suppressed,) = say("BAL")
    assert suppressed.startswith("suppressed|balance_new|PCM|")

    assert say("START") == []
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is None

    (back,) = say("BAL")
    assert back.startswith("queued|balance_new|PCM|")
    assert counts(app) == {"inbound_messages": 9, "outbox_messages": 7, "phones": 1, "households": 1}
    # Every reply but the suppressed one waits for a send job.
    assert enqueued(redis) == {f"send-{row.id}-0" for row in outbox_rows(app) if row.status == "queued"}
    assert len(enqueued(redis)) == 6


def test_balance_reports_points_and_the_last_credit(app: Flask) -> None:
    client = app.test_client()
    twilio_text(client, "JOIN Ada Okafor")
    household = household_of(app)
    assert household is not None and household.member_code is not None
    with transaction(sessions(app)) as session:
        open_programme_accounts(session)
        ledger.post(
            session,
            TransferRequest(ISSUANCE, member_account(household.member_code), 57, "pickup_credit", "e2e-1"),
        )
    sid = message_sid()
    twilio_text(client, "BAL", sid=sid)
    (reply,) = replies_to_sid(app, sid)
    assert reply.template == "balance"
    assert reply.body.startswith("Kolekt: 57 pts (NGN 57). Last: +57, ")
    assert reply.body.endswith(". Text REWARDS to spend.")


def test_every_carrier_opt_out_word_opts_out_silently(app: Flask, subtests: pytest.Subtests) -> None:
    client = app.test_client()
    for number, word in enumerate(("STOPALL", "unsubscribe", "Cancel", "END", "quit", "REVOKE", "OPTOUT")):
        with subtests.test(word):
            sender = f"+23480310000{number:02d}"
            twilio_text(client, word, sender=sender)
            phone = phone_row(app, sender)
            assert phone is not None and phone.opted_out_at is not None
            assert inbound_rows(app)[-1].command == "Stop"
    assert outbox_rows(app) == []


def test_every_carrier_opt_in_word_opts_back_in_silently(app: Flask, subtests: pytest.Subtests) -> None:
    client = app.test_client()
    for number, word in enumerate(("UNSTOP", "yes", "START")):
        with subtests.test(word):
            sender = f"+23480310000{number:02d}"
            twilio_text(client, "STOP", sender=sender)
            twilio_text(client, word, sender=sender)
            phone = phone_row(app, sender)
            assert phone is not None and phone.opted_out_at is None
    assert outbox_rows(app) == []


def test_anything_else_gets_exactly_one_reply(app: Flask, subtests: pytest.Subtests) -> None:
    client = app.test_client()
    cases = {
        "blah": "stranger_unknown",
        "hello there": "stranger_unknown",
        "\U0001f600 BAL?": "not_member",
        "BALANCE please now": "not_member",
        "\u200b": "help_stranger",
        "REDEEM AIRTIME 200": "not_member",
        "LOG K0001E PET 1": "not_for_role",
        "CHECK ABCD": "check_unknown",
        "LANG XX": "bad_language",
        "LANG HA": "language_set",
        "JOIN": "missing_name",
    }
    for number, (text, template) in enumerate(cases.items()):
        with subtests.test(text=text):
            sid = message_sid()
            twilio_text(client, text, sid=sid, sender=f"+23480310000{number:02d}")
            (reply,) = replies_to_sid(app, sid)
            assert reply.status == "queued" and reply.encoding == "GSM-7" and reply.segments == 1
            assert reply.template == template
    assert len(outbox_rows(app)) == len(cases)


def test_a_text_not_understood_says_so_once(app: Flask) -> None:
    sid = message_sid()
    twilio_text(app.test_client(), "blah blah", sid=sid)
    (reply,) = replies_to_sid(app, sid)
    assert (
        reply.body
        == 'We did not understand "BLAH". To join Kolekt, text JOIN and your name, e.g. JOIN Ada Okafor'
    )
    assert (reply.template, reply.status) == ("stranger_unknown", "queued")
    (inbound,) = inbound_rows(app)
    assert inbound.command == "parse-error:unknown_command"


def test_the_loop_guard_holds_the_sixth_identical_reply(app: Flask, redis: Redis) -> None:
    client = app.test_client()
    for _ in range(7):
        twilio_text(client, "BAL")
    replies = outbox_rows(app)
    assert len(replies) == 7
    assert len({row.body for row in replies}) == 1
    assert [row.status for row in replies] == ["queued"] * 5 + ["held", "held"]
    assert all(row.last_error and "loop guard" in row.last_error for row in replies[5:])
    assert enqueued(redis) == {f"send-{row.id}-0" for row in replies[:5]}
    assert len(inbound_rows(app)) == 7
    # Another number is not held by the first one's loop.
    twilio_text(client, "BAL", sender="+2348039876543")
    assert outbox_rows(app, to="+2348039876543")[0].status == "queued"


# --- status callbacks --------------------------------------------------------------------------


def one_reply(app: Flask) -> int:
    """A queued reply row to report on (the answer to HELP)."""
    twilio_text(app.test_client(), "HELP")
    (reply,) = outbox_rows(app)
    assert reply.status == "queued"
    return reply.id


def status_form(sid: str, status: str, error_code: str = "") -> dict[str, str]:
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": str(TWILIO_TEST_SETTINGS["twilio_account_sid"]),
        "MessageStatus": status,
        "SmsStatus": status,
        "To": PHONE,
        "From": str(TWILIO_TEST_SETTINGS["twilio_from_number"]),
    }
    if error_code:
        form["ErrorCode"] = error_code
    return form


def test_a_status_only_moves_forward(app: Flask) -> None:
    client = app.test_client()
    reply = one_reply(app)
    sid = message_sid()
    response = twilio_status(client, reply, status_form(sid, "delivered"))
    assert response.status_code == 200
    assert response.get_json() == {"status": "recorded"}
    row = outbox_row(app, reply)
    assert (row.status, row.provider, row.provider_message_id) == ("delivered", "twilio", sid)
    assert row.final_at is not None

    for late in ("sent", "queued", "sending", "accepted"):
        assert twilio_status(client, reply, status_form(sid, late)).get_json() == {"status": "recorded"}
        assert outbox_row(app, reply).status == "delivered"


def test_a_report_for_a_row_still_sending_moves_it_and_records_the_provider_id(app: Flask) -> None:
    reply = one_reply(app)
    update_outbox(app, reply, status="sending", attempts=1)
    sid = message_sid()
    response = twilio_status(app.test_client(), reply, status_form(sid, "delivered"))
    assert response.get_json() == {"status": "recorded"}
    row = outbox_row(app, reply)
    assert (row.status, row.provider, row.provider_message_id) == ("delivered", "twilio", sid)


def test_sent_then_delivered_then_undelivered_keeps_the_first_final_status(app: Flask) -> None:
    client = app.test_client()
    reply = one_reply(app)
    sid = message_sid()
    twilio_status(client, reply, status_form(sid, "sent"))
    assert outbox_row(app, reply).status == "sent"
    twilio_status(client, reply, status_form(sid, "delivered"))
    twilio_status(client, reply, status_form(sid, "undelivered", "30003"))
    row = outbox_row(app, reply)
    assert (row.status, row.error_code) == ("delivered", None)  # the late report left no trace


def test_a_status_callback_naming_an_impossible_message_id_is_a_bad_request(app: Flask) -> None:
    client = app.test_client()
    for bad in ("99999999999999999999999", "-3", "0"):
        response = signed_post(client, f"{TWILIO_STATUS}?m={bad}", status_form(message_sid(), "delivered"))
        assert response.status_code == 400, bad


def test_a_report_without_the_outbox_id_is_matched_by_the_provider_id(app: Flask) -> None:
    client = app.test_client()
    reply = one_reply(app)
    sid = message_sid()
    update_outbox(app, reply, status="sent", provider="twilio", provider_message_id=sid)
    assert twilio_status(client, None, status_form(sid, "delivered")).get_json() == {"status": "recorded"}
    assert outbox_row(app, reply).status == "delivered"
    response = twilio_status(client, None, status_form(message_sid(), "delivered"))
    assert response.get_json() == {"status": "unknown message"}


def test_a_report_for_an_unknown_message_is_acknowledged(app: Flask) -> None:
    reply = one_reply(app)
    response = twilio_status(app.test_client(), reply + 1000, status_form(message_sid(), "delivered"))
    assert response.status_code == 200
    assert response.get_json() == {"status": "unknown message"}
    assert outbox_row(app, reply).status == "queued"


def test_error_21610_opts_the_number_out(app: Flask) -> None:
    client = app.test_client()
    reply = one_reply(app)
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is None
    response = twilio_status(client, reply, status_form(message_sid(), "failed", "21610"))
    assert response.get_json() == {"status": "recorded"}
    row = outbox_row(app, reply)
    assert (row.status, row.error_code) == ("failed", "21610")
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is not None
    sid = message_sid()
    twilio_text(client, "HELP", sid=sid)
    assert [row.status for row in replies_to_sid(app, sid)] == ["suppressed"]


def test_another_error_code_does_not_opt_out(app: Flask) -> None:
    reply = one_reply(app)
    twilio_status(app.test_client(), reply, status_form(message_sid(), "undelivered", "30003"))
    row = outbox_row(app, reply)
    assert (row.status, row.error_code) == ("undelivered", "30003")
    phone = phone_row(app)
    assert phone is not None and phone.opted_out_at is None


def test_an_unproven_status_callback_changes_nothing(app: Flask, subtests: pytest.Subtests) -> None:
    reply = one_reply(app)
    form = status_form(message_sid(), "failed", "21610")
    path = f"{TWILIO_STATUS}?m={reply}"
    cases: dict[str, dict[str, Any]] = {
        "forged": {"signature": twilio_signature("wrong-token", PUBLIC_BASE_URL + path, form)},
        "no_header": {"signature": ""},
        # A signature for the URL without ?m= cannot be replayed onto a message's URL.
        "without_the_query": {"signed_url": PUBLIC_BASE_URL + TWILIO_STATUS},
        "another_message": {"signed_url": PUBLIC_BASE_URL + f"{TWILIO_STATUS}?m={reply + 1}"},
    }
    for case, changes in cases.items():
        with subtests.test(case):
            response = signed_post(app.test_client(), path, form, **changes)
            assert response.status_code == 403
            row = outbox_row(app, reply)
            assert (row.status, row.provider_message_id, row.error_code) == ("queued", None, None)
            phone = phone_row(app)
            assert phone is not None and phone.opted_out_at is None


def test_a_status_twilio_does_not_use_for_sent_texts_is_a_bad_request(
    app: Flask, subtests: pytest.Subtests
) -> None:
    reply = one_reply(app)
    for status in ("received", "receiving", "nonsense", ""):
        with subtests.test(status=status):
            response = twilio_status(app.test_client(), reply, status_form(message_sid(), status))
            assert response.status_code == 400
            assert outbox_row(app, reply).status == "queued"


def test_hausa_and_igbo_are_answered_in_hausa_and_igbo(app: Flask, subtests: pytest.Subtests) -> None:
    client = app.test_client()
    for number, (code, name) in enumerate((("HA", "Hausa"), ("ig", "Igbo"))):
        with subtests.test(code):
            sender = f"+23480310000{number:02d}"
            sid = message_sid()
            twilio_text(client, f"LANG {code}", sid=sid, sender=sender)
            (reply,) = replies_to_sid(app, sid)
            assert reply.language == code.upper() and reply.template == "language_set"
            assert name in reply.body and "English" not in reply.body
            phone = phone_row(app, sender)
            assert phone is not None and phone.language == code.upper()
            sid = message_sid()
            twilio_text(client, "BAL", sid=sid, sender=sender)
            (reply,) = replies_to_sid(app, sid)
            assert (reply.language, reply.template) == (code.upper(), "not_member")
            assert reply.body != "You are not in Kolekt yet. Text JOIN and your name, e.g. JOIN Ada Okafor"
