"""Broadcasts on real stores: a real RQ worker sends them (paced by the shared send limit), numbers
that opted out get nothing, and a broadcast is written once however many operators approve it at
the same moment, or however often its form arrives.

Runs on SQLite and on PostgreSQL (``DATABASE_URL``), with the test Redis. On PostgreSQL the racing
transactions really run at once: the broadcast's row lock and the form's unique key decide.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, update

from service.accounts import open_programme_accounts
from service.app import make_runtime as runtime_for
from service.db import transaction
from service.models import Broadcast, BroadcastMessage, Household, OutboxMessage, Phone
from service.runtime import Runtime, use
from service.settings import Settings
from service.usecases import broadcasts
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.users import add_user
from service.usecases.zones import Zone, add_zone
from sms.gateways import OutgoingMessage, Sent

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ENGLISH = "Kolekt: Yaba collection moves to Saturday 5 Dec, 8-12."
PIDGIN = "Kolekt: Yaba collection don move go Saturday 5 Dec, 8-12."


class FakeGateway:
    """Takes every message and remembers it; says "sent"."""

    name = "fake"
    confirms_opt_out = False

    def __init__(self) -> None:
        self.received: list[OutgoingMessage] = []
        self.lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> Sent:
        with self.lock:
            self.received.append(message)
            return Sent(provider_id=f"F{len(self.received)}", status="sent")


@pytest.fixture
def make_runtime(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings], redis: Redis
) -> Iterator[Callable[..., Runtime]]:
    """Runtimes on new databases with a fake gateway; Redis emptied before and after."""
    made: list[Runtime] = []

    def make(**changes: object) -> Runtime:
        runtime = use(runtime_for(make_settings(fresh_database(), **changes)))
        runtime.gateway = FakeGateway()  # type: ignore[misc]
        made.append(runtime)
        with transaction(runtime.sessions) as session:
            open_programme_accounts(session)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def fake(runtime: Runtime) -> FakeGateway:
    gateway = runtime.gateway
    assert isinstance(gateway, FakeGateway)
    return gateway


def a_street(runtime: Runtime, *, households: int = 6) -> tuple[Zone, list[str]]:
    """Yaba with ``households`` households (every second one Pidgin), the first of them opted out
    and the second suspended; one household in Sabo."""
    phones = [f"+23480310000{n:02d}" for n in range(1, households + 1)]
    with transaction(runtime.sessions) as session:
        yaba = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", T0)
        sabo = add_zone(session, "Sabo", "wed", "09:00-13:00", T0)
        for n, phone in enumerate([*phones, "+2348039999999"]):
            ensure_phone(session, phone, T0)
            session.execute(
                update(Phone).where(Phone.number == phone).values(language="PCM" if n % 2 else "EN")
            )
            register_household(
                session,
                phone,
                f"House {n}",
                None,
                "test",
                T0,
                zone_id=sabo.id if n == households else yaba.id,
            )
        session.execute(update(Phone).where(Phone.number == phones[0]).values(opted_out_at=T0))
        session.execute(update(Household).where(Household.phone == phones[1]).values(status="suspended"))
    return yaba, phones


def operators(runtime: Runtime, count: int) -> list[int]:
    with transaction(runtime.sessions) as session:
        return [
            add_user(session, f"op{n}@hub.example", "a long password", "operator", T0).id
            for n in range(count)
        ]


def draft(runtime: Runtime, zone: Zone) -> broadcasts.Draft:
    with transaction(runtime.sessions) as session:
        return broadcasts.compose(
            session,
            runtime.settings,
            audience="zone",
            zone=str(zone.id),
            texts={"EN": ENGLISH, "PCM": PIDGIN},
        )


def read(runtime: Runtime, statement: Any) -> list[Any]:
    with transaction(runtime.sessions) as session:
        found = list(session.execute(statement).scalars())
        session.expunge_all()
        return found


def count(runtime: Runtime, model: Any) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def work(redis: Redis, until: Callable[[], bool], *, rounds: int = 10) -> None:
    """Run a real RQ worker, of the kind ``flask worker`` runs, in burst mode until ``until()``."""
    queues = [Queue(name, connection=redis) for name in ("high", "default", "low")]
    for _ in range(rounds):
        SimpleWorker(queues, connection=redis).work(burst=True, with_scheduler=True)
        if until():
            return
    raise AssertionError("the worker did not get there")


def test_a_worker_sends_a_broadcast_once_and_opted_out_numbers_get_nothing(
    make_runtime: Callable[..., Runtime], redis: Redis
) -> None:
    runtime = make_runtime(sms_rate_per_second=50)  # the shared send limit paces them
    yaba, phones = a_street(runtime)
    (maker,) = operators(runtime, 1)
    made = draft(runtime, yaba)
    done = runtime.transact(lambda uow: broadcasts.submit(uow, made, maker, uuid.uuid4().hex), now=T0)
    assert (done.status, done.recipients) == ("sent", 4)  # 6 in Yaba, one opted out, one suspended
    # A number that opts out after the broadcast was written, before its text goes: nothing either.
    late = phones[2]
    with transaction(runtime.sessions) as session:
        session.execute(update(Phone).where(Phone.number == late).values(opted_out_at=datetime.now(UTC)))

    def settled() -> bool:
        statuses = read(runtime, select(OutboxMessage.status).where(OutboxMessage.kind == "broadcast"))
        return len(statuses) == 4 and "queued" not in statuses

    work(redis, settled)
    received = {(m.to, m.body) for m in fake(runtime).received}
    assert received == {(phones[3], PIDGIN), (phones[4], ENGLISH), (phones[5], PIDGIN)}
    assert len(fake(runtime).received) == 3  # each once
    outcome = {row.to_phone: row.status for row in read(runtime, select(OutboxMessage))}
    assert outcome == {late: "suppressed", phones[3]: "sent", phones[4]: "sent", phones[5]: "sent"}
    # Nothing to the number that had opted out, the suspended household or another zone.
    assert not {phones[0], phones[1], "+2348039999999"} & {m.to for m in fake(runtime).received}

    # A worker run again (a retried job, the sweep) sends nothing more.
    work(redis, lambda: True)
    assert len(fake(runtime).received) == 3


def test_approvals_at_the_same_moment_send_a_broadcast_once(
    make_runtime: Callable[..., Runtime], redis: Redis
) -> None:
    runtime = make_runtime(broadcast_approval_above=1)
    yaba, _ = a_street(runtime)
    maker, *checkers = operators(runtime, 5)
    made = draft(runtime, yaba)
    proposed = runtime.transact(lambda uow: broadcasts.submit(uow, made, maker, uuid.uuid4().hex), now=T0)
    assert proposed.status == "proposed"
    barrier = threading.Barrier(len(checkers))
    outcomes: list[str] = []

    def approve(checker: int) -> None:
        barrier.wait()
        try:
            sent = runtime.transact(lambda uow: broadcasts.approve(uow, proposed.broadcast_id, checker))
            outcomes.append(f"sent {sent.recipients}")
        except broadcasts.BroadcastError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=approve, args=(checker,)) for checker in checkers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == [
        *[f"broadcast {proposed.broadcast_id} was sent already"] * (len(checkers) - 1),
        "sent 4",
    ]
    assert count(runtime, OutboxMessage) == count(runtime, BroadcastMessage) == 4
    (row,) = read(runtime, select(Broadcast))
    assert row.status == "sent" and row.decided_by in checkers


def test_one_form_arriving_several_times_at_once_makes_one_broadcast(
    make_runtime: Callable[..., Runtime], redis: Redis
) -> None:
    runtime = make_runtime()
    yaba, _ = a_street(runtime)
    (maker,) = operators(runtime, 1)
    made, key = draft(runtime, yaba), uuid.uuid4().hex
    barrier = threading.Barrier(4)
    outcomes: list[broadcasts.Submitted] = []

    def submit() -> None:
        barrier.wait()
        outcomes.append(runtime.transact(lambda uow: broadcasts.submit(uow, made, maker, key)))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 4 and len({outcome.broadcast_id for outcome in outcomes}) == 1
    assert sorted(outcome.repeated for outcome in outcomes) == [False, True, True, True]
    assert count(runtime, Broadcast) == 1
    assert count(runtime, OutboxMessage) == count(runtime, BroadcastMessage) == 4
