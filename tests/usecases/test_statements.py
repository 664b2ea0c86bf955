"""Monthly statements (``service.usecases.statements``): asked for and stopped, sent once a
household a month in the first days of the month, with last month's figures, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import sms
from service.models import households_t, monthly_statements_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, pickups, statements
from tests.usecases.conftest import ADA, TUNDE, World, inbound, texts

Uow = Callable[..., UnitOfWork]
# 1 December 2026, 09:30 in Lagos (08:30 UTC): the first morning a November statement may go.
DECEMBER_FIRST = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def log(uow: UnitOfWork, world: World, grams: int) -> pickups.Logged:
    origin = inbound(uow.session, TUNDE, "LOG ...", uow.now)
    named = sms.Member(code=world.ada.member_code, phone=None)
    lines = (sms.Line("PET", grams),)
    return pickups.log_by_text(uow, world.collector.id, named, lines, seq=None, inbound_id=origin)[1]


def test_a_stranger_cannot_ask(uow: Uow) -> None:
    with pytest.raises(Refused) as refused:
        statements.subscribe(uow(), None, True)
    assert refused.value.template == "not_member"


def test_last_months_statement_goes_once_early_in_the_month(world: World, uow: Uow, session: Session) -> None:
    statements.subscribe(uow(), world.ada, True)
    log(uow(datetime(2026, 10, 30, 10, tzinfo=UTC)), world, 9000)  # October: not in it
    log(uow(datetime(2026, 11, 2, 10, tzinfo=UTC)), world, 4500)
    log(uow(datetime(2026, 11, 30, 22, 30, tzinfo=UTC)), world, 2000)  # 23:30 in Lagos: still November
    log(uow(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)), world, 1000)  # 00:30 on 1 Dec in Lagos
    assert statements.send_due(uow(DECEMBER_FIRST - timedelta(hours=1))) == 0  # 08:30: too early
    first = uow(DECEMBER_FIRST)
    assert statements.send_due(first) == 1
    # November: 4.5 + 2 kg, 45 + 20 points; the balance is everything credited so far.
    november = "Kolekt 11/2026: 6.5kg recycled in 2 pickups, +65 pts. Balance 165 pts."
    assert texts(first) == [(ADA, f"{november} Text STATEMENT OFF to stop these.")]
    assert statements.send_due(uow(DECEMBER_FIRST + timedelta(hours=1))) == 0  # once
    rows = session.execute(select(monthly_statements_t.c.month, monthly_statements_t.c.outbox_id)).all()
    assert [(month.isoformat(), outbox_id is not None) for month, outbox_id in rows] == [("2026-11-01", True)]


def test_no_statement_when_stopped_suspended_or_too_late(world: World, uow: Uow, session: Session) -> None:
    statements.subscribe(uow(), world.ada, True)
    assert statements.send_due(uow(DECEMBER_FIRST + timedelta(days=7))) == 0  # 8 December: too late
    statements.subscribe(uow(), world.ada, False)
    assert statements.send_due(uow(DECEMBER_FIRST)) == 0
    statements.subscribe(uow(), world.ada, True)
    session.execute(update(households_t).where(households_t.c.id == world.ada.id).values(status="suspended"))
    assert statements.send_due(uow(DECEMBER_FIRST)) == 0
    session.execute(update(households_t).where(households_t.c.id == world.ada.id).values(status="active"))
    # A month without pickups still has its statement: nothing recycled, the balance.
    quiet = uow(DECEMBER_FIRST)
    assert statements.send_due(quiet) == 1
    assert texts(quiet)[0][1].startswith("Kolekt 11/2026: 0kg recycled in 0 pickups, +0 pts. Balance 0 pts.")
