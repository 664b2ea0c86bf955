"""The RQ worker process: jobs from ``high``, ``default`` and ``low`` (run in-process), RQ's
scheduler for jobs enqueued for later, and (unless told not to) the cron scheduler for recurring
jobs in a child process of its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from multiprocessing.process import BaseProcess
from types import FrameType

from redis import Redis
from rq import Queue, SimpleWorker

from service.jobs.registry import QUEUES
from service.jobs.schedule import cron_scheduler
from service.runtime import Runtime, redis_url_of, use

log = logging.getLogger(__name__)


def run_cron(redis_url: str) -> None:
    """The cron scheduler's own process: it installs its own signal handlers."""
    cron_scheduler(Redis.from_url(redis_url)).start()  # type: ignore[no-untyped-call]


def run_worker(runtime: Runtime, *, with_cron: bool = True, burst: bool = False) -> bool:
    use(runtime)
    connection = runtime.redis
    queues = [Queue(name, connection=connection) for name in QUEUES]
    cron: BaseProcess | None = None
    if with_cron and not burst:
        cron = multiprocessing.get_context("spawn").Process(
            target=run_cron, args=(redis_url_of(connection),), name="kolekt-cron", daemon=True
        )
        cron.start()
    # Jobs run in this process, not in a forked child per job: Kolekt's jobs are short, take ids
    # and open their own transactions, and a fork per job (RQ's default) capped sending at about
    # 16 texts a second on 2 cores; in-process, the database pool and the gateway's HTTP
    # connections are reused from job to job. A job that overruns is still stopped (SIGALRM).
    worker = SimpleWorker(queues, connection=connection)
    previous = signal.getsignal(signal.SIGTERM)

    def stop_cron(signum: int, frame: FrameType | None) -> None:
        if cron is not None and cron.is_alive():
            cron.terminate()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, stop_cron)
    try:
        return bool(worker.work(with_scheduler=True, burst=burst, logging_level="INFO"))
    finally:
        if cron is not None and cron.is_alive():
            cron.terminate()
            cron.join(5)
