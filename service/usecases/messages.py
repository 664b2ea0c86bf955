"""What becomes of a text after it is written: claimed and handed to the gateway (once),
recorded, retried after a transient failure, reported delivered, swept up when no job took it,
and sent again by an operator.

Sending is at most once per attempt and never again once the provider took the message: a job
first claims the row (queued -> sending, committed), then hands it over, then records the result.
Two jobs for the same row cannot both claim it. The one gap no SMS API closes: a worker killed
between handing a message over and recording it leaves the row "sending"; the sweep treats that
as a time-out and tries again, as Kolekt does for any time-out, so that text may arrive twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import BigInteger, Boolean, Integer, String, bindparam, case, exists, func, select, update
from sqlalchemy.orm import Session

from ledger.models import UTCDateTime
from service.models import OutboxMessage, outbox_t, phones_t
from service.outbox import OPT_OUT_CONFIRMATION, opt_out
from service.unit_of_work import UnitOfWork
from sms.gateways import FINAL_STATUSES, STATUS_RANK, DeliveryReport, Sent, moves_forward

log = logging.getLogger(__name__)

# Delivery errors that mean the recipient opted out with the provider or carrier: Twilio's
# 21610 (unsubscribed), Africa's Talking's UserInBlackList.
OPTED_OUT_CODES = frozenset({"21610", "userinblacklist"})
# Attempts in all, and the wait before each retry after a transient failure.
MAX_ATTEMPTS = 6
BACKOFF = (
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)
# A queued row this long past due was never enqueued (Redis down) or its job was lost.
SWEEP_GRACE = timedelta(seconds=60)
BULK_SWEEP_GRACE = timedelta(minutes=15)
# A row "sending" this long belongs to a worker that died (a send job times out after a minute).
STALE_SENDING = timedelta(minutes=5)


# --- the send job's three steps: claim, hand over (the job), record ----------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    to: str
    body: str
    attempt: int
    created_at: datetime | None = None


@dataclass(frozen=True)
class Claims:
    claimed: list[Claimed]
    deferred: list[int]  # put off until quiet hours end


def claim_many(
    session: Session, ids: Sequence[int], now: datetime, *, quiet_until: datetime | None = None
) -> Claims:
    """Take the queued, due rows among ``ids`` for sending (queued -> sending), in three statements
    whatever their number: rows to a number that opted out are suppressed; in quiet hours
    (``quiet_until`` is when they end) rows that do not answer the recipient's own text are put
    off until then; the rest are claimed. Each UPDATE re-checks a row's status under its lock, so
    of two jobs claiming the same row only one gets it."""
    # coalesce() keeps SQLite from reading these rows through the (status, due) index, which it
    # would otherwise prefer to the primary key: every claim would then scan every queued row.
    waiting = (outbox_t.c.id.in_(list(ids)), func.coalesce(outbox_t.c.status, "") == "queued")
    session.execute(
        update(outbox_t)
        .where(
            *waiting,
            outbox_t.c.template != OPT_OUT_CONFIRMATION,
            exists().where(phones_t.c.number == outbox_t.c.to_phone, phones_t.c.opted_out_at.is_not(None)),
        )
        .values(
            status="suppressed", final_at=now, last_error="the number opted out (STOP) before this was sent"
        )
    )
    deferred: list[int] = []
    if quiet_until is not None:
        deferred = [
            int(i)
            for i in session.execute(
                update(outbox_t)
                .where(*waiting, outbox_t.c.reply.is_(False), outbox_t.c.next_attempt_at < quiet_until)
                .values(next_attempt_at=quiet_until)
                .returning(outbox_t.c.id)
            ).scalars()
        ]
    rows = session.execute(
        update(outbox_t)
        .where(*waiting, outbox_t.c.next_attempt_at <= now)
        .values(status="sending", attempts=outbox_t.c.attempts + 1, sending_at=now)
        .returning(
            outbox_t.c.id, outbox_t.c.to_phone, outbox_t.c.body, outbox_t.c.attempts, outbox_t.c.created_at
        )
    ).all()
    claimed = [
        Claimed(int(row.id), row.to_phone, row.body, int(row.attempts), row.created_at) for row in rows
    ]
    claimed.sort(key=lambda message: message.id)
    return Claims(claimed, sorted(deferred))


def claim(session: Session, message_id: int, now: datetime) -> Claimed | None:
    """One row (see ``claim_many``); None when there is nothing to do: another job has it, it
    went already, or it waits for a later retry."""
    claimed = claim_many(session, [message_id], now).claimed
    return claimed[0] if claimed else None


def _finish(row: OutboxMessage, status: str, now: datetime, *, error: str | None = None) -> None:
    row.status = status
    if status in FINAL_STATUSES:
        row.final_at = now
    if error is not None:
        row.last_error = error


# A status's rank, in SQL: a recorded status only ever moves forward.
_RANK = case(dict(STATUS_RANK), value=outbox_t.c.status)
_FORWARD = bindparam("b_rank", type_=Integer) > _RANK
_RECORD_SENT = (
    update(outbox_t)
    .where(outbox_t.c.id == bindparam("b_id", type_=BigInteger))
    .values(
        provider=bindparam("b_provider", type_=String),
        provider_message_id=bindparam("b_provider_id", type_=String),
        sent_at=bindparam("b_now", type_=UTCDateTime),
        status=case((_FORWARD, bindparam("b_status", type_=String)), else_=outbox_t.c.status),
        final_at=case(
            (_FORWARD & bindparam("b_final", type_=Boolean), bindparam("b_now", type_=UTCDateTime)),
            else_=outbox_t.c.final_at,
        ),
    )
)


def record_sent_many(
    session: Session, provider: str, sent: Sequence[tuple[int, str, str]], now: datetime
) -> None:
    """The provider took these ``(id, provider id, status)``. A delivery report may have come
    first: a status never goes back. One statement, executed for all rows at once."""
    if sent:
        session.execute(
            _RECORD_SENT,
            [
                {
                    "b_id": message_id,
                    "b_provider": provider,
                    "b_provider_id": provider_id,
                    "b_status": status,
                    "b_rank": STATUS_RANK[status],
                    "b_final": status in FINAL_STATUSES,
                    "b_now": now,
                }
                for message_id, provider_id, status in sent
            ],
        )


def record_sent(
    session: Session, message_id: int, provider: str, provider_id: str, status: str, now: datetime
) -> None:
    """The provider took it (see ``record_sent_many``)."""
    record_sent_many(session, provider, [(message_id, provider_id, status)], now)


def record_failure(
    session: Session,
    message_id: int,
    *,
    transient: bool,
    code: str | None,
    error: str,
    opted_out: bool,
    now: datetime,
) -> timedelta | None:
    """The provider did not take it. Returns the wait before the retry, or None if failed for good."""
    row = session.execute(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).scalar_one()
    row.error_code = code
    row.last_error = error[:500]
    if opted_out:
        opt_out(session, row.to_phone, now)
    if transient and row.attempts < MAX_ATTEMPTS:
        wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        row.status = "queued"
        row.next_attempt_at = now + wait
        return wait
    _finish(row, "failed", now)
    return None


def record_delivery(
    session: Session, report: DeliveryReport, now: datetime, *, message_id: int | None = None
) -> bool:
    """A delivery report. Finds the row by Kolekt's id (in the callback URL, which can beat the
    job's own record of the provider's id) or by the provider's id; moves its status forward
    only. Returns whether a row was found."""
    query = select(OutboxMessage).with_for_update()
    if message_id is not None:
        query = query.where(OutboxMessage.id == message_id)
    else:
        query = query.where(
            OutboxMessage.provider == report.provider,
            OutboxMessage.provider_message_id == report.provider_id,
        )
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        return False
    if row.provider_message_id is None:
        row.provider, row.provider_message_id = report.provider, report.provider_id
    if moves_forward(row.status, report.status):  # a late or repeated report changes nothing
        _finish(row, report.status, now)
        if report.error_code:
            row.error_code = report.error_code[:32]
            row.last_error = report.error or row.last_error
    if (report.error_code or "").lower() in OPTED_OUT_CODES:
        opt_out(session, row.to_phone, now)
    return True


# --- the sweep ---------------------------------------------------------------------------------


class Stale(NamedTuple):
    """A row left "sending" by a hand-over cut short: the provider may have it already."""

    id: int
    to: str
    body: str
    sending_at: datetime


class Swept(NamedTuple):
    transactional: list[int]  # one job each, on the high queue
    bulk: list[int]  # in batches on the default queue
    stale: list[Stale] = []  # to look for at the provider before sending again (``settle_stale``)


def rows_to_sweep(session: Session, now: datetime, *, limit: int = 5000, after_outage: bool = False) -> Swept:
    """Rows no job is going to send: queued and overdue, or stuck "sending" by a dead worker
    (put back to queued, as after a time-out; the attempt counts). A bulk text may wait its
    turn behind a long paced fan-out, so it counts as overdue only after ``BULK_SWEEP_GRACE``.
    ``after_outage`` (Redis is back, and may have lost what it held): every row due now, with no
    grace; a row whose job did survive is then enqueued twice, and sent once (the claim)."""
    stale = [
        Stale(row.id, row.to_phone, row.body, row.sending_at or now)
        for row in session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.sending_at < now - STALE_SENDING)
            .limit(limit)
        ).scalars()
    ]
    overdue = now - SWEEP_GRACE
    rows = session.execute(
        select(outbox_t.c.id, outbox_t.c.kind)
        .where(
            outbox_t.c.status == "queued",
            outbox_t.c.next_attempt_at < (now if after_outage else overdue),
            (outbox_t.c.kind == "transactional")
            | (outbox_t.c.next_attempt_at < (now if after_outage else now - BULK_SWEEP_GRACE)),
        )
        .order_by(outbox_t.c.next_attempt_at)
        .limit(limit)
    ).all()
    return Swept(
        [int(row.id) for row in rows if row.kind == "transactional"],
        [int(row.id) for row in rows if row.kind != "transactional"],
        stale,
    )


def adoptable(session: Session, provider: str, found: Sequence[Sent]) -> Sent | None:
    """Of the messages the provider took (newest first), the one a row cut short may adopt: the
    oldest that no outbox row holds already (a message another row holds is not this one)."""
    if not found:
        return None
    known = set(
        session.execute(
            select(outbox_t.c.provider_message_id).where(
                outbox_t.c.provider == provider,
                outbox_t.c.provider_message_id.in_([sent.provider_id for sent in found]),
            )
        ).scalars()
    )
    unknown = [sent for sent in found if sent.provider_id not in known]
    return unknown[-1] if unknown else None


def settle_stale(
    session: Session, stale: Stale, provider: str, found: Sequence[Sent] | None, now: datetime
) -> str:
    """A row left "sending": adopted when the provider has it (``found``: what it took, newest
    first, of which a message another row holds is not this one's), else put back to queued to be
    sent again (the attempt counts), or failed after ``MAX_ATTEMPTS``. ``found`` None: the
    provider cannot tell (the row is sent again: the residual chance of a duplicate). What it did."""
    row = session.execute(
        select(OutboxMessage).where(OutboxMessage.id == stale.id).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.status != "sending" or row.sending_at != stale.sending_at:
        return "moved on"
    adopted = adoptable(session, provider, found or ())
    if adopted is not None:
        record_sent(session, row.id, provider, adopted.provider_id, adopted.status, now)
        return f"adopted {adopted.provider_id}"
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row, "failed", now, error="no answer from the worker sending it")
        return "failed"
    row.status = "queued"
    row.next_attempt_at = now - SWEEP_GRACE - timedelta(seconds=1)
    row.last_error = "the worker sending it stopped; not found at the provider: sending again"
    return "queued"


# --- an operator sends a failed text again -----------------------------------------------------

# What may be sent again: the provider refused it for good, or the carrier could not deliver it.
RETRYABLE = ("failed", "undelivered")


class RetryError(ValueError):
    """A text that may not be sent again; nothing was written."""


def retry(uow: UnitOfWork, message_id: int) -> int:
    """Send a failed or undelivered text again, once; returns the new row's id.

    The new row repeats the text (same number, body, language, kind and template) and names the
    one it repeats in ``retry_of``. It is written by ``Outbox.write``, so a number that opted out
    since is suppressed and the loop guard still holds. The original row is never changed (its
    status only moves forward), but it is locked first: of two operators retrying it at once, the
    second waits and then finds the first's retry.
    """
    session = uow.session
    original = session.execute(
        select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update()
    ).scalar_one_or_none()
    if original is None:
        raise RetryError(f"there is no message {message_id}")
    if original.status not in RETRYABLE:
        was = "is" if original.status in ("queued", "sending") else "was"
        raise RetryError(f"message {message_id} {was} {original.status}; only a failed one can be sent again")
    repeated = session.execute(
        select(outbox_t.c.id).where(outbox_t.c.retry_of == message_id).order_by(outbox_t.c.id).limit(1)
    ).scalar()
    if repeated is not None:
        raise RetryError(f"message {message_id} was sent again already, as message {repeated}")
    new_id = uow.outbox.write(
        original.to_phone,
        original.body,
        language=original.language,
        template=original.template,
        kind=original.kind,
    )
    session.execute(update(outbox_t).where(outbox_t.c.id == new_id).values(retry_of=message_id))
    log.info("outbox %d sent again as %d at %s", message_id, new_id, uow.now.isoformat())
    return new_id
