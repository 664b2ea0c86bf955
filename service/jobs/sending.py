"""RQ jobs. Each takes plain values, opens its own transaction and is safe to run twice.

Queues: ``high`` (replies and receipts), ``default``, ``low`` (fan-outs, reports).
Recurring jobs are listed in ``service.schedule`` and enqueued by RQ's cron scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

import ledger
from service import outbox, runtime
from service.db import run_in_transaction, unit_of_work
from service.jobs.queue import enqueue_job
from service.providers import fulfilment
from service.providers.sms import status_callback_url
from service.usecases import rewards
from sms.gateways import OutgoingMessage, SendError

QUEUES = ("high", "default", "low")
log = logging.getLogger(__name__)


def seal_ledger(max_batches: int = 100) -> int:
    """Chain every committed transfer still waiting to be sealed; returns how many were sealed.

    Each batch commits on its own, so a long backlog makes steady progress and never holds the
    sealer's lock for long. A second sealer running at the same time finds the lock taken.
    """
    sealed = 0
    for _ in range(max_batches):
        with unit_of_work(runtime.current().sessions) as session:
            result = ledger.seal(session)
        sealed += result.sealed
        if not result.sealed or not result.pending:
            break
    if sealed:
        log.info("sealed %d transfers; head %d %s", sealed, result.head.count, result.head.hash)
    return sealed


def _now() -> datetime:
    return datetime.now(UTC)


# Rows claimed, sent and recorded at a time. A worker killed mid-batch leaves at most this many
# "sending": those it had not handed over yet are sent by the sweep; those it had may go twice
# (no SMS API lets a second hand-over be recognised), the one gap in exactly-once.
SEND_CHUNK = 25


def send_message(message_id: int) -> str:
    """Hand one outbox row to the gateway, once; returns what became of it (for RQ's record).

    Claim (committed), send, record (committed): a second job for the same row finds it claimed
    or sent and does nothing. A transient failure puts the row back with a later due time and
    schedules the retry; a permanent one fails it for good.
    """
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
    batch = run_in_transaction(
        current.sessions, lambda s: outbox.claim_many(s, ids, now, quiet_until=quiet_until)
    )
    outcomes = dict.fromkeys(batch.deferred, "waits for quiet hours to end")
    if batch.deferred and quiet_until is not None:
        tag = f"quiet{int(quiet_until.timestamp())}"
        outbox.enqueue_batches(current.redis, batch.deferred, tag=tag, due=quiet_until)
    limit = current.send_limit
    messages = batch.claimed if limit is None else list(limit.paced(batch.claimed, bulk=bulk))
    if messages:
        outcomes.update(_hand_over(current, messages))
    return outcomes


def _hand_over(current: runtime.Runtime, chunk: Sequence[outbox.Claimed]) -> dict[int, str]:
    gateway = current.gateway
    sent: list[tuple[int, str, str]] = []
    failures: list[tuple[outbox.Claimed, SendError]] = []
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

    def record(session: Session) -> list[timedelta | None]:
        moment = _now()
        outbox.record_sent_many(session, gateway.name, sent, moment)
        return [
            outbox.record_failure(
                session,
                claimed.id,
                transient=failure.transient,
                code=failure.code,
                error=str(failure),
                opted_out=failure.opted_out,
                now=moment,
            )
            for claimed, failure in failures
        ]

    waits = run_in_transaction(current.sessions, record)
    outcomes = {message_id: f"{status} {provider_id}" for message_id, provider_id, status in sent}
    for (claimed, failure), wait in zip(failures, waits, strict=True):
        if wait is None:
            outcomes[claimed.id] = f"failed: {failure}"
        else:
            outbox.enqueue_retry(current.redis, claimed.id, claimed.attempt, wait)
            outcomes[claimed.id] = f"retry in {int(wait.total_seconds())}s: {failure}"
    return outcomes


def sweep_outbox() -> int:
    """Enqueue outbox rows that no job will send (Redis was down, a worker died). Returns how many."""
    current = runtime.current()
    now = _now()
    swept = run_in_transaction(current.sessions, lambda s: outbox.rows_to_sweep(s, now))
    count = len(swept.transactional) + len(swept.bulk)
    if count:
        log.info("outbox sweep: enqueuing %d rows", count)
        tag = f"sweep{int(now.timestamp())}"
        outbox.enqueue_sends(current.redis, swept.transactional, tag=tag)
        outbox.enqueue_batches(current.redis, swept.bulk, tag=tag)
    return count


# --- rewards ---------------------------------------------------------------------------------------

FULFIL_QUEUE = "high"
FULFIL_JOB_TIMEOUT = 120


def fulfil_redemption(redemption_id: int) -> str:
    """Deliver one redemption's reward, once; returns what became of it (for RQ's record).

    Claim (committed), call the fulfiller outside any transaction, record (committed, with the
    household's reply). A second job for the same redemption finds it claimed or done and does
    nothing. A transient failure is retried later; a permanent one, or the last transient one,
    refunds the points.
    """
    current = runtime.current()
    order = run_in_transaction(current.sessions, lambda s: rewards.claim_redemption(s, redemption_id, _now()))
    if order is None:
        return "nothing to do"
    fulfiller = fulfilment.fulfiller_for(order.kind, current.settings)
    try:
        done = fulfiller.fulfil(order)
    except Exception as error:
        failure = (
            error
            if isinstance(error, fulfilment.FulfilmentError)
            else fulfilment.FulfilmentError(f"{type(error).__name__}: {error}", transient=True)
        )
        if not isinstance(error, fulfilment.FulfilmentError):
            log.exception("fulfiller %s raised on redemption %d", fulfiller.name, redemption_id)
        recorded = run_in_transaction(
            current.sessions,
            lambda s: rewards.record_failure(s, current.settings, redemption_id, failure, _now()),
        )
    else:
        recorded = run_in_transaction(
            current.sessions,
            lambda s: rewards.record_fulfilled(s, current.settings, redemption_id, done, _now()),
        )
    finally:
        fulfiller.close()
    outbox.enqueue_sends(current.redis, recorded.to_send)
    if recorded.retry_in is not None:
        enqueue_job(  # refused by Redis, the redemption sweep retries it
            current.redis,
            "service.jobs.sending.fulfil_redemption",
            redemption_id,
            queue=FULFIL_QUEUE,
            job_id=f"fulfil-{redemption_id}-{order.attempt}",
            timeout=FULFIL_JOB_TIMEOUT,
            wait=recorded.retry_in,
        )
    return recorded.outcome


def sweep_redemptions() -> int:
    """Enqueue created redemptions that no job will fulfil (Redis was down, a worker died)."""
    current = runtime.current()
    now = _now()
    ids = run_in_transaction(current.sessions, lambda s: rewards.redemptions_to_sweep(s, now))
    if ids:
        log.info("redemption sweep: enqueuing %d", len(ids))
    for redemption_id in ids:
        taken = enqueue_job(
            current.redis,
            "service.jobs.sending.fulfil_redemption",
            redemption_id,
            queue=FULFIL_QUEUE,
            job_id=f"fulfil-{redemption_id}-sweep{int(now.timestamp())}",
            timeout=FULFIL_JOB_TIMEOUT,
        )
        if not taken:  # Redis is down: the next sweep tries again
            break
    return len(ids)
