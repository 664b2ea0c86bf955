"""The programme's housekeeping: the ledger sealed every few seconds and verified once a day, the
operators' daily summary, and pickups made final once their dispute window has closed.

Times of day (the ledger check, the summary) are the programme's local times; RQ's own cron
strings follow the server's clock, which is why nothing here is a cron string: each job asks the
database whether it is due and not done yet.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import ledger
from service import runtime
from service.jobs.runs import recorded
from service.unit_of_work import UnitOfWork
from service.usecases import disputes, reports

log = logging.getLogger(__name__)

MINUTE = 60
# The chain trails the last posting by at most a few seconds.
SEAL_EVERY_SECONDS = 2


def _now() -> datetime:
    return datetime.now(UTC)


@recorded(SEAL_EVERY_SECONDS)
def seal_ledger(max_batches: int = 100) -> int:
    """Chain every committed transfer still waiting to be sealed; returns how many were sealed.

    Each batch commits on its own, so a long backlog makes steady progress and never holds the
    sealer's lock for long. A second sealer running at the same time finds the lock taken.
    """
    current = runtime.current()
    sealed = 0
    for _ in range(max_batches):
        result = current.transact(lambda uow: ledger.seal(uow.session))
        sealed += result.sealed
        if not result.sealed or not result.pending:
            break
    if sealed:
        log.debug("sealed %d transfers; head %d %s", sealed, result.head.count, result.head.hash)
    return sealed


def check_ledger(trigger: str = "daily") -> str:
    """Seal what waits, verify the whole ledger, and record the result (for the dashboard)."""
    report = reports.check_and_record(runtime.current(), trigger)
    if not report.ok:
        log.error("ledger check BROKEN: %s", reports.problem_of(report))
    return f"{'OK' if report.ok else 'BROKEN'} {report.count} transfers"


@recorded(5 * MINUTE)
def check_ledger_daily() -> str:
    """The daily ledger check, when it is due and not done yet today."""
    current = runtime.current()
    now = _now()
    due = current.transact(lambda uow: reports.daily_check_due(uow.session, now, uow.settings.zone))
    return check_ledger("daily") if due else "not due"


@recorded(5 * MINUTE)
def summarise_day() -> str:
    """Yesterday's summary, once, when it is due: recorded and texted to the operators."""

    def work(uow: UnitOfWork) -> str:
        day = reports.summary_due(uow.session, uow.now, uow.settings.zone)
        if day is None:
            return "not due"
        return f"summary of {day}" if reports.summarise(uow, day) else "done already"

    return runtime.current().transact(work)


@recorded(10 * MINUTE)
def expire_dispute_windows() -> int:
    """Mark final the pickups whose dispute window closed with no dispute open."""
    current = runtime.current()
    window = timedelta(hours=current.settings.dispute_window_hours)
    return current.transact(lambda uow: disputes.settle_pickups(uow.session, uow.now, window))
