"""One text in, its effects and replies out: the handler registry and the SMS use cases.

``receive`` is the path every inbound text takes, from any gateway, the simulator or the CLI:
in ONE transaction it stores the message keyed by the provider's id (a repeat of that id
stops here; a PIN is stored as "PIN ****"), reads the command, runs its handler and writes the
replies to the outbox. Handlers are plain functions registered per command type; each gets a
``Conversation`` (the session, the sender, their household if any, the outbox) and the parsed
command.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from redis import Redis
from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.orm import Session, sessionmaker

import sms
from service.db import insert_ignoring_conflict, run_in_transaction, upsert
from service.jobs.queue import enqueue_job
from service.models import collectors_t, inbound_t, partners_t, phones_t
from service.outbox import Outbox, enqueue_sends, opt_out
from service.settings import Settings
from service.usecases.catalogue import vocabulary
from service.usecases.households import Member, member_by_phone
from sms import commands
from sms.gateways import Inbound

log = logging.getLogger(__name__)

# The most a stored message body may hold (what sms.parse reads is shorter; the rest is refused).
MAX_STORED_BODY = 2000
# What is stored of a text that reads as PIN: the digits are a collector's secret.
REDACTED_PIN = "PIN ****"


@dataclass
class Conversation:
    """What a handler may use: the transaction, who wrote, and where replies go."""

    session: Session
    settings: Settings
    sender: str  # E.164
    role: sms.Role
    language: str
    household: Member | None
    inbound_id: int
    outbox: Outbox
    now: datetime
    # The provider sends its own STOP/START confirmations (Twilio): Kolekt must not send a second.
    provider_confirms_opt_out: bool = False
    # The collector's or partner shop's id when ``role`` is one of those.
    actor_id: int | None = None
    # Jobs to enqueue once the transaction has committed: (dotted function name, arguments).
    jobs: list[tuple[str, tuple[Any, ...]]] = dataclasses.field(default_factory=list)

    def after_commit(self, function: str, *arguments: Any) -> None:
        """Run ``function(*arguments)`` as a job after the commit (never if it rolls back)."""
        self.jobs.append((function, arguments))

    def reply(self, template: str, /, **values: object) -> int:
        """A reply to the sender, in their language, through the outbox."""
        return self.text(self.sender, template, self.language, **values)

    def text(self, to: str, template: str, language: str, /, **values: object) -> int:
        """A text to ``to`` about this message: an answer (sent even in quiet hours) when ``to``
        wrote it, otherwise news for someone else (a household's receipt), which waits for morning."""
        body = sms.render(template, language, programme=self.settings.programme_name, **values)
        return self.outbox.write(
            to,
            body,
            language=language,
            template=template,
            inbound_id=self.inbound_id,
            reply=to == self.sender,
        )


C = TypeVar("C")
Handler = Callable[[Conversation, Any], None]
HANDLERS: dict[type, Handler] = {}
# The modules whose handlers register themselves with @handles (imported on first use: they
# import this module, so it cannot import them at the top).
HANDLER_MODULES = (
    "service.channels.handlers.members",
    "service.usecases.pickups",
    "service.usecases.rewards",
    "service.channels.handlers.collector_pins",
)


@lru_cache(maxsize=1)
def handlers() -> dict[type, Handler]:
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    return HANDLERS


def handles(
    *command_types: type[C],
) -> Callable[[Callable[[Conversation, C], None]], Callable[[Conversation, C], None]]:
    """Register a function as the handler of these command types."""

    def register(function: Callable[[Conversation, C], None]) -> Callable[[Conversation, C], None]:
        for command_type in command_types:
            if command_type in HANDLERS:
                raise ValueError(f"{command_type.__name__} already has a handler")
            HANDLERS[command_type] = function
        return function

    return register


# --- the path of every inbound text ------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """What became of one inbound text. ``to_send``: outbox rows to enqueue after the commit."""

    inbound_id: int | None
    duplicate: bool
    command: str
    replies: tuple[int, ...] = ()
    to_send: tuple[int, ...] = ()
    failed: bool = False
    jobs: tuple[tuple[str, tuple[Any, ...]], ...] = ()


def _command_name(parsed: commands.Command | commands.ParseError) -> str:
    if isinstance(parsed, commands.ParseError):
        return f"parse-error:{parsed.reason}"[:40]
    return type(parsed).__name__


_ROLE = union_all(
    select(literal("collector").label("role"), collectors_t.c.id).where(
        collectors_t.c.phone == bindparam("phone")
    ),
    select(literal("partner").label("role"), partners_t.c.id).where(partners_t.c.phone == bindparam("phone")),
)


def role_of(session: Session, sender: str) -> tuple[sms.Role, int | None]:
    """Who the number belongs to: a collector or a partner shop (registered by operators, with
    their id), or else a household (or someone who may JOIN)."""
    found = session.execute(_ROLE, {"phone": sender}).first()
    if found is None:
        return "household", None
    role: sms.Role = found.role
    return role, found.id


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
    session: Session,
    message: Inbound,
    sender: str,
    now: datetime,
    *,
    command: str,
    error: str | None = None,
    words: sms.Vocabulary = sms.DEFAULT_VOCABULARY,
) -> int | None:
    """The message, keyed by the provider's id; None when that id was stored before."""
    stored: int | None = insert_ignoring_conflict(
        session,
        inbound_t,
        {
            "provider": message.provider,
            "provider_message_id": message.provider_id,
            "sender": sender,
            "recipient": _storable(message.to)[:32],
            "body": stored_body(message.text, words),
            "received_at": now,
            "status": "failed" if error else "processed",
            "processed_at": now,
            "command": command,
            "error": error and error[:2000],
        },
        conflict=("provider", "provider_message_id"),
        returning=inbound_t.c.id,
    )
    return stored


def _handle(
    session: Session,
    settings: Settings,
    message: Inbound,
    sender: str,
    now: datetime,
    provider_confirms_opt_out: bool,
) -> Received:
    role, actor_id = role_of(session, sender)
    words = vocabulary(session, settings.phone_region, settings.max_kg_per_line)
    parsed = sms.parse(message.text, role, words)
    command = _command_name(parsed)
    inbound_id = _store(session, message, sender, now, command=command, words=words)
    if inbound_id is None:
        return Received(None, duplicate=True, command=command)
    # Creating or touching the phone's row also locks it: one number's texts run one at a time.
    phone = upsert(
        session,
        phones_t,
        {"number": sender, "language": "EN", "created_at": now, "updated_at": now},
        conflict=("number",),
        update={"updated_at": now},
        returning=(phones_t.c.language,),
    )
    household = member_by_phone(session, sender)
    outbox = Outbox(session, now)
    conversation = Conversation(
        session=session,
        settings=settings,
        sender=sender,
        role=role,
        language=phone.language,
        household=household,
        inbound_id=inbound_id,
        outbox=outbox,
        now=now,
        provider_confirms_opt_out=provider_confirms_opt_out,
        actor_id=actor_id,
    )
    if isinstance(parsed, commands.ParseError):
        conversation.reply(parsed.reason, **parsed.details)
    else:
        handlers().get(type(parsed), not_open)(conversation, parsed)
    return Received(
        inbound_id,
        False,
        command,
        tuple(outbox.written),
        tuple(outbox.to_send),
        jobs=tuple(conversation.jobs),
    )


def _record_failure(
    session: Session, settings: Settings, message: Inbound, sender: str, error: str, now: datetime
) -> Received:
    """Acting on the text failed (and rolled back): keep the text, say so, and tell the sender."""
    if stored_body(message.text) == REDACTED_PIN:
        # A database error quotes its statement's values: for a PIN, the new hash.
        error = error.partition(":")[0]
    inbound_id = _store(session, message, sender, now, command="failed", error=error)
    if inbound_id is None:  # a repeat raced the failure and was stored first
        return Received(None, duplicate=True, command="failed", failed=True)
    language = (
        session.execute(select(phones_t.c.language).where(phones_t.c.number == sender)).scalar() or "EN"
    )
    outbox = Outbox(session, now)
    body = sms.render("try_later", language, programme=settings.programme_name)
    reply = outbox.write(
        sender, body, language=language, template="try_later", inbound_id=inbound_id, reply=True
    )
    return Received(inbound_id, False, "failed", (reply,), tuple(outbox.to_send), failed=True)


def receive(
    sessions: sessionmaker[Session],
    settings: Settings,
    message: Inbound,
    sender: str,
    *,
    provider_confirms_opt_out: bool = False,
    now: datetime | None = None,
) -> Received:
    """Store, read and act on one inbound text in one transaction; on an unexpected error, store
    it as failed with an apology instead. ``sender`` is the E.164 form of ``message.sender``."""
    moment = now or datetime.now(UTC)
    try:
        return run_in_transaction(
            sessions, lambda s: _handle(s, settings, message, sender, moment, provider_confirms_opt_out)
        )
    except Exception as error:
        log.exception("inbound %s %s failed", message.provider, message.provider_id)
        summary = f"{type(error).__name__}: {error}"
        return run_in_transaction(
            sessions, lambda s: _record_failure(s, settings, message, sender, summary, moment)
        )


def dispatch(connection: Redis, received: Received) -> None:
    """After the commit: enqueue the replies and any jobs the handlers asked for. Redis being
    down loses nothing: the outbox sweep and the jobs' own sweeps find what was not enqueued."""
    enqueue_sends(connection, received.to_send)
    for function, arguments in received.jobs:
        enqueue_job(connection, function, *arguments)


# --- the handlers ------------------------------------------------------------------------------


def not_open(conversation: Conversation, command: Any) -> None:
    """A command the protocol has but this programme does not run yet."""
    conversation.reply("not_open", command=type(command).__name__.upper())


@handles(commands.Help)
def help_(conversation: Conversation, _command: commands.Help) -> None:
    conversation.reply(f"help_{conversation.role}")


@handles(commands.Language)
def language(conversation: Conversation, command: commands.Language) -> None:
    conversation.session.execute(
        phones_t.update()
        .where(phones_t.c.number == conversation.sender)
        .values(language=command.code, updated_at=conversation.now)
    )
    conversation.language = command.code
    name = sms.LANGUAGE_NAMES[command.code]
    conversation.reply(
        "language_set" if sms.has_templates(command.code) else "language_pending", language=name
    )


@handles(commands.Stop)
def stop(conversation: Conversation, _command: commands.Stop) -> None:
    # One confirmation, when the number opts out; a STOP from a number already out gets nothing.
    opted_out_now = opt_out(conversation.session, conversation.sender, conversation.now)
    if opted_out_now and not conversation.provider_confirms_opt_out:
        conversation.reply("stopped")


@handles(commands.Start)
def start(conversation: Conversation, _command: commands.Start) -> None:
    conversation.session.execute(
        phones_t.update()
        .where(phones_t.c.number == conversation.sender)
        .values(opted_out_at=None, updated_at=conversation.now)
    )
    if not conversation.provider_confirms_opt_out:
        conversation.reply("started")
