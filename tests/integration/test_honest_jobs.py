"""Honest weights' jobs as the scheduler runs them (``service.jobs.honest``), on the store under
test: ``learn_signals`` writes the thresholds that pickups are then judged by, and
``release_holds`` releases a hold nobody decided once its day has come, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

import ledger
from service.accounts import HOLDS, member_account
from service.db import transaction
from service.jobs.honest import learn_signals, release_holds
from service.models import AuditEntry, Hold, OutboxMessage, SignalThreshold, collectors_t
from service.runtime import Runtime
from service.usecases.catalogue import set_rate
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup
from service.usecases.roles import add_collector
from service.usecases.screening import Screening
from service.usecases.signals import STARTING
from service.usecases.zones import add_zone
from sms.commands import Line
from tests.integration.test_periodic import read, runtime  # noqa: F401 - the runtime fixture

LAGOS = ZoneInfo("Africa/Lagos")


def held_pickup(made: Runtime, received_at: datetime) -> str:
    """A pickup held because the household lives at the collector's address; the member code."""
    since = received_at - timedelta(days=8)
    with transaction(made.sessions) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", since)
        collector = add_collector(session, "+2348070000001", "Musa", zone.id, since)
        ensure_phone(session, "+2348031000001", since)
        household = register_household(
            session, "+2348031000001", "Ada", "9 Musa Close", "test", since, zone_id=zone.id
        )
        set_rate(session, "PET", 10, 2, since, "test", since)
        session.execute(collectors_t.update().values(home_address="9 Musa close"))
        logged = log_pickup(
            session,
            collector=collector,
            household=household,
            lines=(Line("PET", 4500),),
            occurred_at=received_at,
            received_at=received_at,
            channel="test",
            dedupe_key="test:held",
            screening=Screening(LAGOS, 7),
        )
        assert logged.held
        return household.member_code


def test_learning_writes_the_thresholds_pickups_are_judged_by(runtime: Runtime) -> None:  # noqa: F811
    said = learn_signals()  # the starting points: nothing to learn from yet
    assert said == "heavy 4.00x, big day 2.50x the usual day, too fast 60 s; 0 collector signals flagged"
    rows = {row.name: (row.value, row.samples) for row in read(runtime, select(SignalThreshold))}
    assert rows == {name: (value, 0) for name, value in STARTING.items()}


def test_a_hold_nobody_decided_is_released_on_its_day_once(runtime: Runtime) -> None:  # noqa: F811
    now = datetime.now(UTC)
    code = held_pickup(runtime, now - timedelta(days=8))
    assert release_holds() == "1 holds released"
    assert release_holds() == "0 holds released"
    (hold,) = read(runtime, select(Hold))
    assert (hold.status, hold.decided_by) == ("released", "kolekt")
    with transaction(runtime.sessions) as session:
        assert ledger.balance(session, member_account(code)).credit_balance == 45
        assert ledger.balance(session, HOLDS).credit_balance == 0
    texts = read(runtime, select(OutboxMessage.template).where(OutboxMessage.template == "hold_approved"))
    assert texts == ["hold_approved"]
    actions = read(runtime, select(AuditEntry.action).where(AuditEntry.action == "hold.release"))
    assert actions == ["hold.release"]


def test_a_hold_whose_day_has_not_come_waits(runtime: Runtime) -> None:  # noqa: F811
    held_pickup(runtime, datetime.now(UTC) - timedelta(days=2))
    assert release_holds() == "0 holds released"
    assert [hold.status for hold in read(runtime, select(Hold))] == ["held"]
