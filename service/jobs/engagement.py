"""Milestones' jobs (``service.usecases.milestones``): a check after each credited pickup, and an
hourly sweep for anniversaries and for any check that was lost (Redis down, a worker gone). And
the monthly statements (``service.usecases.statements``) and points that expire
(``service.usecases.expiry``), each asked about every hour."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import select

from service import runtime
from service.jobs.runs import recorded
from service.models import collections_t
from service.unit_of_work import UnitOfWork
from service.usecases import expiry, milestones, statements
from service.usecases.impact import CREDITED

log = logging.getLogger(__name__)

# The sweep checks the households whose pickups came in this long ago (their own check should
# have run by then): every pickup is looked at by about two sweeps.
SWEEP_WINDOW = (timedelta(hours=3), timedelta(hours=1))


def check_milestones(household_id: int) -> str:
    """The household's pickup milestones, each texted once (idempotent: run it again at will)."""
    reached = runtime.current().transact(lambda uow: milestones.check(uow, household_id))
    return ", ".join(name for name, _ in reached) or "nothing new"


def _check(household_id: int, uow: UnitOfWork) -> list[milestones.Reached]:
    return milestones.check(uow, household_id)


@recorded(3600)
def sweep_milestones() -> int:
    """Anniversaries due, then the households with pickups one to three hours old, checked again
    (each in a unit of work of its own). How many milestones were kept."""
    current = runtime.current()
    kept = current.transact(lambda uow: milestones.anniversaries(uow))
    now = datetime.now(UTC)
    with current.sessions() as session:
        households = (
            session.execute(
                select(collections_t.c.household_id)
                .where(
                    collections_t.c.received_at >= now - SWEEP_WINDOW[0],
                    collections_t.c.received_at < now - SWEEP_WINDOW[1],
                    collections_t.c.status == CREDITED,
                )
                .distinct()
            )
            .scalars()
            .all()
        )
    for household_id in households:
        late = current.transact(partial(_check, household_id))
        if late:
            log.warning("milestones kept late for household %s: %s", household_id, late)
        kept += len(late)
    return kept


@recorded(3600)
def send_statements() -> int:
    """Last month's statements due (the first days of a month, from the morning), in units of
    work of ``statements.BATCH``. How many were sent."""
    current = runtime.current()
    sent = 0
    while True:
        batch = current.transact(lambda uow: statements.send_due(uow))
        sent += batch
        if batch < statements.BATCH:
            return sent


@recorded(3600)
def expire_points() -> str:
    """Points due to expire (only with ``POINTS_EXPIRE_MONTHS``): this month's expiries first,
    then the warnings for the next month's date, planned once (one pass over the old credits)
    and sent in units of work of ``expiry.BATCH`` households."""
    current = runtime.current()
    seen = warned = 0
    while True:
        batch = current.transact(lambda uow: expiry.expire_due(uow))
        seen += batch
        if batch < expiry.BATCH:
            break
    with current.sessions() as session:
        plan = expiry.warnings_due(session, current.settings, datetime.now(UTC))
    if plan is not None:
        waiting = plan.household_ids
        for start in range(0, len(waiting), expiry.BATCH):
            warned += current.transact(partial(_warn, plan, waiting[start : start + expiry.BATCH]))
    return f"{seen} expiries, {warned} warnings"


def _warn(plan: expiry.Plan, household_ids: tuple[int, ...], uow: UnitOfWork) -> int:
    return expiry.warn(uow, plan, household_ids)
