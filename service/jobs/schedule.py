"""Recurring jobs, for RQ's cron scheduler (``rq cron service.schedule``, or ``flask worker``).

Every one is safe to run at any moment: each asks the database what is due and not done yet.
"""

from __future__ import annotations

from rq import cron

from service.jobs.periodic import check_ledger_daily, expire_dispute_windows, remind_due, summarise_day
from service.jobs.sending import seal_ledger, sweep_outbox, sweep_redemptions

MINUTE = 60
# The chain trails the last posting by at most a few seconds.
SEAL_EVERY_SECONDS = 2

cron.register(seal_ledger, "default", interval=SEAL_EVERY_SECONDS, job_timeout=300, result_ttl=60)
# A text Redis never took is sent at most about two minutes late.
cron.register(sweep_outbox, "high", interval=MINUTE, job_timeout=120, result_ttl=60)
# A redemption Redis never took is fulfilled at most about two minutes late; one whose worker
# died, once its claim has lapsed (5 minutes).
cron.register(sweep_redemptions, "high", interval=MINUTE, job_timeout=120, result_ttl=60)
# Reminders go out within a minute of their time (18:00 the evening before, by default).
cron.register(remind_due, "default", interval=MINUTE, job_timeout=120, result_ttl=60)
cron.register(expire_dispute_windows, "low", interval=10 * MINUTE, job_timeout=300, result_ttl=600)
# Once a day each, at local times (02:00 and 07:00); asking every 5 minutes catches up after downtime.
cron.register(check_ledger_daily, "low", interval=5 * MINUTE, job_timeout=3600, result_ttl=3600)
cron.register(summarise_day, "low", interval=5 * MINUTE, job_timeout=300, result_ttl=3600)
