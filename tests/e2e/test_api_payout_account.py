"""The collector app's ``POST /api/v1/households/{code}/payout-account``: the account's name asked
of Paystack and answered (``confirm`` false), then saved (``confirm`` true, ``registered_by``
"collector:<id>", the household texted the change, audited); every refusal a JSON error with its
status, nothing saved."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

from service.models import audit_log_t, outbox_t
from service.providers.payouts import ConsolePayouts, PaystackPayouts
from service.usecases import banks
from tests.e2e.api_helpers import ADA, MUSA, NGOZI, TUNDE, Api, error_of
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub
from tests.fake_paystack import FakePaystack
from tests.payout_helpers import paystack_settings, saved_accounts

NUBAN = "0123456789"
NAME = ConsolePayouts().resolve(NUBAN, "058")  # the console's name for it, from its digits


def rows(api: Api) -> dict[str, list[str]]:
    """Every row but the tokens' (a call notes when its token was last used)."""
    return {table: found for table, found in snapshot(api.runtime.engine).items() if table != "api_tokens"}


def path(api: Api, phone: str) -> str:
    return f"/households/{api.code(phone)}/payout-account"


def accounts(api: Api, phone: str) -> list[tuple[Any, ...]]:
    household_id = api.member(phone).id
    return list(api.read(lambda s: saved_accounts(s, household_id)))


def audit(api: Api) -> list[tuple[str, str, dict[str, object]]]:
    rows = api.read(
        lambda s: s.execute(
            select(audit_log_t.c.actor, audit_log_t.c.subject, audit_log_t.c.details)
            .where(audit_log_t.c.action == "payout_account.add")
            .order_by(audit_log_t.c.id)
        ).all()
    )
    return [(actor, subject, json.loads(details)) for actor, subject, details in rows]


def test_a_collector_checks_the_name_then_saves_the_account(api: Api, musa: str) -> None:
    unchanged = rows(api)
    checked = api.post(path(api, ADA), musa, json={"bank_code": "058", "account_number": "0123-456-789"})
    assert checked.status_code == 200, checked.get_data(as_text=True)
    assert checked.json == {
        "household": api.code(ADA),
        "bank_code": "058",
        "bank": "GTBank",
        "account": "****6789",
        "account_name": NAME,
        "saved": False,
        "usable_from": None,
    }
    assert rows(api) == unchanged  # only the name: nothing saved, no one texted

    saved = api.post(
        path(api, ADA), musa, json={"bank_code": "058", "account_number": NUBAN, "confirm": True}
    )
    assert saved.status_code == 201, saved.get_data(as_text=True)
    body = saved.json
    assert body is not None and body["saved"] is True and body["account_name"] == NAME
    usable_from = datetime.fromisoformat(body["usable_from"])
    cooling_off = timedelta(hours=api.runtime.settings.payout_cooling_off_hours)
    assert abs(usable_from - (datetime.now(UTC) + cooling_off)) < timedelta(minutes=1)
    musa_id = api.collector_id(MUSA)
    assert accounts(api, ADA) == [("active", "058", NUBAN, NAME, f"collector:{musa_id}")]
    (notice,) = api.outbox(ADA, "bank_changed_notice")
    assert "GTBank ****6789" in notice and "Not you? Call the hub now." in notice
    ((actor, subject, details),) = audit(api)
    assert actor == "Musa Ibrahim"  # the collector, as the token names them
    assert subject == f"member:{api.code(ADA)}"
    assert details == {
        "bank": "Guaranty Trust Bank",
        "account": "****6789",
        "name": NAME,
        "via": "api",
        "by": f"collector:{musa_id}",
    }


def test_an_operator_saves_one_and_an_auditor_may_not(api: Api) -> None:
    operator, auditor = api.user_token("operator"), api.user_token("auditor")
    body = {"bank_code": "057", "account_number": "2233445566", "confirm": True}
    error_of(api.post(path(api, NGOZI), auditor, json=body), 403, "forbidden")
    assert accounts(api, NGOZI) == []
    saved = api.post(path(api, NGOZI), operator, json=body)
    assert saved.status_code == 201
    ((status, code, number, _, by),) = accounts(api, NGOZI)
    assert (status, code, number) == ("active", "057", "2233445566") and by.startswith("user:")
    assert by.endswith("@hub.example")


def test_refusals_answer_json_with_their_status_and_save_nothing(api: Api, musa: str) -> None:
    unchanged = rows(api)
    cases = (
        ({"bank_code": "058", "account_number": "12345"}, 422, "bad_account_number", "account_number"),
        ({"bank_code": "058", "account_number": "01234567890"}, 422, "bad_account_number", "account_number"),
        ({"bank_code": "999", "account_number": NUBAN}, 422, "unknown_bank", "bank_code"),
        ({"bank_code": "058", "account_number": "1234560000"}, 422, "account_not_found", "account_number"),
        ({"bank_code": "058", "account_number": NUBAN, "confirm": "yes"}, 422, None, "confirm"),
        ({"bank_code": "058", "account_number": NUBAN, "confirm": 1}, 422, None, "confirm"),
        ({"account_number": NUBAN}, 422, None, "bank_code"),
    )
    for body, status, code, field in cases:
        error = error_of(
            api.post(path(api, TUNDE), musa, json={**body, "confirm": body.get("confirm", True)}),
            status,
            code,
        )
        assert field in error["fields"], (body, error)
    # A household of another zone is not Musa's to see, nor one that does not exist.
    error_of(
        api.post(path(api, NGOZI), musa, json={"bank_code": "058", "account_number": NUBAN}), 404, "not_found"
    )
    error_of(
        api.post(
            "/households/K0000X/payout-account", musa, json={"bank_code": "058", "account_number": NUBAN}
        ),
        404,
    )
    error_of(api.post(path(api, TUNDE), json={"bank_code": "058", "account_number": NUBAN}), 401)
    error_of(api.post(path(api, TUNDE), musa, data="bank_code=058", content_type="text/plain"), 422)
    assert rows(api) == unchanged


def test_the_banks_and_the_account_saved_now_are_read_before_saving(api: Api, musa: str) -> None:
    listed = api.get("/banks", musa)
    assert listed.status_code == 200
    by_code = {bank["code"]: bank for bank in listed.json["banks"]}
    assert by_code["058"] == {"code": "058", "name": "Guaranty Trust Bank", "short": "GTBank"}
    assert listed.json["cooling_off_hours"] == 24
    names = [bank["name"] for bank in listed.json["banks"]]
    assert names == sorted(names) and len(names) >= 20

    assert api.get(path(api, ADA), musa).json == {"household": api.code(ADA), "current": None}
    body = {"bank_code": "058", "account_number": NUBAN, "confirm": True}
    saved = api.post(path(api, ADA), musa, json=body).json
    assert api.get(path(api, ADA), musa).json == {"household": api.code(ADA), "current": {**saved}}
    # An auditor reads it; a collector of another zone, or without a token, does not.
    assert api.get(path(api, ADA), api.user_token("auditor")).json["current"]["account"] == "****6789"
    error_of(api.get(path(api, NGOZI), musa), 404, "not_found")
    error_of(api.get(path(api, ADA)), 401)
    error_of(api.get("/banks"), 401)


@pytest.fixture
def paystack() -> Iterator[FakePaystack]:
    with FakePaystack() as fake:
        yield fake


@pytest.fixture
def paystack_api(make_app: Callable[..., Flask], redis: Redis, paystack: FakePaystack) -> Api:
    hub = Hub(make_app(**paystack_settings(paystack, timeout=2)))
    hub.seed()
    now = datetime.now(UTC)
    client = PaystackPayouts(paystack.secret_key, paystack.url, timeout=5)
    hub.read(lambda s: banks.refresh(s, client.banks("nigeria"), "nigeria", now))
    client.close()
    return Api(hub)


def test_paystack_names_the_account_and_its_silence_is_a_502(
    paystack_api: Api, paystack: FakePaystack
) -> None:
    api = paystack_api
    musa = api.collector_token(MUSA)
    paystack.names[("033", "3344556677")] = "Tunde  Bakare"
    body = {"bank_code": "033", "account_number": "3344556677"}
    checked = api.post(path(api, TUNDE), musa, json=body)
    assert checked.status_code == 200 and checked.json is not None
    assert (checked.json["account_name"], checked.json["bank"]) == ("TUNDE BAKARE", "UBA")
    (asked,) = [seen for seen in paystack.seen if seen.path == "/bank/resolve"]
    assert asked.query == {"account_number": "3344556677", "bank_code": "033"}

    unchanged = rows(api)
    paystack.unavailable(count=1, path="/bank/resolve")
    error_of(api.post(path(api, TUNDE), musa, json={**body, "confirm": True}), 502, "paystack_unavailable")
    paystack.slow(3, path="/bank/resolve")  # past PAYSTACK_TIMEOUT_SECONDS (2)
    error_of(api.post(path(api, TUNDE), musa, json={**body, "confirm": True}), 502, "paystack_unavailable")
    paystack.slow(0, path="/bank/resolve")
    error = error_of(
        api.post(path(api, TUNDE), musa, json={"bank_code": "033", "account_number": "3344550000"}), 422
    )
    assert error["code"] == "account_not_found" and "UBA has no account 3344550000" in error["message"]
    assert rows(api) == unchanged

    saved = api.post(path(api, TUNDE), musa, json={**body, "confirm": True})
    assert saved.status_code == 201
    assert [row[:4] for row in accounts(api, TUNDE)] == [("active", "033", "3344556677", "TUNDE BAKARE")]
    texted = api.read(
        lambda s: (
            s.execute(
                select(outbox_t.c.template).where(
                    outbox_t.c.to_phone == TUNDE, outbox_t.c.template.like("bank_%")
                )
            )
            .scalars()
            .all()
        )
    )
    assert texted == ["bank_changed_notice"]


def test_the_endpoint_is_in_the_api_reference(api: Api) -> None:
    document = api.get("/openapi.json").json
    assert document is not None
    operation = document["paths"]["/api/v1/households/{code}/payout-account"]["post"]
    assert set(operation["responses"]) - {"default"} == {
        "200",
        "201",
        "401",
        "403",
        "404",
        "422",
        "429",
        "502",
    }
    assert set(document["paths"]["/api/v1/banks"]["get"]["responses"]) - {"default"} == {"200", "401", "429"}
    page = api.get("/docs").get_data(as_text=True)
    assert "POST /api/v1/households/{code}/payout-account" in page
    assert "GET /api/v1/households/{code}/payout-account" in page and "GET /api/v1/banks" in page
