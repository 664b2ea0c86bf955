"""RQ jobs. Each takes plain values, opens its own transaction and is safe to run twice.

Queues: ``high`` (replies and receipts), ``default``, ``low`` (fan-outs, reports).
Recurring jobs are listed in ``service.schedule`` and enqueued by RQ's cron scheduler.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import ledger
from sms.gateways import OutgoingMessage, SendError

from . import outbox, runtime
from .db import run_in_transaction, unit_of_work
from .gateway import status_callback_url

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
