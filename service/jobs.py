"""RQ jobs. Each takes plain values, opens its own transaction and is safe to run twice.

Queues: ``high`` (replies and receipts), ``default``, ``low`` (fan-outs, reports).
Recurring jobs are listed in ``service.schedule`` and enqueued by RQ's cron scheduler.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

import ledger
from sms.gateways import OutgoingMessage, SendError

from . import fulfilment, outbox, rewards, runtime
from .db import run_in_transaction, unit_of_work
from .gateway import status_callback_url
from .jobs_queue import enqueue_job

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


def send_message(message_id: int) -> str:
    """Hand one outbox row to the gateway, once; returns what became of it (for RQ's record).

    Claim (committed), send, record (committed): a second job for the same row finds it claimed
    or sent and does nothing. A transient failure puts the row back with a later due time and
    schedules the retry; a permanent one fails it for good.
    """
    current = runtime.current()
    claimed = run_in_transaction(current.sessions, lambda s: outbox.claim(s, message_id, _now()))
    if claimed is None:
        return "nothing to send"
    gateway = current.gateway
    message = OutgoingMessage(
        to=claimed.to,
        body=claimed.body,
        reference=str(claimed.id),
        status_callback=status_callback_url(current.settings, claimed.id),
    )
    try:
        sent = gateway.send(message)
    except Exception as error:
        failure = (
            error
            if isinstance(error, SendError)
            else SendError(f"{type(error).__name__}: {error}", transient=True, code="error")
        )
        if not isinstance(error, SendError):
            log.exception("gateway %s raised on outbox %d", gateway.name, message_id)
        wait = run_in_transaction(
            current.sessions,
            lambda s: outbox.record_failure(
                s,
                message_id,
                transient=failure.transient,
                code=failure.code,
                error=str(failure),
                opted_out=failure.opted_out,
                now=_now(),
            ),
        )
        if wait is None:
            return f"failed: {failure}"
        outbox.enqueue_retry(current.redis, message_id, claimed.attempt, wait)
        return f"retry in {int(wait.total_seconds())}s: {failure}"
    run_in_transaction(
        current.sessions,
        lambda s: outbox.record_sent(s, message_id, gateway.name, sent.provider_id, sent.status, _now()),
    )
    return f"{sent.status} {sent.provider_id}"


def sweep_outbox() -> int:
    """Enqueue outbox rows that no job will send (Redis was down, a worker died). Returns how many."""
    current = runtime.current()
    now = _now()
    ids = run_in_transaction(current.sessions, lambda s: outbox.rows_to_sweep(s, now))
    if ids:
        log.info("outbox sweep: enqueuing %d rows", len(ids))
        outbox.enqueue_sends(current.redis, ids, tag=f"sweep{int(now.timestamp())}")
    return len(ids)


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
        _enqueue_fulfilment_retry(current.redis, redemption_id, order.attempt, recorded.retry_in)
    return recorded.outcome


def _enqueue_fulfilment_retry(connection: Redis, redemption_id: int, attempt: int, wait: timedelta) -> None:
    try:
        Queue(FULFIL_QUEUE, connection=connection).enqueue_in(
            wait,
            "service.jobs.fulfil_redemption",
            redemption_id,
            job_id=f"fulfil-{redemption_id}-{attempt}",
            job_timeout=FULFIL_JOB_TIMEOUT,
            result_ttl=300,
        )
    except RedisError as error:
        log.warning(
            "Redis refused the retry of redemption %d (%s); the sweep will retry it", redemption_id, error
        )


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
            "service.jobs.fulfil_redemption",
            redemption_id,
            queue=FULFIL_QUEUE,
            job_id=f"fulfil-{redemption_id}-sweep{int(now.timestamp())}",
            timeout=FULFIL_JOB_TIMEOUT,
        )
        if not taken:  # Redis is down: the next sweep tries again
            break
    return len(ids)
