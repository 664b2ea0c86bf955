"""Dashboard benchmark: the ledger's pages and its CSV export on 1,000,000 transfers.

    .venv/bin/python bench/dashboard.py                                    # PostgreSQL
    .venv/bin/python bench/dashboard.py --database-url sqlite:////tmp/bench-dash.db
    .venv/bin/python bench/dashboard.py --transfers 50000                  # a quick look
    .venv/bin/python bench/dashboard.py --reuse                            # time again, same data

The history (not timed; the database in --database-url is recreated unless --reuse): bench/ledger.py's
``setup`` opens the programme's accounts and 100,000 households; 200 collectors are opened; then
worker processes post through the real ledger, 200 transfers per transaction, each transaction
recorded at its own moment (``now=``) so the history spreads evenly over the last 182 days, ids and
times rising together. The mix, as the field makes it: pickup credits (programme:issuance to a
household) ~85.5%, commissions (issuance to the pickup's collector, same reference) 10%,
redemptions (household to rewards:airtime) 3%, reversals of a pickup 0.5%, refunds of a
redemption 0.3%, adjustments (programme:adjustments to a household) 0.1%. Everything is sealed,
and on PostgreSQL VACUUM ANALYZE stands in for the autovacuum this machine's server runs without.
bench/ledger.py's ``fill`` is not used: it records every transfer at the moment it runs (minutes
apart at most), which would make a date-range filter trivial.

Timed, through the real Flask app (``create_app``) and an operator signed in with the sign-in
form and its CSRF token, each request end to end (the whole page rendered and read), after a
warm-up: GET /dashboard/ledger unfiltered, deep (before= half the ids, and 10), by one household,
by programme:issuance (debited by nearly every transfer), by a common code and a rare one, by a
month in the middle of the history and by the oldest month, by a human reference, by a household
and three months, by programme:issuance and a month, and by the common code and a month.
Households and references differ from request to request.
Then GET /dashboard/ledger.csv, consumed chunk by chunk as a client reads a stream (never
buffered): time to the first byte and to the first rows, rows/s, and the process's resident memory
(VmRSS) every 50,000 rows, as growth over the start; 100,000 rows in, a pickup is posted from
another connection, to see whether the export holds it up. Then the export of one household, and
of a month.

Goal: p95 under 200 ms for every page; the export starts at once (first byte under 200 ms) and its
memory does not grow with the rows. The machine has 2 cores, shared with whatever else runs: the
load average is recorded with the figures. Figures go to stdout and, as JSON, to
bench/results/dashboard.json (one entry per store: postgresql, sqlite).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import ledger  # noqa: E402
from bench.ledger import CTX, household, seal_everything, setup, tidy  # noqa: E402
from ledger import TransferRequest  # noqa: E402
from ledger.models import accounts_t, transfers_t  # noqa: E402
from service.accounts import ADJUSTMENTS, ISSUANCE, collector_account  # noqa: E402
from service.app import create_app  # noqa: E402
from service.db import make_engine, make_session_factory, transact, transaction  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.usecases import users  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BASE = "https://hub.example"
PASSWORD = "correct horse battery staple"
DAYS = 182
PER_TRANSACTION = 200
COLLECTORS = 200
# The share of each kind of transfer but pickup credits, which are the rest.
MIX = (
    ("commission", 0.10),
    ("redemption", 0.03),
    ("reversal", 0.005),
    ("refund", 0.003),
    ("adjustment", 0.001),
)
MATERIALS = ("PET", "HDPE", "cans", "paper", "glass")
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_ROW = re.compile(r'<td><a href="/dashboard/ledger/\d+">\d+</a></td>')


# --- the history -----------------------------------------------------------------------------------


def _kind(rng: random.Random) -> str:
    draw = rng.random()
    for kind, share in MIX:
        if draw < share:
            return kind
        draw -= share
    return "pickup_credit"


def _plan(
    rng: random.Random, first: int, count: int, households: int
) -> tuple[list[TransferRequest], list[Any]]:
    """``count`` transfers numbered from ``first``: the pickups and commissions (posted together,
    in one statement on PostgreSQL), and the rest, each tied to a pickup (or a redemption) of the
    same transaction so no household is ever debited more than it was just credited."""
    linked: list[TransferRequest] = []
    rest: list[Any] = []
    unused: list[int] = []  # pickups (indexes in linked) with no commission, redemption or reversal yet
    uncommissioned: list[int] = []
    redeemed: list[int] = []  # indexes in rest of redemptions not refunded yet
    for number in range(first, first + count):
        kind = _kind(rng)
        if kind == "commission" and uncommissioned:
            pickup = linked[uncommissioned.pop(rng.randrange(len(uncommissioned)))]
            linked.append(
                TransferRequest(
                    ISSUANCE,
                    collector_account(1 + rng.randrange(COLLECTORS)),
                    rng.randint(1, 40),
                    "commission",
                    f"{pickup.reference}:commission",
                    reference=pickup.reference,
                    memo=pickup.memo,
                    actor=pickup.actor,
                )
            )
        elif kind in ("redemption", "reversal") and unused:
            pickup = linked[unused.pop(rng.randrange(len(unused)))]
            if kind == "reversal":
                rest.append(("reversal", pickup, number))
            else:
                amount = rng.randint(1, pickup.amount)
                rest.append(
                    (
                        "redemption",
                        TransferRequest(
                            pickup.credit,
                            "rewards:airtime",
                            amount,
                            "redemption",
                            f"redemption:{number}",
                            reference=f"redemption:{number}",
                            memo=f"Airtime: NGN {amount}",
                            actor=pickup.credit,
                        ),
                    )
                )
                redeemed.append(len(rest) - 1)
        elif kind == "refund" and redeemed:
            rest.append(("refund", redeemed.pop(rng.randrange(len(redeemed))), number))
        elif kind == "adjustment":
            rest.append(
                (
                    "adjustment",
                    TransferRequest(
                        ADJUSTMENTS,
                        household(rng.randrange(households)),
                        rng.randint(1, 100),
                        "adjustment",
                        f"adjustment:{number}",
                        reference=f"adjustment:{number}",
                        memo="scale at the hub read less",
                        actor="user:bench@hub.example",
                    ),
                )
            )
        else:
            grams = rng.randint(300, 9000)
            linked.append(
                TransferRequest(
                    ISSUANCE,
                    household(rng.randrange(households)),
                    max(1, grams // 25),
                    "pickup_credit",
                    f"pickup:{number}:member",
                    reference=f"pickup:{number}",
                    memo=f"{rng.choice(MATERIALS)} {grams / 1000:.1f} kg",
                    actor=collector_account(1 + rng.randrange(COLLECTORS)),
                )
            )
            unused.append(len(linked) - 1)
            uncommissioned.append(len(linked) - 1)
    return linked, rest


def _post_planned(session: Session, linked: list[TransferRequest], rest: list[Any], at: datetime) -> None:
    posted = ledger.post_linked(session, linked, now=at)
    by_key = {p.idempotency_key: p for p in posted}
    done: list[ledger.PostedTransfer | None] = []
    for item in rest:
        kind = item[0]
        if kind == "reversal":
            request = ledger.reversal_of(
                by_key[item[1].idempotency_key], idempotency_key=f"reversal:{item[2]}", actor="user:bench"
            )
        elif kind == "refund":
            redemption = done[item[1]]
            assert redemption is not None
            request = ledger.reversal_of(
                redemption, idempotency_key=f"refund:{item[2]}", actor="system", code="refund"
            )
        else:
            request = item[1]
        done.append(ledger.post(session, request, now=at))


def _filler(
    url: str, worker: int, workers: int, total: int, households: int, start: datetime, out: Any
) -> None:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    sessions = make_session_factory(engine)
    rng = random.Random(f"dashboard:{worker}")
    transactions = math.ceil(total / PER_TRANSACTION)
    span = timedelta(days=DAYS)
    posted = 0
    for k in range(worker, transactions, workers):
        first = k * PER_TRANSACTION
        count = min(PER_TRANSACTION, total - first)
        linked, rest = _plan(rng, first, count, households)
        # Each transaction at its own moment within its share of the history, in order.
        at = start + span * ((k + 0.9 * rng.random()) / transactions)
        transact(
            lambda: transaction(sessions), partial(_post_planned, linked=linked, rest=rest, at=at), attempts=8
        )
        posted += count
    out.put((worker, posted))
    engine.dispose()


def build_history(url: str, transfers: int, households: int, workers: int, end: datetime) -> dict[str, Any]:
    started = time.perf_counter()
    setup(url, households)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        ledger.open_accounts(
            session, [(collector_account(i), "collector", False) for i in range(1, COLLECTORS + 1)]
        )
    engine.dispose()
    set_up = time.perf_counter() - started
    out = CTX.Queue()
    start = end - timedelta(days=DAYS)
    processes = [
        CTX.Process(target=_filler, args=(url, w, workers, transfers, households, start, out))
        for w in range(workers)
    ]
    for p in processes:
        p.start()
    posted = sum(out.get(timeout=6 * 3600)[1] for _ in processes)
    for p in processes:
        p.join()
        if p.exitcode:
            raise SystemExit("a filling worker failed")
    filled = time.perf_counter() - started - set_up
    sealing = seal_everything(url)
    tidy(url)
    return {
        "setup_seconds": round(set_up, 1),
        "posting_seconds": round(filled, 1),
        "posted": posted,
        "sealing": sealing,
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def describe_history(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        t = transfers_t
        codes: dict[str, int] = dict(session.execute(select(t.c.code, func.count()).group_by(t.c.code)).all())
        first, last, top = session.execute(
            select(func.min(t.c.recorded_at), func.max(t.c.recorded_at), func.max(t.c.id))
        ).one()
        issuance = session.execute(
            select(func.count())
            .select_from(t)
            .where(
                t.c.debit_account_id
                == select(accounts_t.c.id).where(accounts_t.c.code == ISSUANCE).scalar_subquery()
            )
        ).scalar_one()
        analysed = None
        if engine.dialect.name == "sqlite":
            analysed = bool(
                session.execute(
                    text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
                ).scalar()
            )
    engine.dispose()
    return {
        "transfers": sum(codes.values()),
        "top_id": int(top),
        "by_code": codes,
        "debited_to_issuance": issuance,
        "first_recorded": first.isoformat(),
        "last_recorded": last.isoformat(),
        "sqlite_analysed": analysed,
    }


# --- the app, signed in ----------------------------------------------------------------------------


def signed_in(app: Flask) -> FlaskClient:
    """An operator's browser: a new user, signed in through the form with its CSRF token."""
    with transaction(app.extensions["kolekt.runtime"].sessions) as session:
        email = f"operator.{os.getpid()}.{int(time.time())}@bench.example"
        users.add_user(session, email, PASSWORD, "operator", datetime.now(UTC))
    client = app.test_client()
    page = client.get("/dashboard/sign-in", base_url=BASE)
    found = _TOKEN.search(page.text)
    assert found, "no CSRF token on the sign-in page"
    answer = client.post(
        "/dashboard/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": found.group(1)},
        base_url=BASE,
        headers={"Referer": f"{BASE}/dashboard/"},
    )
    assert answer.status_code == 302, answer.text[:500]
    return client


def load() -> str:
    return " ".join(f"{figure:.2f}" for figure in os.getloadavg())


def percentiles(samples: list[float]) -> dict[str, float]:
    cut = statistics.quantiles(samples, n=20, method="inclusive")
    return {
        "p50_ms": round(cut[9] * 1000, 1),
        "p95_ms": round(cut[18] * 1000, 1),
        "max_ms": round(max(samples) * 1000, 1),
    }


def time_page(
    client: FlaskClient, path_for: Callable[[int], str], requests: int, warm: int
) -> dict[str, Any]:
    samples: list[float] = []
    shown: list[int] = []
    for i in range(-warm, requests):
        path = path_for(i)
        started = time.perf_counter()
        answer = client.get(path, base_url=BASE)
        body = answer.get_data()
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {body[:300]!r}")
        if i >= 0:
            samples.append(took)
            shown.append(len(_ROW.findall(body.decode())))
    return {**percentiles(samples), "rows_median": statistics.median(shown), "example": path_for(0)}


# --- the export ------------------------------------------------------------------------------------


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _post_one(url: str, households: int, result: dict[str, Any]) -> None:
    """A pickup from another connection, as the webhook would post it while the export runs."""
    engine = make_engine(url, pool_size=1, max_overflow=0)
    started = time.perf_counter()
    try:
        with transaction(make_session_factory(engine)) as session:
            key = f"pickup:probe-{time.time_ns()}"
            ledger.post(
                session,
                TransferRequest(
                    ISSUANCE,
                    household(7 % households),
                    40,
                    "pickup_credit",
                    key,
                    reference=key,
                    actor="bench",
                ),
            )
        result["outcome"] = "posted"
    except Exception as error:  # what stopped it is the finding
        result["outcome"] = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["finished"] = time.perf_counter()
    engine.dispose()


def time_export(
    client: FlaskClient, path: str, probe: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Read the streamed CSV chunk by chunk (as a slow client would, nothing buffered), sampling the
    resident memory every 50,000 rows."""
    gc.collect()
    base, blocks = rss_kib(), sys.getallocatedblocks()
    started = time.perf_counter()
    answer = client.get(path, base_url=BASE, buffered=False)
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code}")
    first_byte = first_rows = None
    lines = 0
    growth: list[tuple[int, int, int]] = []  # rows, RSS growth (KiB), Python objects' blocks growth
    mark = 50_000
    probed: dict[str, Any] = {}
    poster = None
    try:
        for chunk in cast(Iterable[bytes], answer.response):
            if first_byte is None:
                first_byte = time.perf_counter() - started
            lines += chunk.count(b"\n")
            if first_rows is None and lines > 1:
                first_rows = time.perf_counter() - started
            if lines - 1 >= mark:
                growth.append((lines - 1, rss_kib() - base, sys.getallocatedblocks() - blocks))
                mark += 50_000
                if probe is not None and poster is None and lines - 1 >= 100_000:
                    poster = threading.Thread(target=probe, args=(probed,))
                    poster.start()
    finally:
        answer.close()
    seconds = time.perf_counter() - started
    growth.append((lines - 1, rss_kib() - base, sys.getallocatedblocks() - blocks))
    rows = lines - 1
    report: dict[str, Any] = {
        "path": path,
        "rows": rows,
        "first_byte_ms": round((first_byte or 0) * 1000, 1),
        "first_rows_ms": round((first_rows or seconds) * 1000, 1),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "rss_start_mib": round(base / 1024, 1),
        "rss_growth_mib": {str(at): round(kib / 1024, 1) for at, kib, _ in growth},
        "peak_growth_mib": round(max(kib for _, kib, _ in growth) / 1024, 1),
        "allocated_blocks_growth": {str(at): count for at, _, count in growth},
    }
    at_100k = [kib for at, kib, _ in growth if at >= 100_000]
    if rows >= 200_000 and at_100k:
        report["growth_after_100k_mib"] = round((max(kib for _, kib, _ in growth) - at_100k[0]) / 1024, 1)
    if poster is not None:
        poster.join()
        probed["while_export_ran"] = probed.pop("finished") < started + seconds
        report["pickup_posted_during_export"] = probed
    return report


# --- main ------------------------------------------------------------------------------------------


def query(path: str, **filters: Any) -> str:
    return f"{path}?{urlencode(filters)}" if filters else path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/kolekt_bench_dashboard"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5", help="for the sign-in limiter")
    parser.add_argument("--transfers", type=int, default=1_000_000)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="processes posting the history")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warm", type=int, default=3, help="untimed requests per page first")
    parser.add_argument("--reuse", action="store_true", help="keep the database and its history as they are")
    parser.add_argument(
        "--analyze", action="store_true", help="SQLite: run ANALYZE first (the app never does)"
    )
    args = parser.parse_args()
    url = Settings.from_env({"DATABASE_URL": args.database_url, "SECRET_KEY": "bench"}).database_url
    store = make_url(url).get_backend_name()
    report: dict[str, Any] = {
        "database": make_url(url).render_as_string(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    started = time.perf_counter()
    if not args.reuse:
        print(
            f"building {args.transfers:,} transfers over {args.households:,} households"
            f" on {report['database']} ...",
            flush=True,
        )
        report["history_build"] = build_history(
            url, args.transfers, args.households, args.workers, datetime.now(UTC)
        )
        print(f"   built in {report['history_build']['total_seconds']} s", flush=True)
    if args.analyze and store == "sqlite":
        engine = make_engine(url)
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
        engine.dispose()
    history = report["history"] = describe_history(url)
    print(f"history: {json.dumps(history)}", flush=True)

    instance = tempfile.mkdtemp(prefix="kolekt-bench-dashboard-")
    app = create_app(
        Settings(
            database_url=url,
            redis_url=args.redis_url,
            secret_key=secrets.token_hex(16),
            instance_dir=Path(instance),
            quiet_hours="",
        )
    )
    client = signed_in(app)
    rng = random.Random(11)
    households = [household(rng.randrange(args.households)) for _ in range(args.requests + args.warm)]
    top = history["top_id"]
    engine = make_engine(url)
    with engine.connect() as connection:
        picks = [rng.randrange(1, top + 1) for _ in range(args.requests + args.warm)]
        human = dict(
            connection.execute(
                select(transfers_t.c.id, transfers_t.c.human_ref).where(transfers_t.c.id.in_(picks))
            ).all()
        )
    engine.dispose()
    refs = [human[p] for p in picks if p in human]
    last = (
        datetime.fromisoformat(history["last_recorded"])
        .astimezone(app.extensions["kolekt.runtime"].settings.zone)
        .date()
    )
    middle = last - timedelta(days=DAYS // 2)
    month = {
        "from": (middle - timedelta(days=15)).isoformat(),
        "to": (middle + timedelta(days=15)).isoformat(),
    }
    quarter = {
        "from": (middle - timedelta(days=45)).isoformat(),
        "to": (middle + timedelta(days=45)).isoformat(),
    }
    oldest = {
        "from": (last - timedelta(days=DAYS - 1)).isoformat(),
        "to": (last - timedelta(days=DAYS - 31)).isoformat(),
    }
    page = "/dashboard/ledger"
    cases: list[tuple[str, Callable[[int], str]]] = [
        ("first page", lambda i: page),
        (f"deep page (before={top // 2})", lambda i: query(page, before=top // 2)),
        ("deep page (before=10)", lambda i: query(page, before=10)),
        ("one household", lambda i: query(page, account=households[i])),
        ("programme:issuance", lambda i: query(page, account=ISSUANCE)),
        ("code pickup_credit", lambda i: query(page, code="pickup_credit")),
        ("code adjustment", lambda i: query(page, code="adjustment")),
        (f"a month ({month['from']} to {month['to']})", lambda i: query(page, **month)),
        (f"the oldest month ({oldest['from']} to {oldest['to']})", lambda i: query(page, **oldest)),
        ("a human reference", lambda i: query(page, reference=refs[i % len(refs)])),
        ("household + 3 months", lambda i: query(page, account=households[i], **quarter)),
        ("programme:issuance + a month", lambda i: query(page, account=ISSUANCE, **month)),
        ("code pickup_credit + a month", lambda i: query(page, code="pickup_credit", **month)),
        # A plentiful account with a code it is on one side of only (reversals credit issuance).
        ("programme:issuance + reversal", lambda i: query(page, account=ISSUANCE, code="reversal")),
        (
            "programme:issuance + adjustment (none)",
            lambda i: query(page, account=ISSUANCE, code="adjustment"),
        ),
    ]
    print(
        f"pages ({args.requests} requests each after {args.warm} to warm up; load average {load()}):",
        flush=True,
    )
    report["load_before_pages"] = load()
    report["pages"] = {}
    for name, path_for in cases:
        result = time_page(client, path_for, args.requests, args.warm)
        report["pages"][name] = result
        verdict = "ok" if result["p95_ms"] < 200 else "MISSED"
        print(
            f"   {name:<44} p50 {result['p50_ms']:>7} ms  p95 {result['p95_ms']:>7} ms"
            f"  max {result['max_ms']:>7} ms  rows {result['rows_median']:>4}  {verdict}",
            flush=True,
        )
    report["load_after_pages"] = load()

    print(f"exports (load average {load()}):", flush=True)
    report["exports"] = {}
    exports: list[tuple[str, str, Callable[[dict[str, Any]], None] | None]] = [
        ("whole ledger", "/dashboard/ledger.csv", lambda result: _post_one(url, args.households, result)),
        ("one household", query("/dashboard/ledger.csv", account=households[0]), None),
        ("a month", query("/dashboard/ledger.csv", **month), None),
    ]
    for name, path, probe in exports:
        result = time_export(client, path, probe)
        report["exports"][name] = result
        print(
            f"   {name:<14} {result['rows']:>9,} rows in {result['seconds']:>7} s"
            f" ({result['rows_per_s']:,} rows/s); "
            f"first byte {result['first_byte_ms']} ms, first rows {result['first_rows_ms']} ms; "
            f"RSS {result['rss_start_mib']} MiB at the start, growth peak {result['peak_growth_mib']} MiB"
            + (
                f", {result['growth_after_100k_mib']} MiB after the first 100k rows"
                if "growth_after_100k_mib" in result
                else ""
            )
            + f"; Python's allocated blocks {result['allocated_blocks_growth'][str(result['rows'])]:+,}"
            + (
                f"; a pickup posted meanwhile: {result['pickup_posted_during_export']}"
                if "pickup_posted_during_export" in result
                else ""
            ),
            flush=True,
        )
    report["load_after_exports"] = load()
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"done in {report['seconds']} s", flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "dashboard.json"
    saved = json.loads(out.read_text()) if out.exists() else {}
    saved[store] = report
    out.write_text(json.dumps(saved, indent=2))


if __name__ == "__main__":
    main()
