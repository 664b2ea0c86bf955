"""A small Paystack for tests: a threaded local HTTP server with the paths and answer shapes of
Paystack's OpenAPI document (tests/vendor/paystack-oai/paystack.yaml) and the behaviour behind
them that the document cannot show.

- ``GET /bank`` (20 Nigerian banks, Paystack's codes; cursor pages with ``use_cursor``,
  ``perPage`` and ``next``), ``GET /bank/resolve`` (any 10-digit account at a listed bank has a
  name, but one ending 0000: 422 "Could not resolve account name..."), ``POST
  /transferrecipient`` (the same account again: the same ``RCP_`` code), ``POST /transfer``,
  ``GET /transfer/verify/{reference}`` (404 "Transfer not found"), ``GET /balance`` (kobo).
- Every call needs ``Authorization: Bearer <secret_key>`` (else 401 "Invalid key").
- Transfers are kept by reference: a second ``/transfer`` with a known reference is refused
  with 400 "Duplicate Transfer Reference", as Paystack does, and the amount comes off the
  balance (400 "Your balance is not enough..." when it cannot). A new transfer answers
  ``transfer_status`` ("pending" unless told otherwise) until ``settle`` says what became of it.
- Faults: ``refuse_next_transfer`` (a 4xx refusal), ``unavailable`` (503 for the next calls),
  ``slow`` (answers late, after acting: a transfer that timed out was still taken).
- Webhooks: ``settle(reference, "success" | "failed" | "reversed", webhook_url=...)`` changes
  the transfer and POSTs the signed ``transfer.*`` event (``x-paystack-signature``, the
  HMAC-SHA512 of the raw body with the secret key); ``webhook`` and ``sign`` give the body and
  signature for a Flask test client, ``post_webhook`` sends any body (a bad signature, a
  replay). With ``auto_settle`` and ``webhook_url`` set, each new transfer is settled so a
  moment after it is taken.

Example::

    from service.providers.payouts import PaystackPayouts
    from tests.fake_paystack import FakePaystack

    with FakePaystack() as paystack:
        payouts = PaystackPayouts(paystack.secret_key, paystack.url, timeout=2)  # or PAYSTACK_API_BASE_URL
        code = payouts.recipient("ADA OKAFOR", "0123456789", "058")
        assert payouts.transfer(50_000, code, "kolekt-1-abcdefgh", "Kolekt").status == "pending"
        paystack.settle("kolekt-1-abcdefgh", "success", webhook_url=f"{live_server}/payouts/paystack")
        assert payouts.verify("kolekt-1-abcdefgh").status == "success"

For a Flask test client instead of a live server: ``body = paystack.webhook(reference)`` and
``client.post("/payouts/paystack", data=body, headers={"x-paystack-signature": paystack.sign(body)})``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import requests

SECRET_KEY = "sk_test_fake0000000000000000000000000000000"
NOW = "2026-01-05T10:00:00.000Z"
INTEGRATION = 463433
# Paystack's codes, names and slugs (its /bank list), written out here rather than taken from the
# code under test.
BANKS = (
    ("Access Bank", "access-bank", "044"),
    ("Ecobank Nigeria", "ecobank-nigeria", "050"),
    ("Fidelity Bank", "fidelity-bank", "070"),
    ("First Bank of Nigeria", "first-bank-of-nigeria", "011"),
    ("First City Monument Bank", "first-city-monument-bank", "214"),
    ("Guaranty Trust Bank", "guaranty-trust-bank", "058"),
    ("Jaiz Bank", "jaiz-bank", "301"),
    ("Keystone Bank", "keystone-bank", "082"),
    ("Kuda Bank", "kuda-bank", "50211"),
    ("Moniepoint MFB", "moniepoint-mfb-ng", "50515"),
    ("OPay Digital Services Limited (OPay)", "paycom", "999992"),
    ("PalmPay", "palmpay", "999991"),
    ("Polaris Bank", "polaris-bank", "076"),
    ("Providus Bank", "providus-bank", "101"),
    ("Stanbic IBTC Bank", "stanbic-ibtc-bank", "221"),
    ("Sterling Bank", "sterling-bank", "232"),
    ("Union Bank of Nigeria", "union-bank-of-nigeria", "032"),
    ("United Bank For Africa", "united-bank-for-africa", "033"),
    ("Wema Bank", "wema-bank", "035"),
    ("Zenith Bank", "zenith-bank", "057"),
)
NAMES = ("ADA OKAFOR", "BOLA ADEYEMI", "CHIDI EZE", "HAUWA BELLO", "TUNDE OGUNDIPE", "NGOZI NWOSU")
REFERENCE = re.compile(r"[a-z0-9_-]{16,50}")
NOT_RESOLVED = "Could not resolve account name. Check parameters or try again."
EVENTS = {"success": "transfer.success", "failed": "transfer.failed", "reversed": "transfer.reversed"}


@dataclass(frozen=True)
class Seen:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None


@dataclass
class _Fault:
    path: str  # see _matches
    count: int


def _matches(path: str, pattern: str) -> bool:
    """ "" matches every path; one ending in / every path under it ("/transfer/verify/"); any
    other only itself ("/transfer" is not "/transferrecipient" nor "/transfer/verify/...")."""
    return not pattern or path == pattern or (pattern.endswith("/") and path.startswith(pattern))


@dataclass
class FakePaystack:
    secret_key: str = SECRET_KEY
    balance_kobo: int = 100_000_000  # NGN 1,000,000
    # What a new transfer answers: "pending" (Paystack live), "success" (test mode) or "otp".
    transfer_status: str = "pending"
    # Set both to have each new transfer settled (and its webhook sent) ``settle_delay`` later.
    auto_settle: str | None = None
    webhook_url: str | None = None
    settle_delay: float = 0.05
    # Names for given (bank code, account number); any other valid account gets one of NAMES.
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    webhook_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._recipients: dict[tuple[str, str], dict[str, Any]] = {}
        self._transfers: dict[str, dict[str, Any]] = {}
        self._refusals: list[tuple[int, str]] = []
        self._outages: list[_Fault] = []
        self._delays: dict[str, float] = {}
        self._threads: list[threading.Thread] = []
        self._ids = iter(range(1000, 10**9))
        self._server: ThreadingHTTPServer | None = None

    # --- running ---------------------------------------------------------------------------------

    def start(self) -> FakePaystack:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> FakePaystack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- what it holds ---------------------------------------------------------------------------

    def transfer(self, reference: str) -> dict[str, Any] | None:
        """The transfer kept under ``reference`` (a copy), or None."""
        with self._lock:
            found = self._transfers.get(reference)
            return dict(found) if found else None

    @property
    def transfers(self) -> list[str]:
        with self._lock:
            return list(self._transfers)

    # --- faults ----------------------------------------------------------------------------------

    def refuse_next_transfer(self, message: str = "Recipient account is dormant", status: int = 400) -> None:
        """The next ``/transfer`` is refused (and not kept), as Paystack refuses a request."""
        with self._lock:
            self._refusals.append((status, message))

    def unavailable(self, count: int = 1, path: str = "") -> None:
        """The next ``count`` calls to ``path`` ("" any, "/transfer" that one, "/transfer/verify/"
        any under it) answer 503 and do nothing."""
        with self._lock:
            self._outages.append(_Fault(path, count))

    def slow(self, seconds: float, path: str = "") -> None:
        """Calls to ``path`` (as in ``unavailable``) act at once but answer ``seconds`` late (0: on
        time again)."""
        with self._lock:
            self._delays[path] = seconds

    # --- outcomes and webhooks -------------------------------------------------------------------

    def settle(
        self, reference: str, status: str, *, reason: str | None = None, webhook_url: str | None = None
    ) -> int | None:
        """Make a kept transfer ``success``, ``failed`` or ``reversed`` (a failed or reversed one
        gives its money back to the balance); POST its webhook to ``webhook_url`` when given and
        answer that POST's HTTP status."""
        if status not in EVENTS:
            raise ValueError(f"a transfer settles as {', '.join(EVENTS)}, not {status!r}")
        with self._lock:
            record = self._transfers[reference]
            if status in ("failed", "reversed") and record["status"] not in ("failed", "reversed"):
                self.balance_kobo += record["amount"]
            record.update(status=status, failure=reason, updatedAt=NOW)
            if status == "success":
                record["transferred_at"] = NOW
        return None if webhook_url is None else self.post_webhook(webhook_url, self.webhook(reference))

    def webhook(self, reference: str, event: str | None = None) -> bytes:
        """The raw body of the ``transfer.*`` event for the transfer as it is now."""
        with self._lock:
            record = dict(self._transfers[reference])
        name = event or EVENTS.get(record["status"], f"transfer.{record['status']}")
        data = {
            **_transfer_data(record),
            "integration": {"id": INTEGRATION, "is_live": False, "business_name": "Kolekt"},
            "recipient": _recipient_data(record["recipient"], snake=True),
            "session": {"provider": "nip", "id": f"1100062{record['id']:012d}"},
            "created_at": record["createdAt"],
            "updated_at": record["updatedAt"],
        }
        for camel in ("createdAt", "updatedAt", "transfersessionid", "transfertrials", "request"):
            data.pop(camel, None)
        return json.dumps({"event": name, "data": data}).encode()

    def sign(self, body: bytes) -> str:
        return hmac.new(self.secret_key.encode(), body, hashlib.sha512).hexdigest()

    def post_webhook(
        self, url: str, body: bytes, signature: str | None = None, *, signed: bool = True
    ) -> int:
        """POST ``body`` as Paystack does: signed properly unless ``signature`` is given (or
        ``signed`` is False: no header at all)."""
        headers = {"Content-Type": "application/json", "User-Agent": "Paystack webhook (fake)"}
        if signed:
            headers["x-paystack-signature"] = self.sign(body) if signature is None else signature
        return requests.post(url, data=body, headers=headers, timeout=10).status_code

    # --- the API ---------------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
        """Paystack's answer to one authorised call: the HTTP status and the JSON to send."""
        if method == "GET" and path == "/bank":
            return self._banks(query)
        if method == "GET" and path == "/bank/resolve":
            account, code = query.get("account_number", ""), query.get("bank_code", "")
            name = self._name(account, code)
            if name is None:
                return 422, _refusal(NOT_RESOLVED)
            bank_id = next(i for i, bank in enumerate(BANKS, 1) if bank[2] == code)
            return 200, _ok(
                "Account number resolved", account_number=account, account_name=name, bank_id=bank_id
            )
        if method == "POST" and path == "/transferrecipient":
            return self._recipient(body)
        if method == "POST" and path == "/transfer":
            return self._transfer(body)
        if method == "GET" and path.startswith("/transfer/verify/"):
            with self._lock:
                record = self._transfers.get(unquote(path.removeprefix("/transfer/verify/")))
                if record is None:
                    return 404, _refusal("Transfer not found")
                data = {
                    **_transfer_data(record),
                    "recipient": _recipient_data(record["recipient"]),
                    "session": {"provider": "nip", "id": f"1100062{record['id']:012d}"},
                    "gateway_response": record["failure"]
                    or ("Approved" if record["status"] == "success" else None),
                }
            for created in ("transfersessionid", "transfertrials", "request"):
                data.pop(created)
            return 200, {"status": True, "message": "Transfer retrieved", "data": data}
        if method == "GET" and path == "/balance":
            balances = [{"currency": "NGN", "balance": self.balance_kobo}]
            return 200, {"status": True, "message": "Balances retrieved", "data": balances}
        return 404, _refusal(f"No route {method} {path}")

    def _banks(self, query: dict[str, str]) -> tuple[int, Any]:
        country = query.get("country", "nigeria").lower()
        banks = [_bank_data(i, bank) for i, bank in enumerate(BANKS, 1)] if country == "nigeria" else []
        answer: dict[str, Any] = {"status": True, "message": "Banks retrieved", "data": banks}
        if query.get("use_cursor") == "true":
            per_page = int(query.get("perPage") or 50)
            start = int(base64.b64decode(query["next"]).decode().split(":")[1]) if query.get("next") else 0
            page = banks[start : start + per_page]
            following = start + per_page
            answer["data"] = page
            answer["meta"] = {
                "next": base64.b64encode(f"bank:{following}".encode()).decode()
                if following < len(banks)
                else None,
                "previous": None,
                "perPage": per_page,
            }
        return 200, answer

    def _name(self, account: str, code: str) -> str | None:
        if not any(bank[2] == code for bank in BANKS) or not re.fullmatch(r"\d{10}", account):
            return None
        if (code, account) in self.names:
            return self.names[(code, account)]
        return None if account.endswith("0000") else NAMES[int(account[-3:]) % len(NAMES)]

    def _recipient(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, _refusal("Invalid request body")
        for required in ("type", "name", "account_number", "bank_code"):
            if not body.get(required):
                return 400, _refusal(f"{required} is required")
        if body["type"] != "nuban" or body.get("currency", "NGN") != "NGN":
            return 400, _refusal("Only nuban recipients in NGN here")
        key = (str(body["bank_code"]), str(body["account_number"]))
        resolved = self._name(key[1], key[0])
        if resolved is None:
            return 400, _refusal("Cannot resolve account")
        with self._lock:
            record = self._recipients.get(key)
            if record is None:
                bank = next(bank for bank in BANKS if bank[2] == key[0])
                record = {
                    "id": next(self._ids),
                    "name": str(body["name"]),
                    "code": "RCP_" + hashlib.sha256(repr(key).encode()).hexdigest()[:15],
                    "account_number": key[1],
                    "account_name": resolved,
                    "bank_code": key[0],
                    "bank_name": bank[0],
                }
                self._recipients[key] = record
        data = {**_recipient_data(record), "isDeleted": False}
        return 201, {"status": True, "message": "Transfer recipient created successfully", "data": data}

    def _transfer(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, _refusal("Invalid request body")
        amount, reference = body.get("amount"), body.get("reference") or f"auto_{next(self._ids):016d}"
        if body.get("source") != "balance":
            return 400, _refusal("Invalid transfer source")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            return 400, _refusal("Invalid amount")
        if body.get("currency", "NGN") != "NGN":
            return 400, _refusal("Invalid currency")
        if not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
            return 400, _refusal("Invalid transfer reference: 16 to 50 lowercase letters, digits, - or _")
        with self._lock:
            if self._refusals:
                status, message = self._refusals.pop(0)
                return status, _refusal(message)
            recipient = next(
                (r for r in self._recipients.values() if r["code"] == body.get("recipient")), None
            )
            if recipient is None:
                return 400, _refusal("Recipient specified is invalid")
            if reference in self._transfers:
                return 400, _refusal("Duplicate Transfer Reference")
            if amount > self.balance_kobo:
                return 400, _refusal("Your balance is not enough to fulfil this request")
            self.balance_kobo -= amount
            number = next(self._ids)
            record = {
                "id": number,
                "reference": reference,
                "amount": amount,
                "reason": str(body.get("reason") or ""),
                "status": self.transfer_status,
                "transfer_code": "TRF_" + hashlib.sha256(reference.encode()).hexdigest()[:15],
                "recipient": recipient,
                "failure": None,
                "transferred_at": NOW if self.transfer_status == "success" else None,
                "createdAt": NOW,
                "updatedAt": NOW,
            }
            self._transfers[reference] = record
            data = _transfer_data(record)
            data["recipient"] = recipient["id"]
        if self.auto_settle and self.webhook_url:
            self._later(reference, self.auto_settle, self.webhook_url)
        message = (
            "Transfer requires OTP to continue"
            if self.transfer_status == "otp"
            else "Transfer has been queued"
        )
        return 200, {"status": True, "message": message, "data": data}

    def _later(self, reference: str, status: str, url: str) -> None:
        def settle() -> None:
            if self._stopping.wait(self.settle_delay):
                return
            try:
                self.settle(reference, status, webhook_url=url)
            except requests.RequestException as error:
                self.webhook_errors.append(f"{reference}: {error}")

        thread = threading.Thread(target=settle, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _fault(self, path: str) -> tuple[bool, float]:
        """Whether this call is one of an outage's, and how late to answer it."""
        with self._lock:
            down = next((fault for fault in self._outages if _matches(path, fault.path)), None)
            if down is not None:
                down.count -= 1
                if down.count <= 0:
                    self._outages.remove(down)
            delay = max((s for pattern, s in self._delays.items() if _matches(path, pattern)), default=0.0)
        return down is not None, delay


def _ok(message: str, **data: Any) -> dict[str, Any]:
    return {"status": True, "message": message, "data": data}


def _refusal(message: str) -> dict[str, Any]:
    return {"status": False, "message": message}


def _bank_data(number: int, bank: tuple[str, str, str]) -> dict[str, Any]:
    name, slug, code = bank
    return {
        "name": name,
        "slug": slug,
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
        "id": number,
        "createdAt": NOW,
        "updatedAt": NOW,
    }


def _recipient_data(record: dict[str, Any], *, snake: bool = False) -> dict[str, Any]:
    created, updated = ("created_at", "updated_at") if snake else ("createdAt", "updatedAt")
    return {
        "active": True,
        created: NOW,
        "currency": "NGN",
        "description": "",
        "domain": "test",
        "email": None,
        "id": record["id"],
        "integration": INTEGRATION,
        "metadata": None,
        "name": record["name"],
        "recipient_code": record["code"],
        "type": "nuban",
        updated: NOW,
        "is_deleted": False,
        "details": {
            "authorization_code": None,
            "account_number": record["account_number"],
            "account_name": record["account_name"],
            "bank_code": record["bank_code"],
            "bank_name": record["bank_name"],
        },
    }


def _transfer_data(record: dict[str, Any]) -> dict[str, Any]:
    """The keys ``/transfer`` answers with (verify and the webhooks drop or add some)."""
    return {
        "transfersessionid": [],
        "transfertrials": [],
        "domain": "test",
        "amount": record["amount"],
        "currency": "NGN",
        "reference": record["reference"],
        "source": "balance",
        "source_details": None,
        "reason": record["reason"],
        "status": record["status"],
        "failures": None,
        "transfer_code": record["transfer_code"],
        "titan_code": None,
        "transferred_at": record["transferred_at"],
        "id": record["id"],
        "integration": INTEGRATION,
        "request": record["id"] + 500_000,
        "recipient": record["recipient"]["id"],
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakePaystack

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out has gone by the time a slow answer is written


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake = self.server.fake
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        authorization = self.headers.get("Authorization")
        with fake._lock:
            fake.seen.append(Seen(method, parts.path, query, body, authorization))
        down, delay = fake._fault(parts.path)
        if down:
            self._send(503, b"Service Unavailable", "text/plain")
            return
        if not authorization:
            status, answer = 401, _refusal("No Authorization Header was found")
        elif authorization != f"Bearer {fake.secret_key}":
            status, answer = 401, _refusal("Invalid key")
        elif isinstance(body, str):
            status, answer = 400, _refusal("Invalid JSON body")
        else:
            status, answer = fake.answer(method, parts.path, query, body)
        if delay and fake._stopping.wait(delay):
            return
        self._send(status, json.dumps(answer).encode(), "application/json")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass
