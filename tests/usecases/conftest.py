"""The use cases without the web app, Redis or a worker: each test's unit of work stands on the
shared migrated database's ``session`` (rolled back at the end) and a fake queue that keeps what
it is given, as cosmicpython tests its services.

``world``: a small programme to act in: a zone (Yaba, Tue and Fri), PET at 10 points a kg with 2
of commission, a collector (Tunde) and a member household (Ada) in Yaba.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import inbound_t, outbox_t
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases.catalogue import forget_vocabulary, set_rate
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.roles import Collector, add_collector
from service.usecases.zones import Zone, add_zone
from tests.fakes import FakeQueue

# A Monday, 10:00 in Lagos.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TUNDE = "+2348030000001"
ADA = "+2348031234567"


@pytest.fixture(autouse=True)
def fresh_vocabulary() -> Iterator[None]:
    """The vocabulary is cached per process: words from a rolled-back test must not leak."""
    forget_vocabulary()
    yield
    forget_vocabulary()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url="sqlite://",
        redis_url="",
        secret_key="test-secret",
        instance_dir=tmp_path,
        testing=True,
        quiet_hours="",
        sms_rate_per_second=0,
        # Holds are tested where they are the subject: a suite's pickups seconds apart would be held.
        holds=False,
    )


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


@pytest.fixture
def uow(session: Session, settings: Settings, queue: FakeQueue) -> Callable[..., UnitOfWork]:
    """A unit of work at ``now`` (Monday morning unless told), on the test's session: what a
    caller would commit is flushed, and ``done`` hands its texts and jobs to the fake queue."""

    def make(now: datetime = MONDAY) -> UnitOfWork:
        return UnitOfWork(session, settings, queue, now)

    return make


@dataclass(frozen=True)
class World:
    zone: Zone
    collector: Collector
    ada: Member


@pytest.fixture
def world(session: Session) -> World:
    zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", MONDAY)
    set_rate(session, "PET", 10, 2, datetime(2026, 1, 1, tzinfo=UTC), "test", MONDAY)
    collector = add_collector(session, TUNDE, "Tunde Bakare", zone.id, MONDAY)
    ensure_phone(session, ADA, MONDAY)
    ada = register_household(session, ADA, "Ada Okafor", "12 Adeniyi St", "sms", MONDAY, zone_id=zone.id)
    return World(zone, collector, ada)


def texts(uow: UnitOfWork) -> list[tuple[str, str]]:
    """What the unit of work's outbox wrote: (to, body), in order."""
    rows = uow.session.execute(
        select(outbox_t.c.to_phone, outbox_t.c.body)
        .where(outbox_t.c.id.in_(uow.outbox.written))
        .order_by(outbox_t.c.id)
    )
    return [(to, body) for to, body in rows]


def inbound(session: Session, sender: str, text: str, now: datetime = MONDAY) -> int:
    """A text as the inbox stores it (what a LOG or a NO names as its origin)."""
    row = session.execute(
        inbound_t.insert().returning(inbound_t.c.id),
        {
            "provider": "test",
            "provider_message_id": uuid.uuid4().hex,
            "sender": sender,
            "recipient": "KOLEKT",
            "body": text,
            "received_at": now,
            "status": "processed",
            "processed_at": now,
            "command": "test",
        },
    )
    return int(row.scalar_one())
