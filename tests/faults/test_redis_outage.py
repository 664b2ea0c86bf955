"""Issue 17, finding 1: Redis killed while texts arrive, then started again (empty, as a lost
Redis comes back). Before, the worker's cron child and RQ's scheduler died and were never started
again: 10 minutes later the replies written meanwhile were still queued and the ledger unsealed.
Now the worker heals itself: everything queued goes out, and sealing resumes, within 60 s of
Redis's return, with no restart."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

import ledger
from service.accounts import open_programme_accounts
from service.app import make_runtime
from service.channels.inbox import receive
from service.db import transaction
from service.models import OutboxMessage, job_runs_t
from service.runtime import Runtime, use
from service.settings import Settings
from sms.gateways import Inbound
from tests.faults.conftest import OwnRedis

pytestmark = pytest.mark.faults

# What Redis's return must be followed by, at the latest: the goal.
RECOVERY_GOAL_SECONDS = 60


@pytest.fixture
def runtime(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings], own_redis: OwnRedis
) -> Iterator[Runtime]:
    made = use(make_runtime(make_settings(fresh_database()).with_changes(redis_url=own_redis.url)))
    with transaction(made.sessions) as session:
        open_programme_accounts(session)
    yield made
    made.close()


def join(runtime: Runtime, index: int) -> None:
    phone = f"+23480{index:08d}"
    message = Inbound(
        provider="test", provider_id=f"outage-{index}", sender=phone, to="KOLEKT", text="JOIN Ada"
    )
    receive(runtime, message, phone)


def counted(runtime: Runtime, *where: object) -> int:
    with transaction(runtime.sessions) as session:
        return int(
            session.execute(select(func.count()).select_from(OutboxMessage).where(*where)).scalar_one()
        )


def wait_for(check: Callable[[], bool], seconds: float) -> float:
    """Seconds until ``check()`` held; fails after ``seconds``."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"not within {seconds} s")


def sealed_at(runtime: Runtime) -> datetime | None:
    with transaction(runtime.sessions) as session:
        found: datetime | None = session.execute(
            select(job_runs_t.c.last_ok_at).where(job_runs_t.c.name == "seal_ledger")
        ).scalar()
        return found


def test_after_redis_returns_everything_queued_goes_out_within_a_minute_with_no_restart(
    runtime: Runtime, own_redis: OwnRedis, start_worker: Callable[[Settings], subprocess.Popen[bytes]]
) -> None:
    worker = start_worker(runtime.settings)
    # The worker and its clock run: the sealer notes its runs.
    wait_for(lambda: sealed_at(runtime) is not None, 60)
    for index in range(5):
        join(runtime, index)
    wait_for(lambda: counted(runtime, OutboxMessage.status.in_(("sent", "delivered"))) == 5, 30)

    own_redis.kill()
    for index in range(5, 25):  # texts arrive: stored, acted on, replies written; none enqueued
        join(runtime, index)
    assert counted(runtime, OutboxMessage.status == "queued") == 20
    time.sleep(8)  # long enough for RQ's scheduler, the clock and the worker to meet the outage
    assert worker.poll() is None, "the worker process must ride the outage out"

    own_redis.start()
    returned = datetime.now(UTC)
    recovery = wait_for(
        lambda: counted(runtime, OutboxMessage.status.in_(("sent", "delivered"))) == 25, RECOVERY_GOAL_SECONDS
    )
    wait_for(lambda: (sealed_at(runtime) or returned) > returned, RECOVERY_GOAL_SECONDS)
    with transaction(runtime.sessions) as session:
        assert ledger.verify(session).ok
    print(f"\nrecovery after Redis returned: {recovery:.1f} s for 20 texts written during the outage")
    assert worker.poll() is None


def test_a_worker_asked_to_stop_stops_and_takes_its_clock_with_it(
    runtime: Runtime, start_worker: Callable[[Settings], subprocess.Popen[bytes]]
) -> None:
    """It starts itself again only after an error: SIGTERM (the platform's stop) ends it."""
    worker = start_worker(runtime.settings)
    wait_for(lambda: sealed_at(runtime) is not None, 60)
    children = [
        int(pid) for pid in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    ]
    assert children  # RQ's scheduler, the clock, multiprocessing's resource tracker
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in children), 10)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
