"""The phone simulator: its page, its JSON API and the ``sms simulate`` command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis

from service.settings import Settings
from tests.conftest import TWILIO_TEST_SETTINGS, run_cli
from tests.e2e.helpers import AT_SETTINGS, NOTHING, PHONE, counts, inbound_rows, outbox_rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def send(client: FlaskClient, text: str, sender: str = PHONE) -> dict[str, object]:
    response = client.post("/simulator/messages", json={"from": sender, "text": text})
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, object] = response.get_json()
    return body


def test_the_page_renders_the_phone(client: FlaskClient) -> None:
    response = client.get("/simulator")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<form class="send" id="send">' in page
    assert f'value="{PHONE}"' in page
    assert "Phone simulator" in page and "Kolekt" in page


@pytest.mark.parametrize("settings", [TWILIO_TEST_SETTINGS, AT_SETTINGS], ids=["twilio", "africastalking"])
def test_with_a_real_gateway_the_simulator_is_not_there(
    make_app: Callable[..., Flask], subtests: pytest.Subtests, settings: dict[str, object]
) -> None:
    app = make_app(**settings)
    for method, path in (
        ("GET", "/simulator"),
        ("POST", "/simulator/messages"),
        ("GET", f"/simulator/conversation?phone={PHONE}"),
    ):
        with subtests.test(method=method, path=path):
            response = app.test_client().open(path, method=method, json={"from": PHONE, "text": "JOIN Eve"})
            assert response.status_code == 404
            error = response.get_json()["error"]
            assert error["code"] == "not_found"
            assert "SMS_GATEWAY=console" in error["message"]
            assert counts(app) == NOTHING


def test_a_text_gets_its_replies_with_their_status(app: Flask, client: FlaskClient) -> None:
    body = send(client, "JOIN Ada Okafor, 12 Adeniyi St Yaba", "0803 123 4567")
    assert body["from"] == PHONE
    assert body["command"] == "Join"
    (reply,) = body["replies"]  # type: ignore[misc]
    assert reply["body"].startswith("Welcome to Kolekt, Ada! Your code is K")
    assert (reply["status"], reply["segments"], reply["encoding"]) == ("queued", 1, "GSM-7")
    assert (reply["direction"], reply["to"]) == ("out", PHONE)
    (row,) = outbox_rows(app)
    assert (reply["id"], reply["body"]) == (row.id, row.body)
    (inbound,) = inbound_rows(app)
    assert (inbound.provider, inbound.sender, inbound.recipient) == ("simulator", PHONE, "KOLEKT")

    body = send(client, "bal")
    assert body["command"] == "Balance"
    assert [r["body"] for r in body["replies"]] == [  # type: ignore[attr-defined]
        "Kolekt: 0 pts. No pickups yet. Text PICKUP to ask for one."
    ]


def test_stop_on_the_simulator_is_confirmed_by_kolekt(client: FlaskClient) -> None:
    body = send(client, "STOP")
    assert body["command"] == "Stop"
    assert [(r["status"], r["body"]) for r in body["replies"]] == [  # type: ignore[attr-defined]
        ("queued", "You will get no more texts from Kolekt. Text START to come back.")
    ]
    assert [r["status"] for r in send(client, "HELP")["replies"]] == ["suppressed"]  # type: ignore[attr-defined]


BAD_MESSAGES: dict[str, dict[str, Any]] = {
    "bad-json": {"data": "not json", "content_type": "application/json"},
    "form": {"data": "from=%2B2348031234567&text=BAL"},
    "list": {"json": ["BAL"]},
    "no-text": {"json": {"from": PHONE}},
    "no-from": {"json": {"text": "BAL"}},
    "text-int": {"json": {"from": PHONE, "text": 5}},
    "text-null": {"json": {"from": PHONE, "text": None}},
    "from-int": {"json": {"from": 2348031234567, "text": "BAL"}},
    "bad-phone": {"json": {"from": "not a phone", "text": "BAL"}},
    "empty-phone": {"json": {"from": "", "text": "BAL"}},
    "long": {"json": {"from": PHONE, "text": "x" * 2001}},
}


def test_a_bad_message_is_422_and_changes_nothing(
    app: Flask, client: FlaskClient, subtests: pytest.Subtests
) -> None:
    for case, request_kwargs in BAD_MESSAGES.items():
        with subtests.test(case):
            response = client.post("/simulator/messages", **request_kwargs)
            assert response.status_code == 422
            error = response.get_json()["error"]
            assert set(error) == {"code", "message"} and error["message"]
            assert counts(app) == NOTHING


def test_the_conversation_alternates_in_and_out_oldest_first(client: FlaskClient) -> None:
    send(client, "JOIN Ada Okafor")
    send(client, "BAL")
    send(client, "HELP", "+2348039876543")  # another phone's texts are not in this conversation
    response = client.get("/simulator/conversation", query_string={"phone": "08031234567"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["phone"] == PHONE
    messages = body["messages"]
    assert [m["direction"] for m in messages] == ["in", "out", "in", "out"]
    assert [m["body"] for m in messages[::2]] == ["JOIN Ada Okafor", "BAL"]
    assert messages[1]["body"].startswith("Welcome to Kolekt, Ada!")
    assert messages[3]["body"].startswith("Kolekt: 0 pts.")
    assert messages[1]["id"] < messages[3]["id"]


def test_the_conversation_of_a_silent_phone_is_empty(client: FlaskClient) -> None:
    response = client.get("/simulator/conversation", query_string={"phone": PHONE})
    assert response.get_json() == {"phone": PHONE, "messages": []}


def test_the_conversation_needs_a_phone(client: FlaskClient, subtests: pytest.Subtests) -> None:
    for query in ("", "?phone=", "?phone=abc"):
        with subtests.test(query=query):
            response = client.get("/simulator/conversation" + query)
            assert response.status_code == 422
            assert "phone" in response.get_json()["error"]["message"]


# --- the CLI -----------------------------------------------------------------------------------


cli = run_cli


def test_sms_simulate_prints_the_text_and_its_replies(app: Flask) -> None:
    settings: Settings = app.extensions["kolekt.runtime"].settings
    joined = cli(settings, "sms", "simulate", "--from", "08031234567", "JOIN Ada Okafor")
    assert joined.returncode == 0, joined.stderr
    result = cli(settings, "sms", "simulate", "--from", PHONE, "BAL")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{PHONE} > BAL   [Balance]",
        f"{PHONE} < Kolekt: 0 pts. No pickups yet. Text PICKUP to ask for one.   [queued, 1 x GSM-7]",
    ]
    assert joined.stdout.splitlines()[0] == f"{PHONE} > JOIN Ada Okafor   [Join]"
    assert [row.command for row in inbound_rows(app)] == ["Join", "Balance"]
    assert [row.status for row in outbox_rows(app)] == ["queued", "queued"]


def test_sms_simulate_refuses_a_bad_sender_with_exit_code_2(app: Flask, subtests: pytest.Subtests) -> None:
    settings: Settings = app.extensions["kolekt.runtime"].settings
    for sender in ("abc", "", "12"):
        with subtests.test(sender=sender):
            result = cli(settings, "sms", "simulate", "--from", sender, "BAL")
            assert result.returncode == 2
            assert result.stdout == ""
            assert result.stderr == (
                f"Error: --from {sender!r} is not a phone number (e.g. +2348031234567 or 08031234567)\n"
            )
            assert counts(app) == NOTHING


def test_sms_simulate_on_a_database_without_the_schema_says_to_upgrade(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    result = cli(make_settings(f"sqlite:///{empty}"), "sms", "simulate", "--from", PHONE, "BAL")
    assert result.returncode != 0
    assert result.stdout == ""
    # The last word is the clear one (receive() logs the failure it could not even record first).
    assert result.stderr.splitlines()[-1] == (
        "Error: the database is not ready (OperationalError); run: flask --app wsgi db upgrade"
    )
