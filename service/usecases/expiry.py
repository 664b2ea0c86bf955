"""Points that expire (issue 23), only if the programme wants it: ``POINTS_EXPIRE_MONTHS`` (0,
never, is the default).

Points earned in a month expire, oldest first, at the start of the month ``months`` months after
it ends: with 12, what was earned in March 2026 and not spent is gone on 1 April 2027. Spending
takes the oldest points first, so what expires on a date is what is left of the credits before
its cut-off (``ledger.unspent_before``), never more.

A household is texted 30 days before a date (or 7, if it was not texted then) with the points
that will go. Its points expire only if it was warned at least ``MIN_NOTICE`` ahead, and never
more than it was told: one not warned in time (expiry just turned on, the scheduler down) keeps
them until the next date, after a warning. An expiry is a ledger transfer from the household to
``programme:breakage``, in the open books; an operator gives points back with an adjustment.

Each warning and each expiry is a row of ``expiry_notices``, unique on (household, date, days),
inserted (ON CONFLICT DO NOTHING) in the transaction that writes its text and its transfer: each
happens once however many runs overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

import ledger
from service.accounts import BREAKAGE, member_account
from service.db import insert_ignoring_conflict
from service.models import expiry_notices_t, households_t, outbox_t
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases.impact import month_start

WARN_DAYS = (30, 7)  # the warnings, days before a date
EXPIRED = 0  # ``days`` of the expiry itself
MIN_NOTICE = timedelta(days=6)  # a 7-day warning sent within the hour still counts
BATCH = 500  # households a unit of work
ACTOR = "system:expiry"
# A warning in one of these never reached the household: it does not count as notice.
UNTOLD = ("suppressed", "held", "failed", "undelivered")


class Household(NamedTuple):
    id: int
    phone: str
    member_code: str


class Outlook(NamedTuple):
    """What the next expiry date will take, as it stands now."""

    expires_at: datetime  # the next month's first moment
    before: datetime  # points that occurred before this go then
    households: int
    points: int
    warned: dict[int, int]  # households warned so far, by days before (30, 7)


def outlook(session: Session, months: int, local: tzinfo, now: datetime) -> Outlook:
    """The next date's expiry: how many households would lose how many points if nothing were
    spent before it, and how many were warned so far."""
    expires_at = month_start(now, local, -1)
    before = month_start(expires_at, local, months)
    owed = ledger.unspent_before(session, "member", before)
    expires_on = expires_at.astimezone(local).date()
    warned: dict[int, int] = dict(
        session.execute(
            select(expiry_notices_t.c.days, func.count())
            .where(expiry_notices_t.c.expires_on == expires_on, expiry_notices_t.c.days != EXPIRED)
            .group_by(expiry_notices_t.c.days)
        ).all()
    )
    return Outlook(
        expires_at,
        before,
        len(owed),
        sum(owed.values()),
        {days: int(warned.get(days, 0)) for days in WARN_DAYS},
    )


class Plan(NamedTuple):
    """The warnings a run is to send: for which date, how many days before, and to whom."""

    expires_on: date  # the next month's first day
    before: datetime  # the date's cut-off: credits that occurred before it go then
    days: int  # 30 or 7
    household_ids: tuple[int, ...]


def warnings_due(session: Session, settings: Settings, now: datetime) -> Plan | None:
    """Who is to be warned now about the next month's date (one pass over the old credits, one
    over the households): those with points due then and no warning of these days yet. None
    when expiry is off, the date is over 30 days away, or nobody has points due."""
    months, local = settings.points_expire_months, settings.zone
    if not months:
        return None
    expires_at = month_start(now, local, -1)
    left = expires_at - now
    if left > timedelta(days=WARN_DAYS[0]):
        return None
    days = min(d for d in WARN_DAYS if left <= timedelta(days=d))
    before = month_start(expires_at, local, months)
    owed = ledger.unspent_before(session, "member", before)
    if not owed:
        return None
    expires_on = expires_at.astimezone(local).date()
    waiting = _not_yet(session, expires_on, days, month_start(now, local), local)
    return Plan(expires_on, before, days, tuple(id_ for id_, code in waiting if member_account(code) in owed))


def warn(uow: UnitOfWork, plan: Plan, household_ids: Sequence[int]) -> int:
    """Text these households of the plan what will expire (read again, as it is now), once each.
    How many were texted."""
    session = uow.session
    rows = session.execute(
        select(households_t.c.id, households_t.c.phone, households_t.c.member_code)
        .where(households_t.c.id.in_(list(household_ids)))
        .order_by(households_t.c.id)
    ).all()
    warned = 0
    for household in (Household(*row) for row in rows):
        account = member_account(household.member_code)
        points = ledger.unspent_before(session, "member", plan.before, codes=[account]).get(account, 0)
        if not points:  # spent since the plan was made
            continue
        kept = _keep(uow, household, plan.expires_on, plan.days, points)
        if kept is None:  # another run warned it a moment ago
            continue
        _tell(uow, household, kept, "points_expiring", points, date=f"{plan.expires_on:%d/%m/%Y}")
        warned += 1
    return warned


def warn_due(uow: UnitOfWork, *, limit: int = BATCH) -> int:
    """``warnings_due`` and ``warn`` in one unit of work, for at most ``limit`` households."""
    plan = warnings_due(uow.session, uow.settings, uow.now)
    return 0 if plan is None else warn(uow, plan, plan.household_ids[:limit])


def expire_due(uow: UnitOfWork, *, limit: int = BATCH) -> int:
    """Expire the points of the households warned in time for this month's date: what is left of
    their old credits, at most what they were told. How many households this run saw to (at most
    ``limit``; some may have had nothing left to lose)."""
    months = uow.settings.points_expire_months
    if not months:
        return 0
    session, now = uow.session, uow.now
    expires_at = month_start(now, uow.settings.zone)
    expires_on = expires_at.astimezone(uow.settings.zone).date()
    before = month_start(expires_at, uow.settings.zone, months)
    seen = 0
    for household, warned_points in _warned(uow, expires_on, expires_at - MIN_NOTICE, limit):
        account = member_account(household.member_code)
        points = min(
            warned_points,
            ledger.unspent_before(session, "member", before, codes=[account], lock=True).get(account, 0),
        )
        kept = _keep(uow, household, expires_on, EXPIRED, points)
        if kept is None:  # another run saw to it a moment ago
            continue
        seen += 1
        if points == 0:
            continue
        posted = ledger.post(
            session,
            ledger.TransferRequest(
                account,
                BREAKAGE,
                points,
                "expiry",
                f"expiry:{household.member_code}:{expires_on:%Y-%m}",
                reference=f"expiry:{expires_on:%Y-%m}",
                memo=f"points earned before {before.astimezone(uow.settings.zone):%m/%Y}",
                actor=ACTOR,
                occurred_at=now,
            ),
            now=now,
        )
        month = f"{before.astimezone(uow.settings.zone):%m/%Y}"
        _tell(uow, household, kept, "points_expired", points, month=month, transfer_id=posted.id)
    return seen


def _not_yet(
    session: Session, expires_on: date, days: int, this_month_at: datetime, local: tzinfo
) -> list[tuple[int, str]]:
    """Active households with no warning of ``days`` for this date yet: (id, member code). Not
    those whose expiry on this month's own date is still to run (``expire_due`` would take them:
    their points due then are not the next date's)."""
    told, now_due, done = (expiry_notices_t.alias(name) for name in ("told", "now_due", "done"))
    this_month = this_month_at.astimezone(local).date()
    expiring_now = (
        select(now_due.c.id)
        .join(outbox_t, outbox_t.c.id == now_due.c.outbox_id)
        .where(
            now_due.c.household_id == households_t.c.id,
            now_due.c.expires_on == this_month,
            now_due.c.days != EXPIRED,
            now_due.c.sent_at <= this_month_at - MIN_NOTICE,
            outbox_t.c.status.not_in(UNTOLD),
            ~select(done.c.id)
            .where(
                done.c.household_id == households_t.c.id,
                done.c.expires_on == this_month,
                done.c.days == EXPIRED,
            )
            .exists(),
        )
        .exists()
    )
    rows = session.execute(
        select(households_t.c.id, households_t.c.member_code)
        .outerjoin(
            told,
            and_(
                told.c.household_id == households_t.c.id, told.c.expires_on == expires_on, told.c.days == days
            ),
        )
        .where(
            households_t.c.status == "active",
            households_t.c.member_code.is_not(None),
            told.c.id.is_(None),
            ~expiring_now,
        )
        .order_by(households_t.c.id)
    ).all()
    return [(int(id_), str(code)) for id_, code in rows]


def _warned(
    uow: UnitOfWork, expires_on: date, warned_by: datetime, limit: int
) -> list[tuple[Household, int]]:
    """Active households warned for this date by ``warned_by`` (a warning that went: not one to a
    number that sent STOP, nor one that failed), not yet expired; with the least they were told
    would go."""
    warning, done = expiry_notices_t.alias("warning"), expiry_notices_t.alias("done")
    rows = uow.session.execute(
        select(
            households_t.c.id, households_t.c.phone, households_t.c.member_code, func.min(warning.c.points)
        )
        .join(warning, warning.c.household_id == households_t.c.id)
        .join(outbox_t, outbox_t.c.id == warning.c.outbox_id)
        .outerjoin(
            done,
            and_(
                done.c.household_id == households_t.c.id,
                done.c.expires_on == expires_on,
                done.c.days == EXPIRED,
            ),
        )
        .where(
            warning.c.expires_on == expires_on,
            warning.c.days != EXPIRED,
            done.c.id.is_(None),
            households_t.c.status == "active",
            outbox_t.c.status.not_in(UNTOLD),
        )
        .group_by(households_t.c.id, households_t.c.phone, households_t.c.member_code)
        .having(func.min(warning.c.sent_at) <= warned_by)
        .order_by(households_t.c.id)
        .limit(limit)
    ).all()
    return [(Household(id_, phone, code), int(points)) for id_, phone, code, points in rows]


def _keep(uow: UnitOfWork, household: Household, expires_on: date, days: int, points: int) -> int | None:
    """The notice's row, or None if another run kept it a moment ago."""
    values = {
        "household_id": household.id,
        "expires_on": expires_on,
        "days": days,
        "points": points,
        "sent_at": uow.now,
    }
    kept = insert_ignoring_conflict(
        uow.session,
        expiry_notices_t,
        values,
        conflict=("household_id", "expires_on", "days"),
        returning=expiry_notices_t.c.id,
    )
    return None if kept is None else int(kept)


def _tell(
    uow: UnitOfWork,
    household: Household,
    notice_id: int,
    template: str,
    points: int,
    *,
    transfer_id: int | None = None,
    **values: str,
) -> None:
    """The notice's text, with the points and the balance now, and its row pointed at it."""
    balance = ledger.balance(uow.session, member_account(household.member_code)).credit_balance
    uow.outbox.text(household.phone, template, points=f"{points:,}", balance=f"{balance:,}", **values)
    uow.session.execute(
        update(expiry_notices_t)
        .where(expiry_notices_t.c.id == notice_id)
        .values(outbox_id=uow.outbox.written[-1], transfer_id=transfer_id)
    )
