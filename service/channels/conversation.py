"""A conversation: one inbound text being answered, as a command handler sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sms
from service.unit_of_work import UnitOfWork
from service.usecases import Refused
from service.usecases.households import Member


@dataclass
class Conversation:
    """What a handler may use: the unit of work the text is handled in, who wrote, and where
    replies go. Anything written meanwhile is linked to the text (``uow.outbox.answering``)."""

    uow: UnitOfWork
    sender: str  # E.164
    role: sms.Role
    language: str
    household: Member | None
    inbound_id: int
    # The provider sends its own STOP/START confirmations (Twilio): Kolekt must not send a second.
    provider_confirms_opt_out: bool = False
    # The collector's or partner shop's id when ``role`` is one of those.
    actor_id: int | None = None
    # How it came: "sms", or "ussd" (a USSD session's last screen; its inbound row is the session's).
    channel: str = "sms"

    def reply(self, template: str, /, **values: object) -> None:
        """A reply to the sender, in their language, through the outbox."""
        self.uow.outbox.text(self.sender, template, self.language, **values)

    def refused(self, refusal: Refused) -> None:
        """The reply that says why a use case would not do it."""
        self.reply(refusal.template, **refusal.values)

    def collector_id(self) -> int:
        assert self.role == "collector" and self.actor_id is not None
        return self.actor_id

    def date(self, moment: datetime) -> str:
        """A moment as its day here, in the sender's language: "5 Nov"."""
        return sms.short_date(moment, self.uow.settings.zone, self.language)
