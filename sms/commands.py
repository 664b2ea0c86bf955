"""What a text message asks for, once read: one frozen value per command of docs/sms-protocol.md.

``sms.parse`` turns text into one of these or into a ``ParseError``; the service decides what each
does. Weights are integer grams, phone numbers E.164, member codes canonical with their check
letter, references upper case in the ledger's alphabet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Who a phone number belongs to: a collector's and a partner shop's numbers are registered by
# operators; every other number is a household's (or someone's who may JOIN).
Role = Literal["household", "collector", "partner"]

# The languages a household may choose (LANG): English, Nigerian Pidgin, Yoruba, Hausa, Igbo.
LANGUAGES = ("EN", "PCM", "YO", "HA", "IG")


@dataclass(frozen=True)
class Member:
    """A household as a collector names it: by member code or by phone number (one of the two)."""

    code: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Line:
    material: str  # a material code, e.g. PET
    grams: int


# --- household commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    name: str
    address: str | None = None
    # The language of the word the household joined with (DARAPO: Yoruba), when it has one.
    language: str | None = None


@dataclass(frozen=True)
class Balance:
    pass


@dataclass(frozen=True)
class History:
    pass


@dataclass(frozen=True)
class Pickup:
    note: str | None = None


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class Rewards:
    pass


# REDEEM CASH 500: cash to the household's bank account, 500 naira (the amount is required).
CASH = "CASH"


@dataclass(frozen=True)
class Redeem:
    item: str  # a reward's code as typed (upper case) or its number in the catalogue, or CASH
    amount: int | None = None  # for CASH, whole naira (always given: the parser refuses it without)


@dataclass(frozen=True)
class Bank:
    """BANK GTB 0123456789: the account cash-outs are paid to. Which bank ``bank`` names is the
    service's call (matched against the bank list); the number is read here."""

    bank: str  # the bank's words as typed (name, short name or code), one space between words
    account: str  # exactly 10 ASCII digits (a NUBAN); spaces, dashes or dots typed inside dropped


@dataclass(frozen=True)
class Dispute:
    ref: str
    reason: str | None = None


@dataclass(frozen=True)
class Confirm:
    ref: str


@dataclass(frozen=True)
class Check:
    ref: str


@dataclass(frozen=True)
class Rate:
    ref: str
    stars: int


@dataclass(frozen=True)
class Language:
    code: str  # one of LANGUAGES


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class Terms:
    pass


@dataclass(frozen=True)
class Impact:
    """IMPACT: what the household has recycled since it joined, and what that means."""


@dataclass(frozen=True)
class Statement:
    """STATEMENT ON / OFF: a statement of the household's month by SMS each month, or no more;
    ``on`` None: STATEMENT alone (how it works)."""

    on: bool | None = None


@dataclass(frozen=True)
class Suggest:
    """SUGGEST text: a household's idea for a reward, for the hub."""

    text: str


@dataclass(frozen=True)
class Vote:
    """VOTE: the vote open now; VOTE and a number (``said``): the household's vote, or a change
    of it. ``said`` is what followed VOTE, as typed (the use case knows the options)."""

    said: str = ""


@dataclass(frozen=True)
class Zone:
    """ZONE: this month's kilos of the sender's zone, its rank among the zones, and the change."""


@dataclass(frozen=True)
class TopUp:
    """TOP UP, TOPUP, AIRTIME as the first word: someone who wants airtime, told how to redeem it
    (never read as STOP, and never spending points unasked)."""


@dataclass(frozen=True)
class Stop:
    """The whole message is an opt-out word (STOP, UNSUBSCRIBE, ...; any case, spaces and
    punctuation around it): nothing else, typo or not, ever opts anyone out."""

    word: str  # the opt-out word used, for the record


@dataclass(frozen=True)
class Start:
    word: str


# --- collector commands ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Log:
    member: Member
    lines: tuple[Line, ...]
    seq: int | None = None  # the phone's own message number (#17): a repeat is the same pickup


@dataclass(frozen=True)
class Undo:
    ref: str


@dataclass(frozen=True)
class Register:
    """NEW: a collector registers a household at its door."""

    phone: str
    name: str
    address: str | None = None
    language: str | None = None  # NEW 0803... HA Musa Bello: the household's language, before its name


@dataclass(frozen=True)
class Route:
    """ROUTE, ROUTE 2 (a page), ROUTE MORE (the page after the last one sent)."""

    page: int | None = None
    more: bool = False


@dataclass(frozen=True)
class Today:
    pass


@dataclass(frozen=True, repr=False)
class Pin:
    """PIN 4821: the collector chooses the PIN they sign in to the collector app with.

    Its repr hides the digits: a command may end up in a log or an error message."""

    digits: str  # 4 to 6 ASCII digits; whether they are too easy to guess is the service's call

    def __repr__(self) -> str:
        return "Pin(digits='****')"


# --- partner shops ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verify:
    """VERIFY code: a partner shop checks a voucher and, if it is good, uses it up."""

    code: str  # upper case, separators dropped


Command = (
    Join
    | Balance
    | History
    | Pickup
    | Skip
    | Rewards
    | Redeem
    | Bank
    | Dispute
    | Confirm
    | Check
    | Rate
    | Language
    | Help
    | Terms
    | Impact
    | Statement
    | Suggest
    | Vote
    | Zone
    | TopUp
    | Stop
    | Start
    | Log
    | Undo
    | Register
    | Route
    | Today
    | Pin
    | Verify
)


@dataclass(frozen=True)
class ParseError:
    """Text that could not be read, and why: ``reason`` names the reply template, ``details`` fill
    it (the word not understood, the command, what was missing)."""

    reason: str
    details: dict[str, str] = field(default_factory=dict)
    command: str | None = None  # the command it was meant as, when that much was understood
