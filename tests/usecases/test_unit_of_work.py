"""The unit of work: texts and jobs go to the queue only once the transaction has committed; news
for others waits for the answer to the person who texted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.app import make_runtime
from service.models import outbox_t
from service.outbox import Answering
from service.runtime import Runtime
from service.settings import Settings
from service.unit_of_work import Gathered, Job, UnitOfWork
from tests.fakes import FakeQueue
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, inbound, texts

Uow = Callable[..., UnitOfWork]


@pytest.fixture
def runtime(fresh_database: Callable[[], str], settings: Settings) -> Iterator[Runtime]:
    """A runtime on a database of its own (changes commit), with a fake queue; closed after."""
    made = make_runtime(
        settings.with_changes(database_url=fresh_database(), redis_url="redis://127.0.0.1:9/0")
    )
    made.queue = FakeQueue()  # type: ignore[misc]
    yield made
    made.close()


def test_what_a_unit_of_work_wrote_and_asked_for_is_enqueued_after_its_commit(
    runtime: Runtime,
) -> None:
    queue = runtime.queue
    assert isinstance(queue, FakeQueue)
    with runtime.unit_of_work(now=MONDAY) as uow:
        uow.outbox.write(ADA, "hello", language="EN", template="test")
        uow.outbox.write_bulk([(TUNDE, "reminder", "EN")], template="test", kind="reminder")
        uow.after_commit(Job.FULFIL_REDEMPTION, 7)
        assert (queue.sent, queue.bulk, queue.jobs) == ([], [], [])  # not before the commit
    assert len(queue.sent) == 1 and len(queue.bulk) == 1
    assert queue.jobs == [(Job.FULFIL_REDEMPTION, (7,), None)]


def test_a_unit_of_work_that_raises_leaves_nothing_and_enqueues_nothing(runtime: Runtime) -> None:
    queue = runtime.queue
    assert isinstance(queue, FakeQueue)

    def fails(uow: UnitOfWork) -> None:
        uow.outbox.write(ADA, "hello", language="EN", template="test")
        uow.after_commit(Job.FULFIL_REDEMPTION, 7)
        raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        runtime.transact(fails, now=MONDAY)
    assert (queue.sent, queue.jobs) == ([], [])
    with runtime.unit_of_work() as uow:
        assert uow.session.execute(select(func.count()).select_from(outbox_t)).scalar_one() == 0


def test_bulk_texts_due_later_are_enqueued_for_then(uow: Uow, queue: FakeQueue) -> None:
    work = uow()
    morning = MONDAY + timedelta(hours=10)
    first = work.outbox.write_bulk([(ADA, "a", "EN")], template="test", kind="reminder", due=morning)
    second = work.outbox.write_bulk([(TUNDE, "b", "EN")], template="test", kind="reminder", due=morning)
    now = work.outbox.write_bulk([(TUNDE, "c", "EN")], template="test", kind="reminder")
    work.enqueue()
    assert queue.bulk == [(first + second, morning), (now, None)]


def test_news_for_others_waits_for_the_answer_to_the_sender(world: World, uow: Uow, session: Session) -> None:
    work = uow()
    work.outbox.answering = Answering(inbound(session, TUNDE, "LOG"), TUNDE)
    work.outbox.text(ADA, "undone", ref="AB12", collector="Tunde", points=5, balance=0)
    assert texts(work) == []  # held for the answer
    work.outbox.text(TUNDE, "undo_ok", ref="AB12", member=world.ada.member_code, points=5)
    assert [to for to, _ in texts(work)] == [TUNDE, ADA]


def test_news_with_no_answer_is_written_when_released(world: World, uow: Uow, session: Session) -> None:
    work = uow()
    work.outbox.answering = Answering(inbound(session, TUNDE, "LOG"), TUNDE)
    work.outbox.text(ADA, "undone", ref="AB12", collector="Tunde", points=5, balance=0)
    work.outbox.release()
    assert [to for to, _ in texts(work)] == [ADA]


def test_gathered_units_of_work_are_handed_over_once_after_the_last_commit(runtime: Runtime) -> None:
    queue = runtime.queue
    assert isinstance(queue, FakeQueue)
    gathered = Gathered()
    for to in (ADA, TUNDE):
        with runtime.unit_of_work(now=MONDAY, queue=gathered) as uow:
            uow.outbox.write(to, f"hello {to}", language="EN", template="test")
            uow.after_commit(Job.FULFIL_REDEMPTION, 7)
    assert (queue.sent, queue.jobs) == ([], [])  # committed, and held for one hand-over
    gathered.hand_to(queue)
    assert (len(queue.sent), queue.send_calls) == (2, 1)
    assert queue.jobs == [(Job.FULFIL_REDEMPTION, (7,), None)] * 2
