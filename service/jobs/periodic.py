"""The jobs RQ's cron scheduler runs every minute or few (``service.schedule``), and the fan-out.

Each asks "what is due now and not done yet?" of the database, so a scheduler that was down
catches up when it returns, and one that fires twice does nothing the second time. Times of day
(the evening reminder, the ledger check, the summary) are the programme's local times; RQ's own
cron strings follow the server's clock, which is why nothing here is a cron string.

The reminder fan-out: ``remind_due`` (each minute) starts the runs that are due; a run's job
(``fan_out_reminders``) splits its households into batches; a batch's job (``remind_batch``)
writes their texts in one transaction and hands them to the outbox's bulk sends on the low
queue, paced by the shared send limit and held back in quiet hours.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from rq import Queue
from sqlalchemy.orm import Session

from service import outbox, runtime
from service.db import run_in_transaction, unit_of_work
from service.jobs.queue import enqueue_job
from service.timetable import Run
from service.usecases import reminders, reports
from service.usecases.disputes import settle_pickups

log = logging.getLogger(__name__)

FAN_OUT_QUEUE = "low"
FAN_OUT_JOB_TIMEOUT = 600
LEDGER_CHECK_TIMEOUT = 3600


def _now() -> datetime:
    return datetime.now(UTC)


# --- reminders -------------------------------------------------------------------------------------


def remind_due() -> int:
    """Start every reminder or notice run that is due (and restart any that lost its jobs)."""
    current = runtime.current()
    now = _now()
    runs = run_in_transaction(
        current.sessions, lambda s: reminders.start_due_runs(s, now, current.settings.zone)
    )
    for run in runs:
        _enqueue_fan_out(run, tag=f"{int(now.timestamp())}")
    return len(runs)


def _enqueue_fan_out(run: Run, *, tag: str) -> None:
    # Refused by Redis, the run stays unfinished: remind_due starts it again later.
    enqueue_job(
        runtime.current().redis,
        "service.jobs.periodic.fan_out_reminders",
        run.zone_id,
        run.day.isoformat(),
        run.kind,
        queue=FAN_OUT_QUEUE,
        job_id=f"fan-out-{run.zone_id}-{run.day}-{run.kind}-{tag}",
        timeout=FAN_OUT_JOB_TIMEOUT,
    )


def fan_out_reminders(zone_id: int, day: str, kind: str) -> str:
    """Split a run's waiting households into batches and enqueue a job for each."""
    current = runtime.current()
    run = reminders.parse_run(zone_id, day, kind)
    with unit_of_work(current.sessions) as session:
        batches = reminders.plan_batches(session, run)
    tag = f"{int(_now().timestamp())}"
    queue = Queue(FAN_OUT_QUEUE, connection=current.redis)
    queue.enqueue_many(
        [
            Queue.prepare_data(
                "service.jobs.periodic.remind_batch",
                args=(zone_id, day, kind, first, last),
                job_id=f"remind-{zone_id}-{day}-{kind}-{first}-{tag}",
                timeout=FAN_OUT_JOB_TIMEOUT,
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
            )
            for first, last in batches
        ]
    )
    return f"{len(batches)} batches"


def remind_batch(zone_id: int, day: str, kind: str, first: int, last: int) -> str:
    """Write the texts of one batch of a run (once, however often this runs) and enqueue their sends."""
    run = reminders.parse_run(zone_id, day, kind)
    return f"{_write_batch(run, first, last, _now())} written"


def _write_batch(run: Run, first: int, last: int, now: datetime) -> int:
    current = runtime.current()
    written = run_in_transaction(
        current.sessions, lambda s: reminders.write_batch(s, current.settings, run, first, last, now)
    )
    outbox.enqueue_batches(
        current.redis,
        written.outbox_ids,
        tag=f"{run.zone_id}-{run.day}-{run.kind}",
        due=written.due if written.due > now else None,
    )
    return len(written.outbox_ids)


def run_reminders(run: Run, now: datetime) -> int:
    """The whole of one run in this process, batch by batch (the CLI's manual run); the sends
    are enqueued for the workers. Returns how many texts were written."""
    with unit_of_work(runtime.current().sessions) as session:
        batches = reminders.plan_batches(session, run)
    return sum(_write_batch(run, first, last, now) for first, last in batches)


# --- the ledger, disputes, the operators' summary --------------------------------------------------


def check_ledger(trigger: str = "daily") -> str:
    """Seal what waits, verify the whole ledger, and record the result (for the dashboard)."""
    report = reports.check_and_record(runtime.current().sessions, trigger)
    if not report.ok:
        log.error("ledger check BROKEN: %s", reports.problem_of(report))
    return f"{'OK' if report.ok else 'BROKEN'} {report.count} transfers"


def check_ledger_daily() -> str:
    """The daily ledger check, when it is due and not done yet today."""
    current = runtime.current()
    now = _now()
    with unit_of_work(current.sessions) as session:
        due = reports.daily_check_due(session, now, current.settings.zone)
    return check_ledger("daily") if due else "not due"


def summarise_day() -> str:
    """Yesterday's summary, once, when it is due: recorded and texted to the operators."""
    current = runtime.current()
    now = _now()

    def work(session: Session) -> tuple[str, list[int]]:
        day = reports.summary_due(session, now, current.settings.zone)
        if day is None:
            return "not due", []
        written = reports.summarise(session, current.settings, day, now)
        return (f"summary of {day}", written.to_send) if written is not None else ("done already", [])

    outcome, to_send = run_in_transaction(current.sessions, work)
    outbox.enqueue_batches(current.redis, to_send, tag="summary")
    return outcome


def expire_dispute_windows() -> int:
    """Mark final the pickups whose dispute window closed with no dispute open."""
    current = runtime.current()
    window = timedelta(hours=current.settings.dispute_window_hours)
    now = _now()
    return run_in_transaction(current.sessions, lambda s: settle_pickups(s, now, window))
