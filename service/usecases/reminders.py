"""Collection-day reminders and the notices of changed days: who gets what, written exactly once.

A fan-out is one ``Run``: (zone, collection day, kind). Each minute the scheduler asks which runs
are due (``start_due_runs``); each due run is planned into batches of households
(``plan_batches``), and each batch is written in one transaction (``write_batch``): a reminder
row per household, keyed (household, zone, day, kind), and its outbox row. The key is what makes
a run safe to repeat: a batch run twice, or killed half way and retried, or a whole run started
again by hand, writes each household's text once; the outbox then sends each row once.

Who gets one: the zone's active households whose number has not opted out; for the reminders
of a day, not those that texted SKIP for it. Texts name the day ("Tue 1 Dec"), never
"tomorrow", so one that waited out quiet hours is still right when it arrives.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, and_, bindparam, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

import sms
from service.db import insert_ignoring_conflict
from service.models import (
    day_changes_t,
    households_t,
    phones_t,
    pickup_requests_t,
    reminder_runs_t,
    reminders_t,
)
from service.settings import Settings
from service.timetable import DAY_KINDS, KINDS, Due, Run, collection_days, day_label, local_day, runs_due
from service.unit_of_work import UnitOfWork
from service.usecases.zones import Zone, day_changes_from, get_zone, next_day_after, zone_changes, zones

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# A run not finished this long after it was (re)started lost a job (a worker died, Redis was
# down): it is started again, and only households still without their text get one.
STALE_RUN = timedelta(minutes=10)

TEMPLATES = {
    "eve": "reminder_eve",
    "morning": "reminder_morning",
    "cancelled": "collection_cancelled",
    "moved": "collection_moved",
}


# --- who gets a run's text, and what it says --------------------------------------------------------


def _recipients(run: Run) -> Any:
    """The households a run is for that do not have their text yet: (id, phone, language)."""
    conditions = [
        households_t.c.zone_id == run.zone_id,
        households_t.c.status == "active",
        phones_t.c.opted_out_at.is_(None),
        ~exists().where(
            reminders_t.c.household_id == households_t.c.id,
            reminders_t.c.zone_id == run.zone_id,
            reminders_t.c.collection_date == run.day,
            reminders_t.c.kind == run.kind,
        ),
    ]
    if run.kind in DAY_KINDS:
        conditions.append(
            ~exists().where(
                pickup_requests_t.c.household_id == households_t.c.id,
                pickup_requests_t.c.collection_date == run.day,
                pickup_requests_t.c.kind == "skip",
            )
        )
    return (
        select(households_t.c.id, households_t.c.phone, phones_t.c.language)
        .join(phones_t, phones_t.c.number == households_t.c.phone)
        .where(*conditions)
        .order_by(households_t.c.id)
    )


class Wording(NamedTuple):
    """A run's text before it is put in each household's language."""

    template: str
    values: dict[str, object]


def text_of(session: Session, run: Run, zone: Zone, local: tzinfo) -> Wording | None:
    """What a run's households are told; None when there is nothing to tell any more (the day
    was cancelled or moved after its run began)."""
    changes = zone_changes(session, zone.id, run.day - timedelta(days=1))
    values: dict[str, object] = {"zone": zone.name, "date": day_label(run.day), "window": zone.window}
    if run.kind in DAY_KINDS:
        return (
            Wording(TEMPLATES[run.kind], values)
            if collection_days(zone.days, run.day, run.day, changes)
            else None
        )
    change = session.execute(
        select(day_changes_t).where(day_changes_t.c.zone_id == zone.id, day_changes_t.c.day == run.day)
    ).first()
    if change is None or (change.moved_to is None) != (run.kind == "cancelled"):
        return None
    values["occasion"] = change.reason
    following = change.moved_to or next_day_after(zone, run.day, local, changes)
    if following is None:
        return Wording("collection_cancelled_later", values)
    return Wording(TEMPLATES[run.kind], {**values, "next": day_label(following)})


def render(settings: Settings, text: Wording, language: str) -> str:
    return sms.render(text.template, language, programme=settings.programme_name, **text.values)


# --- planning and writing a run --------------------------------------------------------------------


def plan_batches(session: Session, run: Run, size: int = BATCH_SIZE) -> list[tuple[int, int]]:
    """The run's households still without their text, as (first id, last id) batches of ``size``."""
    ids = [int(i) for i in session.execute(_recipients(run).with_only_columns(households_t.c.id)).scalars()]
    return [(ids[start], ids[min(start + size, len(ids)) - 1]) for start in range(0, len(ids), size)]


def write_batch(uow: UnitOfWork, run: Run, first: int, last: int) -> list[int]:
    """The texts of households ``first``..``last`` of a run that do not have theirs yet: a
    reminder row each (its key refuses a second) and an outbox row each, sent in bulk after the
    commit (in quiet hours, from their end). Safe to run again: what was written is not written
    twice. Returns the outbox rows written."""
    session, settings, now = uow.session, uow.settings, uow.now
    quiet = settings.quiet
    due = (quiet.until(now, settings.zone) if quiet else None) or now
    zone = get_zone(session, run.zone_id)
    text = None if zone is None else text_of(session, run, zone, settings.zone)
    if text is None:
        return []
    found = session.execute(_recipients(run).where(households_t.c.id.between(first, last))).all()
    if not found:
        return []
    mine = _claim_keys(session, run, [row.id for row in found], now)
    recipients = [row for row in found if row.id in mine]
    if not recipients:  # another worker wrote them first
        return []
    bodies = {language: render(settings, text, language) for language in {row.language for row in recipients}}
    outbox_ids = uow.outbox.write_bulk(
        [(row.phone, bodies[row.language], row.language) for row in recipients],
        template=text.template,
        kind="reminder",
        due=due,
    )
    session.execute(
        update(reminders_t)
        .where(
            reminders_t.c.household_id == bindparam("b_household", type_=BigInteger),
            reminders_t.c.zone_id == run.zone_id,
            reminders_t.c.collection_date == run.day,
            reminders_t.c.kind == run.kind,
        )
        .values(outbox_id=bindparam("b_outbox", type_=BigInteger)),
        [
            {"b_household": row.id, "b_outbox": outbox_id}
            for row, outbox_id in zip(recipients, outbox_ids, strict=True)
        ],
    )
    return outbox_ids


def _claim_keys(session: Session, run: Run, household_ids: Sequence[int], now: datetime) -> set[int]:
    """Insert the reminder keys; the households whose key this transaction inserted. A key
    another transaction holds (a retried batch racing its first try) is skipped: on PostgreSQL
    the insert waits for that transaction and then finds the key taken."""
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(reminders_t)
    rows = [
        {
            "household_id": household_id,
            "zone_id": run.zone_id,
            "collection_date": run.day,
            "kind": run.kind,
            "created_at": now,
        }
        for household_id in household_ids
    ]
    inserted = session.execute(
        statement.on_conflict_do_nothing().returning(reminders_t.c.household_id), rows
    ).scalars()
    return {int(household_id) for household_id in inserted}


# --- the scheduler's minute ------------------------------------------------------------------------


def start_due_runs(session: Session, now: datetime, local: tzinfo) -> list[Run]:
    """The runs to (re)start now: due and never started, or started long ago and unfinished
    with households still waiting. Finished runs are marked so. Runs to start are recorded as
    started at ``now``; the caller enqueues them after the commit."""
    today = local_day(now, local)
    known = {zone.id: zone for zone in zones(session)}
    to_start: list[Run] = []
    for due in runs_due(known, day_changes_from(session, today - timedelta(days=1)), now, local):
        if _should_start(session, due, now):
            to_start.append(due.run)
    return to_start


def _should_start(session: Session, due: Due, now: datetime) -> bool:
    run = due.run
    key = and_(
        reminder_runs_t.c.zone_id == run.zone_id,
        reminder_runs_t.c.collection_date == run.day,
        reminder_runs_t.c.kind == run.kind,
    )
    row = session.execute(select(reminder_runs_t).where(key).with_for_update()).first()
    if row is None:  # of two schedulers starting it at once, the one whose row goes in
        started = insert_ignoring_conflict(
            session,
            reminder_runs_t,
            {
                "zone_id": run.zone_id,
                "collection_date": run.day,
                "kind": run.kind,
                "due_at": due.due_at,
                "enqueued_at": now,
                "reminded": 0,
            },
            conflict=("zone_id", "collection_date", "kind"),
            returning=reminder_runs_t.c.zone_id,
        )
        return started is not None
    if row.finished_at is not None:
        return False
    if session.execute(select(func.count()).select_from(_recipients(run).subquery())).scalar_one() == 0:
        session.execute(
            update(reminder_runs_t).where(key).values(finished_at=now, reminded=reminded_count(session, run))
        )
        return False
    if row.enqueued_at > now - STALE_RUN:
        return False  # its batches are still on their way
    log.warning("reminder run %s %s %s unfinished since %s: starting it again", *run, row.enqueued_at)
    session.execute(update(reminder_runs_t).where(key).values(enqueued_at=now))
    return True


def reminded_count(session: Session, run: Run) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                reminders_t.c.zone_id == run.zone_id,
                reminders_t.c.collection_date == run.day,
                reminders_t.c.kind == run.kind,
            )
        ).scalar_one()
    )


def fan_out_arguments(run: Run) -> tuple[int, str, str]:
    """A run as the fan-out job's plain arguments (``parse_run`` reads them back)."""
    return run.zone_id, run.day.isoformat(), run.kind


def fan_out_id(run: Run, tag: object) -> str:
    """The fan-out job's id: a second enqueue with the same tag replaces the first."""
    return f"fan-out-{run.zone_id}-{run.day}-{run.kind}-{tag}"


def parse_run(zone_id: int, day: str, kind: str) -> Run:
    """A run from a job's plain arguments."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    return Run(zone_id, date.fromisoformat(day), kind)


# --- a look before: who would get what ----------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    zone: Zone
    run: Run
    text: Wording | None
    bodies: dict[str, str]  # language -> the text
    households: list[tuple[str, str, str, str]]  # member code, phone, language, what happens
    counts: Counter[str]


def preview(session: Session, settings: Settings, day: date, kinds: Sequence[str]) -> list[Preview]:
    """For every zone collecting on ``day`` (changes included) and every kind asked for: the text
    in each language, and each household with what it would get (reminder) or why not."""
    found: list[Preview] = []
    for zone in zones(session):
        changes = zone_changes(session, zone.id, day - timedelta(days=1))
        if not collection_days(zone.days, day, day, changes):
            continue
        for kind in kinds:
            if kind == "morning" and zone.morning_at is None:
                continue
            run = Run(zone.id, day, kind)
            text = text_of(session, run, zone, settings.zone)
            households = _fates(session, run)
            languages = {language for _, _, language, fate in households if fate == "gets it"}
            bodies = (
                {}
                if text is None
                else {language: render(settings, text, language) for language in sorted(languages)}
            )
            found.append(
                Preview(zone, run, text, bodies, households, Counter(fate for *_, fate in households))
            )
    return found


def _fates(session: Session, run: Run) -> list[tuple[str, str, str, str]]:
    """Every household of the zone and what the run means for it."""
    reminded = exists().where(
        reminders_t.c.household_id == households_t.c.id,
        reminders_t.c.zone_id == run.zone_id,
        reminders_t.c.collection_date == run.day,
        reminders_t.c.kind == run.kind,
    )
    skipped = exists().where(
        pickup_requests_t.c.household_id == households_t.c.id,
        pickup_requests_t.c.collection_date == run.day,
        pickup_requests_t.c.kind == "skip",
    )
    rows = session.execute(
        select(
            households_t.c.member_code,
            households_t.c.phone,
            phones_t.c.language,
            households_t.c.status,
            phones_t.c.opted_out_at.is_not(None).label("opted_out"),
            reminded.label("reminded"),
            skipped.label("skipped"),
        )
        .join(phones_t, phones_t.c.number == households_t.c.phone)
        .where(households_t.c.zone_id == run.zone_id)
        .order_by(households_t.c.id)
    )
    fates = []
    for row in rows:
        if row.reminded:
            fate = "has it already"
        elif row.status != "active":
            fate = row.status
        elif row.opted_out:
            fate = "opted out"
        elif row.skipped and run.kind in DAY_KINDS:
            fate = "SKIP"
        else:
            fate = "gets it"
        fates.append((row.member_code or "", row.phone, row.language, fate))
    return fates
