"""A basic phone dialling Kolekt's USSD code through Africa's Talking's callback, as its network
sends it: every answer so far joined by ``*`` in ``text``, with ``sessionId``, ``serviceCode``,
``phoneNumber`` and ``networkCode`` (form-encoded), the callback secret in the URL.

Then what the USSD tests share: the demo programme answering Africa's Talking, looks at the rows a
session leaves, a wrong answer's check, and ``Renders``, which finds the templates (and their
language) each screen is made of."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

import ledger
import sms
from ledger import TransferRequest
from service.accounts import ISSUANCE, member_account
from service.models import collections_t, inbound_t, outbox_t
from service.usecases import payout_accounts, phones
from service.usecases.households import Member, member_by_phone
from sms import ussd
from sms.gsm import is_gsm7, to_gsm7
from sms.ussd import MAX_SCREEN
from tests.e2e.helpers import AT_SETTINGS
from tests.e2e.hub import Hub

USSD_PATH = "/ussd/africastalking"
SERVICE_CODE = "*384*2580#"


@dataclass
class Dial:
    """One session: ``send(answer)`` types an answer and returns the screen (``CON``/``END``)."""

    app: Flask
    phone: str
    secret: str = "S"
    session_id: str = field(default_factory=lambda: f"ATUid_{uuid.uuid4().hex}")
    answers: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)

    def post(self, text: str) -> str:
        response = self.app.test_client().post(
            f"{USSD_PATH}?secret={self.secret}",
            data={
                "sessionId": self.session_id,
                "serviceCode": SERVICE_CODE,
                "phoneNumber": self.phone,
                "networkCode": "62130",
                "text": text,
            },
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        screen = response.get_data(as_text=True)
        assert screen.startswith(("CON ", "END ")), screen
        assert len(screen) <= MAX_SCREEN and is_gsm7(screen), screen
        self.screens.append(screen)
        return screen

    def open(self) -> str:
        """The code dialled: the first screen."""
        return self.post("")

    def send(self, *answers: str) -> str:
        """Each answer typed in turn; the last screen."""
        screen = ""
        for answer in answers:
            self.answers.append(answer)
            screen = self.post("*".join(self.answers))
        return screen

    def again(self) -> str:
        """The network sends the last request again."""
        return self.post("*".join(self.answers))


def body(screen: str) -> str:
    return screen[4:]


def ended(screen: str) -> bool:
    return screen.startswith("END ")


# --- the demo programme as USSD tests use it ----------------------------------------------------------

ADA = "+2348031234567"  # K0001E, Yaba
TUNDE = "+2348052345678"  # Yaba
NGOZI = "+2348063456789"  # Sabo
MUSA = "+2348030000001"  # Yaba's collector
SHOP = "+2348040000001"  # the partner shop
STRANGER = "+2348091112222"
NUBAN = "0123456789"
KEYS = "kolekt:ussd:*"
SMS_PATH = "/sms/africastalking/inbound"

# The screens each menu shows (keys of sms.ussd.SCREENS): the language walks show every one.
HOUSEHOLD_SCREENS = frozenset(
    {
        "ussd_home",
        "ussd_more",
        "ussd_vote",
        "ussd_stranger",
        "ussd_join_name",
        "ussd_join_zone",
        "ussd_rewards",
        "ussd_rewards_none",
        "ussd_airtime_amount",
        "ussd_units",
        "ussd_redeem_confirm",
        "ussd_redeem_done",
        "ussd_cash_amount",
        "ussd_cash_confirm",
        "ussd_receipt",
        "ussd_rate",
        "ussd_rate_none",
        "ussd_bank_name",
        "ussd_bank_number",
        "ussd_language",
        "ussd_terms",
        "ussd_help",
        "ussd_wrong_choice",
        "ussd_wrong_number",
        "ussd_too_long",
        "ussd_again",
        "ussd_failed",
        "ussd_done_already",
        "ussd_not_for_role",
    }
)
COLLECTOR_SCREENS = frozenset(
    {
        "ussd_collector_home",
        "ussd_log_member",
        "ussd_log_material",
        "ussd_log_kg",
        "ussd_log_confirm",
        "ussd_route",
        "ussd_route_last",
        "ussd_register_phone",
        "ussd_register_name",
        "ussd_register_confirm",
        "ussd_done_line",
        "ussd_wrong_choice",
        "ussd_wrong_weight",
        "ussd_no_lines",
        "ussd_too_long",
    }
)


def demo(make_app: Callable[..., Flask], **changes: object) -> Hub:
    """An app answering Africa's Talking (secret "S") on the demo programme, the bank list ready
    (so that looking a bank up writes nothing)."""
    hub = Hub(make_app(**{**AT_SETTINGS, **changes}))
    hub.seed()
    hub.runtime.transact(payout_accounts.ready_banks)
    return hub


def dialled(hub: Hub, phone: str, *answers: str) -> Dial:
    """A session: the code dialled, then each answer typed (its screens in ``screens``)."""
    dial = Dial(hub.app, phone)
    dial.open()
    dial.send(*answers)
    return dial


def en(key: str, /, **values: object) -> str:
    """A template in English, as the demo programme ("Kolekt") says it."""
    return sms.render(key, "EN", programme="Kolekt", **values)


def latest_pickups(hub: Hub, phone: str, count: int = 1) -> list[Any]:
    """(reference, occurred_at, points) of the household's latest pickups, newest first."""
    household_id = member(hub, phone).id
    return rows_of(
        hub,
        select(collections_t.c.reference, collections_t.c.occurred_at, collections_t.c.points)
        .where(collections_t.c.household_id == household_id)
        .order_by(collections_t.c.occurred_at.desc(), collections_t.c.id.desc())
        .limit(count),
    )


def forget_sessions(hub: Hub) -> int:
    """Every USSD session's state dropped from Redis, as when it expires or Redis restarts."""
    keys = list(hub.runtime.redis.scan_iter(KEYS))
    return int(hub.runtime.redis.delete(*keys)) if keys else 0


def sms_text(hub: Hub, sender: str, body: str) -> list[str]:
    """A text through Africa's Talking's SMS callback; the replies it got at once."""
    message_id = f"ATXid_{uuid.uuid4().hex}"
    response = hub.app.test_client().post(
        f"{SMS_PATH}?secret=S",
        data={"id": message_id, "from": sender, "to": "12345", "text": body, "networkCode": "62130"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    inbound = select(inbound_t.c.id).where(inbound_t.c.provider_message_id == message_id)
    replies = select(outbox_t.c.body).where(outbox_t.c.inbound_id.in_(inbound)).order_by(outbox_t.c.id)
    return rows_of(hub, replies)


def rows_of(hub: Hub, statement: Any) -> list[Any]:
    """The first column of every row a select returns (or whole rows, for several columns)."""
    found = hub.read(lambda session: session.execute(statement).all())
    return [row[0] if len(row) == 1 else row for row in found]


def member(hub: Hub, phone: str) -> Member:
    found: Member | None = hub.read(lambda session: member_by_phone(session, phone))
    assert found is not None, phone
    return found


def points_of(hub: Hub, phone: str) -> int:
    code = member(hub, phone).member_code
    return int(hub.read(lambda session: ledger.balance(session, member_account(code)).credit_balance))


def credit(hub: Hub, phone: str, points: int) -> None:
    """Points credited to a household as a pickup's would be."""
    code = member(hub, phone).member_code
    key = f"t:{uuid.uuid4().hex}"
    request = TransferRequest(ISSUANCE, member_account(code), points, "pickup_credit", key)
    hub.read(lambda session: ledger.post(session, request))


def save_account(hub: Hub, phone: str, number: str = NUBAN) -> None:
    """A GTBank cash-out account saved for the household, as the hub's staff save one."""
    household = member(hub, phone)

    def work(uow: Any) -> None:
        bank = payout_accounts.find_bank(uow.session, "GTB")
        payout_accounts.register_by_staff(uow, household, bank.code, number, "Ada Okafor", "user:1 t@x")

    hub.runtime.transact(work)


def set_language(hub: Hub, phone: str, language: str) -> None:
    """The number's language (its row made first if Kolekt has not met it)."""

    def work(session: Any) -> None:
        now = datetime.now(UTC)
        phones.ensure_phone(session, phone, now)
        phones.set_language(session, phone, language, now)

    hub.read(work)


def session_rows(hub: Hub, dial: Dial) -> list[Any]:
    """The inbound rows a session committed (provider ``ussd``, keyed by its id)."""
    keyed = (inbound_t.c.provider == "ussd", inbound_t.c.provider_message_id == dial.session_id)
    return rows_of(hub, select(inbound_t).where(*keyed))


def refused(dial: Dial, answer: str, error: str, screen: str | None = None) -> str:
    """``answer`` on ``screen`` (the one shown last, by default): the same screen again, led by
    ``error``; or, when both do not fit, ``error`` and how to go on. The screen."""
    before = body(screen or dial.screens[-1])
    shown = dial.send(answer)
    assert shown.startswith("CON "), shown
    assert body(shown) in (f"{error}\n{before}", f"{error}\nTry again, or 0 to go back."), (answer, shown)
    return shown


# --- every screen in each language ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    key: str
    language: str
    values: dict[str, object]
    text: str


def _as_shown(rendered: str) -> str:
    """A template's text as a screen shows it: GSM-7, no space left at a line's end."""
    return "\n".join(line.rstrip() for line in to_gsm7(rendered).split("\n"))


class Renders:
    """Every template rendered while it is on (``sms.render`` watched), to find which one each
    screen shows and in which language."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[Rendered] = []
        self.original = sms.render

        def watched(key: str, language: str = "EN", /, **values: object) -> str:
            text = self.original(key, language, **values)
            self.seen.append(Rendered(key, language, dict(values), text))
            return text

        monkeypatch.setattr(sms, "render", watched)

    def check(self, screens: list[str], language: str) -> set[str]:
        """Each screen is made of templates rendered in ``language`` only, and for another
        language than English none of them reads as the English would; the screen keys shown."""
        shown: set[str] = set()
        for screen in screens:
            text = body(screen)
            found = [r for r in self.seen if _as_shown(r.text) in text]
            assert found, f"no template makes the screen {screen!r}"
            for rendered in found:
                assert rendered.language == language, (rendered.key, rendered.language, screen)
                if language != "EN":
                    english = self.original(rendered.key, "EN", **rendered.values)
                    assert english != rendered.text, (rendered.key, language, screen)
                shown.add(rendered.key)
        return {key for key in shown if key in ussd.SCREENS}
