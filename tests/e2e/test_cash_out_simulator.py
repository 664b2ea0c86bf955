"""Issue 20's "Done when": a household in the phone simulator registers a bank account, cashes out,
and sees the money's outcome by SMS. Texts go in at ``POST /simulator/messages`` and come back in
``GET /simulator/conversation``; a real RQ worker in burst mode runs the jobs (the account's name,
the transfer, the texts). Once with the default console payouts provider, once with
``PAYOUT_PROVIDER=paystack`` against tests/fake_paystack.py, which posts its signed webhook to the
app served on a port of its own."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select

from service.db import transaction
from service.jobs.payouts import refresh_banks
from service.models import Household
from service.usecases.catalogue import set_rate
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from tests.e2e.helpers import sessions
from tests.e2e.helpers import simulator_send as send
from tests.fake_paystack import FakePaystack
from tests.payout_helpers import check_books, paystack_settings, served, work

ADA = "+2348031234567"
TUNDE = "+2348030000001"  # a collector
SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def conversation(client: FlaskClient) -> list[dict[str, str]]:
    response = client.get("/simulator/conversation", query_string={"phone": ADA})
    assert response.status_code == 200
    messages: list[dict[str, str]] = response.get_json()["messages"]
    return messages


def last_text(client: FlaskClient, starting: str = "") -> dict[str, str]:
    """The newest text to the household (that starts with ``starting``): other texts may come
    between, such as the milestone the first pickup reached."""
    out = [m for m in conversation(client) if m["direction"] == "out" and m["body"].startswith(starting)]
    return out[-1] if out else {"body": "", "status": ""}


def cash_out_in_the_simulator(app: Flask, redis: Redis, name: str) -> dict[str, object]:
    """The household's side, text by text; the figures at the end."""
    client = app.test_client()
    now = datetime.now(UTC)
    with transaction(sessions(app)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        add_collector(session, TUNDE, "Tunde Bakare", zone.id, now)
        set_rate(session, "PET", 10, 2, SINCE, "test", now)

    assert send(client, "JOIN Ada Okafor, 12 Adeniyi St Yaba")[0].startswith("Welcome to Kolekt, Ada!")
    with transaction(sessions(app)) as session:
        code = session.execute(select(Household.member_code)).scalar_one()
    assert send(client, f"LOG {code} PET 80 #1", TUNDE)[0].startswith("OK ")  # 800 points
    assert send(client, "BAL")[0].startswith("Kolekt: 800 pts")

    assert send(client, "BANK GTB 0123456789") == [
        "Checking GTBank ****6789. We will text you the name on the account: then text YES if it is yours."
    ]
    work(redis, lambda: last_text(client, "Name: ")["body"] != "", "the account's name")
    assert last_text(client, "Name: ")["body"] == (
        f"Name: {name}, GTBank ****6789. Text YES in 30 min to save it for cash-out. Wrong? Send BANK again."
    )
    assert send(client, "YES") == [
        "Kolekt: GTBank ****6789 is saved for cash-out. Text REDEEM CASH and the naira, e.g. REDEEM CASH 500."
    ]
    started = time.perf_counter()
    (held,) = send(client, "REDEEM CASH 500")
    found = re.fullmatch(
        r"NGN 500 is on its way to GTBank \*\*\*\*6789: 500 pts held\. "
        r"We will text you when it is paid\. Ref (\w+)",
        held,
    )
    assert found is not None, held
    ref = found.group(1)

    def sent_and_delivered() -> bool:
        last = last_text(client)
        return "sent to" in last["body"] and last["status"] == "delivered"

    work(redis, sent_and_delivered, "the outcome texted")
    seconds = time.perf_counter() - started
    assert last_text(client)["body"] == (
        f"Kolekt: NGN 500 sent to GTBank ****6789. Not there by tomorrow? Call the hub with ref {ref}"
    )
    bodies = [m["body"] for m in conversation(client)]
    assert sum("sent to GTBank" in body for body in bodies) == 1
    assert send(client, "BAL")[0].startswith("Kolekt: 300 pts")
    with transaction(sessions(app)) as session:
        figures = check_books(session, {ADA: 800})
    assert figures == {ADA: {"balance": 300, "paid": 500, "unfinished": 0}}
    return {"ref": ref, "seconds": seconds}


def test_a_household_cashes_out_in_the_simulator_with_the_console_provider(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    app = make_app()  # SMS_GATEWAY=console, PAYOUT_PROVIDER=console: the defaults
    done = cash_out_in_the_simulator(app, redis, "AISHA ABUBAKAR")
    print(f"\nsimulator, console payouts: REDEEM CASH 500 -> 'sent' delivered in {done['seconds']:.2f}s")


@pytest.mark.parametrize("settle_delay", [0.05, 0.5])
def test_a_household_cashes_out_in_the_simulator_through_paystack(
    make_app: Callable[..., Flask], redis: Redis, settle_delay: float
) -> None:
    with ExitStack() as stack:
        fake = stack.enter_context(FakePaystack(auto_settle="success", settle_delay=settle_delay))
        app = make_app(**paystack_settings(fake))
        fake.webhook_url = stack.enter_context(served(app)) + "/payouts/paystack"
        assert refresh_banks() == 20  # the worker's clock does it first thing
        done = cash_out_in_the_simulator(app, redis, "HAUWA BELLO")
        assert len(fake.transfers) == 1 and fake.webhook_errors == []
        transfer = fake.transfer(fake.transfers[0])
        assert transfer is not None and (transfer["amount"], transfer["status"]) == (50_000, "success")
        assert transfer["reason"] == f"Kolekt cash-out {done['ref']}"
    print(f"\nsimulator, fake Paystack: REDEEM CASH 500 -> 'sent' delivered in {done['seconds']:.2f}s")
