"""Monthly statements by SMS (issue 23): a household that texts STATEMENT ON gets, early each
month, its last month in one text: kilos, pickups, points earned, and its balance. Sent once a
household a month: each is a row of ``monthly_statements``, unique on the household and the
month, inserted (ON CONFLICT DO NOTHING) in the transaction that writes its text.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import and_, func, select, update

import sms
from service.db import insert_ignoring_conflict
from service.models import collections_t, households_t, monthly_statements_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused
from service.usecases.households import Member
from service.usecases.impact import CREDITED, month_start
from service.usecases.pickups import balance_of

# Statements go out from this local hour on the first days of a month; after the last of these
# days a month missed (the clock was down) is not sent late.
SEND_FROM_HOUR = 9
SEND_DAYS = 7
BATCH = 500  # statements a unit of work


def subscribe(uow: UnitOfWork, household: Member | None, on: bool) -> None:
    """STATEMENT ON / OFF; ``Refused("not_member")`` for a stranger."""
    if household is None:
        raise Refused("not_member")
    uow.session.execute(
        update(households_t).where(households_t.c.id == household.id).values(monthly_statement=on)
    )


def send_due(uow: UnitOfWork, *, limit: int = BATCH) -> int:
    """Last month's statement for each household that asked and has not had it yet, in the first
    ``SEND_DAYS`` days of the month from ``SEND_FROM_HOUR``. How many were sent (at most ``limit``
    a run; the next run takes the rest)."""
    session, local = uow.session, uow.settings.zone
    now = uow.now.astimezone(local)
    if now.day > SEND_DAYS or now.time() < time(SEND_FROM_HOUR):
        return 0
    start, end = month_start(uow.now, local, 1), month_start(uow.now, local)
    month = start.date()
    waiting = session.execute(
        select(households_t.c.id, households_t.c.phone, households_t.c.member_code, households_t.c.name)
        .outerjoin(
            monthly_statements_t,
            and_(
                monthly_statements_t.c.household_id == households_t.c.id,
                monthly_statements_t.c.month == month,
            ),
        )
        .where(
            households_t.c.monthly_statement.is_(True),
            households_t.c.status == "active",
            households_t.c.member_code.is_not(None),
            monthly_statements_t.c.id.is_(None),
        )
        .order_by(households_t.c.id)
        .limit(limit)
    ).all()
    sent = 0
    for household_id, phone, code, name in waiting:
        kept = insert_ignoring_conflict(
            session,
            monthly_statements_t,
            {"household_id": household_id, "month": month, "sent_at": uow.now},
            conflict=("household_id", "month"),
            returning=monthly_statements_t.c.id,
        )
        if kept is None:  # another run sent it a moment ago
            continue
        pickups, grams, points = _month(uow, household_id, start, end)
        member = Member(household_id, code, name, phone)
        uow.outbox.text(
            phone,
            "statement_month",
            month=f"{month:%m/%Y}",
            kg=sms.kg(grams),
            count=pickups,
            points=f"{points:,}",
            balance=f"{balance_of(session, member):,}",
        )
        session.execute(
            update(monthly_statements_t)
            .where(monthly_statements_t.c.id == kept)
            .values(outbox_id=uow.outbox.written[-1])
        )
        sent += 1
    return sent


def _month(uow: UnitOfWork, household_id: int, start: datetime, end: datetime) -> tuple[int, int, int]:
    """A household's credited pickups that happened in [start, end): how many, grams, points."""
    count, grams, points = uow.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(collections_t.c.grams), 0),
            func.coalesce(func.sum(collections_t.c.points), 0),
        ).where(
            collections_t.c.household_id == household_id,
            collections_t.c.status == CREDITED,
            collections_t.c.occurred_at >= start,
            collections_t.c.occurred_at < end,
        )
    ).one()
    return int(count), int(grams), int(points)
