"""What the JSON API's end-to-end tests share: the demo programme behind a test client that signs
in through ``POST /api/v1/auth/token`` and calls with the bearer token, and a look at the rows the
calls leave (households, pickups, the ledger's balances, the outbox).

The demo (``hub.seed()``): zones Yaba and Sabo; collectors Musa (Yaba) and Kemi (Sabo); households
Ada and Tunde (Yaba) and Ngozi (Sabo); rates for PET, SACHET, ALU, HDPE, PAPER and GLASS; two weeks
of pickups; a partner shop.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import ledger
from service.accounts import collector_account, member_account
from service.channels.simulator import replies_to, simulate
from service.models import api_tokens_t, collections_t, households_t, outbox_t
from service.usecases import tokens
from service.usecases.households import Member, member_by_phone, register_household
from service.usecases.phones import ensure_phone
from service.usecases.roles import collector_by_phone
from sms.member_codes import CHECK_ALPHABET
from tests.e2e.hub import Hub

API = "/api/v1"
PIN = "4821"
MUSA = "+2348030000001"  # collector, Yaba
KEMI = "+2348030000002"  # collector, Sabo
ADA = "+2348031234567"  # household, Yaba
TUNDE = "+2348052345678"  # household, Yaba
NGOZI = "+2348063456789"  # household, Sabo
PARTNER = "+2348040000001"  # the partner shop
NEWCOMER = "+2348071112222"  # not known to the programme
ERROR_KEYS = {"code", "message", "fields"}


def new_id() -> str:
    return str(uuid.uuid4())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    """The demo programme and one API client, with its own made-up address (the sign-in limits
    count per address as well as per phone)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.app = hub.app
        self.runtime = hub.runtime
        self.address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        self.client = hub.app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = self.address

    # --- calling -------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        token: str | None = None,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> TestResponse:
        sent = {**(bearer(token) if token else {}), **(headers or {})}
        if json is not None:
            kwargs["json"] = json
        return self.client.open(API + path, method=method, headers=sent, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, token, **kwargs)

    def put(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.call("PUT", path, token, **kwargs)

    def delete(self, path: str, token: str | None = None, **kwargs: Any) -> TestResponse:
        return self.call("DELETE", path, token, **kwargs)

    # --- signing in ----------------------------------------------------------------------------

    def set_pin(self, phone: str = MUSA, pin: str = PIN) -> None:
        with self.hub.session() as session:
            tokens.set_pin(session, self.collector_id(phone), pin, datetime.now(UTC), by="test")

    def sign_in(self, phone: str = MUSA, pin: str = PIN, **extra: Any) -> TestResponse:
        return self.post("/auth/token", json={"phone": phone, "pin": pin, **extra})

    def collector_token(self, phone: str = MUSA) -> str:
        """A collector's token, their PIN set first if it is not."""
        if not self.read(lambda s: collector_pin_is_set(s, phone)):
            self.set_pin(phone)
        response = self.sign_in(phone)
        assert response.status_code == 201, response.get_data(as_text=True)
        token: str = response.json["token"]  # type: ignore[index]
        return token

    def user_token(self, role: str) -> str:
        email = self.hub.add_user(role)
        response = self.post("/auth/token", json={"email": email, "password": "correct horse battery staple"})
        assert response.status_code == 201, response.get_data(as_text=True)
        token: str = response.json["token"]  # type: ignore[index]
        return token

    # --- syncing -------------------------------------------------------------------------------

    def sync(self, token: str, operations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        response = self.post("/sync", token, json={"operations": list(operations)})
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.json
        assert body is not None
        results: list[dict[str, Any]] = body["results"]
        assert [result["index"] for result in results] == list(range(len(operations)))
        return results

    def text(self, sender: str, body: str) -> list[str]:
        """An SMS through the real inbound path (as the phone simulator posts it); the replies to
        the sender (not the texts it made to others, such as a household's receipt)."""
        received = simulate(self.runtime, sender, body)
        replies = self.read(lambda s: replies_to(s, received.inbound_id))
        return [row.body for row in replies if row.to_phone == sender]

    # --- looking at the rows -------------------------------------------------------------------

    def read(self, work: Any) -> Any:
        return self.hub.read(work)

    def collector_id(self, phone: str = MUSA) -> int:
        found = self.read(lambda s: collector_by_phone(s, phone))
        assert found is not None
        return int(found.id)

    def member(self, phone: str) -> Member:
        found = self.read(lambda s: member_by_phone(s, phone))
        assert found is not None, phone
        return found  # type: ignore[no-any-return]

    def code(self, phone: str) -> str:
        return self.member(phone).member_code

    def points(self, phone: str) -> int:
        code = self.code(phone)
        return int(self.read(lambda s: ledger.balance(s, member_account(code)).credit_balance))

    def commission(self, phone: str = MUSA) -> int:
        account = collector_account(self.collector_id(phone))
        return int(self.read(lambda s: ledger.balance(s, account).credit_balance))

    def outbox(self, to: str, template: str | None = None) -> list[str]:
        """The bodies of the texts written to ``to`` (of one template), oldest first."""
        query = select(outbox_t.c.body).where(outbox_t.c.to_phone == to)
        if template is not None:
            query = query.where(outbox_t.c.template == template)
        return list(self.read(lambda s: s.execute(query.order_by(outbox_t.c.id)).scalars().all()))

    def pickups_of(self, phone: str) -> list[Any]:
        """The collections credited to a household: (reference, channel, grams, points, seq)."""
        member_id = self.member(phone).id
        query = (
            select(
                collections_t.c.reference,
                collections_t.c.channel,
                collections_t.c.grams,
                collections_t.c.points,
                collections_t.c.seq,
            )
            .where(collections_t.c.household_id == member_id)
            .order_by(collections_t.c.id)
        )
        return list(self.read(lambda s: s.execute(query).all()))

    def count_households(self) -> int:
        return self.hub.count(households_t)

    def count_pickups(self) -> int:
        return self.hub.count(collections_t)

    def transfers(self) -> int:
        return self.hub.count(ledger.metadata.tables["ledger_transfers"])

    def expire_tokens(self, moment: datetime | None = None) -> None:
        """Every token's expiry set to ``moment`` (default: a minute ago)."""
        when = moment or datetime.now(UTC) - timedelta(minutes=1)
        with self.hub.session() as session:
            session.execute(update(api_tokens_t).values(expires_at=when))

    def add_households(self, zone_id: int | None, count: int) -> list[str]:
        """``count`` more households in a zone; their member codes."""
        now = datetime.now(UTC)
        codes = []
        with self.hub.session() as session:
            for number in range(count):
                phone = f"+234809{zone_id or 0:03d}{number:04d}"
                ensure_phone(session, phone, now)
                codes.append(
                    register_household(
                        session, phone, f"Extra {number}", None, "test", now, zone_id=zone_id
                    ).member_code
                )
        return codes


def collector_pin_is_set(session: Session, phone: str) -> bool:
    from service.models import collectors_t

    return bool(
        session.execute(select(collectors_t.c.pin_hash).where(collectors_t.c.phone == phone)).scalar()
    )


def count_rows(session: Session, table: Any, *where: Any) -> int:
    return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def error_of(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The body of an error answer, checked to be exactly ``{"error": {"code", "message"[,
    "fields"]}}``, ``fields`` on a 422 only."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json", response.mimetype
    body = response.json
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and {"code", "message"} <= set(error) <= ERROR_KEYS, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and error["message"], error
    if "fields" in error:
        assert status == 422, error
        fields = error["fields"]
        assert isinstance(fields, dict) and fields, error
        assert all(
            isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages)
            for messages in fields.values()
        ), error
    if code is not None:
        assert error["code"] == code, error
    return error


def wrong_check_letter(code: str) -> str:
    """The code with another check letter: a mistyped code, which names nobody."""
    for letter in CHECK_ALPHABET:
        typed = code[:-1] + letter
        if typed != code:
            return typed
    raise AssertionError("unreachable")


def pickup_op(
    household: Mapping[str, str],
    lines: Sequence[tuple[str, int]] = (("PET", 4500),),
    *,
    occurred_at: datetime | None = None,
    seq: int | None = None,
    client_id: str | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "type": "pickup",
        "id": client_id or new_id(),
        "occurred_at": (occurred_at or datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "household": dict(household),
        "lines": [{"material": material, "grams": grams} for material, grams in lines],
    }
    if seq is not None:
        op["seq"] = seq
    return op


def household_op(
    phone: str, name: str, address: str | None = None, client_id: str | None = None
) -> dict[str, Any]:
    op: dict[str, Any] = {"type": "household", "id": client_id or new_id(), "phone": phone, "name": name}
    if address is not None:
        op["address"] = address
    return op
