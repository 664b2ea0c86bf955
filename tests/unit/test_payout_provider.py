"""The payouts providers without a network: Paystack's answers read through a fake
``requests.Session`` (the client's seam, no patching), the console, the webhook signature and the
choice of provider.

The answers are written out here as Paystack documents and sends them (its OpenAPI document, its
documentation's examples), not derived from the module under test.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from service.providers.payouts import (
    AccountNotFound,
    Bank,
    ConsolePayouts,
    PayoutError,
    PaystackPayouts,
    Transfer,
    payouts_for,
    signature_ok,
    transfer_from_event,
)
from service.settings import Settings

KEY = "sk_test_kolekt"
BASE = "https://paystack.test"
REFERENCE = "kolekt-3f9a0c1b2d4e5f60"


def response(status: int, body: object) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    text = body if isinstance(body, str) else json.dumps(body)
    answer._content = text.encode()
    answer.encoding = "utf-8"
    return answer


def ok(data: object, message: str = "Done", **extra: object) -> requests.Response:
    return response(200, {"status": True, "message": message, "data": data, **extra})


def refusal(status: int, message: str) -> requests.Response:
    return response(status, {"status": False, "message": message})


@dataclass
class FakeSession:
    """The part of ``requests.Session`` the client uses: canned answers or errors, in order."""

    answers: list[requests.Response | BaseException] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append({"method": method, "url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        self.closed = True


def paystack(*answers: requests.Response | BaseException) -> tuple[PaystackPayouts, FakeSession]:
    session = FakeSession(list(answers))
    return PaystackPayouts(KEY, BASE + "/", timeout=7, session=session), session  # type: ignore[arg-type]


def refused(call: Any, *args: Any) -> PayoutError:
    with pytest.raises(PayoutError) as caught:
        call(*args)
    return caught.value


def transfer_data(**changes: object) -> dict[str, object]:
    """``data`` of a /transfer answer, as Paystack's documentation shows one."""
    data: dict[str, object] = {
        "transfersessionid": [],
        "transfertrials": [],
        "domain": "test",
        "amount": 50000,
        "currency": "NGN",
        "reference": REFERENCE,
        "source": "balance",
        "source_details": None,
        "reason": "Kolekt cash-out",
        "status": "pending",
        "failures": None,
        "transfer_code": "TRF_v5tip3zx8nna9o78",
        "titan_code": None,
        "transferred_at": None,
        "id": 860703114,
        "integration": 463433,
        "request": 1068439313,
        "recipient": 56824902,
        "createdAt": "2025-08-04T10:32:40.000Z",
        "updatedAt": "2025-08-04T10:32:40.000Z",
    }
    return {**data, **changes}


# --- signatures ----------------------------------------------------------------------------------

# RFC 4231, test case 2: HMAC-SHA-512 of "what do ya want for nothing?" under the key "Jefe".
RFC_4231_SIGNATURE = (
    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
    "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
)
RFC_BODY = b"what do ya want for nothing?"


def test_a_signature_is_the_hmac_sha512_hex_of_the_raw_body() -> None:
    assert signature_ok("Jefe", RFC_BODY, RFC_4231_SIGNATURE)
    assert signature_ok("Jefe", RFC_BODY, f" {RFC_4231_SIGNATURE.upper()}\n")


@pytest.mark.parametrize(
    ("key", "body", "header"),
    [
        pytest.param("Jefe", RFC_BODY + b" ", RFC_4231_SIGNATURE, id="another-body"),
        pytest.param("jefe", RFC_BODY, RFC_4231_SIGNATURE, id="another-key"),
        pytest.param("Jefe", RFC_BODY, RFC_4231_SIGNATURE[:-1], id="cut-short"),
        pytest.param("Jefe", RFC_BODY, RFC_4231_SIGNATURE[:-1] + "8", id="one-digit-off"),
        pytest.param("Jefe", RFC_BODY, None, id="no-header"),
        pytest.param("Jefe", RFC_BODY, "", id="empty-header"),
        pytest.param("Jefe", RFC_BODY, "   ", id="blank-header"),
        pytest.param("Jefe", RFC_BODY, "é" * 128, id="not-hex"),
        pytest.param("", RFC_BODY, RFC_4231_SIGNATURE, id="no-key"),
    ],
)
def test_anything_else_is_not_paystacks_signature(key: str, body: bytes, header: str | None) -> None:
    assert signature_ok(key, body, header) is False


# --- the console ---------------------------------------------------------------------------------

# Paystack's codes for the banks the brief names (checked against Paystack's /bank list).
NIGERIAN_BANKS = {
    "Guaranty Trust Bank": "058",
    "Access Bank": "044",
    "First Bank of Nigeria": "011",
    "United Bank For Africa": "033",
    "Zenith Bank": "057",
    "OPay Digital Services Limited (OPay)": "999992",
    "PalmPay": "999991",
    "Moniepoint MFB": "50515",
    "Kuda Bank": "50211",
    "Fidelity Bank": "070",
    "First City Monument Bank": "214",
    "Sterling Bank": "232",
    "Union Bank of Nigeria": "032",
    "Wema Bank": "035",
    "Stanbic IBTC Bank": "221",
    "Ecobank Nigeria": "050",
    "Polaris Bank": "076",
    "Keystone Bank": "082",
    "Providus Bank": "101",
    "Jaiz Bank": "301",
}


def test_the_console_lists_twenty_nigerian_banks_by_paystacks_codes() -> None:
    banks = ConsolePayouts().banks()
    assert {bank.name: bank.code for bank in banks} == NIGERIAN_BANKS
    assert {(bank.type, bank.currency, bank.country, bank.active) for bank in banks} == {
        ("nuban", "NGN", "nigeria", True)
    }
    assert next(bank for bank in banks if bank.code == "058").slug == "guaranty-trust-bank"
    assert ConsolePayouts().banks("ghana") == []


def test_the_console_names_an_account_from_its_digits_every_time() -> None:
    console = ConsolePayouts()
    name = console.resolve("0123456789", "058")
    assert name == ConsolePayouts().resolve("0123456789", "058") == console.resolve("0123456789", "058")
    assert name.isupper() and len(name.split()) == 2
    names = {console.resolve(f"01234567{n:02d}", "044") for n in range(10)}
    assert len(names) == 10


@pytest.mark.parametrize(
    ("account", "bank", "why"),
    [
        ("0123450000", "058", "knows no account 0123450000"),
        ("012345678", "058", "10 digits"),
        ("01234567890", "058", "10 digits"),
        ("01234S6789", "058", "10 digits"),
        ("0123456789", "999", "no bank with code '999'"),
    ],
)
def test_the_console_does_not_find_some_accounts(account: str, bank: str, why: str) -> None:
    error = refused(ConsolePayouts().resolve, account, bank)
    assert isinstance(error, AccountNotFound)
    assert error.transient is False
    assert why in str(error)


def test_the_console_gives_the_same_account_the_same_recipient() -> None:
    console = ConsolePayouts()
    code = console.recipient("ADA OKAFOR", "0123456789", "058")
    assert code.startswith("RCP_")
    assert ConsolePayouts().recipient("Ada", "0123456789", "058") == code
    assert console.recipient("ADA OKAFOR", "0123456789", "044") != code
    assert isinstance(refused(console.recipient, "X", "0123450000", "058"), AccountNotFound)


def test_the_console_pays_at_once_and_remembers_what_it_paid() -> None:
    console = ConsolePayouts(balance_kobo=100_000)
    sent = console.transfer(60_000, "RCP_x", REFERENCE, "Kolekt cash-out")
    assert (sent.reference, sent.status, sent.amount_kobo, sent.reason) == (
        REFERENCE,
        "success",
        60_000,
        None,
    )
    assert sent.transfer_code is not None and sent.transfer_code.startswith("TRF_")
    assert console.balance() == 40_000
    # The same reference again pays nothing more.
    assert console.transfer(60_000, "RCP_x", REFERENCE, "Kolekt cash-out") == sent
    assert console.balance() == 40_000
    assert console.verify(REFERENCE) == sent
    assert console.verify("kolekt-never-sent-0000") is None
    short = refused(console.transfer, 60_000, "RCP_x", "kolekt-second-0000000", "Kolekt cash-out")
    assert short.transient is True
    assert console.balance() == 40_000


@pytest.mark.parametrize("amount", [0, -100, True, 2.5])
def test_a_transfer_is_a_whole_number_of_kobo_above_zero(amount: Any) -> None:
    assert refused(ConsolePayouts().transfer, amount, "RCP_x", REFERENCE, "r").transient is False
    client, session = paystack()
    assert refused(client.transfer, amount, "RCP_x", REFERENCE, "r").transient is False
    assert session.calls == []


def test_the_consoles_balance_is_large() -> None:
    assert ConsolePayouts().balance() >= 1_000_000_00  # NGN 1,000,000 at least


# --- Paystack: requests and answers ----------------------------------------------------------------


def bank(code: str, name: str, **changes: object) -> dict[str, object]:
    return {
        "name": name,
        "slug": name.lower().replace(" ", "-"),
        "code": code,
        "longcode": "",
        "gateway": None,
        "pay_with_bank": False,
        "supports_transfer": True,
        "available_for_direct_debit": False,
        "active": True,
        "is_deleted": False,
        "country": "Nigeria",
        "currency": "NGN",
        "type": "nuban",
        "id": 9,
        "createdAt": "2016-07-14T10:04:29.000Z",
        "updatedAt": "2020-02-18T08:06:44.000Z",
        **changes,
    }


def test_banks_are_read_page_by_page_following_the_cursor() -> None:
    client, session = paystack(
        ok([bank("058", "Guaranty Trust Bank")], meta={"next": "YmFuazo5", "previous": None, "perPage": 100}),
        ok([bank("999992", "OPay Digital Services Limited (OPay)", slug="paycom")], meta={"next": None}),
    )
    assert client.banks("Nigeria") == [
        Bank("058", "Guaranty Trust Bank", "guaranty-trust-bank", "nuban", "NGN", "nigeria", True),
        Bank("999992", "OPay Digital Services Limited (OPay)", "paycom", "nuban", "NGN", "nigeria", True),
    ]
    first, second = session.calls
    assert (first["method"], first["url"]) == ("GET", "https://paystack.test/bank")
    assert first["params"] == {"country": "nigeria", "use_cursor": "true", "perPage": "100"}
    assert second["params"] == {
        "country": "nigeria",
        "use_cursor": "true",
        "perPage": "100",
        "next": "YmFuazo5",
    }
    assert first["headers"] == {"Authorization": f"Bearer {KEY}", "Accept": "application/json"}
    assert (first["timeout"], first["allow_redirects"], first["json"]) == (7, False, None)


def test_a_bank_that_cannot_take_a_transfer_is_not_active_and_junk_is_skipped() -> None:
    client, _ = paystack(
        ok(
            [
                bank("001", "Off", active=False),
                bank("002", "Deleted", is_deleted=True),
                bank("003", "No transfers", supports_transfer=False),
                bank("  004 ", " Mobile   money ", type="mobile_money", currency=None, slug=None),
                {"name": "no code"},
                {"code": "005"},
                "junk",
            ]
        )
    )
    banks = client.banks()
    assert [(b.code, b.active) for b in banks] == [
        ("001", False),
        ("002", False),
        ("003", False),
        ("004", True),
    ]
    assert banks[-1] == Bank("004", "Mobile money", "", "mobile_money", "NGN", "nigeria", True)


def test_a_cursor_that_goes_round_stops_or_fails() -> None:
    same = {"next": "c2FtZQ=="}
    client, session = paystack(ok([bank("058", "GTBank")], meta=same), ok([bank("044", "Access")], meta=same))
    assert [b.code for b in client.banks()] == ["058", "044"]
    assert len(session.calls) == 2
    endless = [ok([bank(str(n), "B")], meta={"next": f"page{n}"}) for n in range(25)]
    client, _ = paystack(*endless)
    assert refused(client.banks).transient is True


def test_resolve_answers_the_account_name() -> None:
    client, session = paystack(
        ok(
            {"account_number": "0123456789", "account_name": " ADA  OKAFOR ", "bank_id": 9},
            "Account number resolved",
        )
    )
    assert client.resolve("0123456789", "058") == "ADA OKAFOR"
    [call] = session.calls
    assert (call["method"], call["url"]) == ("GET", "https://paystack.test/bank/resolve")
    assert call["params"] == {"account_number": "0123456789", "bank_code": "058"}


@pytest.mark.parametrize(
    "answer",
    [
        refusal(422, "Could not resolve account name. Check parameters or try again."),
        refusal(400, "Unknown bank code: 999"),
        refusal(404, "Account not found"),
        response(200, {"status": False, "message": "Could not resolve account name"}),
        ok({"account_number": "0123456789", "account_name": None, "bank_id": 9}),
        ok({"account_number": "0123456789", "account_name": "  ", "bank_id": 9}),
    ],
    ids=["422", "400-unknown-bank", "404", "status-false", "null-name", "blank-name"],
)
def test_an_account_paystack_cannot_name_is_not_found(answer: requests.Response) -> None:
    client, _ = paystack(answer)
    error = refused(client.resolve, "0123456789", "058")
    assert isinstance(error, AccountNotFound)
    assert error.transient is False
    assert "0123456789" in str(error)


@pytest.mark.parametrize(
    ("answer", "transient", "says"),
    [
        (refusal(401, "Invalid key"), True, "HTTP 401: Invalid key"),
        (refusal(403, "IP address is not allowed"), True, "HTTP 403"),
        (refusal(429, "Too many requests"), True, "HTTP 429"),
        (response(500, "<html>oops</html>"), True, "HTTP 500"),
        (response(503, ""), True, "HTTP 503: no message"),
        (response(302, ""), True, "HTTP 302"),
        (response(200, "<html>a proxy page</html>"), True, "cannot read"),
        (response(200, "[1, 2]"), True, "cannot read"),
        (requests.ConnectTimeout("connect timed out"), True, "did not answer about account 0123456789"),
        (requests.ReadTimeout("read timed out"), True, "in 7 s"),
        (requests.ConnectionError("refused"), True, "could not reach Paystack"),
        (response(422, ""), False, "HTTP 422"),
    ],
    ids=[
        "401",
        "403",
        "429",
        "500",
        "503",
        "redirect",
        "html",
        "not-an-object",
        "connect-timeout",
        "read-timeout",
        "refused",
        "422-without-body",
    ],
)
def test_other_failures_say_whether_to_try_again(
    answer: requests.Response | BaseException, transient: bool, says: str
) -> None:
    client, _ = paystack(answer)
    error = refused(client.resolve, "0123456789", "058")
    assert not isinstance(error, AccountNotFound)
    assert error.transient is transient
    assert says in str(error)


def test_a_recipient_is_made_from_the_resolved_account() -> None:
    client, session = paystack(
        response(
            201,
            {
                "status": True,
                "message": "Transfer recipient created successfully",
                "data": {"recipient_code": "RCP_gd9vgag7n5lr5ix", "type": "nuban", "currency": "NGN"},
            },
        )
    )
    assert client.recipient("ADA OKAFOR", "0123456789", "058") == "RCP_gd9vgag7n5lr5ix"
    [call] = session.calls
    assert (call["method"], call["url"]) == ("POST", "https://paystack.test/transferrecipient")
    assert call["json"] == {
        "type": "nuban",
        "name": "ADA OKAFOR",
        "account_number": "0123456789",
        "bank_code": "058",
        "currency": "NGN",
    }


def test_a_recipient_without_a_code_or_refused() -> None:
    client, _ = paystack(ok({"type": "nuban"}))
    assert refused(client.recipient, "A", "0123456789", "058").transient is True
    client, _ = paystack(refusal(400, "Account number is invalid"))
    error = refused(client.recipient, "A", "0123456789", "058")
    assert (error.transient, "Account number is invalid" in str(error)) == (False, True)


def test_a_transfer_sends_the_documented_body_and_reads_the_answer() -> None:
    client, session = paystack(ok(transfer_data(), "Transfer has been queued"))
    assert client.transfer(50_000, "RCP_gd9vgag7n5lr5ix", REFERENCE, "Kolekt cash-out") == Transfer(
        REFERENCE, "pending", "TRF_v5tip3zx8nna9o78", 50_000, None
    )
    [call] = session.calls
    assert (call["method"], call["url"]) == ("POST", "https://paystack.test/transfer")
    assert call["json"] == {
        "source": "balance",
        "amount": 50_000,
        "recipient": "RCP_gd9vgag7n5lr5ix",
        "reference": REFERENCE,
        "reason": "Kolekt cash-out",
        "currency": "NGN",
    }


def test_a_transfer_that_waits_for_an_otp_is_pending_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    client, _ = paystack(ok(transfer_data(status="otp"), "Transfer requires OTP to continue"))
    with caplog.at_level(logging.WARNING):
        assert client.transfer(50_000, "RCP_x", REFERENCE, "r").status == "otp"
    assert "OTP" in caplog.text


def test_a_duplicate_reference_answers_what_paystack_has_under_it() -> None:
    client, session = paystack(
        refusal(400, "Duplicate Transfer Reference"),
        ok(transfer_data(status="success", gateway_response="Approved"), "Transfer retrieved"),
    )
    assert client.transfer(50_000, "RCP_x", REFERENCE, "r") == Transfer(
        REFERENCE, "success", "TRF_v5tip3zx8nna9o78", 50_000, None
    )
    assert [call["method"] for call in session.calls] == ["POST", "GET"]
    assert session.calls[1]["url"] == f"https://paystack.test/transfer/verify/{REFERENCE}"


def test_a_duplicate_paystack_cannot_find_is_for_later() -> None:
    client, _ = paystack(refusal(400, "Duplicate Transfer Reference"), refusal(404, "Transfer not found"))
    error = refused(client.transfer, 50_000, "RCP_x", REFERENCE, "r")
    assert error.transient is True
    assert "duplicate" in str(error)


@pytest.mark.parametrize(
    ("answer", "transient", "says"),
    [
        (refusal(400, "Your balance is not enough to fulfil this request"), True, "balance cannot pay"),
        (refusal(400, "Insufficient balance"), True, "balance cannot pay"),
        (refusal(400, "Recipient specified is invalid"), False, "Recipient specified is invalid"),
        (response(200, {"status": False, "message": "Transfer failed"}), False, "refused transfer"),
        (refusal(500, "Something went wrong"), True, "HTTP 500"),
        (ok(None), True, "holds no transfer"),
        (ok(transfer_data(status="")), True, "no status"),
        (ok(transfer_data(amount="lots")), True, "not a whole number of kobo"),
        (requests.ReadTimeout("read timed out"), True, f"verify {REFERENCE} before sending it again"),
        (requests.ConnectionError("reset"), True, f"verify {REFERENCE} before sending it again"),
    ],
    ids=[
        "balance",
        "insufficient",
        "bad-recipient",
        "status-false",
        "500",
        "no-data",
        "no-status",
        "bad-amount",
        "timeout",
        "connection",
    ],
)
def test_a_transfer_that_fails_says_whether_to_try_again(
    answer: requests.Response | BaseException, transient: bool, says: str
) -> None:
    client, _ = paystack(answer)
    error = refused(client.transfer, 50_000, "RCP_x", REFERENCE, "r")
    assert error.transient is transient
    assert says in str(error)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status": "success", "gateway_response": "Approved"}, ("success", None)),
        ({"status": "pending", "gateway_response": "Processing"}, ("pending", None)),
        ({"status": "failed", "gateway_response": "Account is  dormant"}, ("failed", "Account is dormant")),
        (
            {"status": "reversed", "failures": {"message": "Beneficiary bank unavailable"}},
            ("reversed", "Beneficiary bank unavailable"),
        ),
        ({"status": "failed", "failures": [{"reason": "Invalid account"}]}, ("failed", "Invalid account")),
        ({"status": "abandoned"}, ("abandoned", None)),
        ({"status": "SUCCESS", "amount": "50000"}, ("success", None)),
    ],
    ids=[
        "success",
        "pending",
        "failed",
        "reversed",
        "failures-list",
        "abandoned",
        "upper-case-and-string-amount",
    ],
)
def test_verify_reads_the_transfer_and_why_it_was_not_paid(
    changes: dict[str, object], expected: tuple[str, str | None]
) -> None:
    data = {
        key: value for key, value in transfer_data().items() if key not in ("transfersessionid", "request")
    }
    client, session = paystack(ok({**data, **changes}, "Transfer retrieved"))
    found = client.verify(REFERENCE)
    assert found is not None
    assert (found.status, found.reason) == expected
    assert (found.reference, found.amount_kobo, found.transfer_code) == (
        REFERENCE,
        50_000,
        "TRF_v5tip3zx8nna9o78",
    )
    assert session.calls[0]["url"] == f"https://paystack.test/transfer/verify/{REFERENCE}"


@pytest.mark.parametrize(
    "answer",
    [
        refusal(404, "Transfer not found"),
        refusal(400, "Transfer not found"),
        refusal(404, "Entity not found"),
    ],
    ids=["404", "400-not-found", "404-entity"],
)
def test_a_reference_paystack_does_not_know_is_none(answer: requests.Response) -> None:
    client, _ = paystack(answer)
    assert client.verify(REFERENCE) is None


def test_a_404_that_is_not_paystacks_is_not_taken_for_none() -> None:
    """An HTML 404 means a wrong base URL, not a transfer Paystack never had."""
    client, _ = paystack(response(404, "<html>Not Found</html>"))
    assert refused(client.verify, REFERENCE).transient is False
    client, _ = paystack(refusal(400, "Invalid reference"))
    assert refused(client.verify, REFERENCE).transient is False


def test_a_reference_goes_into_the_path_quoted() -> None:
    client, session = paystack(refusal(404, "Transfer not found"))
    client.verify("a/b c")
    assert session.calls[0]["url"] == "https://paystack.test/transfer/verify/a%2Fb%20c"


@pytest.mark.parametrize(
    ("data", "kobo"),
    [
        ([{"currency": "NGN", "balance": 1_700_000}], 1_700_000),
        ([{"currency": "USD", "balance": 5}, {"currency": "ngn", "balance": 42}], 42),
        ([{"currency": "GHS", "balance": 5}], 0),
        ([], 0),
    ],
)
def test_the_balance_is_the_naira_balance_in_kobo(data: list[dict[str, object]], kobo: int) -> None:
    client, session = paystack(ok(data, "Balances retrieved"))
    assert client.balance() == kobo
    assert (session.calls[0]["method"], session.calls[0]["url"]) == ("GET", "https://paystack.test/balance")


@pytest.mark.parametrize("data", [{"currency": "NGN"}, [{"currency": "NGN", "balance": "lots"}], None])
def test_a_balance_kolekt_cannot_read_is_for_later(data: object) -> None:
    client, _ = paystack(ok(data))
    assert refused(client.balance).transient is True


def test_close_closes_only_its_own_session() -> None:
    client, session = paystack()
    client.close()
    assert session.closed is False
    own = PaystackPayouts(KEY, BASE)
    own.close()
    assert own.base_url == BASE


def test_a_webhooks_transfer_is_read_like_verifys() -> None:
    """``data`` of transfer.failed as Paystack's documentation shows it."""
    data = {
        "amount": 200000,
        "currency": "NGN",
        "domain": "test",
        "failures": None,
        "id": 69123462,
        "integration": {"id": 100043, "is_live": True, "business_name": "Paystack"},
        "reason": "Enjoy",
        "reference": "1976435206",
        "source": "balance",
        "source_details": None,
        "status": "failed",
        "titan_code": None,
        "transfer_code": "TRF_chs98y5rykjb47w",
        "transferred_at": None,
        "session": {"provider": "nip", "id": "74849400998877667"},
        "created_at": "2021-04-12T15:30:15.000Z",
        "updated_at": "2021-04-12T15:41:21.000Z",
    }
    assert transfer_from_event(data) == Transfer("1976435206", "failed", "TRF_chs98y5rykjb47w", 200_000, None)
    with pytest.raises(PayoutError):
        transfer_from_event({**data, "reference": None})
    with pytest.raises(PayoutError):
        transfer_from_event("junk")


# --- which one -----------------------------------------------------------------------------------


def test_the_settings_choose_the_provider() -> None:
    base = Settings(database_url="sqlite://", redis_url="", secret_key="s")
    console = payouts_for(base)
    assert isinstance(console, ConsolePayouts)
    chosen = payouts_for(
        base.with_changes(
            payout_provider="paystack",
            paystack_secret_key="sk_test_abc",
            paystack_api_base_url="http://127.0.0.1:4010",
            paystack_timeout_seconds=12,
        )
    )
    assert isinstance(chosen, PaystackPayouts)
    assert (chosen.base_url, chosen.timeout, chosen._secret_key) == (
        "http://127.0.0.1:4010",
        12.0,
        "sk_test_abc",
    )
    chosen.close()
