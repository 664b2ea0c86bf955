"""The app's sync under concurrency, on the store under test: a phone that sends its batch again
while the first send is still running (a time-out and a retry on a slow link), and two of one
collector's phones syncing at once. Every operation is done exactly once, and the other send
answers ``duplicate`` with it: never a second credit, never a lost operation, never a "retry".
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

import ledger
from service.cli.demo import COLLECTORS, seed_demo
from service.db import transaction
from service.models import collections_t, households_t
from service.runtime import Runtime
from service.settings import Settings
from service.usecases import sync
from service.usecases.households import member_by_phone
from service.usecases.pickups import balance_of
from service.usecases.roles import collector_by_phone
from sms import Line
from tests.fakes import FakeQueue

JOIN_TIMEOUT = 120.0


def _batch(codes: list[str], households: int, pickups: int) -> list[sync.Operation]:
    """New households at the door, a pickup for each, and pickups for members of the zone."""
    now = datetime.now(UTC)
    operations: list[sync.Operation] = []
    for index in range(households):
        new_household = sync.NewHousehold(str(uuid.uuid4()), f"0807777{index:04d}", f"New {index}", None)
        operations.append(new_household)
        operations.append(
            sync.NewPickup(
                str(uuid.uuid4()),
                now - timedelta(minutes=5),
                sync.HouseholdRef(client_id=new_household.client_id),
                (Line("PET", 2500),),
                seq=100_001 + index,
            )
        )
    for index in range(pickups):
        operations.append(
            sync.NewPickup(
                str(uuid.uuid4()),
                now - timedelta(minutes=index),
                sync.HouseholdRef(code=codes[index % len(codes)]),
                (Line("PET", 1000 + index), Line("ALU", 100)),
                seq=200_001 + index,
            )
        )
    return operations


def _run_together(work: list[Callable[[], list[sync.Result]]]) -> list[list[sync.Result]]:
    barrier = threading.Barrier(len(work))
    answers: list[list[sync.Result] | BaseException | None] = [None] * len(work)

    def run(index: int) -> None:
        barrier.wait()
        try:
            answers[index] = work[index]()
        except BaseException as error:  # noqa: BLE001 - the test reports it
            answers[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a sync hung"
    for answer in answers:
        assert isinstance(answer, list), answer
    return [answer for answer in answers if isinstance(answer, list)]


def test_the_same_batch_sent_twice_at_once_is_done_once(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(fresh_database())
    # Two processes: a runtime each (its own engine), whose queue keeps the texts it was given.
    queues = [FakeQueue() for _ in range(2)]
    runtimes = [Runtime(settings, queue=lambda _redis, queue=queue: queue) for queue in queues]
    try:
        with transaction(runtimes[0].sessions) as session:
            seed_demo(session)
            collector = collector_by_phone(session, COLLECTORS[0][0])
            assert collector is not None
            codes = [
                code
                for code in session.execute(
                    select(households_t.c.member_code).where(households_t.c.zone_id == collector.zone_id)
                ).scalars()
                if code
            ]
            before = session.execute(select(func.count()).select_from(collections_t)).scalar_one()
        operations = _batch(codes, 10, 20)
        now = datetime.now(UTC)
        done = _run_together(
            [
                lambda runtime=runtime: sync.sync(runtime, collector.id, operations, now)
                for runtime in runtimes
            ]
        )
        for index in range(len(operations)):
            statuses = sorted(answer[index].status for answer in done)
            assert statuses == ["created", "duplicate"], (index, statuses)
            references = {answer[index].reference for answer in done}
            assert len(references) == 1, references  # the duplicate names the one created
        with transaction(runtimes[0].sessions) as session:
            after = session.execute(select(func.count()).select_from(collections_t)).scalar_one()
            assert after - before == 10 + 20  # every pickup once
            for index in range(10):
                member = member_by_phone(session, f"+234807777{index:04d}")
                assert member is not None
                assert balance_of(session, member) == 25  # 2.5 kg of PET at 10 a kg, once
            assert ledger.verify(session).ok
        # Each send wrote the texts of what it created, and only those: one receipt per pickup.
        texts = Counter(len(queue.sent) for queue in queues)
        assert sum(len(queue.sent) for queue in queues) == len(operations), texts  # a welcome, receipts
    finally:
        for runtime in runtimes:
            runtime.close()
