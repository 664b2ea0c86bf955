"""Points that expire, under concurrency on the store under test: two runs of the warnings and
then of the expiries at the same moment, each in its own runtime (two workers), warn and expire
each household exactly once, and the ledger still adds up."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

import ledger
from ledger.models import transfers_t
from service.accounts import BREAKAGE
from service.cli.demo import seed_demo
from service.db import transaction
from service.models import expiry_notices_t, outbox_t
from service.runtime import Runtime
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import expiry
from service.usecases.impact import month_start
from tests.fakes import FakeQueue

JOIN_TIMEOUT = 60.0


def race(runtimes: list[Runtime], work: Callable[[UnitOfWork], int], now: datetime) -> list[int]:
    barrier, results, errors = threading.Barrier(len(runtimes)), [], []

    def run(runtime: Runtime) -> None:
        barrier.wait()
        try:
            results.append(runtime.transact(work, now=now))
        except BaseException as error:  # noqa: BLE001 - the test reports it
            errors.append(error)

    threads = [threading.Thread(target=run, args=(runtime,)) for runtime in runtimes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a run hung"
    assert errors == []
    return results


def test_two_runs_at_once_warn_and_expire_each_household_once(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(fresh_database(), points_expire_months=1)
    runtimes = [Runtime(settings, queue=lambda _redis: FakeQueue()) for _ in range(2)]
    try:
        with transaction(runtimes[0].sessions) as session:
            seed_demo(session)
            latest = session.execute(select(func.max(transfers_t.c.occurred_at))).scalar_one()
            owed = ledger.unspent_before(session, "member", latest + timedelta(seconds=1))
        assert len(owed) >= 3
        # With 1 month, everything up to the latest transfer's month is gone two months on.
        expires_at = month_start(latest, settings.zone, -2)
        assert sum(race(runtimes, expiry.warn_due, expires_at - timedelta(days=20))) == len(owed)
        assert sum(race(runtimes, expiry.expire_due, expires_at + timedelta(hours=1))) == len(owed)
        with transaction(runtimes[0].sessions) as session:
            rows = session.execute(select(expiry_notices_t.c.household_id, expiry_notices_t.c.days)).all()
            texted = Counter(
                session.execute(
                    select(outbox_t.c.template).where(outbox_t.c.template.like("points_expir%"))
                ).scalars()
            )
            left = ledger.unspent_before(session, "member", latest + timedelta(seconds=1))
            breakage = ledger.balance(session, BREAKAGE).credit_balance
            ledger.seal_all(session)
            report = ledger.verify(session)
        assert Counter(rows).most_common(1)[0][1] == 1  # nothing twice
        assert texted == {"points_expiring": len(owed), "points_expired": len(owed)}
        assert left == {} and breakage == sum(owed.values())
        assert report.ok, report.problem
    finally:
        for runtime in runtimes:
            runtime.close()
