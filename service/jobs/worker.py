"""The RQ worker process: jobs from ``high``, ``default`` and ``low`` (run in-process), RQ's
scheduler for jobs enqueued for later, and (unless told not to) the clock for recurring jobs in a
child process of its own. It heals itself:

- the clock rides out Redis outages (``service.jobs.schedule.run_clock``), and is started again
  if its process dies;
- RQ's scheduler (a forked child, which dies on a Redis error) is started again by the worker's
  maintenance, every ``MAINTENANCE_SECONDS`` rather than RQ's 10 minutes;
- the worker waits at most ``REDIS_WAIT_SECONDS`` between two tries at a Redis that is away,
  rather than RQ's 60, and a worker that RQ stops on a Redis error is started again;

so that once Redis is back, what was queued goes out within seconds, with no restart by hand.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.job import Job

from service.jobs.registry import QUEUES
from service.jobs.schedule import run_clock
from service.providers import logs
from service.runtime import Runtime, redis_url_of, use

log = logging.getLogger(__name__)

# How often the worker looks after RQ's scheduler and the clock (RQ's default: 10 minutes).
MAINTENANCE_SECONDS = 15
# The longest a worker waits on a job queue before it looks around again (RQ's: ~7 minutes).
WORKER_TTL = 35
# The longest it waits between two tries at a Redis that is away (RQ's: 60 s).
REDIS_WAIT_SECONDS = 2.0


class Clock:
    """The clock's process, started again whenever it is found dead."""

    def __init__(self, redis_url: str, log_level: str = "INFO", log_format: str = "text") -> None:
        self.redis_url = redis_url
        self.log_level = log_level
        self.log_format = log_format
        self.process: BaseProcess | None = None
        self.starts = 0

    def ensure(self) -> None:
        if self.process is not None and self.process.is_alive():
            return
        if self.process is not None:
            log.warning("the clock's process ended (exit %s); starting it again", self.process.exitcode)
        self.process = multiprocessing.get_context("spawn").Process(
            target=run_clock,
            args=(self.redis_url, None, self.log_level, self.log_format),
            name="kolekt-clock",
            daemon=True,
        )
        self.process.start()
        self.starts += 1

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(5)


class KolektWorker(SimpleWorker):
    """RQ's in-process worker that also looks after the clock at each maintenance."""

    max_connection_wait_time = REDIS_WAIT_SECONDS
    clock: Clock | None = None

    def execute_job(self, job: Job, queue: Queue) -> None:
        """The job run with its id on every line it logs (``LOG_FORMAT=json``)."""
        token = logs.job_id.set(job.id)
        try:
            super().execute_job(job, queue)
        finally:
            logs.job_id.reset(token)

    def run_maintenance_tasks(self) -> None:
        if self.clock is not None:
            self.clock.ensure()
        super().run_maintenance_tasks()  # type: ignore[no-untyped-call]  # starts RQ's scheduler again if its process died


def run_worker(runtime: Runtime, *, with_cron: bool = True, burst: bool = False) -> bool:
    use(runtime)
    settings = runtime.settings
    logs.configure(settings.log_level, settings.log_format)
    logs.start_error_reports(settings.sentry_dsn, settings.sentry_environment)
    rq_level = "DEBUG" if settings.log_level == "DEBUG" else "WARNING"
    connection = runtime.redis
    clock = (
        Clock(redis_url_of(connection), settings.log_level, settings.log_format)
        if with_cron and not burst
        else None
    )
    stopping = False
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if clock is not None:
            clock.stop()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, stop)
    worked = False
    try:
        if clock is not None:
            clock.ensure()
        while True:
            # Jobs run in this process, not in a forked child per job: Kolekt's jobs are short,
            # take ids and open their own transactions, and a fork per job (RQ's default) capped
            # sending at about 16 texts a second on 2 cores; in-process, the database pool and the
            # gateway's HTTP connections are reused from job to job. A job that overruns is still
            # stopped (SIGALRM).
            worker: KolektWorker | None = None
            try:
                worker = KolektWorker(
                    [Queue(name, connection=connection) for name in QUEUES],
                    connection=connection,
                    maintenance_interval=MAINTENANCE_SECONDS,
                    worker_ttl=WORKER_TTL,
                )
                worker.clock = clock
                worked = bool(worker.work(with_scheduler=True, burst=burst, logging_level=rq_level)) or worked
            except RedisError as error:
                log.warning("the worker lost Redis (%s); starting it again", error)
            # Asked to stop (SIGTERM, SIGINT: RQ notes when), or a burst: done. Otherwise RQ quit
            # on an error (Redis lost): start again.
            asked = worker is not None and (worker._stop_requested or worker._shutdown_requested_date)
            if burst or stopping or asked:
                return worked
            time.sleep(REDIS_WAIT_SECONDS)
    finally:
        if clock is not None:
            clock.stop()
