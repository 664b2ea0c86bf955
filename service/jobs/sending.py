"""Sending the outbox: each row handed to the gateway once, paced by the send limit, held back in
quiet hours unless it answers the recipient's own text; and the sweep that enqueues rows no job is
going to send (Redis was down, a worker died).

Claim (committed), send, record (committed): a second job for the same row finds it claimed or
sent and does nothing. A transient failure puts the row back with a later due time and schedules
the retry; a permanent one fails it for good (``service.usecases.messages``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from service import runtime
from service.providers.sms import status_callback_url
from service.unit_of_work import Job, UnitOfWork
from service.usecases import messages
from sms.gateways import OutgoingMessage, SendError

log = logging.getLogger(__name__)

# Rows claimed, sent and recorded at a time. A worker killed mid-batch leaves at most this many
# "sending": those it had not handed over yet are sent by the sweep; those it had may go twice
# (no SMS API lets a second hand-over be recognised), the one gap in exactly-once.
SEND_CHUNK = 25


def _now() -> datetime:
    return datetime.now(UTC)


def send_message(message_id: int) -> str:
    """Hand one outbox row to the gateway, once; returns what became of it (for RQ's record)."""
    return send_outbox([message_id], bulk=False).get(message_id, "nothing to send")


def send_messages(message_ids: list[int], bulk: bool = True) -> str:
    """Hand a batch of outbox rows to the gateway, each once (as ``send_message``), paced by the
    shared send limit; returns a count of what became of them."""
    outcomes = send_outbox(message_ids, bulk=bulk)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        word = outcome.split(" ")[0].rstrip(":")
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{count} {word}" for word, count in sorted(counts.items())) or "nothing to send"


def send_outbox(
    message_ids: Sequence[int], *, bulk: bool, clock: Callable[[], datetime] = _now
) -> dict[int, str]:
    """Claim, send and record the rows among ``message_ids`` that are due, ``SEND_CHUNK`` at a
    time: what became of each. In quiet hours, rows that do not answer the recipient's own text
    wait for the morning."""
    current = runtime.current()
    outcomes: dict[int, str] = {}
    for start in range(0, len(message_ids), SEND_CHUNK):
        outcomes.update(_send_chunk(current, message_ids[start : start + SEND_CHUNK], bulk, clock()))
    return outcomes


def _send_chunk(current: runtime.Runtime, ids: Sequence[int], bulk: bool, now: datetime) -> dict[int, str]:
    quiet = current.settings.quiet
    quiet_until = quiet.until(now, current.settings.zone) if quiet else None
    batch = current.transact(lambda uow: messages.claim_many(uow.session, ids, now, quiet_until=quiet_until))
    outcomes = dict.fromkeys(batch.deferred, "waits for quiet hours to end")
    if batch.deferred and quiet_until is not None:
        current.queue.send_bulk(batch.deferred, tag=f"quiet{int(quiet_until.timestamp())}", due=quiet_until)
    limit = current.send_limit
    claimed = batch.claimed if limit is None else list(limit.paced(batch.claimed, bulk=bulk))
    if claimed:
        outcomes.update(_hand_over(current, claimed))
    return outcomes


def _hand_over(current: runtime.Runtime, chunk: Sequence[messages.Claimed]) -> dict[int, str]:
    gateway = current.gateway
    sent: list[tuple[int, str, str]] = []
    failures: list[tuple[messages.Claimed, SendError]] = []
    for claimed in chunk:
        message = OutgoingMessage(
            to=claimed.to,
            body=claimed.body,
            reference=str(claimed.id),
            status_callback=status_callback_url(current.settings, claimed.id),
        )
        try:
            result = gateway.send(message)
        except SendError as error:
            failures.append((claimed, error))
        except Exception as error:  # a bug or a library's surprise: retried like a time-out
            log.exception("gateway %s raised on outbox %d", gateway.name, claimed.id)
            failures.append(
                (claimed, SendError(f"{type(error).__name__}: {error}", transient=True, code="error"))
            )
        else:
            sent.append((claimed.id, result.provider_id, result.status))

    def record(uow: UnitOfWork) -> list[timedelta | None]:
        moment = _now()
        messages.record_sent_many(uow.session, gateway.name, sent, moment)
        return [
            messages.record_failure(
                uow.session,
                claimed.id,
                transient=failure.transient,
                code=failure.code,
                error=str(failure),
                opted_out=failure.opted_out,
                now=moment,
            )
            for claimed, failure in failures
        ]

    waits = current.transact(record)
    outcomes = {message_id: f"{status} {provider_id}" for message_id, provider_id, status in sent}
    for (claimed, failure), wait in zip(failures, waits, strict=True):
        if wait is None:
            outcomes[claimed.id] = f"failed: {failure}"
        else:
            # The next try; refused by Redis, the sweep retries it.
            current.queue.enqueue(
                Job.SEND_MESSAGE, claimed.id, job_id=f"send-{claimed.id}-{claimed.attempt}", wait=wait
            )
            outcomes[claimed.id] = f"retry in {int(wait.total_seconds())}s: {failure}"
    return outcomes


def sweep_outbox() -> int:
    """Enqueue outbox rows that no job will send (Redis was down, a worker died). Returns how many."""
    current = runtime.current()
    now = _now()
    swept = current.transact(lambda uow: messages.rows_to_sweep(uow.session, now))
    count = len(swept.transactional) + len(swept.bulk)
    if count:
        log.info("outbox sweep: enqueuing %d rows", count)
        tag = f"sweep{int(now.timestamp())}"
        current.queue.send(swept.transactional, tag=tag)
        current.queue.send_bulk(swept.bulk, tag=tag)
    return count
