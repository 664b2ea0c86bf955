"""The periodic work on real stores: the daily ledger check and summary, dispute windows closing,
the shared send limit, and one real RQ worker with its cron scheduler sending a day's reminders.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import select, update

import ledger
from ledger.models import balances_t
from service.accounts import open_programme_accounts
from service.app import make_runtime as runtime_for
from service.db import transaction
from service.jobs.checks import check_ledger
from service.jobs.engagement import check_milestones, sweep_milestones
from service.models import (
    Collection,
    DailySummary,
    Household,
    LedgerCheck,
    Milestone,
    OutboxMessage,
    ReminderRun,
)
from service.providers.send_limit import RESERVE, SendLimit
from service.reads.disputes import open_disputes
from service.runtime import Runtime, use
from service.settings import Settings
from service.timetable import at, local_day
from service.unit_of_work import UnitOfWork
from service.usecases import reports
from service.usecases.catalogue import set_rate
from service.usecases.disputes import open_dispute, settle_pickups
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup, pickup_by_reference
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone, set_reminder_times
from sms.commands import Line
from tests.conftest import ROOT, settings_environ

LAGOS_MIDNIGHT = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)  # 00:00 Tuesday 1 December in Lagos
OPERATOR = "+2348099000001"


@pytest.fixture
def runtime(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings], redis: Redis
) -> Iterator[Runtime]:
    made = use(runtime_for(make_settings(fresh_database(), operator_phones=(OPERATOR,))))
    with transaction(made.sessions) as session:
        open_programme_accounts(session)
    yield made
    made.close()


def read(runtime: Runtime, statement: Any) -> list[Any]:
    with transaction(runtime.sessions) as session:
        rows = list(session.execute(statement).scalars())
        session.expunge_all()
        return rows


def a_pickup(runtime: Runtime, received_at: datetime, number: int = 1) -> str:
    """One credited pickup (4.5 kg of PET at 10 pts/kg) by a new collector for a new household;
    its reference."""
    since = received_at - timedelta(days=8)
    with transaction(runtime.sessions) as session:
        zone = add_zone(session, f"Yaba {number}", "tue,fri", "08:00-12:00", since)
        collector = add_collector(session, f"+23480700000{number:02d}", "Musa", zone.id, since)
        phone = f"+23480310000{number:02d}"
        ensure_phone(session, phone, since)
        household = register_household(session, phone, "Ada", None, "test", received_at, zone_id=zone.id)
        if number == 1:
            set_rate(session, "PET", 10, 2, since, "test", since)
        logged = log_pickup(
            session,
            collector=collector,
            household=household,
            lines=(Line("PET", 4500),),
            occurred_at=received_at,
            received_at=received_at,
            channel="test",
            dedupe_key=f"test:{number}",
        )
        return logged.reference


# --- the daily ledger check ------------------------------------------------------------------------


def test_the_ledger_is_checked_once_a_day_after_two_and_the_result_is_recorded(runtime: Runtime) -> None:
    local = runtime.settings.zone
    with transaction(runtime.sessions) as session:
        assert not reports.daily_check_due(session, LAGOS_MIDNIGHT + timedelta(hours=1, minutes=59), local)
        assert reports.daily_check_due(session, LAGOS_MIDNIGHT + timedelta(hours=2), local)
    assert check_ledger("daily").startswith("OK")
    (check,) = read(runtime, select(LedgerCheck))
    assert (check.trigger, check.ok, check.problem) == ("daily", True, None)
    assert check.finished_at is not None and check.head_hash is not None
    now = datetime.now(UTC)
    tomorrow_noon = at(local_day(now, local) + timedelta(days=1), dtime(12), local)
    with transaction(runtime.sessions) as session:
        assert not reports.daily_check_due(session, now, local)  # done today
        assert reports.daily_check_due(session, tomorrow_noon, local)
        last = reports.last_check(session)
    assert last is not None and last.word == "OK"


def test_a_daily_check_whose_worker_died_is_run_again_after_two_hours(runtime: Runtime) -> None:
    local = runtime.settings.zone
    started = LAGOS_MIDNIGHT + timedelta(hours=3)
    runtime.transact(lambda uow: reports.start_check(uow.session, "daily", started))
    with transaction(runtime.sessions) as session:
        assert not reports.daily_check_due(session, started + timedelta(hours=1), local)
        assert reports.daily_check_due(
            session, started + reports.CHECK_ABANDONED + timedelta(seconds=1), local
        )
        assert reports.last_check(session).word == "unfinished"  # type: ignore[union-attr]


def test_a_broken_ledger_is_recorded_as_broken_with_where(runtime: Runtime) -> None:
    a_pickup(runtime, datetime.now(UTC) - timedelta(hours=1))
    with transaction(runtime.sessions) as session:
        ledger.seal_all(session)
    # Someone with the database's keys drops the guard and edits a balance behind the ledger's back.
    postgresql = runtime.engine.dialect.name == "postgresql"
    with runtime.engine.begin() as connection:
        trigger = "ledger_balances_refuse_change" if postgresql else "ledger_balances_refuse_update"
        connection.exec_driver_sql(f"DROP TRIGGER {trigger}" + (" ON ledger_balances" if postgresql else ""))
        connection.execute(
            update(balances_t).where(balances_t.c.credits > 0).values(credits=balances_t.c.credits + 1)
        )
    assert check_ledger("daily").startswith("BROKEN")
    (check,) = read(runtime, select(LedgerCheck))
    assert check.ok is False and check.problem


# --- the operators' summary -----------------------------------------------------------------------


def test_yesterdays_summary_is_written_once_and_texted_to_the_operators(runtime: Runtime) -> None:
    monday_noon = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    a_pickup(runtime, monday_noon)
    local = runtime.settings.zone
    tuesday_seven = LAGOS_MIDNIGHT + timedelta(hours=7)
    with transaction(runtime.sessions) as session:
        assert reports.summary_due(session, tuesday_seven - timedelta(minutes=1), local) is None
        assert reports.summary_due(session, tuesday_seven, local) == date(2026, 11, 30)
    opened: list[UnitOfWork] = []

    def summarise(uow: UnitOfWork) -> bool:
        opened.append(uow)
        return reports.summarise(uow, date(2026, 11, 30))

    written = runtime.transact(summarise, now=tuesday_seven)
    (texted,) = opened  # a report is sent in a batch, not by a job of its own
    again = runtime.transact(summarise, now=tuesday_seven)
    assert written is True and sum(len(batch.ids) for batch in texted.outbox.batches) == 1 and again is False
    (summary,) = read(runtime, select(DailySummary))
    figures = json.loads(summary.figures)
    assert (figures["pickups"], figures["grams"], figures["points_issued"], figures["new_members"]) == (
        1,
        4500,
        45,
        1,
    )
    (text,) = read(runtime, select(OutboxMessage).where(OutboxMessage.to_phone == OPERATOR))
    assert text.body.startswith("Kolekt Mon 30 Nov: 1 pickups, 4.5kg, +45 pts, 0 pts redeemed, 1 joined.")
    assert (text.kind, text.segments, text.encoding) == ("report", 1, "GSM-7")
    with transaction(runtime.sessions) as session:
        assert reports.summary_due(session, tuesday_seven + timedelta(hours=1), local) is None


# --- dispute windows -------------------------------------------------------------------------------


def test_pickups_are_settled_when_their_dispute_window_closes_unless_disputed(runtime: Runtime) -> None:
    window = timedelta(hours=runtime.settings.dispute_window_hours)
    logged = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    quiet_one = a_pickup(runtime, logged, 1)
    disputed = a_pickup(runtime, logged, 2)
    with transaction(runtime.sessions) as session:
        pickup = pickup_by_reference(session, disputed)
        assert pickup is not None
        open_dispute(session, pickup, "wrong weight", logged + timedelta(hours=1), None)
    with transaction(runtime.sessions) as session:
        assert settle_pickups(session, logged + window - timedelta(seconds=1), window) == 0
    with transaction(runtime.sessions) as session:
        assert settle_pickups(session, logged + window + timedelta(seconds=1), window) == 1
        assert settle_pickups(session, logged + window + timedelta(minutes=10), window) == 0  # done once
        assert len(open_disputes(session)) == 1
    settled = {c.reference: c.settled_at for c in read(runtime, select(Collection))}
    assert settled[quiet_one] is not None and settled[disputed] is None


# --- the send limit, shared through Redis ----------------------------------------------------------


def test_the_send_limit_holds_across_workers_and_keeps_room_for_answers(redis: Redis) -> None:
    rate = 20
    workers = [SendLimit(Redis.from_url(_url(redis)), "test-gateway", rate) for _ in range(3)]
    handed: list[float] = []
    lock = threading.Lock()
    started = time.monotonic()

    def send(limit: SendLimit, count: int, bulk: bool) -> None:
        for _ in limit.paced(list(range(count)), bulk=bulk):
            with lock:
                handed.append(time.monotonic() - started)

    threads = [threading.Thread(target=send, args=(limit, 20, True)) for limit in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(handed) == 60
    # Bulk sends get at most their share of each second: 16 a second, so 60 take over 3 seconds.
    bulk_share = int(rate * (1 - RESERVE))
    assert handed[-1] >= (60 // bulk_share) - 0.2
    for moment in handed:
        assert sum(1 for other in handed if moment <= other < moment + 1) <= rate
    # With the bulk share spent, an answer still goes at once.
    answer = SendLimit(Redis.from_url(_url(redis)), "test-gateway", rate)
    for limit in workers:
        limit.paced([0] * bulk_share, bulk=True).__next__()
    before = time.monotonic()
    list(answer.paced([0, 1], bulk=False))
    assert time.monotonic() - before < 0.5


def _url(redis: Redis) -> str:
    from service.runtime import redis_url_of

    return redis_url_of(redis)


# --- a real worker with its scheduler ---------------------------------------------------------------


def test_a_worker_with_its_scheduler_sends_the_days_reminders_once(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings], redis: Redis, tmp_path: Path
) -> None:
    """The cron scheduler (started by ``flask worker``) runs remind_due at once; the fan-out, the
    batch and the sends run on the same worker through Redis; the console gateway takes them."""
    settings = make_settings(fresh_database(), sms_rate_per_second=50)
    runtime = use(runtime_for(settings))
    now = datetime.now(UTC)
    local = settings.zone
    tomorrow = (now.astimezone(local) + timedelta(days=1)).date()
    with transaction(runtime.sessions) as session:
        open_programme_accounts(session)
        zone = add_zone(session, "Yaba", tomorrow.strftime("%a"), "08:00-12:00", now)
        set_reminder_times(session, zone, evening="00:00")  # due since midnight: due now
        for number in range(30):
            ensure_phone(session, f"+23480340{number:05d}", now)
            register_household(session, f"+23480340{number:05d}", "Ada", None, "test", now, zone_id=zone.id)
    log = tmp_path / "worker.log"
    with log.open("w") as stream:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=settings_environ(settings),
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sent = read(runtime, select(OutboxMessage.status).where(OutboxMessage.kind == "reminder"))
            if len(sent) == 30 and set(sent) == {"delivered"}:
                break
            assert worker.poll() is None, log.read_text()
            time.sleep(0.3)
        else:
            raise AssertionError(f"reminders not all sent: {sent}\n{log.read_text()[-3000:]}")
        time.sleep(2)  # another minute's tick would find nothing to do
        (run,) = read(runtime, select(ReminderRun))
        assert run.collection_date == tomorrow and run.kind == "eve"
        texts = read(runtime, select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
        assert len(texts) == 30 and len({text.to_phone for text in texts}) == 30
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
        runtime.close()


# --- milestones ------------------------------------------------------------------------------------


def test_the_hourly_sweep_keeps_the_milestones_a_lost_check_missed(runtime: Runtime) -> None:
    now = datetime.now(UTC)
    a_pickup(runtime, now - timedelta(hours=2), 1)  # its check job was lost
    a_pickup(runtime, now - timedelta(hours=5), 2)  # older than the sweep looks back
    recent, older = read(runtime, select(Household.id).order_by(Household.id))
    assert sweep_milestones() == 1
    assert read(runtime, select(Milestone.name).where(Milestone.household_id == recent)) == ["first"]
    assert read(runtime, select(Milestone.name).where(Milestone.household_id == older)) == []
    assert sweep_milestones() == 0  # once
    assert check_milestones(older) == "first" and check_milestones(older) == "nothing new"
    texts = read(runtime, select(OutboxMessage.template).where(OutboxMessage.template.like("milestone_%")))
    assert texts == ["milestone_first", "milestone_first"]
