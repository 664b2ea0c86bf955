"""The outbox: every text Kolekt sends is first a row, written in the transaction that caused it.

A job sends each row after the commit (``service.jobs.sending``), so a text exists exactly when
the change that caused it does: a rolled-back pickup sends no receipt, and a committed one is
never without its receipt, whether Redis was up or not (the outbox sweep finds rows nobody
enqueued). The unit of work enqueues what its ``Outbox`` wrote once it has committed.

Two rules are applied when a row is written and again when it is sent: a number that opted out
gets nothing (the row is ``suppressed``; only the STOP confirmation itself goes), and more than
``LOOP_LIMIT`` identical texts to one number within ``LOOP_WINDOW`` are ``held`` (two automated
systems answering each other, or a phone resending one message, must not run up a bill).

What happens to a row after it is written (claimed, handed over, retried, delivered, sent again
by an operator) is ``service.usecases.messages``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    String,
    Text,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

import sms
from ledger.models import UTCDateTime
from service.models import outbox_t, phones_t

log = logging.getLogger(__name__)

KINDS = ("transactional", "reminder", "report", "broadcast")
LOOP_LIMIT = 5
LOOP_WINDOW = timedelta(minutes=30)
# The one text that still goes to a number that has just opted out: the confirmation of STOP.
OPT_OUT_CONFIRMATION = "stopped"

REFUSALS = {
    "suppressed": "the number opted out (STOP)",
    "held": f"loop guard: more than {LOOP_LIMIT} identical texts to this number in 30 min",
}


@dataclass(frozen=True)
class Answering:
    """The inbound text being answered: what is written meanwhile is linked to it, and a text to
    its sender is an answer (sent even in quiet hours); a text to anyone else is news, which waits."""

    inbound_id: int
    sender: str
    # The text answered, when the answer comes late: the answer is led by it (``sms.quoted``).
    quote: str | None = None


@dataclass(frozen=True)
class Batch:
    """Texts nobody is waiting on (reminders, notices, reports), sent in batches from ``due``."""

    ids: list[int]
    due: datetime


@dataclass
class Outbox:
    """The texts one transaction writes: ``to_send`` (answers and news, a send job each) and
    ``batches`` (bulk texts), which the unit of work enqueues after the commit."""

    session: Session
    now: datetime
    programme: str = "Kolekt"
    answering: Answering | None = None
    to_send: list[int] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)
    written: list[int] = field(default_factory=list)
    _held: list[tuple[str, str, str | None, dict[str, object]]] = field(default_factory=list, repr=False)
    _answered: bool = field(default=False, repr=False)

    def text(self, to: str, template: str, language: str | None = None, /, **values: object) -> None:
        """The template rendered in ``language`` (the number's own when not given), written for
        ``to``; linked to the text being answered, if any. While a text is being answered, news for
        anyone else waits for the answer: the person who texted is answered first."""
        answering = self.answering
        if answering is not None and to != answering.sender and not self._answered:
            self._held.append((to, template, language, values))
            return
        self._text(to, template, language, values)
        if answering is not None and to == answering.sender and not self._answered:
            self._answered = True
            self.release()

    def release(self) -> None:
        """Write the news held back for an answer that did not come (the handler is done)."""
        held, self._held = self._held, []
        for to, template, language, values in held:
            self._text(to, template, language, values)

    def _text(self, to: str, template: str, language: str | None, values: dict[str, object]) -> int:
        language = language or language_of(self.session, to)
        body = sms.render(template, language, programme=self.programme, **values)
        answering = self.answering
        if answering is not None and answering.quote and to == answering.sender:
            body = sms.quoted(answering.quote, body)
        return self.write(
            to,
            body,
            language=language,
            template=template,
            inbound_id=answering.inbound_id if answering else None,
            reply=answering is not None and to == answering.sender,
        )

    def write(
        self,
        to: str,
        body: str,
        *,
        language: str,
        template: str,
        kind: str = "transactional",
        inbound_id: int | None = None,
        reply: bool = False,
    ) -> int:
        """One row, as it is to be sent; its id. A transactional one is sent by a job of its own, the
        others (reports) in a batch."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        counted = sms.segments(body)
        statement = _WRITE_CONFIRMATION if template == OPT_OUT_CONFIRMATION else _WRITE
        written = self.session.execute(
            statement,
            {
                "to": to,
                "body": body,
                "language": language,
                "segments": counted.count,
                "encoding": counted.encoding,
                "kind": kind,
                "template": template,
                "inbound_id": inbound_id,
                "reply": reply,
                "now": self.now,
                "window_start": self.now - LOOP_WINDOW,
            },
        ).one()
        message_id, status = int(written.id), written.status
        self.written.append(message_id)
        if status == "queued":
            if kind == "transactional":
                self.to_send.append(message_id)
            else:
                self.batches.append(Batch([message_id], self.now))
            return message_id
        reason = REFUSALS[status]
        self.session.execute(
            update(outbox_t).where(outbox_t.c.id == message_id).values(last_error=reason, final_at=self.now)
        )
        log.info("outbox %d to %s %s: %s", message_id, sms.mask_phone(to), status, reason)
        return message_id

    def write_bulk(
        self,
        messages: Sequence[tuple[str, str, str]],
        *,
        template: str,
        kind: str,
        due: datetime | None = None,
    ) -> list[int]:
        """Rows for many ``(to, body, language)`` at once (a fan-out), in one statement, to be sent
        in batches from ``due`` (now if not given); their ids in the order given. Neither the
        opt-out nor the loop guard is applied here: the caller writes only to numbers that did not
        opt out, each text under a key that lets it be written once, and the send checks opt-outs
        again."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        if not messages:
            return []
        due = due or self.now
        counted = {body: sms.segments(body) for body in {body for _, body, _ in messages}}
        rows = [
            {
                "to_phone": to,
                "body": body,
                "language": language,
                "segments": counted[body].count,
                "encoding": counted[body].encoding,
                "kind": kind,
                "template": template,
                "status": "queued",
                "attempts": 0,
                "reply": False,
                "created_at": self.now,
                "next_attempt_at": due,
            }
            for to, body, language in messages
        ]
        statement = insert(outbox_t).returning(outbox_t.c.id, sort_by_parameter_order=True)
        ids = [int(message_id) for message_id in self.session.execute(statement, rows).scalars()]
        self.written.extend(ids)
        self.batches.append(Batch(ids, due))
        return ids


def _write_statement(*, confirmation: bool) -> Any:
    """INSERT ... SELECT deciding the status in the same statement (one round trip): suppressed
    if the number opted out (but for the STOP confirmation), held by the loop guard, or queued."""
    to, now = bindparam("to", type_=String), bindparam("now", type_=UTCDateTime)
    opted_out = exists().where(phones_t.c.number == to, phones_t.c.opted_out_at.is_not(None))
    identical = (
        select(func.count())
        .select_from(outbox_t)
        .where(
            outbox_t.c.to_phone == to,
            outbox_t.c.created_at > bindparam("window_start", type_=UTCDateTime),
            outbox_t.c.body == bindparam("body", type_=Text),
        )
        .scalar_subquery()
    )
    whens: list[tuple[Any, Any]] = [] if confirmation else [(opted_out, literal("suppressed"))]
    whens.append((identical >= LOOP_LIMIT, literal("held")))
    columns: dict[str, Any] = {
        "to_phone": to,
        "body": bindparam("body", type_=Text),
        "language": bindparam("language", type_=String),
        "segments": bindparam("segments", type_=Integer),
        "encoding": bindparam("encoding", type_=String),
        "kind": bindparam("kind", type_=String),
        "template": bindparam("template", type_=String),
        "status": case(*whens, else_=literal("queued")),
        "attempts": literal(0, Integer),
        "inbound_id": bindparam("inbound_id", type_=BigInteger),
        "reply": bindparam("reply", type_=Boolean),
        "created_at": now,
        "next_attempt_at": now,
    }
    return (
        insert(outbox_t)
        .from_select(list(columns), select(*columns.values()))
        .returning(outbox_t.c.id, outbox_t.c.status)
    )


_WRITE = _write_statement(confirmation=False)
_WRITE_CONFIRMATION = _write_statement(confirmation=True)
_LANGUAGE = select(phones_t.c.language).where(phones_t.c.number == bindparam("phone"))


def language_of(session: Session, phone: str) -> str:
    """The language a number is texted in (English for a number Kolekt has not met)."""
    language: str | None = session.execute(_LANGUAGE, {"phone": phone}).scalar()
    return language or "EN"


def opt_out(session: Session, number: str, now: datetime) -> bool:
    """Record that ``number`` opted out; False if it already had (the first time stands)."""
    result: Any = session.execute(
        update(phones_t)
        .where(phones_t.c.number == number, phones_t.c.opted_out_at.is_(None))
        .values(opted_out_at=now, updated_at=now)
    )
    return bool(result.rowcount)
