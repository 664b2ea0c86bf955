"""RQ as the queue of committed work: each ``Job`` enqueued as its function (``registry.JOBS``),
outbox rows as send jobs (one each for answers and receipts, batches for bulk texts).

Enqueueing never fails loudly: Redis being down, every method answers False and logs it, and the
rows that asked for the work wait in the database for their sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from service.jobs.registry import JOBS, JobSpec
from service.unit_of_work import Job

log = logging.getLogger(__name__)

# How long RQ keeps a failed job's record: a week to look into it.
FAILURE_TTL = 7 * 24 * 3600
# Bulk rows (reminders, notices, reports) per send_messages job.
BULK_BATCH = 100


class RqQueue:
    """``service.unit_of_work.JobQueue`` on RQ."""

    def __init__(self, connection: Redis, jobs: Mapping[Job, JobSpec] = JOBS) -> None:
        self.connection = connection
        self.jobs = jobs

    def _options(self, spec: JobSpec, job_id: str | None) -> dict[str, Any]:
        return {"job_id": job_id, "result_ttl": spec.result_ttl, "failure_ttl": FAILURE_TTL}

    def enqueue(
        self, job: Job, *arguments: object, job_id: str | None = None, wait: timedelta | None = None
    ) -> bool:
        """``job(*arguments)`` now, or after ``wait`` (RQ's scheduler). A job id, when given, makes a
        second enqueue of the same work replace the first rather than add to it."""
        spec = self.jobs[job]
        queue = Queue(spec.queue, connection=self.connection)
        try:
            if wait is None:
                queue.enqueue_call(
                    spec.function, args=arguments, timeout=spec.timeout, **self._options(spec, job_id)
                )
            else:
                queue.enqueue_in(
                    wait, spec.function, *arguments, job_timeout=spec.timeout, **self._options(spec, job_id)
                )
        except RedisError as error:
            log.warning("Redis did not take %s%r (%s); its sweep will enqueue it", job, arguments, error)
            return False
        return True

    def enqueue_many(self, job: Job, calls: Sequence[tuple[tuple[object, ...], str | None]]) -> bool:
        """``job`` once per ``(arguments, job id)``, in one round trip (a fan-out's batches)."""
        if not calls:
            return True
        spec = self.jobs[job]
        queue = Queue(spec.queue, connection=self.connection)
        try:
            queue.enqueue_many(
                [
                    Queue.prepare_data(
                        spec.function, args=arguments, timeout=spec.timeout, **self._options(spec, job_id)
                    )
                    for arguments, job_id in calls
                ]
            )
        except RedisError as error:
            log.warning(
                "Redis refused %d %s jobs (%s); their sweep will enqueue them", len(calls), job, error
            )
            return False
        return True

    def send(self, message_ids: Sequence[int], *, tag: str = "0") -> bool:
        """A send job per outbox row, in one round trip."""
        return self.enqueue_many(
            Job.SEND_MESSAGE, [((message_id,), f"send-{message_id}-{tag}") for message_id in message_ids]
        )

    def send_bulk(self, message_ids: Sequence[int], *, tag: str = "0", due: datetime | None = None) -> bool:
        """Bulk rows in ``send_messages`` batches of ``BULK_BATCH``, from ``due`` if that is later
        (quiet hours)."""
        chunks = [
            list(message_ids[start : start + BULK_BATCH]) for start in range(0, len(message_ids), BULK_BATCH)
        ]
        if not chunks:
            return True
        if due is None:
            return self.enqueue_many(
                Job.SEND_MESSAGES, [((chunk,), f"send-batch-{chunk[0]}-{tag}") for chunk in chunks]
            )
        spec = self.jobs[Job.SEND_MESSAGES]
        queue = Queue(spec.queue, connection=self.connection)
        try:
            with self.connection.pipeline() as pipe:
                for chunk in chunks:
                    queue.enqueue_at(
                        due,
                        spec.function,
                        chunk,
                        job_timeout=spec.timeout,
                        pipeline=pipe,
                        **self._options(spec, f"send-batch-{chunk[0]}-{tag}"),
                    )
                pipe.execute()
        except RedisError as error:
            log.warning(
                "Redis refused %d send batches (%s); the outbox sweep will send them", len(chunks), error
            )
            return False
        return True
