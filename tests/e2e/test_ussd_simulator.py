"""The phone simulator's USSD phone: ``POST /simulator/ussd`` dials and answers through
``ussd.respond``, as Africa's Talking's callback does, on the demo programme (``Hub.seed``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select

import ledger
from service.accounts import member_account
from service.channels.simulator import USSD_SERVICE_CODE
from service.db import transaction
from service.models import Collection, CollectionLine, Household, InboundMessage
from sms.gsm import is_gsm7
from sms.ussd import MAX_SCREEN
from tests.e2e.helpers import AT_SETTINGS, NOTHING, counts, inbound_rows, outbox_rows, read, sessions
from tests.e2e.hub import Hub

ADA = "+2348031234567"  # a household of the demo, K0001E, 210 pts
MUSA = "+2348030000001"  # the demo's collector in Yaba, Ada's zone
STRANGER = "+2348099990000"
PATH = "/simulator/ussd"


@dataclass
class Phone:
    """The page's USSD phone: ``dial`` starts a session, ``send`` types one answer."""

    client: FlaskClient
    phone: str
    session: str | None = None
    answers: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)

    def post(self, answers: list[str]) -> str:
        body: dict[str, Any] = {"phone": self.phone, "answers": answers}
        if self.session is not None:
            body["session"] = self.session
        response = self.client.post(PATH, json=body)
        assert response.status_code == 200, response.get_data(as_text=True)
        found = response.get_json()
        screen = found["screen"]
        assert screen.startswith(("CON ", "END ")), screen
        assert len(screen) <= MAX_SCREEN and is_gsm7(screen), screen
        assert found["ended"] == screen.startswith("END ")
        assert found["service_code"] == USSD_SERVICE_CODE
        assert re.fullmatch(r"SIM_[0-9a-f]{32}", found["session"])
        if self.session is not None:
            assert found["session"] == self.session  # the same session throughout
        self.session = found["session"]
        self.answers = answers
        self.screens.append(screen)
        return str(screen)

    def dial(self) -> str:
        self.session = None
        return self.post([])

    def send(self, *answers: str) -> str:
        screen = ""
        for answer in answers:
            screen = self.post([*self.answers, answer])
        return screen


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    app = make_app()
    Hub(app).seed()
    return app


def points_of(app: Flask, code: str) -> int:
    with transaction(sessions(app)) as session:
        return ledger.balance(session, member_account(code)).credit_balance


def test_the_page_has_a_ussd_phone_beside_the_sms_one(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/simulator").get_data(as_text=True)
    assert '<form class="send" id="send">' in page  # the SMS phone is still there
    assert 'id="ussd"' in page and 'data-endpoint="/simulator/ussd"' in page
    assert f"Dial {USSD_SERVICE_CODE}" in page and "Hang up" in page
    assert '<form class="send" id="ussd-send">' in page
    script = re.search(r'<script src="([^"]+)" defer></script>', page)
    assert script and script.group(1) == "/static/simulator_ussd.js"
    served = client.get(script.group(1))
    assert served.status_code == 200 and "javascript" in served.mimetype
    assert "fetch(endpoint, {" in served.get_data(as_text=True)
    served.close()


def test_a_household_dials_and_checks_its_points(app: Flask) -> None:
    ada = Phone(app.test_client(), "0803 123 4567")
    home = ada.dial()
    assert home.startswith("CON Kolekt: 210 pts\n1 Points & history\n")
    assert home.endswith("\n9 More")
    assert inbound_rows(app) == []  # a menu shown does nothing
    end = ada.send("1")
    assert end.startswith("END Kolekt: ") and end.endswith("Bal 210.")
    (row,) = inbound_rows(app)
    assert (row.provider, row.provider_message_id, row.sender) == ("ussd", ada.session, ADA)
    assert (row.recipient, row.body, row.command) == (USSD_SERVICE_CODE, "HIST", "History")

    # Sent again (as a network may), the same screen; nothing is done twice.
    assert ada.post(["1"]) == end
    assert len(inbound_rows(app)) == 1
    # Dialled again (after a hang-up): a new session, from the top.
    first = ada.session
    assert ada.dial() == home
    assert ada.session != first
    assert ada.send("9", "0", "4").startswith("CON Rewards, you have 210 pts:\n1 Airtime")


def test_a_collector_logs_a_pickup_and_the_household_gets_the_points(app: Flask) -> None:
    musa = Phone(app.test_client(), MUSA)
    assert musa.dial() == "CON Kolekt collector\n1 Log a pickup\n2 Today\n3 Route\n4 Register household"
    materials = musa.send("1", "K0001E")
    assert materials.startswith("CON K0001E")
    (pet,) = re.findall(r"^(\d) PET$", materials, re.MULTILINE)
    assert musa.send(pet) == "CON PET for K0001E: kg, e.g. 4.5\n0 Back"
    summary = musa.send("4,5")
    found = re.fullmatch(r"CON K0001E: PET 4\.5kg = (\d+) pts\n1 Confirm\n2 Add material\n0 Back", summary)
    assert found, summary
    points = int(found.group(1))
    assert points > 0
    assert read(app, select(Collection.id).where(Collection.inbound_id.is_not(None))) == []  # nothing yet

    end = musa.send("1")
    logged = re.fullmatch(rf"END OK (\w{{4}}): K0001E PET 4\.5kg = {points} pts\.", end)
    assert logged, end
    (pickup,) = read(app, select(Collection).where(Collection.reference == logged.group(1)))
    (inbound,) = read(app, select(InboundMessage).where(InboundMessage.id == pickup.inbound_id))
    assert (inbound.provider, inbound.sender, inbound.command) == ("ussd", MUSA, "Log")
    assert (pickup.grams, pickup.points, pickup.status) == (4500, points, "credited")
    (line,) = read(app, select(CollectionLine).where(CollectionLine.collection_id == pickup.id))
    assert (line.material_code, line.grams) == ("PET", 4500)
    assert points_of(app, "K0001E") == 210 + points
    receipts = [row.body for row in outbox_rows(app, to=ADA)]
    assert len(receipts) == 1 and logged.group(1) in receipts[0]

    # Resent after the end: the same screen, no second pickup, no second receipt.
    assert musa.post(musa.answers) == end
    assert len(read(app, select(Collection.id).where(Collection.inbound_id == pickup.inbound_id))) == 1
    assert points_of(app, "K0001E") == 210 + points
    assert len(outbox_rows(app, to=ADA)) == 1

    # Ada dials and sees them.
    ada = Phone(app.test_client(), ADA)
    assert ada.dial().startswith(f"CON Kolekt: {210 + points} pts\n")


def test_a_number_that_is_nobodys_may_join(app: Flask) -> None:
    stranger = Phone(app.test_client(), STRANGER)
    assert stranger.dial().startswith("CON Welcome to Kolekt")
    assert stranger.send("1") == "CON Your name, e.g. Ada Okafor:\n0 Back"
    assert stranger.send("0").startswith("CON Welcome to Kolekt")
    assert read(app, select(Household.id).where(Household.phone == STRANGER)) == []


def test_an_answer_with_a_star_is_two_answers_as_on_a_network(app: Flask) -> None:
    ada = Phone(app.test_client(), ADA)
    ada.dial()
    assert ada.send("4*2").startswith("CON How many Rice 1kg?")


BAD_REQUESTS: dict[str, dict[str, Any]] = {
    "form": {"data": {"phone": ADA, "answers": ""}},  # a form from another site cannot post here
    "bad-json": {"data": "not json", "content_type": "application/json"},
    "list": {"json": [ADA]},
    "no-phone": {"json": {"answers": []}},
    "no-answers": {"json": {"phone": ADA}},
    "answers-text": {"json": {"phone": ADA, "answers": "1*2"}},
    "answer-int": {"json": {"phone": ADA, "answers": [1], "session": "SIM_x"}},
    "bad-phone": {"json": {"phone": "not a phone", "answers": []}},
    "answers-without-session": {"json": {"phone": ADA, "answers": ["1"]}},
    "session-int": {"json": {"phone": ADA, "answers": [], "session": 5}},
    "session-odd": {"json": {"phone": ADA, "answers": [], "session": "kolekt:ussd:x y"}},
    "session-empty": {"json": {"phone": ADA, "answers": [], "session": ""}},
    "long": {"json": {"phone": ADA, "answers": ["1"] * 501, "session": "SIM_x"}},
}


def test_a_bad_request_is_422_and_does_nothing(
    make_app: Callable[..., Flask], redis: Redis, subtests: pytest.Subtests
) -> None:
    app = make_app()
    client = app.test_client()
    for case, kwargs in BAD_REQUESTS.items():
        with subtests.test(case):
            response = client.post(PATH, **kwargs)
            assert response.status_code == 422, response.get_data(as_text=True)
            error = response.get_json()["error"]
            assert set(error) == {"code", "message"} and error["message"]
            assert counts(app) == NOTHING
            assert not list(redis.scan_iter("kolekt:ussd:*"))


def test_with_a_real_gateway_the_ussd_phone_is_not_there(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    app = make_app(**AT_SETTINGS)
    response = app.test_client().post(PATH, json={"phone": ADA, "answers": []})
    assert response.status_code == 404
    assert "SMS_GATEWAY=console" in response.get_json()["error"]["message"]
    assert not list(redis.scan_iter("kolekt:ussd:*"))
