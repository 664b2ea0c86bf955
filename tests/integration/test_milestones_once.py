"""Milestones under concurrency, on the store under test: two checks of the same households at
the same moment, each in its own runtime (two workers), text each milestone exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from service.cli.demo import seed_demo
from service.db import transaction
from service.models import collections_t, milestones_t, outbox_t
from service.runtime import Runtime
from service.settings import Settings
from service.usecases import milestones
from tests.fakes import FakeQueue

JOIN_TIMEOUT = 60.0


def test_two_checks_at_once_text_each_milestone_once(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(fresh_database())
    runtimes = [Runtime(settings, queue=lambda _redis: FakeQueue()) for _ in range(2)]
    try:
        with transaction(runtimes[0].sessions) as session:
            seed_demo(session)
            households = list(
                session.execute(
                    select(collections_t.c.household_id)
                    .where(collections_t.c.status == "credited")
                    .distinct()
                ).scalars()
            )
        assert len(households) >= 3
        errors: list[BaseException] = []

        def race(household_id: int) -> None:
            barrier = threading.Barrier(2)

            def run(runtime: Runtime) -> None:
                barrier.wait()
                try:
                    runtime.transact(lambda uow: milestones.check(uow, household_id))
                except BaseException as error:  # noqa: BLE001 - the test reports it
                    errors.append(error)

            threads = [threading.Thread(target=run, args=(runtime,)) for runtime in runtimes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(JOIN_TIMEOUT)
            assert not any(thread.is_alive() for thread in threads), "a check hung"

        for household_id in households:
            race(household_id)
        assert errors == []
        with transaction(runtimes[0].sessions) as session:
            rows = session.execute(select(milestones_t.c.household_id, milestones_t.c.name)).all()
            texted = session.execute(
                select(func.count()).select_from(outbox_t).where(outbox_t.c.template.like("milestone_%"))
            ).scalar_one()
            linked = session.execute(
                select(func.count()).select_from(milestones_t).where(milestones_t.c.outbox_id.is_not(None))
            ).scalar_one()
        assert Counter(rows).most_common(1)[0][1] == 1  # no milestone twice
        assert {household_id for household_id, _ in rows} == set(households)  # each got its first
        assert texted == linked == len(households)  # one text a household: the highest reached
    finally:
        for runtime in runtimes:
            runtime.close()
