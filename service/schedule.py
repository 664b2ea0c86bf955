"""Recurring jobs, for RQ's cron scheduler (``rq cron service.schedule``, or ``flask worker``)."""

from __future__ import annotations

from rq import cron

from .jobs import seal_ledger, sweep_outbox, sweep_redemptions

# The chain trails the last posting by at most a few seconds.
SEAL_EVERY_SECONDS = 2
# A text Redis never took is sent at most about two minutes late.
SWEEP_OUTBOX_EVERY_SECONDS = 60
SWEEP_REDEMPTIONS_EVERY_SECONDS = 60

cron.register(seal_ledger, "default", interval=SEAL_EVERY_SECONDS, job_timeout=300, result_ttl=60)
cron.register(sweep_outbox, "high", interval=SWEEP_OUTBOX_EVERY_SECONDS, job_timeout=120, result_ttl=60)
# A redemption Redis never took is fulfilled at most about two minutes late; one whose worker
# died, once its claim has lapsed (5 minutes).
cron.register(
    sweep_redemptions, "high", interval=SWEEP_REDEMPTIONS_EVERY_SECONDS, job_timeout=120, result_ttl=60
)
