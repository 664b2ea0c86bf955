"""The fake Paystack (tests/fake_paystack.py) that other tests lean on: its answers have the keys
of Paystack's OpenAPI document, it keeps transfers by reference as Paystack does, its faults do
what they say, and its webhooks are signed. The payouts client talks to it over real local HTTP,
so these are also the client's retry paths end to end: a transfer that timed out, or was sent
twice, is paid once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from service.providers.payouts import AccountNotFound, PayoutError, PaystackPayouts, signature_ok
from tests.fake_paystack import SECRET_KEY, FakePaystack

SPEC = Path(__file__).resolve().parents[1] / "vendor" / "paystack-oai" / "paystack.yaml"
REFERENCE = "kolekt-" + "0a1b2c3d4e5f6a7b"


@pytest.fixture
def fake() -> Iterator[FakePaystack]:
    with FakePaystack() as paystack:
        yield paystack


def payouts(fake: FakePaystack, timeout: float = 5) -> PaystackPayouts:
    return PaystackPayouts(fake.secret_key, fake.url, timeout=timeout)


def paid_recipient(fake: FakePaystack) -> tuple[PaystackPayouts, str]:
    client = payouts(fake)
    return client, client.recipient("ADA OKAFOR", "0123456789", "058")


class Inbox(ThreadingHTTPServer):
    """Where webhooks land: each POST's headers and raw body, answered 200."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _InboxHandler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/payouts/paystack"


class _InboxHandler(BaseHTTPRequestHandler):
    server: Inbox

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.server.arrived.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    server = Inbox()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


# --- the docstring's example ---------------------------------------------------------------------


def test_the_example_in_the_docstring(fake: FakePaystack, inbox: Inbox) -> None:
    client, code = paid_recipient(fake)
    assert code.startswith("RCP_")
    assert client.transfer(50_000, code, REFERENCE, "Kolekt").status == "pending"
    assert fake.settle(REFERENCE, "success", webhook_url=inbox.url) == 200
    found = client.verify(REFERENCE)
    assert found is not None and (found.status, found.amount_kobo) == ("success", 50_000)
    [(headers, body)] = inbox.received
    assert signature_ok(SECRET_KEY, body, headers["x-paystack-signature"])
    assert json.loads(body)["event"] == "transfer.success"


# --- banks, accounts, recipients -----------------------------------------------------------------


def test_the_bank_list_has_paystacks_codes_and_cursor_pages(fake: FakePaystack) -> None:
    banks = payouts(fake).banks()
    assert len(banks) == 20
    assert {b.code for b in banks} >= {
        "058",
        "044",
        "011",
        "033",
        "057",
        "999992",
        "999991",
        "50515",
        "50211",
    }
    pages, cursor = [], None
    while True:
        params = {
            "country": "nigeria",
            "use_cursor": "true",
            "perPage": "7",
            **({"next": cursor} if cursor else {}),
        }
        answer = requests.get(
            f"{fake.url}/bank", params=params, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=5
        ).json()
        pages.append(len(answer["data"]))
        cursor = answer["meta"]["next"]
        if cursor is None:
            break
    assert pages == [7, 7, 6]
    assert payouts(fake).banks("ghana") == []


def test_accounts_resolve_to_names_except_the_ones_no_bank_knows(fake: FakePaystack) -> None:
    client = payouts(fake)
    fake.names[("999992", "8031234567")] = "AISHA MUSA"
    assert client.resolve("8031234567", "999992") == "AISHA MUSA"
    assert client.resolve("0123456789", "058") == client.resolve("0123456789", "058")
    for account, bank in [("0123450000", "058"), ("0123456789", "999"), ("012345678", "058")]:
        with pytest.raises(AccountNotFound, match="Could not resolve account name"):
            client.resolve(account, bank)


def test_the_same_account_is_the_same_recipient(fake: FakePaystack) -> None:
    client, code = paid_recipient(fake)
    assert client.recipient("Ada Okafor", "0123456789", "058") == code
    assert client.recipient("Ada Okafor", "0123456789", "044") != code
    with pytest.raises(PayoutError) as caught:
        client.recipient("Nobody", "0123450000", "058")
    assert caught.value.transient is False


def test_a_wrong_key_is_refused_with_401(fake: FakePaystack) -> None:
    with pytest.raises(PayoutError) as caught:
        PaystackPayouts("sk_test_wrong", fake.url, timeout=5).balance()
    assert (caught.value.transient, "Invalid key" in str(caught.value)) == (True, True)
    assert requests.get(f"{fake.url}/balance", timeout=5).status_code == 401
    assert fake.seen[-1].authorization is None


# --- transfers -----------------------------------------------------------------------------------


def test_a_transfer_comes_off_the_balance_once_per_reference(fake: FakePaystack) -> None:
    client, code = paid_recipient(fake)
    before = client.balance()
    first = client.transfer(50_000, code, REFERENCE, "Kolekt")
    body = {
        "source": "balance",
        "amount": 50_000,
        "recipient": code,
        "reference": REFERENCE,
        "reason": "Kolekt",
    }
    again = requests.post(
        f"{fake.url}/transfer", json=body, headers={"Authorization": f"Bearer {SECRET_KEY}"}, timeout=5
    )
    assert (again.status_code, again.json()) == (
        400,
        {"status": False, "message": "Duplicate Transfer Reference"},
    )
    # The client meets the duplicate by asking what became of the first.
    assert client.transfer(50_000, code, REFERENCE, "Kolekt") == first
    assert client.balance() == before - 50_000
    assert fake.transfers == [REFERENCE]


def test_a_transfer_answered_too_late_was_taken_and_is_paid_once(fake: FakePaystack) -> None:
    """The worker gave up waiting, but Paystack had it: the retry verifies, sends nothing new."""
    client, code = paid_recipient(fake)
    before = client.balance()
    fake.slow(2.0, "/transfer")
    hasty = PaystackPayouts(fake.secret_key, fake.url, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(PayoutError) as caught:
        hasty.transfer(50_000, code, REFERENCE, "Kolekt")
    assert time.monotonic() - started < 1.5
    assert caught.value.transient is True
    assert f"verify {REFERENCE} before sending it again" in str(caught.value)
    assert fake.transfer(REFERENCE) is not None
    fake.slow(0, "/transfer")
    assert client.transfer(50_000, code, REFERENCE, "Kolekt").status == "pending"
    assert client.balance() == before - 50_000


def test_an_outage_answers_503_and_does_nothing(fake: FakePaystack) -> None:
    client, code = paid_recipient(fake)
    fake.unavailable(count=2, path="/transfer")
    for _ in range(2):
        with pytest.raises(PayoutError, match="HTTP 503") as caught:
            client.transfer(50_000, code, REFERENCE, "Kolekt")
        assert caught.value.transient is True
    assert fake.transfers == []
    assert client.balance() == 100_000_000  # /balance was never down
    assert client.transfer(50_000, code, REFERENCE, "Kolekt").status == "pending"


def test_faults_touch_only_the_paths_named(fake: FakePaystack) -> None:
    client, code = paid_recipient(fake)
    fake.unavailable(count=5, path="/transfer/verify/")
    fake.slow(3.0, "/transfer")
    with pytest.raises(PayoutError, match="HTTP 503"):
        client.verify(REFERENCE)
    started = time.monotonic()
    assert client.recipient("ADA OKAFOR", "0123456789", "058") == code  # not /transfer
    assert client.balance() == 100_000_000
    assert time.monotonic() - started < 1.5
    fake.unavailable(count=1)
    with pytest.raises(PayoutError, match="HTTP 503"):
        client.balance()


def test_a_refused_transfer_is_not_kept(fake: FakePaystack) -> None:
    client, code = paid_recipient(fake)
    fake.refuse_next_transfer("Recipient account is dormant")
    with pytest.raises(PayoutError, match="Recipient account is dormant") as caught:
        client.transfer(50_000, code, REFERENCE, "Kolekt")
    assert caught.value.transient is False
    assert (fake.transfers, client.balance()) == ([], 100_000_000)


def test_a_transfer_the_balance_cannot_pay_waits_for_a_top_up(fake: FakePaystack) -> None:
    client, code = paid_recipient(fake)
    fake.balance_kobo = 10_000
    with pytest.raises(PayoutError, match="balance cannot pay") as caught:
        client.transfer(50_000, code, REFERENCE, "Kolekt")
    assert caught.value.transient is True
    fake.balance_kobo = 100_000
    assert client.transfer(50_000, code, REFERENCE, "Kolekt").amount_kobo == 50_000


@pytest.mark.parametrize("reference", ["KOLEKT-0A1B2C3D4E5F6A7B", "kolekt-short", "kolekt 0a1b2c3d4e5f6a7b"])
def test_a_reference_paystack_would_not_take_is_refused(fake: FakePaystack, reference: str) -> None:
    client, code = paid_recipient(fake)
    with pytest.raises(PayoutError, match="Invalid transfer reference") as caught:
        client.transfer(50_000, code, reference, "Kolekt")
    assert caught.value.transient is False


def test_an_unknown_reference_is_none(fake: FakePaystack) -> None:
    assert payouts(fake).verify("kolekt-never-sent-000") is None


def test_a_transfer_may_answer_success_at_once(fake: FakePaystack) -> None:
    fake.transfer_status = "success"
    client, code = paid_recipient(fake)
    assert client.transfer(50_000, code, REFERENCE, "Kolekt").status == "success"


# --- outcomes and webhooks -----------------------------------------------------------------------


def test_a_failed_or_reversed_transfer_gives_the_money_back_and_says_why(fake: FakePaystack) -> None:
    client, code = paid_recipient(fake)
    client.transfer(50_000, code, REFERENCE, "Kolekt")
    assert fake.settle(REFERENCE, "failed", reason="Account is dormant") is None
    found = client.verify(REFERENCE)
    assert found is not None and (found.status, found.reason) == ("failed", "Account is dormant")
    assert client.balance() == 100_000_000
    other = "kolekt-" + "1" * 16
    client.transfer(20_000, code, other, "Kolekt")
    fake.settle(other, "success")
    fake.settle(other, "reversed")
    assert client.balance() == 100_000_000
    with pytest.raises(ValueError, match="settles as"):
        fake.settle(other, "pending")


def test_webhooks_are_signed_and_shaped_as_paystack_sends_them(fake: FakePaystack, inbox: Inbox) -> None:
    client, code = paid_recipient(fake)
    client.transfer(50_000, code, REFERENCE, "Kolekt")
    for status, event in [("success", "transfer.success"), ("reversed", "transfer.reversed")]:
        assert fake.settle(REFERENCE, status, webhook_url=inbox.url) == 200
        headers, body = inbox.received[-1]
        assert signature_ok(SECRET_KEY, body, headers["x-paystack-signature"])
        assert headers["content-type"] == "application/json"
        sent = json.loads(body)
        assert (sent["event"], sent["data"]["status"], sent["data"]["reference"]) == (
            event,
            status,
            REFERENCE,
        )
        assert keys(sent) == WEBHOOK_KEYS
    failed = fake.webhook(REFERENCE, "transfer.failed")
    assert json.loads(failed)["event"] == "transfer.failed"


def test_a_webhook_may_be_sent_badly_signed_or_unsigned(fake: FakePaystack, inbox: Inbox) -> None:
    client, code = paid_recipient(fake)
    client.transfer(50_000, code, REFERENCE, "Kolekt")
    body = fake.webhook(REFERENCE)
    fake.post_webhook(inbox.url, body, signature="0" * 128)
    fake.post_webhook(inbox.url, body, signed=False)
    fake.post_webhook(inbox.url, body)
    fake.post_webhook(inbox.url, body)  # a replay: the same bytes again
    signatures = [headers.get("x-paystack-signature") for headers, _ in inbox.received]
    assert signatures == ["0" * 128, None, fake.sign(body), fake.sign(body)]
    assert {sent for _, sent in inbox.received} == {body}


def test_new_transfers_can_settle_themselves(fake: FakePaystack, inbox: Inbox) -> None:
    fake.auto_settle, fake.webhook_url = "success", inbox.url
    client, code = paid_recipient(fake)
    assert client.transfer(50_000, code, REFERENCE, "Kolekt").status == "pending"
    assert inbox.arrived.wait(5)
    headers, body = inbox.received[0]
    assert json.loads(body)["event"] == "transfer.success"
    assert signature_ok(SECRET_KEY, body, headers["x-paystack-signature"])
    found = client.verify(REFERENCE)
    assert found is not None and found.status == "success"
    assert fake.webhook_errors == []


# --- the shapes of Paystack's OpenAPI document ---------------------------------------------------


def keys(value: Any, path: str = "") -> set[str]:
    """Every key path in a JSON value (a list by its first item)."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            found |= {f"{path}.{key}"} | keys(item, f"{path}.{key}")
        return found
    if isinstance(value, list) and value:
        return keys(value[0], f"{path}[]")
    return set()


# transfer.success as Paystack's documentation shows it (its webhook events page).
WEBHOOK_KEYS = {".event", ".data"} | {
    f".data.{key}"
    for key in [
        "amount",
        "currency",
        "domain",
        "failures",
        "id",
        "integration",
        "reason",
        "reference",
        "source",
        "source_details",
        "status",
        "titan_code",
        "transfer_code",
        "transferred_at",
        "recipient",
        "session",
        "created_at",
        "updated_at",
        "integration.id",
        "integration.is_live",
        "integration.business_name",
        "session.provider",
        "session.id",
        "recipient.active",
        "recipient.currency",
        "recipient.description",
        "recipient.domain",
        "recipient.email",
        "recipient.id",
        "recipient.integration",
        "recipient.metadata",
        "recipient.name",
        "recipient.recipient_code",
        "recipient.type",
        "recipient.is_deleted",
        "recipient.details",
        "recipient.created_at",
        "recipient.updated_at",
        "recipient.details.authorization_code",
        "recipient.details.account_number",
        "recipient.details.account_name",
        "recipient.details.bank_code",
        "recipient.details.bank_name",
    ]
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def documented(spec: dict[str, Any], schema: dict[str, Any], path: str = "") -> set[str]:
    """The key paths a response schema declares ($ref and allOf followed; a list by its items)."""
    if "$ref" in schema:
        target: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return documented(spec, target, path)
    found: set[str] = set()
    for part in schema.get("allOf", []):
        found |= documented(spec, part, path)
    if "items" in schema:
        found |= documented(spec, schema["items"], f"{path}[]")
    for key, item in schema.get("properties", {}).items():
        found |= {f"{path}.{key}"} | documented(spec, item, f"{path}.{key}")
    return found


def response_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    responses = spec["paths"][path][method]["responses"]
    answer = responses.get("200") or responses["201"]
    if "$ref" in answer:
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


@pytest.mark.parametrize(
    ("method", "path", "documented_path", "extra"),
    [
        (
            "get",
            "/bank?country=nigeria&use_cursor=true&perPage=5",
            "/bank",
            {".meta", ".meta.next", ".meta.previous", ".meta.perPage"},
        ),
        ("get", "/bank/resolve?account_number=0123456789&bank_code=058", "/bank/resolve", set()),
        ("post", "/transferrecipient", "/transferrecipient", set()),
        ("post", "/transfer", "/transfer", set()),
        ("get", f"/transfer/verify/{REFERENCE}", "/transfer/verify/{reference}", set()),
        ("get", "/balance", "/balance", set()),
    ],
    ids=["bank", "resolve", "recipient", "transfer", "verify", "balance"],
)
def test_each_answer_has_the_keys_the_document_declares(
    fake: FakePaystack, spec: dict[str, Any], method: str, path: str, documented_path: str, extra: set[str]
) -> None:
    _, code = paid_recipient(fake)
    if path != "/transfer":
        payouts(fake).transfer(50_000, code, REFERENCE, "Kolekt")
    bodies = {
        "/transferrecipient": {
            "type": "nuban",
            "name": "ADA",
            "account_number": "0123456789",
            "bank_code": "058",
        },
        "/transfer": {"source": "balance", "amount": 100, "recipient": code, "reference": REFERENCE},
    }
    answer = requests.request(
        method,
        fake.url + path,
        json=bodies.get(path),
        headers={"Authorization": f"Bearer {SECRET_KEY}"},
        timeout=5,
    )
    assert answer.status_code in (200, 201)
    declared = documented(spec, response_schema(spec, documented_path, method))
    assert len(declared) >= 4
    assert keys(answer.json()) - extra == declared
