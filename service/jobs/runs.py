"""``recorded``: a recurring job that notes its runs (``service.usecases.job_runs``), so that the
health check and the dashboard can tell when sweeps, sealing or reminders fall behind.

The note is best effort: if the database cannot take it, the job runs all the same (its own
work will meet the same trouble and say so).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ParamSpec, TypeVar

from service import runtime
from service.unit_of_work import UnitOfWork
from service.usecases import job_runs

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")


def _note(write: Callable[[UnitOfWork], None]) -> None:
    try:
        runtime.current().transact(write)
    except Exception:  # the note must never stop the job
        log.warning("could not note a job's run", exc_info=True)


def recorded(every_seconds: int) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Note each run of the decorated job, meant to run every ``every_seconds``; the function
    keeps ``every_seconds`` as an attribute for the schedule."""

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        name = function.__name__

        def note(began: datetime, error: str | None) -> None:
            """One transaction a run, once it is over (the sealer runs every 2 s)."""

            def write(uow: UnitOfWork) -> None:
                job_runs.started(uow.session, name, every_seconds, began)
                job_runs.ended(uow.session, name, datetime.now(UTC), error)

            _note(write)

        @functools.wraps(function)
        def run(*arguments: P.args, **options: P.kwargs) -> T:
            began = datetime.now(UTC)
            try:
                result = function(*arguments, **options)
            except Exception as error:
                note(began, f"{type(error).__name__}: {error}")
                raise
            note(began, None)
            return result

        run.every_seconds = every_seconds  # type: ignore[attr-defined]
        return run

    return decorate
