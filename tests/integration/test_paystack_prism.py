"""The Paystack payouts client over real HTTP against Prism serving Paystack's own OpenAPI document
(tests/vendor/paystack-oai), and the fake Paystack's answers against Prism's.

Prism validates each request against the document (path, bearer token, query parameters and their
types, the JSON body's fields, types and enums) and refuses a request that breaks it with 422 and
an ``sl-violations`` header; otherwise it answers with the response the document describes. The
document has no examples, so those answers hold values made from the types (``"string"``, ``0``,
``true``): the tests check that Kolekt reads those shapes, not Paystack's behaviour behind them,
which the unit tests and the fake Paystack cover.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from service.providers.payouts import AccountNotFound, Bank, PayoutError, PaystackPayouts, Transfer
from tests.fake_paystack import FakePaystack

from .prism import PAYSTACK_SPEC, prism_mock, violations

KEY = "sk_test_" + "0123456789abcdef" * 2 + "01234567"
REFERENCE = "kolekt-" + "3f9a0c1b2d4e5f60"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prism_mock(PAYSTACK_SPEC, tmp_path_factory.mktemp("prism") / "prism.log") as url:
        yield url


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    params: dict[str, str] | None
    json: Any
    headers: dict[str, str]
    status: int
    violations: list[str]


class RecordingSession(requests.Session):
    """A real session that keeps each request and Prism's verdict on it, and adds ``extra``
    headers (Prism's ``Prefer: code=...`` picks which documented answer it gives)."""

    def __init__(self, extra: dict[str, str] | None = None) -> None:
        super().__init__()
        self.extra = extra or {}
        self.exchanges: list[Exchange] = []

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **self.extra}
        response = super().request(method, url, *args, **kwargs)
        self.exchanges.append(
            Exchange(
                str(method),
                response.url,
                kwargs.get("params"),
                kwargs.get("json"),
                kwargs["headers"],
                response.status_code,
                violations(response.headers),
            )
        )
        return response


@pytest.fixture
def session() -> Iterator[RecordingSession]:
    with RecordingSession() as recording:
        yield recording


def client(url: str, session: requests.Session) -> PaystackPayouts:
    return PaystackPayouts(KEY, url, timeout=10, session=session)


def taken(session: RecordingSession) -> Exchange:
    """The one request made, which Prism found nothing wrong with."""
    [exchange] = session.exchanges
    assert exchange.violations == []
    assert exchange.status in (200, 201)
    assert exchange.headers["Authorization"] == f"Bearer {KEY}"
    return exchange


def test_prism_takes_the_bank_list_request(prism_url: str, session: RecordingSession) -> None:
    banks = client(prism_url, session).banks()
    # One page (no meta.next); Prism's bank says is_deleted: true, so it is not one to pay into.
    assert banks == [Bank("string", "string", "string", "string", "string", "nigeria", False)]
    exchange = taken(session)
    assert exchange.url.startswith(f"{prism_url}/bank?")
    assert exchange.params == {"country": "nigeria", "use_cursor": "true", "perPage": "100"}


@pytest.mark.parametrize(
    ("account", "bank"),
    [("0123456789", "058"), ("0000000001", "999992"), ("8031234567", "50515")],
    ids=["leading-zero-gtbank", "opay", "moniepoint"],
)
def test_prism_takes_a_nuban_with_a_leading_zero_as_written(
    prism_url: str, session: RecordingSession, account: str, bank: str
) -> None:
    """The document calls account_number and bank_code integers; a string of digits reads as one,
    so Prism takes the NUBAN as Paystack does, leading zero and all."""
    assert client(prism_url, session).resolve(account, bank) == "string"
    exchange = taken(session)
    assert exchange.url == f"{prism_url}/bank/resolve?account_number={account}&bank_code={bank}"


def test_a_bank_code_that_is_not_digits_breaks_the_documents_types(
    prism_url: str, session: RecordingSession
) -> None:
    """Paystack lists ALAT by WEMA as 035A. Prism refuses it (422, no body): a request error that
    asking again will not mend, and not a verdict on the account."""
    with pytest.raises(PayoutError) as caught:
        client(prism_url, session).resolve("0123456789", "035A")
    assert not isinstance(caught.value, AccountNotFound)
    assert caught.value.transient is False
    assert "HTTP 422" in str(caught.value)
    assert session.exchanges[0].violations == [
        "request.query.bank_code: Request query parameter bank_code must be integer"
    ]


def test_prism_takes_the_recipient_request(prism_url: str, session: RecordingSession) -> None:
    assert client(prism_url, session).recipient("ADA OKAFOR", "0123456789", "058") == "string"
    exchange = taken(session)
    assert (exchange.method, exchange.url) == ("POST", f"{prism_url}/transferrecipient")
    assert exchange.json == {
        "type": "nuban",
        "name": "ADA OKAFOR",
        "account_number": "0123456789",
        "bank_code": "058",
        "currency": "NGN",
    }
    assert exchange.status == 201


def test_prism_takes_the_transfer_request(prism_url: str, session: RecordingSession) -> None:
    sent = client(prism_url, session).transfer(50_000, "RCP_gd9vgag7n5lr5ix", REFERENCE, "Kolekt cash-out")
    assert sent == Transfer(reference="string", status="string", transfer_code="string", amount_kobo=0)
    exchange = taken(session)
    assert (exchange.method, exchange.url) == ("POST", f"{prism_url}/transfer")
    assert exchange.json == {
        "source": "balance",
        "amount": 50_000,
        "recipient": "RCP_gd9vgag7n5lr5ix",
        "reference": REFERENCE,
        "reason": "Kolekt cash-out",
        "currency": "NGN",
    }


def test_prism_takes_the_verify_request(prism_url: str, session: RecordingSession) -> None:
    found = client(prism_url, session).verify(REFERENCE)
    assert found == Transfer(reference="string", status="string", transfer_code="string", amount_kobo=0)
    assert taken(session).url == f"{prism_url}/transfer/verify/{REFERENCE}"


def test_a_reference_paystack_does_not_know_is_none(prism_url: str) -> None:
    with RecordingSession({"Prefer": "code=404"}) as session:
        assert client(prism_url, session).verify(REFERENCE) is None
    [exchange] = session.exchanges
    assert (exchange.status, exchange.violations) == (404, [])


def test_prism_takes_the_balance_request(prism_url: str, session: RecordingSession) -> None:
    """Prism's only balance is in currency "string": no naira at all."""
    assert client(prism_url, session).balance() == 0
    assert taken(session).url == f"{prism_url}/balance"


@pytest.mark.parametrize(
    ("code", "transient"),
    [("401", True), ("500", True)],
    ids=["invalid-key", "server-error"],
)
def test_paystacks_documented_errors_are_classified(prism_url: str, code: str, transient: bool) -> None:
    with RecordingSession({"Prefer": f"code={code}"}) as session:
        payouts = client(prism_url, session)
        with pytest.raises(PayoutError) as caught:
            payouts.balance()
        with pytest.raises(PayoutError) as sending:
            payouts.transfer(50_000, "RCP_gd9vgag7n5lr5ix", REFERENCE, "Kolekt cash-out")
    assert (caught.value.transient, sending.value.transient) == (transient, transient)
    assert f"HTTP {code}" in str(caught.value)
    assert all(exchange.violations == [] for exchange in session.exchanges)
    if code == "401":
        assert "Invalid key" in str(caught.value)


def test_a_request_without_the_key_is_refused_by_prism(prism_url: str, session: RecordingSession) -> None:
    """The document's security scheme: a bearer token on every call (an empty one is none)."""
    with pytest.raises(PayoutError) as caught:
        PaystackPayouts("", prism_url, timeout=10, session=session).balance()
    assert caught.value.transient is True
    assert "HTTP 401" in str(caught.value)


# ---------------------------------------------------------------- the fake against Prism


def keys(value: Any, path: str = "") -> set[str]:
    """Every key path in a JSON value (a list by its first item; null has none)."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            found.add(f"{path}.{key}")
            found |= keys(item, f"{path}.{key}")
        return found
    if isinstance(value, list) and value:
        return keys(value[0], f"{path}[]")
    return set()


def nullable(value: Any, path: str = "") -> set[str]:
    """Key paths whose value is null or empty: one side may fill what the other leaves empty."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            if item is None or item == {} or item == []:
                found.add(f"{path}.{key}")
            found |= nullable(item, f"{path}.{key}")
        return found
    if isinstance(value, list) and value:
        return nullable(value[0], f"{path}[]")
    return set()


CALLS = [
    pytest.param(
        "GET", "/bank", {"country": "nigeria", "use_cursor": "true", "perPage": "100"}, None, id="bank"
    ),
    pytest.param(
        "GET", "/bank/resolve", {"account_number": "0123456789", "bank_code": "058"}, None, id="resolve"
    ),
    pytest.param(
        "POST",
        "/transferrecipient",
        None,
        {"type": "nuban", "name": "ADA OKAFOR", "account_number": "0123456789", "bank_code": "058"},
        id="recipient",
    ),
    pytest.param("POST", "/transfer", None, "transfer", id="transfer"),
    pytest.param("GET", f"/transfer/verify/{REFERENCE}", None, None, id="verify"),
    pytest.param("GET", "/balance", None, None, id="balance"),
]
# The fake answers /bank's cursor pages with meta, as Paystack does; the document leaves it out.
EXTRA = {"/bank": {".meta", ".meta.next", ".meta.previous", ".meta.perPage"}}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakePaystack, str]]:
    """The fake, with a recipient and a transfer to verify."""
    with FakePaystack(secret_key=KEY) as paystack:
        payouts = PaystackPayouts(KEY, paystack.url, timeout=5)
        recipient = payouts.recipient("ADA OKAFOR", "0123456789", "058")
        payouts.transfer(50_000, recipient, REFERENCE, "Kolekt cash-out")
        yield paystack, recipient


@pytest.mark.parametrize(("method", "path", "params", "body"), CALLS)
def test_the_fake_answers_with_the_keys_prism_answers_with(
    prism_url: str,
    fake: tuple[FakePaystack, str],
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: Any,
) -> None:
    paystack, recipient = fake
    if body == "transfer":
        body = {
            "source": "balance",
            "amount": 10_000,
            "recipient": recipient,
            "reference": "kolekt-" + "b" * 16,
            "reason": "Kolekt cash-out",
        }
    answers = []
    for base in (prism_url, paystack.url):
        response = requests.request(
            method,
            base + path,
            params=params,
            json=body,
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=10,
        )
        assert response.status_code in (200, 201), (base, response.status_code, response.text[:300])
        assert violations(response.headers) == []
        answers.append(response.json())
    prism, ours = answers
    # Where either side is null or empty (a nullable object, an empty list), the other's inside
    # cannot be compared.
    loose = nullable(prism) | nullable(ours)

    def comparable(found: set[str]) -> set[str]:
        return {key for key in found if not any(key.startswith(f"{empty}.") for empty in loose)}

    assert comparable(keys(ours)) - EXTRA.get(path, set()) == comparable(keys(prism))
