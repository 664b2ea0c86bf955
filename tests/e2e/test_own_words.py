"""Households in their own words, through signed Twilio webhooks: TOP UP never opts anyone out
and gets a useful answer, strangers are told how to join, TERMS, a JOIN in Hausa words answered
in Hausa, a NEW in a household's language, and JOIN bringing an opted-out number back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from service.db import transaction
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from sms.templates import EN
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.helpers import household_of, message_sid, phone_row, replies_to_sid, sessions, twilio_text

STRANGER = "+2348099990000"
MUSA = "+2348061112222"
TUNDE = "+2348030000001"  # a collector


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    app = make_app(**TWILIO_TEST_SETTINGS, dispute_window_hours=48, kobo_per_point=50)
    now = datetime.now(UTC)
    with transaction(sessions(app)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        add_collector(session, TUNDE, "Tunde Bakare", zone.id, now)
    return app


def say(app: Flask, client: FlaskClient, text: str, sender: str = STRANGER) -> list[tuple[str, str, str]]:
    """The replies to one text: (status, template, language) each."""
    sid = message_sid()
    twilio_text(client, text, sender=sender, sid=sid)
    return [(row.status, row.template, row.language) for row in replies_to_sid(app, sid)]


def body(app: Flask, client: FlaskClient, text: str, sender: str = STRANGER) -> str:
    sid = message_sid()
    twilio_text(client, text, sender=sender, sid=sid)
    (row,) = replies_to_sid(app, sid)
    return row.body


def test_top_up_from_a_stranger_then_join_is_welcomed(app: Flask) -> None:
    client = app.test_client()
    assert say(app, client, "TOP UP") == [("queued", "not_member", "EN")]
    phone = phone_row(app, STRANGER)
    assert phone is not None and phone.opted_out_at is None
    assert say(app, client, "JOIN Ada Okafor") == [("queued", "welcome_no_zone", "EN")]


def test_top_up_from_a_member_says_how_to_redeem_airtime(app: Flask) -> None:
    client = app.test_client()
    say(app, client, "JOIN Ada Okafor")
    for text in ("TOP UP", "Top-up 200", "topup", "TOP", "airtime"):
        reply = body(app, client, text)
        assert reply == (
            "Kolekt: for airtime, text REDEEM AIRTIME and the naira, e.g. REDEEM AIRTIME 200. You have 0 pts."
        )
    phone = phone_row(app, STRANGER)
    assert phone is not None and phone.opted_out_at is None


def test_stop_with_more_words_is_explained_and_stop_alone_obeyed(app: Flask) -> None:
    client = app.test_client()
    say(app, client, "JOIN Ada Okafor")
    assert say(app, client, "STOP sending me texts") == [("queued", "stop_alone", "EN")]
    phone = phone_row(app, STRANGER)
    assert phone is not None and phone.opted_out_at is None
    say(app, client, "Stop.")  # Twilio confirms an opt-out itself: Kolekt says nothing
    phone = phone_row(app, STRANGER)
    assert phone is not None and phone.opted_out_at is not None


def test_join_from_an_opted_out_number_opts_it_back_in(app: Flask) -> None:
    client = app.test_client()
    say(app, client, "STOP")
    assert say(app, client, "JOIN Ada Okafor") == [("queued", "welcome_no_zone", "EN")]
    phone = phone_row(app, STRANGER)
    assert phone is not None and phone.opted_out_at is None


def test_a_stranger_gets_how_to_join(app: Flask) -> None:
    client = app.test_client()
    help_text = body(app, client, "HELP")
    assert help_text.startswith("Kolekt gives points for bottles") and "JOIN" in help_text
    assert say(app, client, "Hello there") == [("queued", "stranger_unknown", "EN")]
    assert say(app, client, "...") == [("queued", "help_stranger", "EN")]
    # A member's unknown text is told about HELP, not about joining.
    say(app, client, "JOIN Ada Okafor")
    assert say(app, client, "Hello there") == [("queued", "unknown_command", "EN")]
    assert say(app, client, "HELP")[0][1] == "help_household"


def test_terms_by_default_say_what_a_point_is_worth_and_how_to_dispute(app: Flask) -> None:
    client = app.test_client()
    reply = body(app, client, "TERMS")
    assert "1 pt is worth NGN 0.50" in reply and "within 48h" in reply
    assert "https://kolekt.example.org/terms" in reply or "/terms" in reply
    assert body(app, client, "terms", sender=TUNDE) == reply  # collectors may read them too
    page = client.get("/terms")
    assert page.status_code == 200 and "NGN 0.50" in page.get_data(as_text=True)


def test_an_operators_own_terms_are_sent_as_written(make_app: Callable[..., Flask], redis: Redis) -> None:
    own = "Kolekt Yaba: points have no cash value except through REDEEM. Read more at the hub. " * 3
    app = make_app(**TWILIO_TEST_SETTINGS, programme_terms=own.strip())
    client = app.test_client()
    sid = message_sid()
    twilio_text(client, "TERMS", sid=sid, sender=STRANGER)
    (row,) = replies_to_sid(app, sid)
    assert row.template == "terms" and row.segments <= 2 and row.body.startswith("Kolekt Yaba: points")
    assert own.strip()[:60] in client.get("/terms").get_data(as_text=True)


def test_a_household_that_joins_in_hausa_words_is_answered_in_hausa(app: Flask) -> None:
    client = app.test_client()
    assert say(app, client, "SHIGA Musa Bello", sender=MUSA) == [("queued", "welcome_no_zone", "HA")]
    phone = phone_row(app, MUSA)
    assert phone is not None and phone.language == "HA"
    (_status, template, language) = say(app, client, "BAL", sender=MUSA)[0]
    assert (template, language) == ("balance_new", "HA")
    assert body(app, client, "BAL", sender=MUSA) != EN["balance_new"].format(programme="Kolekt", points=0)


def test_a_collectors_new_can_give_the_households_language(app: Flask) -> None:
    client = app.test_client()
    assert say(app, client, "NEW 08061112222 IG Ngozi Eze", sender=TUNDE) == [
        ("queued", "registered", "EN"),
        ("queued", "welcome", "IG"),  # the household's welcome, in Igbo
    ]
    household = household_of(app, MUSA)
    assert household is not None and household.name == "Ngozi Eze"
    phone = phone_row(app, MUSA)
    assert phone is not None and phone.language == "IG"


@pytest.mark.parametrize("language", ["PCM", "YO", "HA", "IG"])
def test_lang_answers_in_the_new_language(app: Flask, language: str) -> None:
    client = app.test_client()
    say(app, client, "JOIN Ada Okafor")
    reply = body(app, client, f"LANG {language}")
    assert reply != EN["language_set"].format(programme="Kolekt", language="x")
    assert say(app, client, "BAL")[0][2] == language
