"""Holds and signals as the dashboard shows them: the review queue with each pickup's signals, the
holds decided lately, and a collector's scorecard (their signals week by week beside their
totals, and their own signals against their peers)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import (
    collections_t,
    collector_signals_t,
    collectors_t,
    holds_t,
    households_t,
    pickup_signals_t,
)
from service.usecases.collector_signals import Judged


class HeldRow(NamedTuple):
    collection_id: int
    reference: str
    member_code: str
    household: str
    household_id: int
    collector: str
    collector_id: int
    grams: int
    points: int
    commission: int
    occurred_at: datetime
    status: str
    release_on: date
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None
    signals: list[tuple[str, str]]  # (name, reason)


def hold_rows(session: Session, *, waiting: bool, limit: int = 200) -> list[HeldRow]:
    """The holds waiting for a decision (the oldest first) or those decided (the latest first)."""
    order = (
        (holds_t.c.release_on, holds_t.c.collection_id)
        if waiting
        else (holds_t.c.decided_at.desc(), holds_t.c.collection_id.desc())
    )
    rows = session.execute(
        select(
            collections_t.c.id,
            collections_t.c.reference,
            households_t.c.member_code,
            households_t.c.name,
            households_t.c.id,
            collectors_t.c.name,
            collectors_t.c.id,
            collections_t.c.grams,
            collections_t.c.points,
            collections_t.c.commission,
            collections_t.c.occurred_at,
            holds_t.c.status,
            holds_t.c.release_on,
            holds_t.c.decided_at,
            holds_t.c.decided_by,
            holds_t.c.reason,
        )
        .join(collections_t, collections_t.c.id == holds_t.c.collection_id)
        .join(households_t, households_t.c.id == collections_t.c.household_id)
        .join(collectors_t, collectors_t.c.id == collections_t.c.collector_id)
        .where((holds_t.c.status == "held") if waiting else (holds_t.c.status != "held"))
        .order_by(*order)
        .limit(limit)
    ).all()
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 500):
        for collection_id, name, reason in session.execute(
            select(pickup_signals_t.c.collection_id, pickup_signals_t.c.name, pickup_signals_t.c.reason)
            .where(pickup_signals_t.c.collection_id.in_(ids[start : start + 500]))
            .order_by(pickup_signals_t.c.collection_id, pickup_signals_t.c.name)
        ):
            found[collection_id].append((name, reason))
    return [HeldRow._make([*row, found[row[0]]]) for row in rows]


def waiting_count(session: Session) -> int:
    return int(session.execute(select(func.count()).where(holds_t.c.status == "held")).scalar_one())


class Week(NamedTuple):
    starts: date  # its Monday
    pickups: int
    grams: int
    signalled: int  # pickups that raised a signal
    held: int
    rejected: int
    names: dict[str, int]  # signal -> pickups


class Scorecard(NamedTuple):
    weeks: list[Week]  # the newest first
    habits: list[Judged]  # their own signals, the unusual first


def scorecard(
    session: Session, collector_id: int, now: datetime, local: tzinfo, *, weeks: int = 12
) -> Scorecard:
    """A collector's last ``weeks`` weeks: pickups and kg beside the pickups that raised signals,
    were held and were rejected; and their own signals as the last learning judged them."""
    today = now.astimezone(local).date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    since = datetime.combine(first, datetime.min.time(), local)
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for occurred_at, grams, status, held in session.execute(
        select(collections_t.c.occurred_at, collections_t.c.grams, collections_t.c.status, holds_t.c.status)
        .outerjoin(holds_t, holds_t.c.collection_id == collections_t.c.id)
        .where(collections_t.c.collector_id == collector_id, collections_t.c.occurred_at >= since)
    ):
        if status == "undone":  # the collector took it back at once: not a pickup
            continue
        day = occurred_at.astimezone(local).date()
        week = totals[day - timedelta(days=day.weekday())]
        week[0] += 1
        week[1] += int(grams)
        week[2] += held is not None
        week[3] += status == "rejected"
    names: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    signalled: dict[date, set[int]] = defaultdict(set)
    for collection_id, name, occurred_at in session.execute(
        select(pickup_signals_t.c.collection_id, pickup_signals_t.c.name, pickup_signals_t.c.occurred_at)
        .join(collections_t, collections_t.c.id == pickup_signals_t.c.collection_id)
        .where(
            pickup_signals_t.c.collector_id == collector_id,
            pickup_signals_t.c.occurred_at >= since,
            collections_t.c.status != "undone",
        )
    ):
        day = occurred_at.astimezone(local).date()
        monday = day - timedelta(days=day.weekday())
        names[monday][name] += 1
        signalled[monday].add(collection_id)
    shown = [
        Week(
            monday,
            totals[monday][0],
            totals[monday][1],
            len(signalled[monday]),
            totals[monday][2],
            totals[monday][3],
            dict(names[monday]),
        )
        for monday in (first + timedelta(weeks=n) for n in range(weeks))
    ]
    habits = [
        Judged(*row)
        for row in session.execute(
            select(
                collector_signals_t.c.collector_id,
                collector_signals_t.c.name,
                collector_signals_t.c.hits,
                collector_signals_t.c.out_of,
                collector_signals_t.c.limit,
                collector_signals_t.c.flagged,
                collector_signals_t.c.reason,
            )
            .where(collector_signals_t.c.collector_id == collector_id)
            .order_by(collector_signals_t.c.flagged.desc(), collector_signals_t.c.name)
        )
    ]
    return Scorecard(list(reversed(shown)), habits)
