"""A collector's PIN for the collector app, texted from their own phone: ``PIN 4821``.

The PIN can also be set from the dashboard and the CLI (an operator reads it to the collector);
however it is set, ``tokens.set_pin`` ends every app sign-in the collector had, so a lost phone
is signed out by choosing a new PIN. The text itself is stored as "PIN ****"
(``conversation.stored_body``) and no reply repeats the digits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.channels.conversation import Conversation, handles
from service.models import collectors_t
from service.usecases import audit, tokens
from service.usecases.catalogue import get_collector
from sms import commands

# The audit log's actions for a new PIN and for ending every app sign-in (dashboard and CLI too).
PIN_ACTION = "collector.pin"
SIGN_OUT_ACTION = "collector.signout"


def collector_subject(collector_id: int) -> str:
    return f"collector:{collector_id}"


def pin_set_at(session: Session, collector_id: int) -> datetime | None:
    """When the collector's PIN was last set; None if they have none (and cannot sign in)."""
    row = session.execute(
        select(collectors_t.c.pin_set_at, collectors_t.c.pin_hash).where(collectors_t.c.id == collector_id)
    ).first()
    if row is None or not row.pin_hash:
        return None
    set_at: datetime | None = row.pin_set_at
    return set_at


@handles(commands.Pin)
def pin(conversation: Conversation, command: commands.Pin) -> None:
    """A suspended collector changes nothing, like with every other collector command: their app
    is refused anyway until the hub lets them work again."""
    assert conversation.actor_id is not None
    session = conversation.session
    collector = get_collector(session, conversation.actor_id)
    assert collector is not None
    if collector.status != "active":
        conversation.reply("collector_suspended")
        return
    subject = collector_subject(collector.id)
    try:
        ended = tokens.set_pin(session, collector.id, command.digits, conversation.now, by=subject)
    except tokens.PinError:
        # The grammar let through only 4 to 6 digits: what is left to refuse is an easy guess.
        conversation.reply("pin_too_easy")
        return
    audit.record(
        session,
        actor=subject,
        action=PIN_ACTION,
        subject=subject,
        at=conversation.now,
        details={"by": "sms", "signed_out": ended},
    )
    conversation.reply("pin_set_signed_out" if ended else "pin_set")
