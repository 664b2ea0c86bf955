"""Issue 17, finding 1: every recurring job notes its runs, and one that has not ended well for
three of its intervals and a minute is late (the health check and the dashboard say so)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from service.jobs.schedule import RECURRING
from service.usecases import job_runs
from tests.usecases.conftest import MONDAY


def test_a_job_is_late_after_three_intervals_and_a_minute_without_a_good_run(session: Session) -> None:
    job_runs.started(session, "sweep_outbox", 60, MONDAY)
    job_runs.ended(session, "sweep_outbox", MONDAY)
    assert job_runs.late(session, MONDAY + timedelta(minutes=4)) == []
    (late,) = job_runs.late(session, MONDAY + timedelta(minutes=4, seconds=1))
    assert (late.name, late.last_ok_at) == ("sweep_outbox", MONDAY)


def test_a_job_that_keeps_failing_is_late_with_its_error(session: Session) -> None:
    job_runs.started(session, "seal_ledger", 2, MONDAY)
    job_runs.ended(session, "seal_ledger", MONDAY)
    later = MONDAY + timedelta(minutes=5)
    job_runs.started(session, "seal_ledger", 2, later)
    job_runs.ended(session, "seal_ledger", later, "OperationalError: the database went away")
    (late,) = job_runs.late(session, later)
    assert (late.last_ok_at, late.last_failed_at) == (MONDAY, later)
    assert late.last_error == "OperationalError: the database went away"
    job_runs.started(session, "seal_ledger", 2, later)
    job_runs.ended(session, "seal_ledger", later)
    assert job_runs.late(session, later) == []


def test_a_job_that_started_and_never_ended_is_late_from_its_start(session: Session) -> None:
    job_runs.started(session, "remind_due", 60, MONDAY)
    assert job_runs.late(session, MONDAY + timedelta(minutes=3)) == []
    assert [job.name for job in job_runs.late(session, MONDAY + timedelta(minutes=5))] == ["remind_due"]


def test_every_recurring_job_notes_its_runs_at_its_own_interval() -> None:
    for job in RECURRING:
        assert getattr(job.function, "every_seconds", None) == job.interval > 0, job
    assert {job.function.__name__ for job in RECURRING} >= {
        "seal_ledger",
        "sweep_inbox",
        "sweep_outbox",
        "sweep_redemptions",
        "remind_due",
    }
