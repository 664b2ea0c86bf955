"""The recurring jobs' last runs, and which have fallen behind.

Each recurring job records when it started, when it last ended well and when it last failed
(``service.jobs.runs.recorded``). A job is late when it has not ended well for three of its
intervals and a minute more: the worker or its clock is down, Redis is away, or the job keeps
failing. ``/healthz`` and the dashboard's overview then say "degraded" and name it. A job that
never ran here is not late (a new programme, or one run without its worker, as the tests do).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import upsert
from service.models import job_runs_t

GRACE = timedelta(minutes=1)


def started(session: Session, name: str, every_seconds: int, now: datetime) -> None:
    upsert(
        session,
        job_runs_t,
        {"name": name, "every_seconds": every_seconds, "last_started_at": now},
        conflict=("name",),
        update={"every_seconds": every_seconds, "last_started_at": now},
        returning=(job_runs_t.c.name,),
    )


def ended(session: Session, name: str, now: datetime, error: str | None = None) -> None:
    values = {"last_ok_at": now} if error is None else {"last_failed_at": now, "last_error": error[:2000]}
    session.execute(job_runs_t.update().where(job_runs_t.c.name == name).values(**values))


class Lateness(NamedTuple):
    name: str
    every_seconds: int
    last_ok_at: datetime | None
    last_failed_at: datetime | None
    last_error: str | None


def late(session: Session, now: datetime) -> list[Lateness]:
    """The recurring jobs that have not ended well for three intervals and a minute, by name."""
    found = []
    for row in session.execute(select(job_runs_t).order_by(job_runs_t.c.name)):
        allowed = timedelta(seconds=3 * row.every_seconds) + GRACE
        since = row.last_ok_at or row.last_started_at
        if now - since > allowed:
            found.append(
                Lateness(row.name, row.every_seconds, row.last_ok_at, row.last_failed_at, row.last_error)
            )
    return found
