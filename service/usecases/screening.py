"""A pickup's signals as it is logged (issue 24), judged against the thresholds a job learned from
the programme's own pickups (``learn``): a pickup that raises any is credited as held
(``service.usecases.holds``), and its signals are kept with it, as they were then.

At log time, for one pickup (each a small indexed read, not the 90 days):

- ``heavy``, ``big_day``, ``too_fast``: as ``service.usecases.signals`` measures them, against the
  learned thresholds (the stated starting points until there is enough to learn from);
- ``own``: the household lives at the collector's own address, or its cash-out account is in the
  collector's name (the bank's name for it, as Paystack resolved it);
- ``round``: a whole-kilo pickup by a collector whose whole kilos are unusual
  (``service.usecases.collector_signals``);
- ``ghost``: a pickup at a household the collector registered that has never sent a text, by a
  collector whose registrations are unusually often never seen again.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

import sms
from service.models import (
    collections_t,
    collector_signals_t,
    collectors_t,
    holds_t,
    households_t,
    inbound_t,
    payout_accounts_t,
    pickup_signals_t,
    signal_thresholds_t,
)
from service.settings import Settings
from service.timetable import at, local_day
from service.usecases import collector_signals, signals

LIVE = ("credited", "held")  # a collector's pickups that count towards their day


@dataclass(frozen=True)
class Screening:
    """What ``log_pickup`` needs to judge a pickup: the programme's day, and how long a hold lasts."""

    local: tzinfo
    hold_days: int


def screening(settings: Settings) -> Screening | None:
    """The screening in force (None: ``HOLDS`` is off, every pickup is credited as it comes)."""
    return Screening(settings.zone, settings.hold_days) if settings.holds else None


def release_day(now: datetime, local: tzinfo, hold_days: int) -> date:
    """The programme's day a hold placed ``now`` is released undecided (the receipt says it)."""
    return local_day(now, local) + timedelta(days=hold_days)


def hold(session: Session, collection_id: int, now: datetime, screening: Screening) -> None:
    """The pickup is held until an operator decides, or ``hold_days`` of the programme's days."""
    release_on = release_day(now, screening.local, screening.hold_days)
    session.execute(
        holds_t.insert(),
        {"collection_id": collection_id, "status": "held", "held_at": now, "release_on": release_on},
    )


def close(session: Session, collection_id: int, status: str, by: str, now: datetime) -> None:
    """A held pickup undone (UNDO) or reversed (a dispute upheld) is no longer waiting."""
    session.execute(
        update(holds_t)
        .where(holds_t.c.collection_id == collection_id, holds_t.c.status == "held")
        .values(status=status, decided_at=now, decided_by=by[:80])
    )


class Found(NamedTuple):
    name: str
    measure: float
    threshold: float
    reason: str
    holds: bool = True  # past the learned threshold and past the line where a hold begins


def _holds(name: str, measure: float) -> bool:
    """Whether a percentile signal is also past ``signals.HOLD_BEYOND`` (below it for time)."""
    line = signals.HOLD_BEYOND[name]
    return measure < line if name == "too_fast" else measure > line


def _thresholds(session: Session) -> dict[str, float]:
    """The thresholds last learned (``learn``), the starting points for those not learned yet."""
    rows = session.execute(
        select(signal_thresholds_t.c.name, signal_thresholds_t.c.value).where(
            signal_thresholds_t.c.collector_id == 0
        )
    ).all()
    found = dict(signals.STARTING)
    found.update({name: float(value) for name, value in rows})
    return found


def _day(occurred_at: datetime, local: tzinfo) -> tuple[datetime, datetime]:
    day = local_day(occurred_at, local)
    return at(day, time(0), local), at(day + timedelta(days=1), time(0), local)


def _measured(
    session: Session, collector_id: int, household_id: int, grams: int, at: datetime, local: tzinfo
) -> list[Found]:
    limits = _thresholds(session)
    found = []
    history = [
        int(g)
        for g in session.execute(
            select(collections_t.c.grams)
            .where(
                collections_t.c.household_id == household_id,
                collections_t.c.status == signals.CREDITED,
                collections_t.c.occurred_at <= at,
            )
            .order_by(collections_t.c.occurred_at.desc())
            .limit(signals.HISTORY)
        ).scalars()
    ]
    if len(history) >= signals.MIN_HISTORY:
        usual = statistics.median(history)
        ratio = grams / usual if usual else float("inf")
        if ratio > limits["heavy"]:
            reason = signals.heavy_reason(grams, ratio, int(usual))
            found.append(Found("heavy", ratio, limits["heavy"], reason, _holds("heavy", ratio)))
    start, end = _day(at, local)
    mine = (
        collections_t.c.collector_id == collector_id,
        collections_t.c.status.in_(LIVE),
        collections_t.c.occurred_at >= start,
        collections_t.c.occurred_at < end,
    )
    day = grams + int(
        session.execute(select(func.coalesce(func.sum(collections_t.c.grams), 0)).where(*mine)).scalar_one()
    )
    usual_day = limits.get("usual_day")
    if usual_day and day / usual_day > limits["big_day"]:
        ratio = day / usual_day
        reason = signals.big_day_reason(day, ratio, int(usual_day))
        found.append(Found("big_day", ratio, limits["big_day"], reason, _holds("big_day", ratio)))
    elif not usual_day and day > signals.STARTING_DAY:
        reason = f"their day: {sms.kg(day)} kg, above {sms.kg(signals.STARTING_DAY)} kg"
        found.append(Found("big_day", day, signals.STARTING_DAY, reason))
    elsewhere = (*mine, collections_t.c.household_id != household_id)
    before = session.execute(
        select(func.max(collections_t.c.occurred_at)).where(*elsewhere, collections_t.c.occurred_at <= at)
    ).scalar()
    after = session.execute(
        select(func.min(collections_t.c.occurred_at)).where(*elsewhere, collections_t.c.occurred_at >= at)
    ).scalar()
    gaps = [abs((at - other).total_seconds()) for other in (before, after) if other is not None]
    if gaps and min(gaps) < limits["too_fast"]:
        gap = min(gaps)
        reason = f"{gap:.0f} s from their pickup at another household"
        found.append(Found("too_fast", gap, limits["too_fast"], reason, _holds("too_fast", gap)))
    return found


# The same street however it is written: "3 Oju St." is "3 oju street".
_SPELLED_OUT = {
    "st": "street",
    "str": "street",
    "rd": "road",
    "ave": "avenue",
    "cl": "close",
    "cres": "crescent",
}


def _words(text: str | None) -> str:
    return " ".join(_SPELLED_OUT.get(word, word) for word in re.findall(r"[a-z0-9]+", (text or "").lower()))


def _own(session: Session, collector_id: int, household_id: int, address: str | None) -> Found | None:
    name, home = session.execute(
        select(collectors_t.c.name, collectors_t.c.home_address).where(collectors_t.c.id == collector_id)
    ).one()
    if home and _words(home) and _words(home) == _words(address):
        return Found("own", 1, 1, "the household's address is the collector's own")
    theirs = set(_words(name).split())
    for account_name in session.execute(
        select(payout_accounts_t.c.account_name).where(
            payout_accounts_t.c.household_id == household_id, payout_accounts_t.c.account_name.is_not(None)
        )
    ).scalars():
        named = set(_words(account_name).split())
        if theirs and (named == theirs or (len(theirs) >= 2 and theirs <= named)):
            return Found("own", 1, 1, "the household's cash-out account is in the collector's name")
    return None


def _habits(session: Session, collector_id: int, household_id: int, phone: str, grams: int) -> list[Found]:
    flagged = dict(
        session.execute(
            select(collector_signals_t.c.name, collector_signals_t.c.reason).where(
                collector_signals_t.c.collector_id == collector_id,
                collector_signals_t.c.flagged.is_(True),
                collector_signals_t.c.name.in_(collector_signals.HOLDING),
            )
        ).all()
    )
    found = []
    if "round" in flagged and grams % 1000 == 0:
        found.append(
            Found("round", grams, 1000, f"a whole {sms.kg(grams)} kg; theirs: {flagged['round']}"[:160])
        )
    if "ghost" in flagged:
        registered_by = session.execute(
            select(households_t.c.registered_by).where(households_t.c.id == household_id)
        ).scalar()
        texted = session.execute(select(inbound_t.c.id).where(inbound_t.c.sender == phone).limit(1)).first()
        others = session.execute(
            select(collections_t.c.id)
            .where(collections_t.c.household_id == household_id, collections_t.c.collector_id != collector_id)
            .limit(1)
        ).first()
        if registered_by == collector_id and texted is None and others is None:
            reason = f"a household they registered that never texted; theirs: {flagged['ghost']}"
            found.append(Found("ghost", 1, 1, reason[:160]))
    return found


def screen(
    session: Session,
    *,
    collector_id: int,
    household_id: int,
    phone: str,
    address: str | None,
    grams: int,
    occurred_at: datetime,
    local: tzinfo,
) -> list[Found]:
    """The signals this pickup raises, before it is written (each with its reason in words)."""
    found = _measured(session, collector_id, household_id, grams, occurred_at, local)
    own = _own(session, collector_id, household_id, address)
    if own is not None:
        found.append(own)
    return found + _habits(session, collector_id, household_id, phone, grams)


def keep(
    session: Session, collection_id: int, collector_id: int, occurred_at: datetime, found: Sequence[Found]
) -> None:
    """A pickup's signals, kept as they were when it was logged."""
    if found:
        session.execute(
            pickup_signals_t.insert(),
            [
                {
                    "collection_id": collection_id,
                    "name": f.name,
                    "collector_id": collector_id,
                    "occurred_at": occurred_at,
                    "measure": float(f.measure),
                    "threshold": float(f.threshold),
                    "reason": f.reason[:160],
                }
                for f in found
            ],
        )


class Learned(NamedTuple):
    thresholds: signals.Thresholds
    flagged: list[collector_signals.Judged]


def learn(session: Session, now: datetime, settings: Settings) -> Learned:
    """The thresholds from the last 90 days' credited pickups, and every collector's own signals,
    written in place of the last ones (the job ``learn_signals`` runs this)."""
    local, p = settings.zone, settings.signal_percentile
    thresholds = signals.learn(signals.measure(signals.window(session, now), local), p)
    named = [("heavy", thresholds.heavy), ("big_day", thresholds.big_day), ("too_fast", thresholds.too_fast)]
    samples = dict(thresholds.samples)
    if thresholds.usual_day:
        named.append(("usual_day", float(thresholds.usual_day)))
        samples["usual_day"] = 0
    rows = [
        {"name": name, "collector_id": 0, "value": value, "samples": samples[name], "learned_at": now}
        for name, value in named
    ]
    session.execute(delete(signal_thresholds_t))
    session.execute(signal_thresholds_t.insert(), rows)
    judged = collector_signals.judge(
        collector_signals.tallies(session, now, local, settings.weigh_gap_percent), p
    )
    session.execute(delete(collector_signals_t))
    if judged:
        session.execute(
            collector_signals_t.insert(),
            [{**j._asdict(), "learned_at": now} for j in judged],
        )
    return Learned(thresholds, [j for j in judged if j.flagged])
