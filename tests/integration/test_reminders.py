"""Reminders on real stores, with a clock passed in: who gets what and when, exactly once.

Runs on SQLite and on PostgreSQL (``DATABASE_URL``), with the test Redis. The collection day is
Tuesday 1 December 2026 in Yaba (Tue, Fri 08:00-12:00, Africa/Lagos, UTC+1): its reminder is
due at 18:00 Lagos on Monday 30 November, which is 17:00 UTC.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, select, update

from service.accounts import open_programme_accounts
from service.app import make_runtime as runtime_for
from service.db import transaction
from service.jobs.reminders import run_reminders
from service.jobs.sending import send_outbox
from service.models import Household, OutboxMessage, Phone, PickupRequest, Reminder, ReminderRun
from service.outbox import Outbox
from service.runtime import Runtime, use
from service.settings import Settings
from service.timetable import Run
from service.unit_of_work import UnitOfWork
from service.usecases import day_changes, reminders
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.zones import Zone, add_zone, set_reminder_times
from sms.gateways import OutgoingMessage, Sent

TUESDAY = date(2026, 12, 1)
EVE = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 18:00 in Lagos, Monday
MONDAY_MORNING = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
EVE_RUN_KIND = "eve"


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
    """Runtimes on new databases with a fake gateway; Redis is emptied before and after (the
    jobs a test enqueues never reach another test's worker)."""
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


def zone(runtime: Runtime, name: str = "Yaba", days: str = "tue,fri") -> Zone:
    with transaction(runtime.sessions) as session:
        return add_zone(session, name, days, "08:00-12:00", MONDAY_MORNING - timedelta(days=30))


def member(
    runtime: Runtime, phone: str, zone_id: int | None, *, language: str = "EN", name: str = "Ada"
) -> Member:
    with transaction(runtime.sessions) as session:
        ensure_phone(session, phone, MONDAY_MORNING)
        session.execute(update(Phone).where(Phone.number == phone).values(language=language))
        return register_household(session, phone, name, None, "test", MONDAY_MORNING, zone_id=zone_id)


def read(runtime: Runtime, statement: Any) -> list[Any]:
    with transaction(runtime.sessions) as session:
        rows = list(session.execute(statement).scalars())
        session.expunge_all()
        return rows


def reminder_texts(runtime: Runtime) -> list[OutboxMessage]:
    return read(
        runtime, select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.id)
    )


def due_runs(runtime: Runtime, now: datetime) -> list[Run]:
    return runtime.transact(lambda uow: reminders.start_due_runs(uow.session, now, runtime.settings.zone))


def write_all(runtime: Runtime, run: Run, now: datetime, *, size: int = 500) -> list[int]:
    with transaction(runtime.sessions) as session:
        batches = reminders.plan_batches(session, run, size)
    written: list[int] = []
    for first, last in batches:
        written += runtime.transact(
            lambda uow, first=first, last=last: reminders.write_batch(uow, run, first, last), now=now
        )
    return written


def a_street(runtime: Runtime) -> tuple[Zone, dict[str, Member]]:
    """Yaba with six households (English, Pidgin, Yoruba, one opted out, one suspended, one that
    texted SKIP for Tuesday) and one household in another zone."""
    yaba = zone(runtime)
    sabo = zone(runtime, "Sabo", "wed,sat")
    people = {
        "en": member(runtime, "+2348031000001", yaba.id),
        "pcm": member(runtime, "+2348031000002", yaba.id, language="PCM"),
        "yo": member(runtime, "+2348031000003", yaba.id, language="YO"),
        "stopped": member(runtime, "+2348031000004", yaba.id),
        "suspended": member(runtime, "+2348031000005", yaba.id),
        "skipped": member(runtime, "+2348031000006", yaba.id),
        "elsewhere": member(runtime, "+2348031000007", sabo.id),
    }
    with transaction(runtime.sessions) as session:
        session.execute(
            update(Phone).where(Phone.number == people["stopped"].phone).values(opted_out_at=MONDAY_MORNING)
        )
        session.execute(
            update(Household).where(Household.id == people["suspended"].id).values(status="suspended")
        )
    ask(runtime, people["skipped"], yaba, "skip")
    return yaba, people


def ask(runtime: Runtime, household: Member, zone: Zone, kind: str) -> None:
    """The household texted PICKUP or SKIP for Tuesday."""
    with transaction(runtime.sessions) as session:
        session.add(
            PickupRequest(
                household_id=household.id,
                collection_date=TUESDAY,
                zone_id=zone.id,
                kind=kind,
                created_at=MONDAY_MORNING,
            )
        )


# --- who gets what, once ---------------------------------------------------------------------------


def test_the_evening_before_each_household_gets_one_reminder_in_its_language(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, people = a_street(runtime)
    assert due_runs(runtime, EVE - timedelta(seconds=1)) == []
    assert due_runs(runtime, EVE) == [Run(yaba.id, TUESDAY, "eve")]
    write_all(runtime, Run(yaba.id, TUESDAY, "eve"), EVE, size=2)

    texts = {text.to_phone: text for text in reminder_texts(runtime)}
    assert set(texts) == {people["en"].phone, people["pcm"].phone, people["yo"].phone}
    assert texts[people["en"].phone].body == (
        "Kolekt: Yaba collection is Tue 1 Dec, 08:00-12:00. Put your bags out. "
        "Text PICKUP to be on the route or SKIP to miss it."
    )
    # Each in its own language, its day too.
    assert texts[people["pcm"].phone].body.startswith("Kolekt: Yaba collection na Tiu 1 Dis")
    assert texts[people["yo"].phone].body.startswith("Kolekt: gbigbe Yaba ni Isegun 1/12")
    for text in texts.values():
        assert (text.segments, text.encoding, text.status, text.reply) == (1, "GSM-7", "queued", False)
    keyed = read(runtime, select(Reminder))
    assert {(r.household_id, r.zone_id, r.collection_date, r.kind) for r in keyed} == {
        (people[who].id, yaba.id, TUESDAY, "eve") for who in ("en", "pcm", "yo")
    }
    assert {r.outbox_id for r in keyed} == {text.id for text in texts.values()}


def test_a_run_starts_once_and_is_finished_when_every_household_has_its_text(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, _ = a_street(runtime)
    run = Run(yaba.id, TUESDAY, "eve")
    assert due_runs(runtime, EVE) == [run]
    assert due_runs(runtime, EVE + timedelta(minutes=1)) == []  # its batches are on their way
    write_all(runtime, run, EVE)
    assert due_runs(runtime, EVE + timedelta(minutes=2)) == []
    (recorded,) = read(runtime, select(ReminderRun))
    assert recorded.finished_at is not None and recorded.reminded == 3
    assert due_runs(runtime, EVE + timedelta(hours=3)) == []  # finished: never again


def test_two_schedulers_ticking_at_once_start_a_run_once(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    yaba, _ = a_street(runtime)
    started: list[list[Run]] = []
    barrier = threading.Barrier(3)

    def tick() -> None:
        barrier.wait()
        started.append(due_runs(runtime, EVE))

    threads = [threading.Thread(target=tick) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(started) == [[], [], [Run(yaba.id, TUESDAY, "eve")]]


def test_a_run_that_lost_its_jobs_is_started_again_for_the_households_still_waiting(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, _ = a_street(runtime)
    run = Run(yaba.id, TUESDAY, "eve")
    assert due_runs(runtime, EVE) == [run]
    with transaction(runtime.sessions) as session:
        (first, _last), *_rest = reminders.plan_batches(session, run, 1)
    runtime.transact(lambda uow: reminders.write_batch(uow, run, first, first), now=EVE)
    assert due_runs(runtime, EVE + reminders.STALE_RUN - timedelta(seconds=1)) == []
    assert due_runs(runtime, EVE + reminders.STALE_RUN + timedelta(seconds=1)) == [run]
    with transaction(runtime.sessions) as session:
        assert len(reminders.plan_batches(session, run, 1)) == 2  # only those still waiting
    write_all(runtime, run, EVE + reminders.STALE_RUN)
    assert len(reminder_texts(runtime)) == 3


def test_running_a_day_twice_writes_nothing_twice(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    yaba, _ = a_street(runtime)
    run = Run(yaba.id, TUESDAY, "eve")
    assert run_reminders(run, EVE) == 3
    assert run_reminders(run, EVE + timedelta(minutes=5)) == 0
    assert write_all(runtime, run, EVE + timedelta(minutes=6)) == []
    assert len(reminder_texts(runtime)) == 3


class Killed(Exception):
    """The worker running the batch died here."""


def test_a_batch_killed_half_way_and_retried_writes_each_text_once(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, _ = a_street(runtime)
    run = Run(yaba.id, TUESDAY, "eve")
    with transaction(runtime.sessions) as session:
        ((first, last),) = reminders.plan_batches(session, run)

    def dies_after_writing(uow: UnitOfWork) -> None:
        written = reminders.write_batch(uow, run, first, last)
        assert len(written) == 3
        raise Killed

    with pytest.raises(Killed):
        runtime.transact(dies_after_writing, now=EVE)
    assert reminder_texts(runtime) == [] and read(runtime, select(Reminder)) == []
    retried = runtime.transact(lambda uow: reminders.write_batch(uow, run, first, last), now=EVE)
    again = runtime.transact(lambda uow: reminders.write_batch(uow, run, first, last), now=EVE)
    assert (len(retried), again) == (3, [])
    assert len(reminder_texts(runtime)) == 3


def test_two_workers_racing_on_one_batch_write_each_text_once(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    yaba = zone(runtime)
    for number in range(40):
        member(runtime, f"+23480320{number:05d}", yaba.id)
    run = Run(yaba.id, TUESDAY, "eve")
    with transaction(runtime.sessions) as session:
        ((first, last),) = reminders.plan_batches(session, run)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        barrier.wait()
        written = runtime.transact(lambda uow: reminders.write_batch(uow, run, first, last), now=EVE)
        results.append(len(written))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(results) == 40 and sorted(results)[-1] >= 1
    texts = reminder_texts(runtime)
    assert len(texts) == 40 and len({text.to_phone for text in texts}) == 40


def test_a_send_batch_stopped_between_chunks_sends_nothing_twice_when_retried(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba = zone(runtime)
    for number in range(60):
        member(runtime, f"+23480330{number:05d}", yaba.id)
    assert run_reminders(Run(yaba.id, TUESDAY, "eve"), EVE) == 60
    ids = [text.id for text in reminder_texts(runtime)]
    send_outbox(ids[:30], bulk=True, clock=lambda: EVE)  # the worker stops after its first chunks
    send_outbox(ids, bulk=True, clock=lambda: EVE)  # the batch runs again in full
    send_outbox(ids, bulk=True, clock=lambda: EVE)
    handed = [message.to for message in fake(runtime).received]
    assert len(handed) == 60 and len(set(handed)) == 60
    assert {text.status for text in reminder_texts(runtime)} == {"sent"}


# --- changed days ----------------------------------------------------------------------------------


def change(runtime: Runtime, yaba: Zone, moved_to: date | None, now: datetime) -> None:
    with runtime.unit_of_work(now=now) as uow:
        day_changes.change_day(uow, yaba, TUESDAY, moved_to, "public holiday", actor="test")


def test_a_cancelled_day_tells_its_households_and_sends_no_reminder(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, people = a_street(runtime)
    ask(runtime, people["en"], yaba, "pickup")
    change(runtime, yaba, None, MONDAY_MORNING)
    notice = Run(yaba.id, TUESDAY, "cancelled")
    assert due_runs(runtime, MONDAY_MORNING) == [notice]
    write_all(runtime, notice, MONDAY_MORNING)
    texts = reminder_texts(runtime)
    # Everyone active and opted in is told, those who texted SKIP too.
    assert {text.to_phone for text in texts} == {people[w].phone for w in ("en", "pcm", "yo", "skipped")}
    english = next(text for text in texts if text.to_phone == people["en"].phone)
    assert english.body == (
        "Kolekt: no Yaba collection on Tue 1 Dec (public holiday). The next one is Fri 4 Dec, 08:00-12:00."
    )
    assert due_runs(runtime, EVE) == []  # no reminder for a day that is not happening
    (carried,) = read(runtime, select(PickupRequest.collection_date).where(PickupRequest.kind == "pickup"))
    assert carried == date(2026, 12, 4)


def test_a_moved_day_tells_its_households_and_the_new_day_gets_the_reminders(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, people = a_street(runtime)
    wednesday = date(2026, 12, 2)
    change(runtime, yaba, wednesday, MONDAY_MORNING)
    notice = Run(yaba.id, TUESDAY, "moved")
    assert due_runs(runtime, MONDAY_MORNING) == [notice]
    write_all(runtime, notice, MONDAY_MORNING)
    english = next(text for text in reminder_texts(runtime) if text.to_phone == people["en"].phone)
    assert (
        english.body
        == "Kolekt: Yaba collection moves from Tue 1 Dec to Wed 2 Dec, 08:00-12:00 (public holiday)."
    )
    assert due_runs(runtime, EVE) == []
    tuesday_evening = [run for run in due_runs(runtime, EVE + timedelta(days=1)) if run.zone_id == yaba.id]
    assert tuesday_evening == [Run(yaba.id, wednesday, "eve")]


def test_a_morning_reminder_goes_on_the_day_when_the_zone_has_one(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, people = a_street(runtime)
    with transaction(runtime.sessions) as session:
        set_reminder_times(session, yaba, morning="06:30")
    morning = datetime(2026, 12, 1, 5, 30, tzinfo=UTC)  # 06:30 Lagos
    runs = due_runs(runtime, morning)
    assert Run(yaba.id, TUESDAY, "morning") in runs
    write_all(runtime, Run(yaba.id, TUESDAY, "morning"), morning)
    english = next(text for text in reminder_texts(runtime) if text.to_phone == people["en"].phone)
    assert english.body.startswith("Kolekt: Yaba collection is today, 08:00-12:00.")


# --- quiet hours -----------------------------------------------------------------------------------


NIGHT = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)  # 22:30 in Lagos
MORNING = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 07:00 in Lagos, when quiet hours end


def test_in_quiet_hours_only_answers_to_a_persons_own_text_are_sent(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(quiet_hours="21:00-07:00")
    yaba, people = a_street(runtime)
    with transaction(runtime.sessions) as session:
        outbox = Outbox(session, NIGHT)
        answer = outbox.write(
            people["en"].phone, "Kolekt: 320 pts.", language="EN", template="balance", reply=True
        )
        receipt = outbox.write(people["pcm"].phone, "Kolekt: +81 pts.", language="EN", template="receipt")
    reminder_ids = write_all(runtime, Run(yaba.id, TUESDAY, "eve"), NIGHT)
    # Written in quiet hours, the reminders are due when they end.
    assert {text.next_attempt_at for text in reminder_texts(runtime)} == {MORNING}

    outcomes = send_outbox([answer, receipt, *reminder_ids], bulk=False, clock=lambda: NIGHT)
    assert outcomes[answer].startswith("sent")
    assert outcomes[receipt] == "waits for quiet hours to end"
    assert [message.to for message in fake(runtime).received] == [people["en"].phone]
    (held,) = read(runtime, select(OutboxMessage).where(OutboxMessage.id == receipt))
    assert (held.status, held.next_attempt_at) == ("queued", MORNING)

    outcomes = send_outbox([receipt, *reminder_ids], bulk=True, clock=lambda: MORNING)
    assert all(outcome.startswith("sent") for outcome in outcomes.values()) and len(outcomes) == 4
    assert len(fake(runtime).received) == 5


def test_with_no_quiet_hours_everything_goes_at_night(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(quiet_hours="")
    yaba, _ = a_street(runtime)
    ids = write_all(runtime, Run(yaba.id, TUESDAY, "eve"), NIGHT)
    assert {text.next_attempt_at for text in reminder_texts(runtime)} == {NIGHT}
    assert all(o.startswith("sent") for o in send_outbox(ids, bulk=True, clock=lambda: NIGHT).values())


def test_a_number_that_opts_out_after_the_reminder_is_written_gets_nothing(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    yaba, people = a_street(runtime)
    ids = write_all(runtime, Run(yaba.id, TUESDAY, "eve"), EVE)
    with transaction(runtime.sessions) as session:
        session.execute(update(Phone).where(Phone.number == people["pcm"].phone).values(opted_out_at=EVE))
    send_outbox(ids, bulk=True, clock=lambda: EVE)
    assert people["pcm"].phone not in {message.to for message in fake(runtime).received}
    statuses = read(runtime, select(func.count()).where(OutboxMessage.status == "suppressed"))
    assert statuses == [1]
