"""Ledger benchmark: posting throughput, sealing, balance reads at 100k and 1M transfers, verify.

    .venv/bin/python bench/ledger.py                       # PostgreSQL (the goals are for it)
    .venv/bin/python bench/ledger.py --database-url sqlite:///instance/bench.db --history 200000

The real pattern: every transfer debits the one programme issuance account and credits one of
100,000 households (limited accounts), from 1, 4 and 8 concurrent worker processes, each with its
own connection:
- single-transfer commits: one transfer per transaction (a pickup, as the webhook posts it);
- batches: 100 transfers per transaction;
while a sealer process chains what is committed every 2 seconds, as the worker's cron does
(its backlog is reported: the chain is not a global lock, and it keeps up).
Balances are read (p50/p99) at 100k transfers of history (filled in batches before the posting
phases) and again at 1M, and verify is timed.
Before each worker count's phases, the floor: the same number of processes commit one INSERT a
transaction into a bare table straight through psycopg (no SQLAlchemy, no ledger), and each
single-transfer figure is printed as a fraction of it.
django-hordak's ``transfer_to`` runs the same single-transfer pattern on the same PostgreSQL
(bench/hordak_ref.py, in its own database) as a reference, and the ratio is printed.

Goals on PostgreSQL on the 2-core machine: single-transfer commits at 8 workers >= 0.5 of the bare
psycopg ceiling and >= 2 times django-hordak (issue 22); earlier: >= 2,000 a second,
>= 10,000 transfers/s in batches, balance read p99 < 2 ms at any history length, verify >=
100,000 transfers/s. Figures go to stdout and, as JSON, to bench/results/ledger.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import ledger  # noqa: E402
from ledger import TransferRequest  # noqa: E402
from service.accounts import ISSUANCE, open_programme_accounts  # noqa: E402
from service.db import make_engine, make_session_factory, transact, transaction  # noqa: E402
from service.jobs.schedule import SEAL_EVERY_SECONDS  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.settings import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CTX = mp.get_context("fork")


def household(index: int) -> str:
    return f"member:H{index:06d}"


def recreate_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def setup(url: str, households: int) -> float:
    started = time.perf_counter()
    recreate_database(url)
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        open_programme_accounts(session)
        ledger.open_accounts(session, [(household(i), "member", True) for i in range(households)])
    engine.dispose()
    return time.perf_counter() - started


def _poster(
    url: str, phase: str, worker: int, count: int, batch: int, households: int, barrier: Any, out: Any
) -> None:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    sessions = make_session_factory(engine)
    rng = random.Random(f"{phase}:{worker}")
    batches = [
        [
            TransferRequest(
                ISSUANCE,
                household(rng.randrange(households)),
                rng.randint(1, 120),
                "pickup_credit",
                f"bench:{phase}:{worker}:{start + i}",
                reference=f"bench:{phase}:{worker}:{start}",
                actor="bench",
            )
            for i in range(min(batch, count - start))
        ]
        for start in range(0, count, batch)
    ]
    barrier.wait()
    started = time.perf_counter()
    retries = 0
    for requests in batches:
        attempts = [0]

        def work(
            session: Any, requests: list[TransferRequest] = requests, attempts: list[int] = attempts
        ) -> None:
            attempts[0] += 1
            ledger.post_linked(session, requests)

        transact(lambda: transaction(sessions), work, attempts=5)
        retries += attempts[0] - 1
    out.put((worker, time.perf_counter() - started, sum(len(b) for b in batches), retries))
    engine.dispose()


def _sealer(url: str, stop: Any, out: Any) -> None:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    sessions = make_session_factory(engine)
    most_pending = sealed = 0
    seal_seconds = 0.0
    while not stop.is_set():
        started = time.perf_counter()
        with transaction(sessions) as session:
            result = ledger.seal(session, limit=20_000)
        seal_seconds += time.perf_counter() - started
        sealed += result.sealed
        most_pending = max(most_pending, result.pending + result.sealed)
        if not result.pending:
            stop.wait(SEAL_EVERY_SECONDS)
    out.put({"sealed": sealed, "most_waiting": most_pending, "sealing_seconds": round(seal_seconds, 2)})
    engine.dispose()


def open_with_points(session: Any, codes: list[str], points: int, now: Any) -> None:
    """Each member code's ledger account opened and credited ``points`` as a pickup would be,
    the chain sealed: households a bench inserted in bulk, ready to spend."""
    from ledger import TransferRequest
    from service.accounts import ISSUANCE, member_account

    accounts = [member_account(code) for code in codes]
    ledger.open_accounts(session, [(account, "member", True) for account in accounts], now=now)
    credits = [TransferRequest(ISSUANCE, a, points, "pickup_credit", f"bench:{a}") for a in accounts]
    ledger.post_linked(session, credits, now=now)
    ledger.seal_all(session, now=now)


def advance_sequence(engine: Any, url: str, table: str = "households") -> None:
    """Rows inserted with their ids given: PostgreSQL's sequence moved on past them, so the app's
    own inserts (JOIN, NEW) get new ids."""
    if not url.startswith("postgresql"):
        return
    with engine.begin() as connection:
        highest = f"(SELECT max(id) FROM {table})"
        connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {highest})"))


def tidy(url: str) -> None:
    """VACUUM ANALYZE, as PostgreSQL's autovacuum would between phases. This machine's server runs
    with autovacuum off: without it the queue and the counters fill with dead rows and the
    planner never learns the tables' sizes, which no production server would put up with."""
    if not url.startswith("postgresql"):
        return
    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.execute(text("SHOW autovacuum")).scalar() == "off":
            connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _run(targets: list[tuple[Callable[..., None], tuple[Any, ...]]], out: Any, phase: str) -> list[Any]:
    """Each target in a process of its own; what each put on ``out``."""
    processes = [CTX.Process(target=target, args=args) for target, args in targets]
    for p in processes:
        p.start()
    results = [out.get(timeout=3600) for _ in processes]
    for p in processes:
        p.join()
        if p.exitcode:
            raise SystemExit(f"a posting worker failed in phase {phase}")
    return results


def post_phase(url: str, phase: str, workers: int, total: int, batch: int, households: int) -> dict[str, Any]:
    """``total`` transfers from ``workers`` processes, ``batch`` per transaction, a sealer alongside."""
    tidy(url)
    barrier = CTX.Barrier(workers)
    out = CTX.Queue()
    stop = CTX.Event()
    sealer_out = CTX.Queue()
    sealer = CTX.Process(target=_sealer, args=(url, stop, sealer_out))
    sealer.start()
    share = total // workers
    targets = [(_poster, (url, phase, w, share, batch, households, barrier, out)) for w in range(workers)]
    results = _run(targets, out, phase)
    stop.set()
    sealing = sealer_out.get(timeout=3600)
    sealer.join()
    seconds = max(r[1] for r in results)
    posted = sum(r[2] for r in results)
    return {
        "phase": phase,
        "workers": workers,
        "per_transaction": batch,
        "transfers": posted,
        "seconds": round(seconds, 3),
        "transfers_per_s": round(posted / seconds),
        "retried_transactions": sum(r[3] for r in results),
        "sealer": sealing,
    }


_BARE_TABLE = "bench_bare_commits"


def _bare_poster(dsn: str, worker: int, count: int, households: int, barrier: Any, out: Any) -> None:
    """The floor: one INSERT a transaction, straight through psycopg (no SQLAlchemy, no ledger)."""
    import psycopg

    rng = random.Random(f"bare:{worker}")
    rows = [(rng.randrange(households), rng.randint(1, 120)) for _ in range(count)]
    with psycopg.connect(dsn) as connection:
        barrier.wait()
        started = time.perf_counter()
        for account, amount in rows:
            with connection.transaction():
                connection.execute(
                    f"INSERT INTO {_BARE_TABLE} (account, amount, recorded_at) VALUES (%s, %s, now())",
                    (account, amount),
                )
        out.put((worker, time.perf_counter() - started, count))


def bare_ceiling(url: str, workers: int, total: int, households: int) -> dict[str, Any]:
    """The bare psycopg commit ceiling on the same PostgreSQL, from ``workers`` processes: the
    floor the ledger's single-transfer commits are measured against."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {_BARE_TABLE}")
        connection.execute(
            f"CREATE TABLE {_BARE_TABLE} (id bigserial PRIMARY KEY, account integer NOT NULL, "
            "amount bigint NOT NULL, recorded_at timestamptz NOT NULL)"
        )
    barrier, out = CTX.Barrier(workers), CTX.Queue()
    share = total // workers
    targets = [(_bare_poster, (dsn, w, share, households, barrier, out)) for w in range(workers)]
    results = _run(targets, out, "bare")
    seconds = max(r[1] for r in results)
    committed = sum(r[2] for r in results)
    return {"workers": workers, "commits": committed, "seconds": round(seconds, 3),
            "commits_per_s": round(committed / seconds)}  # fmt: skip


def fill(url: str, target: int, households: int) -> float:
    """Grow the history to ``target`` transfers (batches of 1,000 from 2 workers), sealed."""
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        have = session.execute(text("SELECT count(*) FROM ledger_transfers")).scalar_one()
    engine.dispose()
    started = time.perf_counter()
    if target > have:
        post_phase(url, f"fill{target}", 2, target - have, 1000, households)
    seal_everything(url)
    return time.perf_counter() - started


def seal_everything(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    sealed = 0
    while True:
        with transaction(sessions) as session:
            result = ledger.seal(session, limit=20_000)
        sealed += result.sealed
        if not result.pending:
            break
    seconds = time.perf_counter() - started
    engine.dispose()
    return {
        "sealed": sealed,
        "seconds": round(seconds, 3),
        "per_s": round(sealed / seconds) if sealed else None,
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    cut = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cut[49] * 1000, 3),
        "p99_ms": round(cut[98] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def read_balances(url: str, households: int, reads: int = 3000) -> dict[str, Any]:
    tidy(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(7)
    timings: dict[str, list[float]] = {"household": [], "issuance": [], "household_as_of_seq": []}
    with sessions() as session:
        top = ledger.head(session).count
        for code in [household(rng.randrange(households)) for _ in range(200)]:
            ledger.balance(session, code)  # warm the connection and statement caches
        probes: list[tuple[str, Callable[[], object]]] = []
        for _ in range(reads):
            code = household(rng.randrange(households))
            seq = rng.randrange(1, top + 1)
            probes.append(("household", lambda code=code: ledger.balance(session, code)))
            probes.append(("issuance", lambda: ledger.balance(session, ISSUANCE)))
            probes.append(
                ("household_as_of_seq", lambda code=code, seq=seq: ledger.balance_at(session, code, seq=seq))
            )
        for kind, probe in probes:
            started = time.perf_counter()
            probe()
            timings[kind].append(time.perf_counter() - started)
        session.rollback()
    engine.dispose()
    return {"history": top, **{kind: percentiles(samples) for kind, samples in timings.items()}}


def time_verify(url: str) -> dict[str, Any]:
    tidy(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        started = time.perf_counter()
        report = ledger.verify(session, workers=os.cpu_count() or 1)
        seconds = time.perf_counter() - started
    engine.dispose()
    if not report.ok:
        raise SystemExit(f"verify failed: {report.problem}")
    return {
        "transfers": report.count,
        "seconds": round(seconds, 2),
        "transfers_per_s": round(report.count / seconds),
    }


def hordak(url: str, workers: list[int], transfers: int, households: int) -> dict[int, Any]:
    """django-hordak's transfer_to on the same PostgreSQL, in a database of its own."""
    script = ROOT / "bench" / "hordak_ref.py"
    database = make_url(url).set(database="kolekt_bench_hordak").render_as_string(hide_password=False)
    database = database.replace("postgresql+psycopg://", "postgresql://")
    results: dict[int, Any] = {}
    for index, count in enumerate(workers):
        command = [sys.executable, str(script), "--database-url", database, "--workers", str(count)]
        command += ["--transfers", str(transfers), "--households", str(households)]
        if index:
            command.append("--no-setup")
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
        if done.returncode != 0:
            print(f"hordak reference failed ({count} workers): {done.stderr.strip()[-500:]}", file=sys.stderr)
            return results
        results[count] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/kolekt_bench")
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=16_000, help="single-transfer commits per worker count")
    parser.add_argument(
        "--batched", type=int, default=80_000, help="transfers in batches of 100, per worker count"
    )
    parser.add_argument("--history", type=int, default=1_000_000, help="history length for the last reads")
    parser.add_argument("--workers", default="1,4,8")
    parser.add_argument("--hordak-transfers", type=int, default=4000)
    parser.add_argument("--skip-hordak", action="store_true")
    args = parser.parse_args()
    url = Settings.from_env({"DATABASE_URL": args.database_url, "SECRET_KEY": "bench"}).database_url
    on_postgresql = url.startswith("postgresql")
    worker_counts = [int(w) for w in args.workers.split(",")]
    report: dict[str, Any] = {"database": make_url(url).render_as_string(), "households": args.households}

    print(f"setting up {args.households} households on {report['database']} ...", flush=True)
    report["setup_seconds"] = round(setup(url, args.households), 1)

    def read_at(target: int) -> None:
        print(f"growing the history to {target} transfers ...", flush=True)
        fill(url, target, args.households)
        reads = read_balances(url, args.households)
        report["reads"].append(reads)
        print(
            f"balance reads at {reads['history']} transfers: household p50 {reads['household']['p50_ms']} ms "
            f"p99 {reads['household']['p99_ms']} ms; issuance p50 {reads['issuance']['p50_ms']} ms "
            f"p99 {reads['issuance']['p99_ms']} ms; "
            f"as-of-seq p99 {reads['household_as_of_seq']['p99_ms']} ms",
            flush=True,
        )

    report["reads"] = []
    read_at(min(100_000, args.history))

    report["posting"], report["bare"] = [], {}
    for workers in worker_counts:
        floor = None
        if on_postgresql:
            floor = bare_ceiling(url, workers, args.single, args.households)
            report["bare"][workers] = floor
            print(f"     bare x{workers}: {floor['commits_per_s']:>7} commits/s (psycopg, INSERT, COMMIT)")
        for label, total, batch in (("single", args.single, 1), ("batch100", args.batched, 100)):
            result = post_phase(url, f"{label}-{workers}", workers, total, batch, args.households)
            report["posting"].append(result)
            ratio = ""
            if floor is not None and batch == 1:
                result["x_bare"] = round(result["transfers_per_s"] / floor["commits_per_s"], 3)
                ratio = f" = {result['x_bare']:.2f} of bare"
            print(
                f"{label:>9} x{workers}: {result['transfers_per_s']:>7} transfers/s{ratio} "
                f"({result['transfers']} in {result['seconds']}s, {result['retried_transactions']} retried; "
                f"sealer backlog at most {result['sealer']['most_waiting']})",
                flush=True,
            )
    report["seal_rest"] = seal_everything(url)

    if args.history > 100_000:
        read_at(args.history)
    print("sealing throughput on a fresh backlog is in the fill phases; timing verify ...", flush=True)
    report["verify"] = time_verify(url)
    print(
        f"verify: {report['verify']['transfers_per_s']} transfers/s ({report['verify']['transfers']} in "
        f"{report['verify']['seconds']}s)",
        flush=True,
    )

    if on_postgresql and not args.skip_hordak:
        print("django-hordak reference (transfer_to, single-transfer commits) ...", flush=True)
        reference = hordak(url, worker_counts, args.hordak_transfers, args.households)
        report["hordak"] = reference
        ours = {r["workers"]: r["transfers_per_s"] for r in report["posting"] if r["per_transaction"] == 1}
        for workers, result in reference.items():
            ratio = ours[workers] / result["transfers_per_s"]
            result["kolekt_ratio"] = round(ratio, 1)
            print(
                f"   hordak x{workers}: {round(result['transfers_per_s'])} transfers/s; "
                f"Kolekt {ours[workers]} = {ratio:.1f}x",
                flush=True,
            )
    eight = next((r for r in report["posting"] if r["workers"] == 8 and r["per_transaction"] == 1), None)
    if eight is not None and "x_bare" in eight:
        against = report.get("hordak", {}).get(8, {}).get("kolekt_ratio")
        print(
            f"goals (issue 22, single transfers at 8 workers): >= 0.5 of bare: "
            f"{'met' if eight['x_bare'] >= 0.5 else 'NOT MET'} ({eight['x_bare']:.2f}); >= 2x hordak: "
            + ("not measured" if against is None else f"{'met' if against >= 2 else 'NOT MET'} ({against}x)"),
            flush=True,
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ledger.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
