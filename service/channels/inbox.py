"""One text in, its effects and replies out: the path every inbound text takes, from any gateway,
the simulator or the CLI. A text that was accepted is never lost and acted on exactly once.

1. ``store``: the text is committed first, alone, in a short transaction, keyed by the provider's
   id (a repeat of that id changes nothing; a PIN is stored as "PIN ****"). Only once it is
   stored does the webhook answer 200; if even this fails, the webhook answers 503 and the
   provider sends it again (``docs/operations.md``: Twilio's retry overrides).
2. ``act``: in a second unit of work the stored row is locked and, if nobody acted on it yet,
   the text is read, its handler run, its replies written and the row marked ``processed``; the
   commit takes all of that or none of it, so a text is acted on once however many try.
3. If acting fails (the database dropped the connection, a deadlock, a bug, the process died),
   the row stays ``received`` with its attempt counted, a job tries again a little later and the
   inbox sweep finds whatever is left, until it is acted on; the answer then quotes the text it
   answers, since it comes late. After ``MAX_ATTEMPTS`` the text is marked ``failed`` and its
   sender told, quoting it, that nothing was changed. A PIN is never stored in clear, so it is
   not acted on again: its sender is asked to send it again at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, select, update

import sms
from service.channels.conversation import Conversation
from service.channels.handlers import HANDLERS, not_open, unreadable
from service.db import insert_ignoring_conflict
from service.models import inbound_t
from service.outbox import Answering, language_of
from service.runtime import Runtime
from service.unit_of_work import Job, UnitOfWork
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
# Providers that answer STOP and START themselves (Kolekt then only records the choice).
CONFIRMS_OPT_OUT = frozenset({"twilio"})
# How often acting on a text is tried before its sender is told it failed, and how long the job
# waits before each try after the first (the inbox sweep also tries every minute).
MAX_ATTEMPTS = 5
RETRY_WAITS = (timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=5))
# A text stored this long ago and still not acted on is the sweep's (its first try is over).
SWEEP_AFTER = timedelta(seconds=60)


@dataclass(frozen=True)
class Received:
    """What became of one inbound text: its row (None for a repeat of a provider's id already
    acted on), the command read, the replies written, and whether acting on it failed (it is
    tried again, or, once ``given_up``, its sender was told)."""

    inbound_id: int | None
    duplicate: bool
    command: str
    replies: tuple[int, ...] = ()
    failed: bool = False
    given_up: bool = False


class Stored(NamedTuple):
    inbound_id: int
    new: bool
    status: str
    command: str | None


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


def _store(uow: UnitOfWork, message: Inbound, sender: str) -> Stored:
    """The message, keyed by the provider's id; the row already there for a repeat of that id."""
    session = uow.session
    words = vocabulary(session, uow.settings.phone_region, uow.settings.max_kg_per_line)
    inserted = insert_ignoring_conflict(
        session,
        inbound_t,
        {
            "provider": message.provider,
            "provider_message_id": message.provider_id,
            "sender": sender,
            "recipient": _storable(message.to)[:32],
            "body": stored_body(message.text, words),
            "received_at": uow.now,
            "status": "received",
        },
        conflict=("provider", "provider_message_id"),
        returning=inbound_t.c.id,
    )
    if inserted is not None:
        return Stored(int(inserted), True, "received", None)
    row = session.execute(
        select(inbound_t.c.id, inbound_t.c.status, inbound_t.c.command).where(
            inbound_t.c.provider == message.provider,
            inbound_t.c.provider_message_id == message.provider_id,
        )
    ).one()
    return Stored(row.id, False, row.status, row.command)


def store(runtime: Runtime, message: Inbound, sender: str, now: datetime | None = None) -> Stored:
    """Commit the text, alone (run again if the connection drops before COMMIT). Raises when the
    database cannot take it: the caller must then make the provider send it again."""
    return runtime.transact(lambda uow: _store(uow, message, sender), now=now)


# Acting on a stored text: its row locked (nobody else acts on it meanwhile), then marked done.
# Built once: they run for every text.
_TAKE = (
    select(inbound_t.c.sender, inbound_t.c.provider, inbound_t.c.status, inbound_t.c.command)
    .where(inbound_t.c.id == bindparam("inbound_id"))
    .with_for_update()
)
_PROCESSED = (
    update(inbound_t)
    .where(inbound_t.c.id == bindparam("inbound_id"))
    .values(status="processed", processed_at=bindparam("at"), command=bindparam("read_as"), error=None)
)


def _act(uow: UnitOfWork, inbound_id: int, text: str, *, late: bool) -> Received:
    """Act on the stored text ``inbound_id`` (``text`` is what it said, in clear) unless it was
    acted on already: one unit of work for its effects, its replies and its ``processed`` mark."""
    session, settings = uow.session, uow.settings
    row = session.execute(_TAKE, {"inbound_id": inbound_id}).one()
    if row.status != "received":
        return Received(inbound_id, duplicate=True, command=row.command or row.status)
    sender = row.sender
    role, actor_id = role_of(session, sender)
    words = vocabulary(session, settings.phone_region, settings.max_kg_per_line)
    parsed = sms.parse(text, role, words)
    command = _command_name(parsed)
    # Creating or touching the phone's row also locks it: one number's texts run one at a time.
    language = phones.touch(session, sender, uow.now)
    uow.outbox.answering = Answering(inbound_id, sender, quote=text if late else None)
    conversation = Conversation(
        uow=uow,
        sender=sender,
        role=role,
        language=language,
        # Only a household's own texts need its row (a collector's or a shop's never do).
        household=member_by_phone(session, sender) if role == "household" else None,
        inbound_id=inbound_id,
        provider_confirms_opt_out=row.provider in CONFIRMS_OPT_OUT,
        actor_id=actor_id,
    )
    if isinstance(parsed, commands.ParseError):
        unreadable(conversation, parsed)
    else:
        try:
            HANDLERS.get(type(parsed), not_open)(conversation, parsed)
        except Refused as refusal:  # the use case wrote nothing: say why
            conversation.refused(refusal)
    uow.outbox.release()
    session.execute(_PROCESSED, {"inbound_id": inbound_id, "at": uow.now, "read_as": command})
    return Received(inbound_id, False, command, tuple(uow.outbox.written))


def _attempt_failed(uow: UnitOfWork, inbound_id: int, error: str) -> Received:
    """Acting on the text failed (and rolled back): count the attempt; ask a job to try again, or,
    after ``MAX_ATTEMPTS`` (at once for a PIN, which is not kept), tell its sender that nothing
    was changed, quoting the text."""
    session = uow.session
    row = session.execute(
        select(inbound_t.c.sender, inbound_t.c.body, inbound_t.c.status, inbound_t.c.attempts)
        .where(inbound_t.c.id == inbound_id)
        .with_for_update()
    ).one()
    if row.status != "received":  # acted on meanwhile (the failure was after its commit)
        return Received(inbound_id, duplicate=True, command=row.status)
    attempts = row.attempts + 1
    pin = row.body == REDACTED_PIN
    if pin:
        # A database error quotes its statement's values: for a PIN, the new hash.
        error = error.partition(":")[0]
    give_up = pin or attempts >= MAX_ATTEMPTS
    session.execute(
        update(inbound_t)
        .where(inbound_t.c.id == inbound_id)
        .values(
            attempts=attempts,
            error=error[:2000],
            **({"status": "failed", "processed_at": uow.now, "command": "failed"} if give_up else {}),
        )
    )
    if not give_up:
        uow.after_commit(Job.ACT_ON_TEXT, inbound_id, wait=RETRY_WAITS[min(attempts, len(RETRY_WAITS)) - 1])
        return Received(inbound_id, False, "failed", failed=True)
    uow.outbox.answering = Answering(inbound_id, row.sender)
    language = language_of(session, row.sender)
    if pin:
        uow.outbox.text(row.sender, "pin_not_handled", language)
    else:
        uow.outbox.text(row.sender, "not_handled", language, text=row.body)
    return Received(inbound_id, False, "failed", tuple(uow.outbox.written), failed=True, given_up=True)


def act(runtime: Runtime, inbound_id: int, text: str, *, late: bool, now: datetime | None = None) -> Received:
    """Act on a stored text once; should that fail, count it and try again later (see above)."""
    moment = now or datetime.now(UTC)
    try:
        return runtime.transact(lambda uow: _act(uow, inbound_id, text, late=late), now=moment)
    except Exception as error:
        log.exception("acting on inbound text %s failed", inbound_id)
        summary = f"{type(error).__name__}: {error}"
        return runtime.transact(lambda uow: _attempt_failed(uow, inbound_id, summary))


def receive(
    runtime: Runtime,
    message: Inbound,
    sender: str,
    *,
    now: datetime | None = None,
) -> Received:
    """Store the text (raises if the database cannot take it), then act on it at once. ``sender``
    is the E.164 form of ``message.sender``. A repeat of a provider's id is acted on only if its
    first delivery was stored but not acted on yet. Whether the provider answers STOP itself
    is read from its name (``CONFIRMS_OPT_OUT``)."""
    moment = now or datetime.now(UTC)
    stored = store(runtime, message, sender, now=moment)
    if stored.status != "received":
        return Received(None, duplicate=True, command=stored.command or stored.status)
    received = act(runtime, stored.inbound_id, message.text, late=not stored.new, now=moment)
    if received.duplicate and not stored.new:
        return Received(None, duplicate=True, command=received.command)
    return received


def act_on_stored(runtime: Runtime, inbound_id: int) -> Received | None:
    """A stored text not acted on yet, acted on now from what was stored (a job's or the sweep's
    try); None when there is nothing to do. Its answer quotes it: it comes late."""
    with runtime.sessions() as session:
        row = session.execute(
            select(inbound_t.c.status, inbound_t.c.body).where(inbound_t.c.id == inbound_id)
        ).first()
    if row is None or row.status != "received":
        return None
    if row.body == REDACTED_PIN:
        # The digits were never kept: the sender is asked to send them again.
        return runtime.transact(lambda uow: _attempt_failed(uow, inbound_id, "PIN not kept"))
    return act(runtime, inbound_id, row.body, late=True)


def waiting(runtime: Runtime, now: datetime, limit: int = 200) -> list[int]:
    """Stored texts whose first try is over and that nobody acted on yet, oldest first."""
    with runtime.sessions() as session:
        return list(
            session.execute(
                select(inbound_t.c.id)
                .where(inbound_t.c.status == "received", inbound_t.c.received_at < now - SWEEP_AFTER)
                .order_by(inbound_t.c.id)
                .limit(limit)
            ).scalars()
        )
