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
    zones_t,
)
from service.outbox import write_bulk
from service.settings import Settings
from service.timetable import (
    DAY_KINDS,
    KINDS,
    DayChange,
    Due,
    Run,
    collection_days,
    day_label,
    local_day,
    next_collection_day,
    runs_due,
)
from service.usecases.catalogue import (
    CatalogueError,
    Zone,
    get_zone,
    parse_days,
    parse_window,
    zone_changes,
    zones,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 500
# A run not finished this long after it was (re)started lost a job (a worker died, Redis was
# down): it is started again, and only households still without their text get one.
STALE_RUN = timedelta(minutes=10)
REASON_WIDTH = 60

TEMPLATES = {
    "eve": "reminder_eve",
    "morning": "reminder_morning",
    "cancelled": "collection_cancelled",
    "moved": "collection_moved",
}


class ReminderError(CatalogueError):
    """A change to the reminders or collection days that cannot be made; nothing was written."""


# --- one-off changes to collection days ------------------------------------------------------------


def change_day(
    session: Session,
    zone: Zone,
    day: date,
    moved_to: date | None,
    reason: str,
    *,
    actor: str,
    now: datetime,
    local: tzinfo,
) -> DayChange:
    """Cancel one of the zone's collection days, or move it to ``moved_to``. Its PICKUP and SKIP
    requests go with it (to the new day, or to the next one). The households are told by the
    notice run the scheduler starts at once."""
    reason = " ".join(reason.split())
    if not 0 < len(reason) <= REASON_WIDTH:
        raise ReminderError(f"give a reason of 1 to {REASON_WIDTH} characters (households are told it)")
    today = local_day(now, local)
    changes = zone_changes(session, zone.id, today)
    if day < today:
        raise ReminderError(f"{day} has passed")
    if day in changes:
        raise ReminderError(f"{zone.name}'s {day} is already {'moved' if changes[day] else 'cancelled'}")
    if not collection_days(zone.days, day, day, changes):
        raise ReminderError(f"{day} ({day:%A}) is not a collection day in {zone.name} ({zone.describe()})")
    if moved_to is not None:
        if moved_to < today or moved_to == day:
            raise ReminderError(f"move it to a day from today on, other than {day} itself")
        if abs((moved_to - day).days) > 30:
            raise ReminderError("move it by 30 days at most; cancel it if the day is further away")
        if collection_days(zone.days, moved_to, moved_to, changes):
            raise ReminderError(
                f"{moved_to} is a collection day in {zone.name} already; cancel {day} instead"
            )
    session.execute(
        day_changes_t.insert(),
        {
            "zone_id": zone.id,
            "day": day,
            "moved_to": moved_to,
            "reason": reason,
            "created_at": now,
            "created_by": actor[:80],
        },
    )
    changes = {**changes, day: moved_to}
    _carry_requests(session, zone, day, moved_to or _next_day(zone, day, local, changes))
    return DayChange(zone.id, day, moved_to, reason, now)


def _next_day(zone: Zone, after: date, local: tzinfo, changes: dict[date, date | None]) -> date | None:
    """The first collection day after ``after`` (None if none in the next 60 days)."""
    try:
        end_of_day = datetime.combine(after, zone.window_end, tzinfo=local)
        return next_collection_day(zone, end_of_day, local, changes)
    except LookupError:
        return None


def _carry_requests(session: Session, zone: Zone, day: date, to: date | None) -> int:
    """Move the PICKUP/SKIP requests of ``day`` to ``to``, except where a household has one there;
    returns how many moved."""
    if to is None:
        return 0
    already = select(pickup_requests_t.c.household_id).where(pickup_requests_t.c.collection_date == to)
    moved = session.execute(
        update(pickup_requests_t)
        .where(
            pickup_requests_t.c.zone_id == zone.id,
            pickup_requests_t.c.collection_date == day,
            pickup_requests_t.c.household_id.not_in(already),
        )
        .values(collection_date=to)
    )
    return int(moved.rowcount)  # type: ignore[attr-defined]


class Retimed(NamedTuple):
    zone: Zone
    texts: list[int]  # the outbox rows telling the households (enqueue them after the commit)
    moved: int  # PICKUP/SKIP requests carried to a day that is still a collection day


def change_timetable(
    session: Session,
    zone: Zone,
    days: str,
    window: str,
    *,
    programme: str,
    now: datetime,
    local: tzinfo,
) -> Retimed:
    """Give a zone new regular collection days or hours, from now on.

    Requests (PICKUP/SKIP) for a day that is no longer a collection day go to the next one, and
    every active household of the zone that did not opt out is texted the new days and its next
    collection day, in its language, in this transaction (the caller enqueues them after the
    commit). The evening and morning reminders follow the new days by themselves.
    """
    start, end = parse_window(window)
    session.execute(
        update(zones_t)
        .where(zones_t.c.id == zone.id)
        .values(days=parse_days(days), window_start=start, window_end=end)
    )
    retimed = get_zone(session, zone.id)
    assert retimed is not None
    if (retimed.days, retimed.window) == (zone.days, zone.window):
        raise ReminderError(f"{zone.name} is already {zone.describe()}")  # the caller rolls back
    today = local_day(now, local)
    changes = zone_changes(session, zone.id, today)
    requested = session.execute(
        select(pickup_requests_t.c.collection_date)
        .where(pickup_requests_t.c.zone_id == zone.id, pickup_requests_t.c.collection_date >= today)
        .distinct()
    ).scalars()
    moved = 0
    for day in sorted(requested):
        if not collection_days(retimed.days, day, day, changes):
            moved += _carry_requests(session, retimed, day, _next_day(retimed, day, local, changes))
    try:
        following = day_label(next_collection_day(retimed, now, local, changes))
    except LookupError:
        following = "-"
    values = {"zone": retimed.name, "days": retimed.describe(), "next": following}
    recipients = session.execute(
        select(households_t.c.phone, phones_t.c.language)
        .join(phones_t, phones_t.c.number == households_t.c.phone)
        .where(
            households_t.c.zone_id == zone.id,
            households_t.c.status == "active",
            phones_t.c.opted_out_at.is_(None),
        )
        .order_by(households_t.c.id)
    ).all()
    texts = {
        language: sms.render("zone_days_changed", language, programme=programme, **values)
        for language in {row.language for row in recipients}
    }
    texts_written = write_bulk(
        session,
        [(row.phone, texts[row.language], row.language) for row in recipients],
        template="zone_days_changed",
        kind="reminder",
        now=now,
        due=now,
    )
    return Retimed(retimed, texts_written, moved)


def day_changes_from(session: Session, since: date) -> list[DayChange]:
    """Every zone's changes concerning ``since`` or later, oldest day first."""
    rows = session.execute(
        select(day_changes_t)
        .where((day_changes_t.c.day >= since) | (day_changes_t.c.moved_to >= since))
        .order_by(day_changes_t.c.day, day_changes_t.c.zone_id)
    )
    return [DayChange(row.zone_id, row.day, row.moved_to, row.reason, row.created_at) for row in rows]


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
    following = change.moved_to or _next_day(zone, run.day, local, changes)
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


@dataclass(frozen=True)
class Written:
    outbox_ids: list[int]
    due: datetime  # when they may be sent: now, or the end of quiet hours


def write_batch(
    session: Session, settings: Settings, run: Run, first: int, last: int, now: datetime
) -> Written:
    """The texts of households ``first``..``last`` of a run that do not have theirs yet: a
    reminder row each (its key refuses a second) and an outbox row each, in the caller's
    transaction. Safe to run again: what was written is not written twice."""
    quiet = settings.quiet
    due = (quiet.until(now, settings.zone) if quiet else None) or now
    zone = get_zone(session, run.zone_id)
    text = None if zone is None else text_of(session, run, zone, settings.zone)
    if text is None:
        return Written([], due)
    found = session.execute(_recipients(run).where(households_t.c.id.between(first, last))).all()
    if not found:
        return Written([], due)
    mine = _claim_keys(session, run, [row.id for row in found], now)
    recipients = [row for row in found if row.id in mine]
    if not recipients:  # another worker wrote them first
        return Written([], due)
    bodies = {language: render(settings, text, language) for language in {row.language for row in recipients}}
    outbox_ids = write_bulk(
        session,
        [(row.phone, bodies[row.language], row.language) for row in recipients],
        template=text.template,
        kind="reminder",
        now=now,
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
    return Written(outbox_ids, due)


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
