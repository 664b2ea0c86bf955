"""Honest weights' jobs (issue 24): the signals' thresholds learned again from the programme's own
pickups (``screening.learn``), and the holds nobody decided released on their day
(``holds.release``). Both are safe to run again at will."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from service import runtime
from service.jobs.runs import recorded
from service.unit_of_work import UnitOfWork
from service.usecases import holds, screening


@recorded(3 * 3600)
def learn_signals() -> str:
    """The thresholds from the last 90 days and each collector's own signals, in one unit of work."""
    learned = runtime.current().transact(lambda uow: screening.learn(uow.session, uow.now, uow.settings))
    t = learned.thresholds
    return (
        f"heavy {t.heavy:.2f}x, big day {t.big_day:.2f}x the usual day, too fast {t.too_fast:.0f} s; "
        f"{len(learned.flagged)} collector signals flagged"
    )


@recorded(3600)
def release_holds() -> str:
    """Holds whose day has come, each released in its own unit of work (an operator deciding one
    meanwhile wins: it is left alone)."""
    current = runtime.current()
    released = 0
    while True:
        today = datetime.now(UTC).astimezone(current.settings.zone).date()
        with current.sessions() as session:
            due = holds.due(session, today)
        for reference in due:
            released += current.transact(partial(_release, reference))
        if len(due) < holds.RELEASE_BATCH:
            return f"{released} holds released"


def _release(reference: str, uow: UnitOfWork) -> int:
    return int(holds.release(uow, reference))
