"""Paystack's webhooks end to end, through the Flask test client: ``POST /payouts/paystack`` with
``PAYOUT_PROVIDER=paystack`` pointed at tests/fake_paystack.py. Only a body signed with the secret
key (``x-paystack-signature``, HMAC-SHA512) is read; each event is acted on once, in any order.

The household gets its payout the way a household does (JOIN, BANK, YES, REDEEM CASH through the
simulator; the account's name and the transfer by their jobs, run here), so every webhook below
speaks of a transfer the fake really holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.pool import NullPool
from werkzeug.test import TestResponse

import ledger
from ledger import TransferRequest
from service.accounts import ISSUANCE, member_account, open_programme_accounts
from service.db import make_engine, transaction
from service.jobs.payouts import refresh_banks, resolve_payout_account, send_payout
from service.models import Household, Payout, PayoutAccount
from tests.e2e.conftest import snapshot
from tests.e2e.helpers import PHONE, read, sessions
from tests.fake_paystack import FakePaystack
from tests.payout_helpers import bodies_to, check_books, paystack_settings

PATH = "/payouts/paystack"


@pytest.fixture
def paystack() -> Iterator[FakePaystack]:
    with FakePaystack() as fake:
        yield fake


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis, paystack: FakePaystack) -> Flask:
    made = make_app(**paystack_settings(paystack))
    with transaction(sessions(made)) as session:
        open_programme_accounts(session)
    assert refresh_banks() == 20
    return made


@pytest.fixture
def engine(app: Flask) -> Iterator[Engine]:
    made = make_engine(app.extensions["kolekt.runtime"].settings.database_url, poolclass=NullPool)
    yield made
    made.dispose()


def say(app: Flask, text: str) -> list[str]:
    response = app.test_client().post("/simulator/messages", json={"from": PHONE, "text": text})
    assert response.status_code == 201, response.get_data(as_text=True)
    return [reply["body"] for reply in response.get_json()["replies"]]


def cashed_out(app: Flask) -> Payout:
    """A household with 800 points cashes out NGN 500: the fake holds the transfer, pending."""
    say(app, "JOIN Ada Okafor")
    with transaction(sessions(app)) as session:
        code = session.execute(select(Household.member_code)).scalar_one()
        ledger.post(session, TransferRequest(ISSUANCE, member_account(code), 800, "pickup_credit", "e2e"))
    say(app, "BANK GTB 0123456789")
    (account_id,) = read(app, select(PayoutAccount.id))
    assert resolve_payout_account(account_id) == "name texted"
    assert say(app, "YES")[0].startswith("Kolekt: GTBank ****6789 is saved")
    assert say(app, "REDEEM CASH 500")[0].startswith("NGN 500 is on its way")
    (payout,) = read(app, select(Payout))
    assert send_payout(payout.id) == "under way"
    return payout_of(app)


def payout_of(app: Flask) -> Payout:
    (payout,) = read(app, select(Payout))
    return payout  # type: ignore[no-any-return]


def post(app: Flask, body: bytes, signature: str | None) -> TestResponse:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-paystack-signature"] = signature
    return app.test_client().post(PATH, data=body, headers=headers)


def deliver(app: Flask, fake: FakePaystack, body: bytes) -> Any:
    """Post the body signed as Paystack signs it; Kolekt must answer 200 (else Paystack resends)."""
    response = post(app, body, fake.sign(body))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["status"]


def edited(body: bytes, **data: object) -> bytes:
    """The same event with some of its transfer's fields changed (a new body, a new digest)."""
    payload = json.loads(body)
    payload["data"].update(data)
    return json.dumps(payload).encode()


def sent_texts(app: Flask, template: str) -> list[str]:
    with transaction(sessions(app)) as session:
        return bodies_to(session, PHONE, template)


def books(app: Flask) -> dict[str, Any]:
    with transaction(sessions(app)) as session:
        return check_books(session, {PHONE: 800})[PHONE]  # type: ignore[no-any-return]


def but_events(state: dict[str, list[str]]) -> dict[str, list[str]]:
    return {table: rows for table, rows in state.items() if table != "payout_events"}


def test_a_signed_success_settles_the_payout_and_texts_the_household(
    app: Flask, paystack: FakePaystack
) -> None:
    payout = cashed_out(app)
    paystack.settle(payout.reference, "success")
    assert deliver(app, paystack, paystack.webhook(payout.reference)) == "paid"
    settled, transfer = payout_of(app), paystack.transfer(payout.reference)
    assert transfer is not None and settled.status == "paid"
    assert settled.transfer_code == transfer["transfer_code"]
    (sent,) = sent_texts(app, "cash_sent")
    assert sent == (
        "Kolekt: NGN 500 sent to GTBank ****6789. Not there by tomorrow? "
        f"Call the hub with ref {settled.human_ref}"
    )
    assert books(app) == {"balance": 300, "paid": 500, "unfinished": 0}


def test_a_bad_or_missing_signature_is_403_and_changes_nothing(
    app: Flask, paystack: FakePaystack, engine: Engine, subtests: pytest.Subtests
) -> None:
    payout = cashed_out(app)
    paystack.settle(payout.reference, "success")
    body = paystack.webhook(payout.reference)
    good = paystack.sign(body)
    other_key = FakePaystack(secret_key="sk_test_another0000000000000000000000000000")
    before = snapshot(engine)
    for case, signature in {
        "missing": None,
        "empty": "",
        "spaces": "   ",
        "wrong": "0" * 128,
        "truncated": good[:-2],
        "another key": other_key.sign(body),
        "another body": paystack.sign(body + b" "),
        "sha256": good[:64],
        "not hex": "é" * 128,
    }.items():
        with subtests.test(case):
            response = post(app, body, signature)
            assert response.status_code == 403
            assert response.get_json()["error"]["code"] == "forbidden"
            assert snapshot(engine) == before
    assert payout_of(app).status == "pending" and sent_texts(app, "cash_sent") == []


def test_a_body_that_is_not_an_event_is_400_and_changes_nothing(
    app: Flask, paystack: FakePaystack, engine: Engine, subtests: pytest.Subtests
) -> None:
    payout = cashed_out(app)
    paystack.settle(payout.reference, "success")
    without_reference = json.loads(paystack.webhook(payout.reference))
    del without_reference["data"]["reference"]
    before = snapshot(engine)
    for case, body in {
        "not json": b"event=transfer.success",
        "cut short": paystack.webhook(payout.reference)[:-10],
        "a list": b"[]",
        "no event": b'{"data": {}}',
        "no reference": json.dumps(without_reference).encode(),
        "too large": b'{"event": "transfer.success", "pad": "' + b"x" * 70_000 + b'"}',
    }.items():
        with subtests.test(case):
            response = post(app, body, paystack.sign(body))
            assert response.status_code == 400
            assert snapshot(engine) == before
    assert payout_of(app).status == "pending"


def test_a_replayed_event_is_acted_on_once(app: Flask, paystack: FakePaystack, engine: Engine) -> None:
    payout = cashed_out(app)
    paystack.settle(payout.reference, "success")
    body = paystack.webhook(payout.reference)
    assert deliver(app, paystack, body) == "paid"
    after_first = snapshot(engine)
    for _ in range(3):
        assert deliver(app, paystack, body) == "seen already"
    assert snapshot(engine) == after_first
    assert len(sent_texts(app, "cash_sent")) == 1 and len(after_first["payout_events"]) == 1
    assert books(app) == {"balance": 300, "paid": 500, "unfinished": 0}


def test_events_out_of_order_are_each_acted_on_at_most_once(
    app: Flask, paystack: FakePaystack, engine: Engine
) -> None:
    payout = cashed_out(app)
    paystack.settle(payout.reference, "success")
    success = paystack.webhook(payout.reference)
    assert deliver(app, paystack, success) == "paid"
    paid = snapshot(engine)

    # success again (a new body: Paystack's later copy), then failed after success: nothing moves
    assert deliver(app, paystack, edited(success, updated_at="2026-01-05T10:05:00.000Z")) == "paid already"
    failed = edited(success, status="failed", transferred_at=None)
    failed = failed.replace(b'"transfer.success"', b'"transfer.failed"')
    assert deliver(app, paystack, failed) == "paid already; the failure is ignored"
    assert but_events(snapshot(engine)) == but_events(paid)
    assert payout_of(app).status == "paid" and len(sent_texts(app, "cash_sent")) == 1

    # reversed after success: the paid transfer and the debit reversed, the household told; once
    paystack.settle(payout.reference, "reversed")
    reversed_body = paystack.webhook(payout.reference)
    assert deliver(app, paystack, reversed_body) == "reversed"
    assert deliver(app, paystack, edited(reversed_body, updated_at="2026-01-06T00:00:00.000Z")) == (
        "reversed already"
    )
    assert deliver(app, paystack, success) == "seen already"
    assert deliver(app, paystack, edited(success, id=1)) == "paid after it was reversed: for the hub"
    settled = payout_of(app)
    assert settled.status == "reversed" and settled.final_at is not None
    with transaction(sessions(app)) as session:
        posted = {t.code: t for t in ledger.transfers_for(session, f"payout:{settled.id}")}
    assert sorted(posted) == ["payout", "payout_paid", "payout_reversed", "refund"]
    assert posted["payout_reversed"].reverses == posted["payout_paid"].id
    assert posted["refund"].reverses == posted["payout"].id
    (told,) = sent_texts(app, "cash_refunded")
    assert told.startswith("Kolekt: NGN 500 not sent: the bank sent it back. Your 500 pts are back.")
    assert books(app) == {"balance": 800, "paid": 0, "unfinished": 0}


def test_an_unknown_reference_or_an_event_kolekt_does_not_act_on_is_200_and_changes_nothing(
    app: Flask, paystack: FakePaystack, engine: Engine
) -> None:
    payout = cashed_out(app)
    paystack.settle(payout.reference, "success")
    success = paystack.webhook(payout.reference)
    before = snapshot(engine)
    assert deliver(app, paystack, edited(success, reference="kolekt-0000000000000000")) == "unknown reference"
    ignored = success.replace(b'"transfer.success"', b'"transferrecipient.created"')
    assert deliver(app, paystack, ignored) == "not acted on"
    charge = b'{"event": "charge.success", "data": {"reference": "T123456789", "amount": 10000}}'
    assert deliver(app, paystack, charge) == "not acted on"
    after = snapshot(engine)
    assert but_events(after) == but_events(before) and len(after["payout_events"]) == 3
    assert payout_of(app).status == "pending" and books(app)["unfinished"] == 500


def test_with_the_console_provider_every_webhook_is_403(
    make_app: Callable[..., Flask], redis: Redis, subtests: pytest.Subtests
) -> None:
    app = make_app()  # PAYOUT_PROVIDER=console: no key, nothing can be signed
    fake = FakePaystack()
    body = b'{"event": "transfer.success", "data": {"reference": "kolekt-0000000000000000", "amount": 1}}'
    engine = make_engine(app.extensions["kolekt.runtime"].settings.database_url, poolclass=NullPool)
    before = snapshot(engine)
    for case, signature in {"signed": fake.sign(body), "unsigned": None, "empty": ""}.items():
        with subtests.test(case):
            assert post(app, body, signature).status_code == 403
    assert snapshot(engine) == before
    engine.dispose()
