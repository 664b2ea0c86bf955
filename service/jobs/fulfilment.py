"""Delivering rewards: the job that fulfils one redemption, and the sweep that finds redemptions
no job is going to fulfil (Redis was down, a worker died)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from service import runtime
from service.jobs.runs import recorded
from service.providers.fulfilment import FulfilmentError, fulfiller_for
from service.unit_of_work import Job
from service.usecases import redemptions

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def fulfil_redemption(redemption_id: int) -> str:
    """Deliver one redemption's reward, once; returns what became of it (for RQ's record).

    Claim (committed), call the fulfiller outside any transaction, record (committed, with the
    household's reply). A second job for the same redemption finds it claimed or done and does
    nothing. A transient failure is retried later; a permanent one, or the last transient one,
    refunds the points.
    """
    current = runtime.current()
    order = current.transact(lambda uow: redemptions.claim(uow.session, redemption_id, uow.now))
    if order is None:
        return "nothing to do"
    fulfiller = fulfiller_for(order.kind, current.settings)
    try:
        done = fulfiller.fulfil(order)
    except Exception as error:
        failure = (
            error
            if isinstance(error, FulfilmentError)
            else FulfilmentError(f"{type(error).__name__}: {error}", transient=True)
        )
        if not isinstance(error, FulfilmentError):
            log.exception("fulfiller %s raised on redemption %d", fulfiller.name, redemption_id)
        recorded = current.transact(lambda uow: redemptions.record_failure(uow, redemption_id, failure))
    else:
        recorded = current.transact(lambda uow: redemptions.record_fulfilled(uow, redemption_id, done))
    finally:
        fulfiller.close()
    if recorded.retry_in is not None:
        # Refused by Redis, the redemption sweep retries it.
        current.queue.enqueue(
            Job.FULFIL_REDEMPTION,
            redemption_id,
            job_id=f"fulfil-{redemption_id}-{order.attempt}",
            wait=recorded.retry_in,
        )
    return recorded.outcome


@recorded(60)
def sweep_redemptions() -> int:
    """Enqueue created redemptions that no job will fulfil (Redis was down, a worker died)."""
    current = runtime.current()
    now = _now()
    ids = current.transact(lambda uow: redemptions.to_sweep(uow.session, now))
    if ids:
        log.debug("redemption sweep: enqueuing %d", len(ids))
    for redemption_id in ids:
        taken = current.queue.enqueue(
            Job.FULFIL_REDEMPTION, redemption_id, job_id=f"fulfil-{redemption_id}-sweep{int(now.timestamp())}"
        )
        if not taken:  # Redis is down: the next sweep tries again
            break
    return len(ids)
