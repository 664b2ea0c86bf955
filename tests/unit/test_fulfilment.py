"""Fulfilment without a network or a database: Africa's Talking's airtime API against a fake
``requests.Session`` (its seam, no patching), voucher codes, and the choice of fulfiller.

Expected requests and classifications are written out here, as Africa's Talking documents them,
not derived from the module under test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from ledger.refs import ALPHABET
from service.providers.fulfilment import (
    AfricasTalkingAirtime,
    ConsoleAirtime,
    Fulfilled,
    FulfilmentError,
    GoodsFulfiller,
    Order,
    VoucherFulfiller,
    fulfiller_for,
    new_voucher_code,
    show_voucher,
    store_unique,
)
from service.settings import Settings
from sms.gateways import AfricasTalkingConfig

ORDER = Order(
    redemption_id=42,
    kind="airtime",
    reward_code="AIRTIME",
    reward_name="Airtime",
    units=200,
    phone="+2348031234567",
    reference="7F2K",
)


def response(status: int, body: str | bytes) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body.encode() if isinstance(body, str) else body
    answer.encoding = "utf-8"
    return answer


def airtime_body(status: str = "Sent", request_id: str = "ATQid_1", error: str = "None") -> str:
    return json.dumps(
        {
            "errorMessage": "None",
            "numSent": 1 if status == "Sent" else 0,
            "totalAmount": "NGN 200.0000",
            "totalDiscount": "NGN 8.0000",
            "responses": [
                {
                    "phoneNumber": "+2348031234567",
                    "errorMessage": error,
                    "amount": "NGN 200.0000",
                    "status": status,
                    "requestId": request_id,
                    "discount": "NGN 8.0000",
                }
            ],
        }
    )


@dataclass
class FakeSession:
    """The part of ``requests.Session`` the client uses: canned answers or errors, in order."""

    answers: list[requests.Response | BaseException] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self.posts.append({"url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        self.closed = True


def airtime(
    *answers: requests.Response | BaseException, **changes: Any
) -> tuple[AfricasTalkingAirtime, FakeSession]:
    config = {"username": "kolekt", "api_key": "key-secret", "api_base_url": "https://at.test", **changes}
    session = FakeSession(list(answers))
    return AfricasTalkingAirtime(AfricasTalkingConfig(**config), session=session), session  # type: ignore[arg-type]


def refused(client: AfricasTalkingAirtime, order: Order = ORDER) -> FulfilmentError:
    with pytest.raises(FulfilmentError) as caught:
        client.fulfil(order)
    return caught.value


# --- Africa's Talking airtime ------------------------------------------------------------------------


def test_airtime_posts_the_documented_form_with_the_redemption_as_idempotency_key() -> None:
    client, session = airtime(response(201, airtime_body(request_id="ATQid_be914")))
    assert client.fulfil(ORDER) == Fulfilled(provider_ref="ATQid_be914")
    [post] = session.posts
    assert post["url"] == "https://at.test/version1/airtime/send"
    assert post["data"]["username"] == "kolekt"
    assert json.loads(post["data"]["recipients"]) == [{"phoneNumber": "+2348031234567", "amount": "NGN 200"}]
    assert set(post["data"]) == {"username", "recipients"}
    assert post["headers"] == {
        "apiKey": "key-secret",
        "Accept": "application/json",
        "Idempotency-Key": "redemption:42",
    }
    assert post["timeout"] == 10.0
    assert post["allow_redirects"] is False


def test_airtime_at_the_sandbox_url_with_a_trailing_slash() -> None:
    client, session = airtime(
        response(201, airtime_body()), api_base_url="https://api.sandbox.africastalking.com/"
    )
    client.fulfil(ORDER)
    assert session.posts[0]["url"] == "https://api.sandbox.africastalking.com/version1/airtime/send"


def test_a_recipient_failed_is_permanent_and_says_why() -> None:
    client, _ = airtime(response(201, airtime_body("Failed", "None", "Invalid phone number")))
    error = refused(client)
    assert error.transient is False
    assert "Failed" in str(error) and "Invalid phone number" in str(error)


def test_a_request_refused_before_any_recipient_is_permanent() -> None:
    body = json.dumps({"errorMessage": "Invalid amount", "numSent": 0, "responses": []})
    client, _ = airtime(response(201, body))
    error = refused(client)
    assert error.transient is False and "Invalid amount" in str(error)


def test_a_top_up_taken_without_a_request_id_is_tried_again() -> None:
    client, _ = airtime(response(201, airtime_body(request_id="None")))
    assert refused(client).transient is True


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 401, 403])
def test_server_errors_throttling_and_credentials_are_transient(status: int) -> None:
    client, _ = airtime(response(status, "Service Unavailable"))
    error = refused(client)
    assert error.transient is True and f"HTTP {status}" in str(error)


@pytest.mark.parametrize("status", [400, 404, 422])
def test_other_client_errors_are_permanent(status: int) -> None:
    client, _ = airtime(response(status, '{"errorMessage": "bad request"}'))
    error = refused(client)
    assert error.transient is False and f"HTTP {status}" in str(error)


@pytest.mark.parametrize(
    "error",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectTimeout("connect timed out"),
        requests.ConnectionError("connection refused"),
        requests.exceptions.ChunkedEncodingError("cut off"),
    ],
)
def test_no_answer_is_transient(error: BaseException) -> None:
    client, _ = airtime(error)
    assert refused(client).transient is True


@pytest.mark.parametrize("body", ["<html>502 Bad Gateway</html>", "{}", '{"responses": "x"}', ""])
def test_an_unreadable_success_is_transient(body: str) -> None:
    client, _ = airtime(response(201, body))
    assert refused(client).transient is True


def test_the_client_closes_only_a_session_it_made() -> None:
    client, session = airtime()
    client.close()
    assert session.closed is False
    own = AfricasTalkingAirtime(AfricasTalkingConfig(username="u", api_key="k"))
    own.close()


# --- vouchers ------------------------------------------------------------------------------------------


def test_a_voucher_code_is_ten_characters_of_the_reference_alphabet_shown_in_two_halves() -> None:
    codes = {new_voucher_code() for _ in range(2000)}
    assert len(codes) == 2000  # 50 bits each: no repeats in a few thousand
    assert all(re.fullmatch(f"[{ALPHABET}]{{10}}", code) for code in codes)
    for confusable in "01OI":
        assert not any(confusable in code for code in codes)
    assert show_voucher("ABCDEFGHJK") == "ABCDE-FGHJK"
    assert show_voucher("ABC") == "ABC"


def test_voucher_codes_use_every_character_of_the_alphabet() -> None:
    seen = set("".join(new_voucher_code() for _ in range(500)))
    assert seen == set(ALPHABET)


def test_a_taken_voucher_code_is_drawn_again_until_one_is_free() -> None:
    drawn = iter(["AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"])
    taken = {"AAAAAAAAAA", "BBBBBBBBBB"}
    tried: list[str] = []

    def store(code: str) -> bool:
        tried.append(code)
        return code not in taken

    assert store_unique(store, lambda: next(drawn)) == "CCCCCCCCCC"
    assert tried == ["AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC"]


def test_no_free_voucher_code_in_the_draws_allowed_is_a_transient_failure() -> None:
    with pytest.raises(FulfilmentError) as caught:
        store_unique(lambda _code: False, lambda: "AAAAAAAAAA", draws=3)
    assert caught.value.transient is True


def test_local_fulfillers() -> None:
    voucher = VoucherFulfiller().fulfil(ORDER)
    assert voucher.voucher_code is not None and len(voucher.voucher_code) == 10
    assert GoodsFulfiller().fulfil(ORDER) == Fulfilled(provider_ref="hub:7F2K")
    assert ConsoleAirtime().fulfil(ORDER) == Fulfilled(provider_ref="console:42")


# --- the choice -----------------------------------------------------------------------------------------


def settings(**changes: Any) -> Settings:
    return Settings(
        database_url="sqlite://", redis_url="", secret_key="x", instance_dir=Path("/nonexistent"), **changes
    )


def test_the_settings_choose_the_airtime_provider() -> None:
    assert isinstance(fulfiller_for("airtime", settings()), ConsoleAirtime)
    chosen = fulfiller_for(
        "airtime",
        settings(
            airtime_provider="africastalking",
            africastalking_username="kolekt",
            africastalking_api_key="k",
            africastalking_api_base_url="https://at.test",
        ),
    )
    assert isinstance(chosen, AfricasTalkingAirtime)
    assert chosen.url == "https://at.test/version1/airtime/send"
    chosen.close()
    assert isinstance(fulfiller_for("voucher", settings()), VoucherFulfiller)
    assert isinstance(fulfiller_for("goods", settings()), GoodsFulfiller)
    with pytest.raises(ValueError, match="kind"):
        fulfiller_for("cash", settings())
