"""Which function does each ``Job``, on which queue, with how long to run: the one place a job is
named. Queues: ``high`` (answers and receipts, fulfilment), ``default`` (bulk sends, the sealer),
``low`` (reminder fan-outs, reports, daily checks).

Texts nobody is waiting on go in batches on the default queue: a worker takes an answer from the
high queue between two batches, and a batch to send before the fan-out's next batch to write
(low), so sending starts while a big fan-out is still writing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from service.jobs import engagement, fulfilment, inbox, payouts, reminders, sending
from service.unit_of_work import Job

QUEUES = ("high", "default", "low")


@dataclass(frozen=True)
class JobSpec:
    function: Callable[..., object]
    queue: str
    timeout: int  # seconds before RQ stops it
    result_ttl: int = 300  # seconds RQ keeps what it returned


JOBS: Mapping[Job, JobSpec] = MappingProxyType(
    {
        Job.SEND_MESSAGE: JobSpec(sending.send_message, "high", 60),
        # A batch paced by a low SMS_RATE_PER_SECOND takes a while.
        Job.SEND_MESSAGES: JobSpec(sending.send_messages, "default", 900),
        Job.FULFIL_REDEMPTION: JobSpec(fulfilment.fulfil_redemption, "high", 120),
        Job.FAN_OUT_REMINDERS: JobSpec(reminders.fan_out_reminders, "low", 600),
        Job.REMIND_BATCH: JobSpec(reminders.remind_batch, "low", 600, result_ttl=3600),
        Job.ACT_ON_TEXT: JobSpec(inbox.act_on_text, "high", 120),
        Job.RESOLVE_PAYOUT_ACCOUNT: JobSpec(payouts.resolve_payout_account, "high", 60),
        Job.SEND_PAYOUT: JobSpec(payouts.send_payout, "high", 120),
        Job.CHECK_MILESTONES: JobSpec(engagement.check_milestones, "default", 60),
    }
)
