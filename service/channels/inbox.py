"""One text in, its effects and replies out: the path every inbound text takes, from any gateway,
the simulator or the CLI.

In ONE unit of work ``receive`` stores the message keyed by the provider's id (a repeat of that
id stops here; a PIN is stored as "PIN ****"), reads the command, runs its handler and writes the
replies to the outbox; the commit comes next, and only then are the replies and any jobs
enqueued. Should acting on it fail, the text is kept as failed with an apology, in a unit of work
of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import sms
from service.channels.conversation import Conversation
from service.channels.handlers import HANDLERS, not_open
from service.db import insert_ignoring_conflict
from service.models import inbound_t
from service.outbox import Answering, language_of
from service.runtime import Runtime
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, phones
from service.usecases.catalogue import vocabulary
from service.usecases.households import member_by_phone
from service.usecases.roles import role_of
from sms import commands
from sms.gateways import Inbound

log = logging.getLogger(__name__)

# The most a stored message body may hold (what sms.parse reads is shorter; the rest is refused).
MAX_STORED_BODY = 2000
# What is stored of a text that reads as PIN: the digits are a collector's secret.
REDACTED_PIN = "PIN ****"


@dataclass(frozen=True)
class Received:
    """What became of one inbound text: its row (None for a repeat of a provider's id), the
    command read, and the replies written."""

    inbound_id: int | None
    duplicate: bool
    command: str
    replies: tuple[int, ...] = ()
    failed: bool = False


def _command_name(parsed: commands.Command | commands.ParseError) -> str:
    if isinstance(parsed, commands.ParseError):
        return f"parse-error:{parsed.reason}"[:40]
    return type(parsed).__name__


def _storable(text: str) -> str:
    """Text as a database column can hold it: PostgreSQL text cannot contain NUL."""
    return text.replace("\x00", "\ufffd")


def stored_body(text: str, words: sms.Vocabulary = sms.DEFAULT_VOCABULARY) -> str:
    """The text as kept in ``inbound_messages`` (and so shown by the dashboard and the simulator):
    as it came, but a PIN never in clear. Read as a collector's, whoever sent it: a PIN texted
    from a household's phone, mistyped or refused, is a secret all the same."""
    read = sms.parse(text, "collector", words)
    if isinstance(read, commands.Pin) or (isinstance(read, commands.ParseError) and read.command == "PIN"):
        return REDACTED_PIN
    return _storable(text)[:MAX_STORED_BODY]


def _store(
    uow: UnitOfWork,
    message: Inbound,
    sender: str,
    *,
    command: str,
    error: str | None = None,
    words: sms.Vocabulary = sms.DEFAULT_VOCABULARY,
) -> int | None:
    """The message, keyed by the provider's id; None when that id was stored before."""
    stored: int | None = insert_ignoring_conflict(
        uow.session,
        inbound_t,
        {
            "provider": message.provider,
            "provider_message_id": message.provider_id,
            "sender": sender,
            "recipient": _storable(message.to)[:32],
            "body": stored_body(message.text, words),
            "received_at": uow.now,
            "status": "failed" if error else "processed",
            "processed_at": uow.now,
            "command": command,
            "error": error and error[:2000],
        },
        conflict=("provider", "provider_message_id"),
        returning=inbound_t.c.id,
    )
    return stored


def _handle(uow: UnitOfWork, message: Inbound, sender: str, provider_confirms_opt_out: bool) -> Received:
    session, settings = uow.session, uow.settings
    role, actor_id = role_of(session, sender)
    words = vocabulary(session, settings.phone_region, settings.max_kg_per_line)
    parsed = sms.parse(message.text, role, words)
    command = _command_name(parsed)
    inbound_id = _store(uow, message, sender, command=command, words=words)
    if inbound_id is None:
        return Received(None, duplicate=True, command=command)
    # Creating or touching the phone's row also locks it: one number's texts run one at a time.
    language = phones.touch(session, sender, uow.now)
    uow.outbox.answering = Answering(inbound_id, sender)
    conversation = Conversation(
        uow=uow,
        sender=sender,
        role=role,
        language=language,
        household=member_by_phone(session, sender),
        inbound_id=inbound_id,
        provider_confirms_opt_out=provider_confirms_opt_out,
        actor_id=actor_id,
    )
    if isinstance(parsed, commands.ParseError):
        conversation.reply(parsed.reason, **parsed.details)
    else:
        try:
            HANDLERS.get(type(parsed), not_open)(conversation, parsed)
        except Refused as refusal:  # the use case wrote nothing: say why
            conversation.refused(refusal)
    uow.outbox.release()
    return Received(inbound_id, False, command, tuple(uow.outbox.written))


def _record_failure(uow: UnitOfWork, message: Inbound, sender: str, error: str) -> Received:
    """Acting on the text failed (and rolled back): keep the text, say so, and tell the sender."""
    if stored_body(message.text) == REDACTED_PIN:
        # A database error quotes its statement's values: for a PIN, the new hash.
        error = error.partition(":")[0]
    inbound_id = _store(uow, message, sender, command="failed", error=error)
    if inbound_id is None:  # a repeat raced the failure and was stored first
        return Received(None, duplicate=True, command="failed", failed=True)
    uow.outbox.answering = Answering(inbound_id, sender)
    uow.outbox.text(sender, "try_later", language_of(uow.session, sender))
    return Received(inbound_id, False, "failed", tuple(uow.outbox.written), failed=True)


def receive(
    runtime: Runtime,
    message: Inbound,
    sender: str,
    *,
    provider_confirms_opt_out: bool = False,
    now: datetime | None = None,
) -> Received:
    """Store, read and act on one inbound text in one unit of work; on an unexpected error,
    store it as failed with an apology instead. ``sender`` is the E.164 form of
    ``message.sender``. The replies are enqueued once it has committed."""
    moment = now or datetime.now(UTC)
    try:
        return runtime.transact(
            lambda uow: _handle(uow, message, sender, provider_confirms_opt_out), now=moment
        )
    except Exception as error:
        log.exception("inbound %s %s failed", message.provider, message.provider_id)
        summary = f"{type(error).__name__}: {error}"
        return runtime.transact(lambda uow: _record_failure(uow, message, sender, summary), now=moment)
