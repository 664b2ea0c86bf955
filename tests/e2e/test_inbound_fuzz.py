"""Whatever a phone sends through Twilio, Kolekt answers 200 and at most one short GSM-7 reply."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from redis import Redis

import sms
from sms import commands
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.helpers import (
    AT_INBOUND,
    AT_SECRET,
    AT_SETTINGS,
    NOTHING,
    PHONE,
    TWILIO_INBOUND,
    counts,
    inbound_rows,
    message_sid,
    outbox_rows,
    replies_to_sid,
    signed_post,
    twilio_inbound_form,
)

COMMAND_WORDS = (
    "BAL",
    "STOP",
    "START",
    "JOIN",
    "HELP",
    "LANG",
    "PCM",
    "REDEEM",
    "K0001E",
    "yes",
    "no ",
    "Ada ",
)
SEPARATORS = tuple(" \n\r\t,.:;-#*\"'(\u200b\u00a0\u201c\u201d\u2019\U0001f600\u20a6\x1b\x7f\x00")
# Any text a phone (or a buggy gateway) could send: every code point but surrogates (no form
# carries them), including control characters, emoji and other scripts; and texts made of
# command words, separators and invisible characters, which reach the commands' own paths.
TEXTS = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=2000),
    st.text(st.characters(max_codepoint=0x2FF), max_size=200),
    st.lists(st.sampled_from([*COMMAND_WORDS, *SEPARATORS]), max_size=40).map("".join),
)

_numbers = itertools.count(1_000_000)


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    """One app (one database) for all the examples of a test: hypothesis runs them in one call."""
    return make_app(**TWILIO_TEST_SETTINGS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=TEXTS)
@example(text="")
@example(text="STOP")
@example(text=" yes ")
@example(text="Stop.")
@example(text="\u200bSTART\u200b")
@example(text="JOIN " + "\U0001f600" * 400)
@example(text="JOIN \u0410\u0434\u0430 \u041e\u043a\u0430\u0444\u043e\u0440, \u4e00\u4e8c\u4e09")
@example(text="LANG \u00e9\u00e9")
@example(text="\x00")
@example(text="JOIN Ada\x00 Okafor, 12 \x00Adeniyi St")
@example(text="\U0001f600" * 2000)
@example(text="x" * 2000)
def test_any_text_gets_at_most_one_short_gsm7_reply(app: Flask, text: str) -> None:
    client = app.test_client()
    sid = message_sid()
    sender = f"+234803{next(_numbers):07d}"  # a phone of its own: no example opts another out
    response = signed_post(client, TWILIO_INBOUND, twilio_inbound_form(text, sender=sender, sid=sid))
    assert response.status_code == 200, response.get_data(as_text=True)

    parsed = sms.parse(text)
    expected = 0 if isinstance(parsed, commands.Stop | commands.Start) else 1
    replies = replies_to_sid(app, sid)
    assert len(replies) == expected, [row.body for row in replies]
    for reply in replies:
        assert reply.to_phone == sender
        assert sms.is_gsm7(reply.body), reply.body
        counted = sms.segments(reply.body)
        assert counted.count <= 2, reply.body
        assert (reply.encoding, reply.segments) == ("GSM-7", counted.count)
    (inbound,) = (row for row in inbound_rows(app) if row.provider_message_id == sid)
    assert (inbound.status, inbound.error) == ("processed", None)


# --- NUL ---------------------------------------------------------------------------------------
# PostgreSQL text cannot hold NUL: a text carrying one was once lost (500, nothing stored, no reply)
# on every inbound path; each must store it (NUL replaced) and answer it like any other.


def _twilio(app: Flask, field: str) -> int:
    form = twilio_inbound_form("BAL")
    form[field] = "\x00" + form[field]
    return signed_post(app.test_client(), TWILIO_INBOUND, form).status_code


def _africastalking(app: Flask, _field: str) -> int:
    form = {"id": f"ATXid_{uuid.uuid4().hex}", "from": PHONE, "to": "12345", "text": "BAL\x00"}
    return app.test_client().post(f"{AT_INBOUND}?secret={AT_SECRET}", data=form).status_code


def _simulator(app: Flask, _field: str) -> int:
    return app.test_client().post("/simulator/messages", json={"from": PHONE, "text": "\x00BAL"}).status_code


@pytest.mark.parametrize(
    ("settings_changes", "post", "field", "ok"),
    [
        (TWILIO_TEST_SETTINGS, _twilio, "Body", 200),
        (TWILIO_TEST_SETTINGS, _twilio, "To", 200),
        (AT_SETTINGS, _africastalking, "text", 200),
        ({}, _simulator, "text", 201),
    ],
    ids=["twilio-body", "twilio-to", "africastalking-text", "simulator-text"],
)
def test_a_nul_character_is_answered_like_any_other(
    make_app: Callable[..., Flask],
    redis: Redis,
    settings_changes: dict[str, object],
    post: Callable[[Flask, str], int],
    field: str,
    ok: int,
) -> None:
    app = make_app(**settings_changes)
    app.testing = False  # the answer a provider would get, not the exception
    status = post(app, field)
    stored = counts(app)
    assert (status, stored) != (500, NOTHING), "the text was lost: 500 and nothing stored"
    assert status == ok
    (inbound,) = inbound_rows(app)
    assert inbound.status == "processed" and inbound.command == "Balance"
    assert "BAL" in inbound.body and "\x00" not in inbound.body + inbound.recipient
    (reply,) = outbox_rows(app)
    assert reply.template == "not_member"
