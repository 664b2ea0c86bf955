"""Recurring jobs, for RQ's cron scheduler (``flask --app wsgi worker`` runs one).

Every one is safe to run at any moment: each asks the database what is due and not done yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from redis import Redis
from rq.cron import CronScheduler

from service.jobs.checks import check_ledger_daily, expire_dispute_windows, seal_ledger, summarise_day
from service.jobs.fulfilment import sweep_redemptions
from service.jobs.inbox import sweep_inbox
from service.jobs.reminders import remind_due
from service.jobs.sending import sweep_outbox

MINUTE = 60
# The chain trails the last posting by at most a few seconds.
SEAL_EVERY_SECONDS = 2


class Recurring(NamedTuple):
    function: Callable[[], object]
    queue: str
    interval: int  # seconds
    timeout: int
    result_ttl: int


RECURRING = (
    Recurring(seal_ledger, "default", SEAL_EVERY_SECONDS, 300, 60),
    # A text stored but not acted on (its first try failed and its retry job was lost, or the
    # process died) is acted on at most about two minutes late.
    Recurring(sweep_inbox, "high", MINUTE, 300, 60),
    # A text Redis never took is sent at most about two minutes late.
    Recurring(sweep_outbox, "high", MINUTE, 120, 60),
    # A redemption Redis never took is fulfilled at most about two minutes late; one whose worker
    # died, once its claim has lapsed (5 minutes).
    Recurring(sweep_redemptions, "high", MINUTE, 120, 60),
    # Reminders go out within a minute of their time (18:00 the evening before, by default).
    Recurring(remind_due, "default", MINUTE, 120, 60),
    Recurring(expire_dispute_windows, "low", 10 * MINUTE, 300, 600),
    # Once a day each, at local times (02:00 and 07:00); asking every 5 minutes catches up after
    # downtime.
    Recurring(check_ledger_daily, "low", 5 * MINUTE, 3600, 3600),
    Recurring(summarise_day, "low", 5 * MINUTE, 300, 3600),
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
