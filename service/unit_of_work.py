"""The unit of work: one transaction, the texts it writes and the jobs it asks for, enqueued only
once it has committed.

Every change Kolekt makes goes through one (pypi/warehouse's after-commit hooks, cosmicpython's
unit of work): an SMS handled, a page's form, an API call, a CLI command, a job. The caller opens
it (``runtime.unit_of_work()``, or ``runtime.transact(work)`` to run ``work`` again from the start
when the database asks for a retry); the use case writes through ``uow.session``, texts through
``uow.outbox`` and asks for later work with ``uow.after_commit(Job.X, id)``; the commit comes at
the end, and only then are the texts and jobs handed to the queue. A rollback takes everything
with it: no receipt for a pickup that is not there, no fulfilment of a redemption that is not.

If Redis does not take what was committed, nothing is lost: every row that asked for work waits
in the database, and a sweep enqueues it (the outbox, redemptions, reminder runs).

Jobs are named by ``Job``, never by a dotted string: ``service.jobs.registry`` says which function
does each, on which queue, and the queue (``JobQueue``, ``service.jobs.queue``) is given to the
runtime when the process starts, so a use case asks for work without reaching up into the jobs.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from service.outbox import Outbox
from service.settings import Settings


class Job(enum.StrEnum):
    """The work a transaction may ask for once it has committed (``service.jobs.registry``)."""

    SEND_MESSAGE = "send_message"  # one outbox row: an answer, a receipt
    SEND_MESSAGES = "send_messages"  # a batch of bulk rows: reminders, notices, reports
    FULFIL_REDEMPTION = "fulfil_redemption"
    FAN_OUT_REMINDERS = "fan_out_reminders"  # a reminder or notice run, split into batches
    REMIND_BATCH = "remind_batch"  # one batch of a run's texts, written
    ACT_ON_TEXT = "act_on_text"  # a stored inbound text whose first try failed, tried again
    RESOLVE_PAYOUT_ACCOUNT = "resolve_payout_account"  # a BANK account's name, asked of Paystack
    SEND_PAYOUT = "send_payout"  # one cash-out, sent through Paystack
    CHECK_MILESTONES = "check_milestones"  # a household's milestones, after a credited pickup


class JobQueue(Protocol):
    """Where committed work goes. Each method says whether the queue took it; one that did not
    loses nothing (the sweeps find the rows that asked for it)."""

    def enqueue(
        self, job: Job, *arguments: object, job_id: str | None = None, wait: timedelta | None = None
    ) -> bool: ...

    def enqueue_many(self, job: Job, calls: Sequence[tuple[tuple[object, ...], str | None]]) -> bool: ...

    def send(self, message_ids: Sequence[int], *, tag: str = "0") -> bool: ...

    def send_bulk(
        self, message_ids: Sequence[int], *, tag: str = "0", due: datetime | None = None
    ) -> bool: ...


@dataclass(frozen=True)
class Asked:
    job: Job
    arguments: tuple[object, ...]
    job_id: str | None = None
    wait: timedelta | None = None


class UnitOfWork:
    """What a use case may use: the transaction, the settings, the moment it happens, the outbox,
    and ``after_commit``. Whoever opened it commits (``Runtime.unit_of_work``); a use case never
    does."""

    def __init__(self, session: Session, settings: Settings, queue: JobQueue, now: datetime) -> None:
        self.session = session
        self.settings = settings
        self.now = now
        self.outbox = Outbox(session, now, settings.programme_name)
        self.asked: list[Asked] = []
        self._queue = queue

    def after_commit(
        self, job: Job, *arguments: object, job_id: str | None = None, wait: timedelta | None = None
    ) -> None:
        """Enqueue ``job(*arguments)`` once this transaction has committed (never if it rolls
        back), to run at once or after ``wait``."""
        self.asked.append(Asked(job, arguments, job_id, wait))

    def enqueue(self) -> None:
        """Once the transaction has committed: hand the texts written and the jobs asked for to
        the queue."""
        queue, outbox = self._queue, self.outbox
        queue.send(outbox.to_send)
        due: dict[datetime, list[int]] = {}
        for batch in outbox.batches:
            due.setdefault(batch.due, []).extend(batch.ids)
        for moment, ids in due.items():
            queue.send_bulk(ids, due=moment if moment > self.now else None)
        for asked in self.asked:
            queue.enqueue(asked.job, *asked.arguments, job_id=asked.job_id, wait=asked.wait)


class Gathered:
    """A ``JobQueue`` that keeps what committed units of work hand it, for one hand-over later:
    a batch of units of work (the collector app's sync) costs Redis one round trip for its texts,
    not one per operation. Each unit of work has committed before its work is gathered."""

    def __init__(self) -> None:
        self.sends: list[int] = []
        self.bulk: dict[datetime | None, list[int]] = {}
        self.jobs: list[tuple[Job, tuple[object, ...], str | None]] = []

    def enqueue(
        self, job: Job, *arguments: object, job_id: str | None = None, wait: timedelta | None = None
    ) -> bool:
        if wait is not None:
            raise ValueError("a gathered queue takes no waits")
        self.jobs.append((job, arguments, job_id))
        return True

    def enqueue_many(self, job: Job, calls: Sequence[tuple[tuple[object, ...], str | None]]) -> bool:
        self.jobs.extend((job, arguments, job_id) for arguments, job_id in calls)
        return True

    def send(self, message_ids: Sequence[int], *, tag: str = "0") -> bool:
        self.sends.extend(message_ids)
        return True

    def send_bulk(self, message_ids: Sequence[int], *, tag: str = "0", due: datetime | None = None) -> bool:
        self.bulk.setdefault(due, []).extend(message_ids)
        return True

    def hand_to(self, queue: JobQueue) -> None:
        """Everything gathered, to ``queue``: the texts in one call, then each job."""
        queue.send(self.sends)
        for due, ids in self.bulk.items():
            queue.send_bulk(ids, due=due)
        for job, arguments, job_id in self.jobs:
            queue.enqueue(job, *arguments, job_id=job_id)
