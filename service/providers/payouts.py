"""Cash payouts: naira sent to a household's bank account, by Paystack or by the console.

``PaystackPayouts`` speaks Paystack's Transfers API (``requests``, the secret key as a bearer
token, JSON bodies); ``ConsolePayouts`` (the embedded default, the simulator's) needs no network;
``signature_ok`` checks a webhook's ``x-paystack-signature``. A provider answers values or raises
``PayoutError``, saying whether trying again later can help; it writes nothing, and the jobs call
it outside any database transaction.

Paystack, as its OpenAPI document (tests/vendor/paystack-oai/paystack.yaml) and its answers say:
every answer is JSON ``{"status": true|false, "message": ..., "data": ...}``, a refusal a 4xx
with ``"status": false``.

- ``GET /bank?country=nigeria&use_cursor=true&perPage=100``: ``data`` lists banks; ``meta.next``
  is the next page's cursor (null on the last).
- ``GET /bank/resolve?account_number=0123456789&bank_code=058``: ``data.account_name``; an
  unknown account is a 422 ("Could not resolve account name..."). The document calls both
  parameters integers; a NUBAN may begin with 0, so the digits go as written.
- ``POST /transferrecipient`` ``{type: nuban, name, account_number, bank_code, currency}``:
  ``data.recipient_code``; the same account again answers the same recipient.
- ``POST /transfer`` ``{source: balance, amount (kobo), recipient, reference, reason, currency}``:
  ``data.status`` and ``data.transfer_code``. A known reference is refused with 400 "Duplicate
  Transfer Reference", which this client meets by verifying it; "Your balance is not enough"
  passes once the float is topped up.
- ``GET /transfer/verify/{reference}``: the transfer, or 404 when Paystack has none.
- ``GET /balance``: ``data`` lists ``{currency, balance}``, in kobo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import requests

from service.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.paystack.co"
CURRENCY = "NGN"
COUNTRY_CURRENCY = {"nigeria": "NGN", "ghana": "GHS", "kenya": "KES", "south africa": "ZAR"}
# What Paystack says of a transfer: success is paid; failed, abandoned, blocked and rejected mean
# the money did not leave; reversed means it came back; the rest are on the way (an "otp" one
# waits for a code Kolekt never sends: turn transfer OTPs off in Paystack's dashboard).
NOT_PAID = ("failed", "reversed", "abandoned", "blocked", "rejected")
TRANSFER_STATUSES = ("pending", "received", "otp", "success", *NOT_PAID)
BANK_PAGE_SIZE = 100
# Paystack lists about 250 Nigerian banks: 3 pages. More than this is a cursor going round.
MAX_BANK_PAGES = 20
# How much of an unexpected answer goes into an error message: enough to recognise it in a log.
_SNIPPET = 200
_REASON_LENGTH = 120


class PayoutError(Exception):
    """Paystack could not do it. ``transient``: the same request may succeed later (Paystack is
    down or slow, the key or the float needs an operator); otherwise it never will."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class AccountNotFound(PayoutError):
    """The bank knows no such account (or no such bank): asking again will not change that."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False)


@dataclass(frozen=True)
class Bank:
    """One bank of Paystack's list. ``active``: Paystack lists it as active, not deleted, and able
    to receive transfers. ``country`` is the one asked for, in Paystack's spelling (``nigeria``)."""

    code: str
    name: str
    slug: str
    type: str
    currency: str
    country: str
    active: bool


@dataclass(frozen=True)
class Transfer:
    """A transfer as Paystack last saw it. ``status`` is Paystack's (``TRANSFER_STATUSES``);
    ``reason`` is why it was not paid when Paystack says (never the narration Kolekt sent)."""

    reference: str
    status: str
    transfer_code: str | None
    amount_kobo: int
    reason: str | None = None


class Payouts(Protocol):
    def banks(self, country: str = "nigeria") -> list[Bank]: ...

    def resolve(self, account_number: str, bank_code: str) -> str: ...

    def recipient(self, name: str, account_number: str, bank_code: str) -> str: ...

    def transfer(self, amount_kobo: int, recipient_code: str, reference: str, reason: str) -> Transfer: ...

    def verify(self, reference: str) -> Transfer | None: ...

    def balance(self) -> int: ...

    def close(self) -> None: ...


def signature_ok(secret_key: str, raw_body: bytes, header: str | None) -> bool:
    """Paystack signs each webhook with the HMAC-SHA512 of its raw body under the secret key, in
    hex, in ``x-paystack-signature``. Compared in constant time; no key or no header is False."""
    if not secret_key or not header or not header.strip():
        return False
    expected = hmac.new(secret_key.encode(), raw_body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode("utf-8", "replace"))


# --- Paystack ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: dict[str, Any] | None  # the JSON object, when the body is one
    text: str

    @property
    def message(self) -> str:
        message = self.payload.get("message") if self.payload else None
        if isinstance(message, str) and message.strip():
            return message.strip()[:_SNIPPET]
        return repr(self.text[:_SNIPPET]) if self.text else "no message"

    @property
    def refused(self) -> bool:
        """Paystack refused what was asked (400, 404 or 422 with its own ``status: false``), not
        who asked (401, 403) or how often (429)."""
        return self.status in (400, 404, 422) and (self.payload or {}).get("status") is False


class PaystackPayouts:
    """Paystack's Transfers API. ``session`` replaces its own ``requests.Session`` (tests)."""

    name = "paystack"

    def __init__(
        self,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._secret_key = secret_key
        self._owns_session = session is None
        self._session = session or requests.Session()

    def banks(self, country: str = "nigeria") -> list[Bank]:
        country = country.strip().lower()
        found: list[Bank] = []
        cursor: str | None = None
        for _ in range(MAX_BANK_PAGES):
            params = {"country": country, "use_cursor": "true", "perPage": str(BANK_PAGE_SIZE)}
            if cursor:
                params["next"] = cursor
            payload = self._json("GET", "/bank", "the list of banks", params=params)
            data = payload.get("data")
            if not isinstance(data, list):
                raise PayoutError(f"Paystack's list of banks holds no list: {payload!r:.200}", True)
            found.extend(bank for item in data if (bank := _bank(item, country)) is not None)
            meta = payload.get("meta")
            following = meta.get("next") if isinstance(meta, dict) else None
            if not isinstance(following, str) or not following or following == cursor:
                return found
            cursor = following
        raise PayoutError(f"Paystack's list of banks ran past {MAX_BANK_PAGES} pages", transient=True)

    def resolve(self, account_number: str, bank_code: str) -> str:
        what = f"account {account_number} at bank {bank_code}"
        answer = self._call(
            "GET", "/bank/resolve", what, params={"account_number": account_number, "bank_code": bank_code}
        )
        if answer.refused or (_success(answer) and answer.payload and answer.payload.get("status") is False):
            raise AccountNotFound(f"Paystack could not resolve {what}: {answer.message}")
        data = self._ok(answer, what).get("data")
        name = data.get("account_name") if isinstance(data, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise AccountNotFound(f"Paystack gave no name for {what}")
        return " ".join(name.split())

    def recipient(self, name: str, account_number: str, bank_code: str) -> str:
        what = f"a recipient for account {account_number} at bank {bank_code}"
        body = {
            "type": "nuban",
            "name": name,
            "account_number": account_number,
            "bank_code": bank_code,
            "currency": CURRENCY,
        }
        data = self._json("POST", "/transferrecipient", what, body=body).get("data")
        code = data.get("recipient_code") if isinstance(data, dict) else None
        if not isinstance(code, str) or not code.strip():
            # Made or not, asking again answers the same recipient.
            raise PayoutError(f"Paystack gave no recipient_code for {what}", transient=True)
        return code.strip()

    def transfer(self, amount_kobo: int, recipient_code: str, reference: str, reason: str) -> Transfer:
        _whole_kobo(amount_kobo)
        what = f"transfer {reference}"
        body = {
            "source": "balance",
            "amount": amount_kobo,
            "recipient": recipient_code,
            "reference": reference,
            "reason": reason,
            "currency": CURRENCY,
        }
        try:
            answer = self._call("POST", "/transfer", what, body=body)
        except PayoutError as error:
            raise PayoutError(
                f"{error}; it may have been taken: verify {reference} before sending it again", transient=True
            ) from error
        lowered = answer.message.lower()
        if answer.refused and "duplicate" in lowered:
            # Sent before (a retry after a time-out, a worker that died): what became of it?
            found = self.verify(reference)
            if found is None:
                raise PayoutError(f"Paystack calls {what} a duplicate but cannot find it", transient=True)
            return found
        if answer.refused and "balance" in lowered and ("not enough" in lowered or "insufficient" in lowered):
            raise PayoutError(f"Paystack's balance cannot pay {what}: {answer.message}", transient=True)
        transfer = _transfer(self._ok(answer, what).get("data"), reference, what)
        if transfer.status == "otp":
            log.warning("transfer %s waits for an OTP: turn transfer OTPs off at Paystack", reference)
        return transfer

    def verify(self, reference: str) -> Transfer | None:
        what = f"transfer {reference}"
        answer = self._call("GET", f"/transfer/verify/{quote(reference, safe='')}", what)
        if answer.refused and (answer.status == 404 or "not found" in answer.message.lower()):
            return None
        return _transfer(self._ok(answer, what).get("data"), reference, what)

    def balance(self) -> int:
        data = self._json("GET", "/balance", "the balance").get("data")
        if not isinstance(data, list):
            raise PayoutError(f"Paystack's balance holds no list: {data!r:.200}", True)
        for item in data:
            if isinstance(item, dict) and str(item.get("currency", "")).upper() == CURRENCY:
                return _kobo(item.get("balance"), "the balance")
        return 0

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def _json(self, method: str, path: str, what: str, **request: Any) -> dict[str, Any]:
        return self._ok(self._call(method, path, what, **request), what)

    def _call(self, method: str, path: str, what: str, params: Any = None, body: Any = None) -> _Answer:
        """One request. Redirects are not followed: one here means a wrong base URL (and a
        redirected POST loses its body). No answer at all is always worth trying again."""
        try:
            response = self._session.request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers={"Authorization": f"Bearer {self._secret_key}", "Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            )
            text = response.text
        except requests.Timeout as error:  # before ConnectionError: ConnectTimeout is both
            message = f"Paystack did not answer about {what} in {self.timeout:g} s: {error}"
            raise PayoutError(message, True) from error
        except requests.RequestException as error:
            raise PayoutError(f"could not reach Paystack about {what}: {error}", transient=True) from error
        try:
            payload = json.loads(text) if text else None
        except ValueError:
            payload = None
        return _Answer(response.status_code, payload if isinstance(payload, dict) else None, text)

    @staticmethod
    def _ok(answer: _Answer, what: str) -> dict[str, Any]:
        """The answer's JSON when Paystack did it; else the error, transient or not."""
        if not _success(answer):
            # 5xx and 429 pass; 401 and 403 (a wrong or revoked key, an address Paystack does not
            # allow) pass once an operator fixes them; any other 4xx says the request is wrong.
            transient = answer.status >= 500 or answer.status in (401, 403, 429) or answer.status < 400
            raise PayoutError(f"Paystack answered {what}: HTTP {answer.status}: {answer.message}", transient)
        if answer.payload is None:
            raise PayoutError(
                f"Paystack answered {what} in a body Kolekt cannot read: {answer.message}", True
            )
        if answer.payload.get("status") is not True:
            raise PayoutError(f"Paystack refused {what}: {answer.message}", False)
        return answer.payload


def _success(answer: _Answer) -> bool:
    return 200 <= answer.status < 300


def _whole_kobo(amount: object) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise PayoutError(f"a transfer is a whole number of kobo above 0, not {amount!r}", transient=False)


def _kobo(value: object, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise PayoutError(
        f"Paystack's amount in {what} is not a whole number of kobo: {value!r:.60}", transient=True
    )


def _bank(item: object, country: str) -> Bank | None:
    if not isinstance(item, dict):
        return None
    code, name = item.get("code"), item.get("name")
    if not isinstance(code, str) or not code.strip() or not isinstance(name, str) or not name.strip():
        return None
    active = (
        item.get("active", True) is not False
        and item.get("is_deleted") is not True
        and item.get("supports_transfer", True) is not False
    )
    return Bank(
        code=code.strip(),
        name=" ".join(name.split()),
        slug=str(item.get("slug") or ""),
        type=str(item.get("type") or "nuban"),
        currency=str(item.get("currency") or COUNTRY_CURRENCY.get(country, "")),
        country=country,
        active=active,
    )


def _transfer(data: object, reference: str, what: str) -> Transfer:
    """A transfer from ``/transfer``'s or ``/transfer/verify``'s ``data`` (or a webhook's)."""
    if not isinstance(data, dict):
        raise PayoutError(f"Paystack's answer about {what} holds no transfer", transient=True)
    status = str(data.get("status") or "").strip().lower()
    if not status:
        raise PayoutError(f"Paystack's answer about {what} has no status", transient=True)
    code = data.get("transfer_code")
    answered = data.get("reference")
    return Transfer(
        reference=answered if isinstance(answered, str) and answered else reference,
        status=status,
        transfer_code=code if isinstance(code, str) and code else None,
        amount_kobo=_kobo(data.get("amount"), what),
        reason=_failure(data) if status in NOT_PAID else None,
    )


def transfer_from_event(data: object) -> Transfer:
    """The transfer a ``transfer.*`` webhook's ``data`` describes (the same shape as verify's)."""
    reference = data.get("reference") if isinstance(data, dict) else None
    if not isinstance(reference, str) or not reference:
        raise PayoutError("the webhook's transfer has no reference", transient=False)
    return _transfer(data, reference, f"transfer {reference}")


def _failure(data: dict[str, Any]) -> str | None:
    """Why a transfer was not paid, when Paystack says: ``gateway_response`` or ``failures``."""
    failures = data.get("failures")
    if isinstance(failures, list) and failures:
        failures = failures[0]
    if isinstance(failures, dict):
        failures = failures.get("message") or failures.get("reason") or failures.get("description")
    for text in (data.get("gateway_response"), failures):
        if isinstance(text, str) and text.strip():
            return " ".join(text.split())[:_REASON_LENGTH]
    return None


# --- the console -------------------------------------------------------------------------------------

# Paystack's codes, names and slugs of 20 Nigerian banks (its /bank list; all of type nuban).
CONSOLE_BANKS: tuple[tuple[str, str, str], ...] = (
    ("044", "Access Bank", "access-bank"),
    ("050", "Ecobank Nigeria", "ecobank-nigeria"),
    ("070", "Fidelity Bank", "fidelity-bank"),
    ("011", "First Bank of Nigeria", "first-bank-of-nigeria"),
    ("214", "First City Monument Bank", "first-city-monument-bank"),
    ("058", "Guaranty Trust Bank", "guaranty-trust-bank"),
    ("301", "Jaiz Bank", "jaiz-bank"),
    ("082", "Keystone Bank", "keystone-bank"),
    ("50211", "Kuda Bank", "kuda-bank"),
    ("50515", "Moniepoint MFB", "moniepoint-mfb-ng"),
    ("999992", "OPay Digital Services Limited (OPay)", "paycom"),
    ("999991", "PalmPay", "palmpay"),
    ("076", "Polaris Bank", "polaris-bank"),
    ("101", "Providus Bank", "providus-bank"),
    ("221", "Stanbic IBTC Bank", "stanbic-ibtc-bank"),
    ("232", "Sterling Bank", "sterling-bank"),
    ("032", "Union Bank of Nigeria", "union-bank-of-nigeria"),
    ("033", "United Bank For Africa", "united-bank-for-africa"),
    ("035", "Wema Bank", "wema-bank"),
    ("057", "Zenith Bank", "zenith-bank"),
)
# NGN 10,000,000: more than any simulation pays out.
CONSOLE_BALANCE_KOBO = 1_000_000_000
_GIVEN = ("ADA", "CHIDI", "FUNMI", "BOLA", "EMEKA", "HAUWA", "IBRAHIM", "NGOZI", "TUNDE", "AISHA")
_FAMILY = ("OKAFOR", "ADEYEMI", "BELLO", "EZE", "OGUNDIPE", "MUSA", "NWOSU", "ABUBAKAR", "OLAWALE", "IBEKWE")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:15]


class ConsolePayouts:
    """No network, the same answers every time: any 10-digit account at a listed bank has a name
    made from its digits, except one ending 0000, which no bank knows (to show that path);
    transfers succeed at once and come off a large balance. It remembers what this instance
    transferred: ``verify`` of any other reference is None, so a caller that verifies before
    sending again sends again (no money moves here)."""

    name = "console"

    def __init__(self, balance_kobo: int = CONSOLE_BALANCE_KOBO) -> None:
        self._balance = balance_kobo
        self._transfers: dict[str, Transfer] = {}
        self._names = {code: name for code, name, _ in CONSOLE_BANKS}

    def banks(self, country: str = "nigeria") -> list[Bank]:
        if country.strip().lower() != "nigeria":
            return []
        return [
            Bank(code, name, slug, "nuban", CURRENCY, "nigeria", True) for code, name, slug in CONSOLE_BANKS
        ]

    def resolve(self, account_number: str, bank_code: str) -> str:
        bank = self._names.get(bank_code)
        if bank is None:
            raise AccountNotFound(f"no bank with code {bank_code!r}")
        if len(account_number) != 10 or not account_number.isdigit():
            raise AccountNotFound(f"an account number is 10 digits, not {account_number!r}")
        if account_number.endswith("0000"):
            raise AccountNotFound(f"{bank} knows no account {account_number}")
        return f"{_GIVEN[int(account_number[-2:]) % 10]} {_FAMILY[int(account_number[-4:-2]) % 10]}"

    def recipient(self, name: str, account_number: str, bank_code: str) -> str:
        self.resolve(account_number, bank_code)
        return f"RCP_{_digest(f'{bank_code}:{account_number}')}"

    def transfer(self, amount_kobo: int, recipient_code: str, reference: str, reason: str) -> Transfer:
        _whole_kobo(amount_kobo)
        if reference in self._transfers:
            return self._transfers[reference]
        if amount_kobo > self._balance:
            raise PayoutError("the console's balance is not enough for this transfer", transient=True)
        self._balance -= amount_kobo
        sent = Transfer(reference, "success", f"TRF_{_digest(reference)}", amount_kobo)
        self._transfers[reference] = sent
        log.info("payout (console): %d kobo to %s, %s (%s)", amount_kobo, recipient_code, reference, reason)
        return sent

    def verify(self, reference: str) -> Transfer | None:
        return self._transfers.get(reference)

    def balance(self) -> int:
        return self._balance

    def close(self) -> None:
        pass


def payouts_for(settings: Settings) -> Payouts:
    """The payouts provider these settings choose (the caller closes it)."""
    if settings.payout_provider == "paystack":
        return PaystackPayouts(
            settings.paystack_secret_key,
            settings.paystack_api_base_url,
            timeout=float(settings.paystack_timeout_seconds),
        )
    return ConsolePayouts()
