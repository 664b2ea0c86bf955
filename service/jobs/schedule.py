"""Recurring jobs, and the clock that enqueues them (``flask --app wsgi worker`` runs one).

Every job is safe to run at any moment: each asks the database what is due and not done yet, and
notes its runs (``service.jobs.runs``) so that a page can tell when one falls behind.

The clock is RQ's cron scheduler driven by a loop of our own (``run_clock``) rather than by its
``start()``, which dies on the first Redis error and is never started again: here a Redis that
goes away only pauses the clock, which enqueues what is due within a second or two of its
return. Of several workers' clocks one leads (a lock in Redis, renewed every loop), so the jobs
are enqueued once, not once per worker; if the leader dies, another takes over within
``LEAD_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable
from types import FrameType
from typing import NamedTuple

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.cron import CronScheduler

from service.jobs.checks import (
    SEAL_EVERY_SECONDS,
    check_ledger_daily,
    expire_dispute_windows,
    seal_ledger,
    summarise_day,
)
from service.jobs.engagement import expire_points, send_statements, sweep_milestones
from service.jobs.fulfilment import sweep_redemptions
from service.jobs.honest import learn_signals, release_holds
from service.jobs.inbox import sweep_inbox
from service.jobs.payouts import refresh_banks, sweep_payouts
from service.jobs.reminders import remind_due
from service.jobs.sending import sweep_outbox
from service.providers import logs

log = logging.getLogger(__name__)

# How long RQ keeps a failed job's record.
FAILURE_TTL = 7 * 24 * 3600

__all__ = ["RECURRING", "SEAL_EVERY_SECONDS", "Recurring", "cron_scheduler", "run_clock"]

# The key a leading clock holds, and how long its hold lasts unless renewed.
CLOCK_KEY = "kolekt:clock"
LEAD_SECONDS = 15
# The longest the clock sleeps between two looks (the sealer is due every 2 s).
MAX_SLEEP = 1.0
# How long it waits before trying Redis again.
REDIS_RETRY_SECONDS = 1.0


class Recurring(NamedTuple):
    function: Callable[[], object]
    queue: str
    timeout: int
    result_ttl: int

    @property
    def interval(self) -> int:
        """Seconds between runs: what the job notes with its runs (``recorded``)."""
        every: int = getattr(self.function, "every_seconds")  # noqa: B009 - set by @recorded
        return every


RECURRING = (
    # The chain trails the last posting by a few seconds.
    Recurring(seal_ledger, "default", 300, 60),
    # A text stored but not acted on (its first try failed and its retry job was lost, or the
    # process died) is acted on at most about two minutes late.
    Recurring(sweep_inbox, "high", 300, 60),
    # A text Redis never took is sent at most about two minutes late.
    Recurring(sweep_outbox, "high", 120, 60),
    # A redemption Redis never took is fulfilled at most about two minutes late; one whose worker
    # died, once its claim has lapsed (5 minutes).
    Recurring(sweep_redemptions, "high", 120, 60),
    # A cash-out Redis never took, or whose worker died, is sent about two minutes late (after
    # asking Paystack); one Paystack took whose webhook has not come is asked about after 5 minutes.
    Recurring(sweep_payouts, "high", 300, 60),
    Recurring(refresh_banks, "low", 300, 3600),
    # Reminders go out within a minute of their time (18:00 the evening before, by default).
    Recurring(remind_due, "default", 120, 60),
    Recurring(expire_dispute_windows, "low", 300, 600),
    # Anniversaries (texted within the hour of the day coming), and milestone checks that were lost.
    Recurring(sweep_milestones, "low", 600, 3600),
    # Monthly statements, from 09:00 on the 1st (up to the 7th after downtime).
    Recurring(send_statements, "low", 1800, 3600),
    # Points that expire (POINTS_EXPIRE_MONTHS): a month's expiries within the hour of its start,
    # warnings 30 and 7 days before.
    Recurring(expire_points, "low", 1800, 3600),
    # Honest weights: the signals' thresholds learned again every 3 hours; holds nobody decided
    # released within the hour of their day.
    Recurring(learn_signals, "low", 1800, 3600),
    Recurring(release_holds, "low", 1800, 3600),
    # Once a day each, at local times (02:00 and 07:00); asking every 5 minutes catches up after
    # downtime.
    Recurring(check_ledger_daily, "low", 3600, 3600),
    Recurring(summarise_day, "low", 300, 3600),
)


def cron_scheduler(connection: Redis) -> CronScheduler:
    """RQ's cron scheduler with every recurring job."""
    scheduler = CronScheduler(connection=connection)
    for job in RECURRING:
        scheduler.register(
            job.function,
            job.queue,
            interval=job.interval,
            job_timeout=job.timeout,
            result_ttl=job.result_ttl,
        )
    return scheduler


def lead(connection: Redis, name: str) -> bool:
    """Whether this clock leads: it took the lock, or holds it and renewed it."""
    if connection.set(CLOCK_KEY, name, nx=True, ex=LEAD_SECONDS):
        return True
    if connection.get(CLOCK_KEY) == name.encode():
        connection.expire(CLOCK_KEY, LEAD_SECONDS)
        return True
    return False


def tick(scheduler: CronScheduler, name: str) -> float:
    """One look: if this clock leads, enqueue what is due. How long to sleep before the next."""
    connection = scheduler.connection
    if not lead(connection, name):
        return MAX_SLEEP * 2
    if scheduler.enqueue_jobs():
        scheduler.save()
    scheduler.heartbeat()
    return min(scheduler.calculate_sleep_interval(), MAX_SLEEP)


def after_outage(connection: Redis) -> None:
    """The sweeps that find work Redis lost, enqueued at once, with no grace."""
    for function in (sweep_inbox, sweep_outbox):
        Queue("high", connection=connection).enqueue(
            function, after_outage=True, job_timeout=300, result_ttl=60, failure_ttl=FAILURE_TTL
        )


def run_clock(
    redis_url: str, stop: threading.Event | None = None, log_level: str = "INFO", log_format: str = "text"
) -> None:
    """The clock's loop, until SIGTERM (or ``stop``): Redis errors are logged and waited out."""
    logs.configure(log_level, log_format)
    log.info("clock: started (pid %d)", os.getpid())
    stop = stop or threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
    connection = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    scheduler = cron_scheduler(connection)
    name = f"clock-{uuid.uuid4().hex[:12]}"
    down = False
    parent = os.getppid()
    while not stop.is_set():
        if os.getppid() != parent:  # the worker died (SIGKILL): a clock of its own starts with the next
            log.warning("clock: its worker is gone; stopping")
            break
        try:
            if down:
                # Redis is back, and may have lost the jobs it held: the sweeps, at once.
                log.warning("clock: Redis is back; sweeping the inbox and the outbox now")
                after_outage(connection)
                down = False
            wait = tick(scheduler, name)
        except RedisError as error:
            if not down:
                log.warning("clock: Redis is away (%s); waiting for it", error)
                down = True
            wait = REDIS_RETRY_SECONDS
        stop.wait(wait)
    try:
        if connection.get(CLOCK_KEY) == name.encode():
            connection.delete(CLOCK_KEY)
        scheduler.register_death()
    except RedisError:
        pass
