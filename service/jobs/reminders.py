"""The reminder fan-out: ``remind_due`` (each minute) starts the runs that are due; a run's job
(``fan_out_reminders``) splits its households into batches; a batch's job (``remind_batch``)
writes their texts in one transaction, and the unit of work hands them to the outbox's bulk sends,
paced by the shared send limit and held back in quiet hours.

Each asks "what is due now and not done yet?" of the database, so a scheduler that was down
catches up when it returns, and one that fires twice does nothing the second time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from service import runtime
from service.jobs.runs import recorded
from service.timetable import Run
from service.unit_of_work import Job
from service.usecases import reminders


def _now() -> datetime:
    return datetime.now(UTC)


@recorded(60)
def remind_due() -> int:
    """Start every reminder or notice run that is due (and restart any that lost its jobs)."""
    current = runtime.current()
    now = _now()
    runs = current.transact(lambda uow: reminders.start_due_runs(uow.session, now, uow.settings.zone))
    for run in runs:
        # Refused by Redis, the run stays unfinished: remind_due starts it again later.
        job_id = reminders.fan_out_id(run, int(now.timestamp()))
        current.queue.enqueue(Job.FAN_OUT_REMINDERS, *reminders.fan_out_arguments(run), job_id=job_id)
    return len(runs)


def fan_out_reminders(zone_id: int, day: str, kind: str) -> str:
    """Split a run's waiting households into batches and enqueue a job for each."""
    current = runtime.current()
    run = reminders.parse_run(zone_id, day, kind)
    batches = current.transact(lambda uow: reminders.plan_batches(uow.session, run))
    tag = f"{int(_now().timestamp())}"
    current.queue.enqueue_many(
        Job.REMIND_BATCH,
        [
            ((zone_id, day, kind, first, last), f"remind-{zone_id}-{day}-{kind}-{first}-{tag}")
            for first, last in batches
        ],
    )
    return f"{len(batches)} batches"


def remind_batch(zone_id: int, day: str, kind: str, first: int, last: int) -> str:
    """Write the texts of one batch of a run (once, however often this runs); they are enqueued
    after the commit."""
    run = reminders.parse_run(zone_id, day, kind)
    return f"{_write_batch(run, first, last, _now())} written"


def _write_batch(run: Run, first: int, last: int, now: datetime) -> int:
    return runtime.current().transact(lambda uow: len(reminders.write_batch(uow, run, first, last)), now=now)


def run_reminders(run: Run, now: datetime) -> int:
    """The whole of one run in this process, batch by batch (the CLI's manual run); the sends
    are enqueued for the workers. Returns how many texts were written."""
    batches = runtime.current().transact(lambda uow: reminders.plan_batches(uow.session, run))
    return sum(_write_batch(run, first, last, now) for first, last in batches)
