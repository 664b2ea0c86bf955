"""Fakes passed in where tests need them (not patches of library internals)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from service.unit_of_work import Job


@dataclass
class FakeQueue:
    """A ``JobQueue`` that keeps what it was given, in order, and takes all of it (or, with
    ``down``, nothing: as a Redis that is down)."""

    down: bool = False
    jobs: list[tuple[Job, tuple[object, ...], str | None]] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    bulk: list[tuple[list[int], datetime | None]] = field(default_factory=list)
    send_calls: int = 0  # round trips a real queue would make for single texts

    def enqueue(
        self, job: Job, *arguments: object, job_id: str | None = None, wait: timedelta | None = None
    ) -> bool:
        if not self.down:
            self.jobs.append((job, arguments, job_id))
        return not self.down

    def enqueue_many(self, job: Job, calls: Sequence[tuple[tuple[object, ...], str | None]]) -> bool:
        return all([self.enqueue(job, *arguments, job_id=job_id) for arguments, job_id in calls])

    def send(self, message_ids: Sequence[int], *, tag: str = "0") -> bool:
        self.send_calls += 1
        if not self.down:
            self.sent.extend(message_ids)
        return not self.down

    def send_bulk(self, message_ids: Sequence[int], *, tag: str = "0", due: datetime | None = None) -> bool:
        if not self.down and message_ids:
            self.bulk.append((list(message_ids), due))
        return not self.down
