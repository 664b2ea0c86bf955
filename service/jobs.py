"""RQ jobs. Each takes plain values, opens its own transaction and is safe to run twice.

Queues: ``high`` (replies and receipts), ``default``, ``low`` (fan-outs, reports).
Recurring jobs are listed in ``service.schedule`` and enqueued by RQ's cron scheduler.
"""

from __future__ import annotations

import logging

import ledger

from . import runtime
from .db import unit_of_work

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
