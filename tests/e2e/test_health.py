"""Issue 17, finding 1: when the sweeps, the sealer or the reminders fall behind, /healthz and
the dashboard's overview say "degraded" and name what is late; the web process stays healthy
(200), since it still takes and keeps every text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.usecases import job_runs
from tests.e2e.hub import Hub


def test_health_and_the_overview_say_degraded_while_a_job_is_late(hub: Hub) -> None:
    browser = hub.signed_in("operator")
    now = datetime.now(UTC)
    with hub.session() as session:
        job_runs.started(session, "seal_ledger", 2, now)
        job_runs.ended(session, "seal_ledger", now)
    health = browser.get("/healthz")
    assert (health.status_code, health.get_json()["status"], health.get_json()["late_jobs"]) == (
        200,
        "ok",
        [],
    )
    assert "Degraded" not in browser.get("/dashboard/").get_data(as_text=True)

    long_ago = now - timedelta(minutes=20)
    with hub.session() as session:
        job_runs.started(session, "sweep_outbox", 60, long_ago)
        job_runs.ended(session, "sweep_outbox", long_ago)
        job_runs.ended(session, "sweep_outbox", now - timedelta(minutes=1), "ConnectionError: Redis is away")
    health = browser.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {
        "status": "degraded",
        "database": "ok",
        "redis": "ok",
        "late_jobs": ["sweep_outbox"],
    }
    page = browser.get("/dashboard/").get_data(as_text=True)
    assert "Degraded: background work has fallen behind" in page
    assert "sweep outbox" in page and "ConnectionError: Redis is away" in page
