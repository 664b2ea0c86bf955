"""The one small interface every SMS gateway implements, and the values that cross it.

The service hands a gateway one ``OutgoingMessage`` at a time and gets back ``Sent`` (the
provider took it) or a ``SendError`` that says whether trying again later can help. Inbound
messages and delivery reports arrive as the provider's form fields; each gateway module reads
them into ``Inbound`` and ``DeliveryReport`` here, so the service never sees a provider's names.

Statuses are Kolekt's own, the same for every provider (``STATUS_RANK``): a message goes
queued -> sending -> sent -> delivered | undelivered | failed, and never backwards. ``held``
(the loop guard) and ``suppressed`` (the number opted out) are final and never reach a gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

Status = Literal["queued", "sending", "sent", "delivered", "undelivered", "failed", "held", "suppressed"]

# How far along a message is; a report of a lower rank than the message's is ignored.
STATUS_RANK: Mapping[str, int] = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "held": 3,
    "suppressed": 3,
}
FINAL_STATUSES = frozenset(status for status, rank in STATUS_RANK.items() if rank == 3)


def moves_forward(current: str, reported: str) -> bool:
    """Whether a report of ``reported`` may replace ``current`` (statuses never move backwards)."""
    return STATUS_RANK[reported] > STATUS_RANK[current]


@dataclass(frozen=True)
class OutgoingMessage:
    to: str  # E.164
    body: str
    reference: str  # Kolekt's id for the message (the outbox row), for logs and callbacks
    # Where the provider should report delivery, for providers that take a URL per message.
    status_callback: str | None = None


@dataclass(frozen=True)
class Sent:
    """The provider accepted the message. ``status`` is "sent", or "delivered" where the gateway
    knows it at once (the console)."""

    provider_id: str
    status: Status = "sent"


class SendError(Exception):
    """The provider did not take the message.

    ``transient``: the same message may succeed later (HTTP 5xx, 429, a time-out, a refused
    connection, credentials being fixed); otherwise it never will (an invalid number, an
    opted-out recipient). ``opted_out``: the provider says the recipient has opted out.
    """

    def __init__(
        self, message: str, *, transient: bool, code: str | None = None, opted_out: bool = False
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code
        self.opted_out = opted_out


@dataclass(frozen=True)
class Inbound:
    """A text someone sent, as the provider reported it (the sender not yet normalised)."""

    provider: str
    provider_id: str
    sender: str
    to: str
    text: str


@dataclass(frozen=True)
class DeliveryReport:
    provider: str
    provider_id: str
    status: Status
    error_code: str | None = None
    error: str | None = None


class BadRequest(ValueError):
    """An authenticated request that lacks what it must carry (e.g. no sender or no text)."""


# The longest message id Kolekt keeps (Twilio's are 34 characters, Africa's Talking's UUID-like).
MAX_PROVIDER_ID = 64


def provider_id(value: str, name: str) -> str:
    """A provider's message id as Kolekt can key a text by it: 1 to ``MAX_PROVIDER_ID`` printable
    ASCII characters; anything else (a NUL, a control character, a page of text) is a
    ``BadRequest``, not a database error."""
    if not (0 < len(value) <= MAX_PROVIDER_ID and value.isascii() and value.isprintable()):
        raise BadRequest(f"{name} must be 1 to {MAX_PROVIDER_ID} printable ASCII characters")
    return value


class Gateway(Protocol):
    """What Kolekt needs of an SMS provider."""

    @property
    def name(self) -> str: ...

    @property
    def confirms_opt_out(self) -> bool:
        """True when the provider itself answers STOP (so Kolekt must not send a second reply)."""
        ...

    def send(self, message: OutgoingMessage) -> Sent:
        """Hand one message to the provider; raises ``SendError``."""
        ...


@runtime_checkable
class FindsSent(Protocol):
    """A provider that can say what it already took: before a message whose hand-over was cut
    short (the worker died, the database went away after the provider answered) is sent again,
    Kolekt looks for it there and adopts it rather than send it twice."""

    def find_sent(self, to: str, body: str, since: datetime) -> list[Sent]:
        """Messages to ``to`` with exactly this ``body`` that the provider took since ``since``,
        newest first. Raises ``SendError`` when the provider cannot be asked just now."""
        ...
