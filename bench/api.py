"""API benchmark: what the collector app asks of the server, on a programme of 100,000 households.

    .venv/bin/python bench/api.py                                          # PostgreSQL
    .venv/bin/python bench/api.py --database-url sqlite:////tmp/bench-api.db
    .venv/bin/python bench/api.py --households 10000 --batches 5           # a quick look

Set-up (not timed; the database is recreated): the demo programme (zones, collectors, rates), then
100,000 households in bulk, 5,000 of them in the benchmark collectors' zone (Yaba), each with its
ledger account; 8 more collectors in Yaba, each with a PIN.

Timed, through the real Flask app (``create_app``), each request end to end:

- sign-in with phone and PIN (argon2: slow on purpose);
- the app's first download: every household of the zone, 500 a page, as JSON, with its size
  raw and gzipped (what a proxy that compresses sends over a 2G link);
- materials and rates; a collector's pickups page and totals;
- sync, one collector: batches of 100 new pickups (1 to 3 lines each, a random household of the
  zone, their own #seq), then the same batches again (every one a duplicate), then batches with
  10 refusals each (a phone that is nobody's);
- sync, 8 collectors at once, each sending its own batches: pickups recorded a second overall.

Goals: a batch of 100 pickups in under 2 s (p95), the zone's download in under 2 s, every read
under 200 ms (p95). Figures go to stdout and, as JSON, to bench/results/api.json (one entry per
store).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

import ledger  # noqa: E402
import sms  # noqa: E402
from bench.ledger import advance_sequence, recreate_database, tidy  # noqa: E402
from service.accounts import member_account  # noqa: E402
from service.app import create_app  # noqa: E402
from service.cli.demo import seed_demo  # noqa: E402
from service.db import make_engine, make_session_factory, transaction  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import households_t, phones_t  # noqa: E402
from service.settings import Settings  # noqa: E402
from service.usecases import tokens  # noqa: E402
from service.usecases.roles import add_collector  # noqa: E402
from service.usecases.zones import zone_by_name  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PIN = "4821"
MATERIALS = ("PET", "SACHET", "ALU", "HDPE", "PAPER", "GLASS")
CHUNK = 10_000


def collector_phone(index: int) -> str:
    return f"+23480399{index:05d}"


def household_phone(index: int) -> str:
    return f"+2348{index + 100_000_000:09d}"


def setup(url: str, households: int, in_zone: int, collectors: int) -> float:
    started = time.perf_counter()
    recreate_database(url)
    upgrade(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        seed_demo(session, now=now)
        yaba, sabo = zone_by_name(session, "Yaba"), zone_by_name(session, "Sabo")
        assert yaba is not None and sabo is not None
        for index in range(collectors):
            found = add_collector(session, collector_phone(index), f"Bench Collector {index}", yaba.id, now)
            tokens.set_pin(session, found.id, PIN, now, by="bench")
        first = int(session.execute(select(func.max(households_t.c.id))).scalar() or 0) + 1
    for start in range(0, households, CHUNK):
        with transaction(sessions) as session:
            ids = range(first + start, first + min(start + CHUNK, households))
            session.execute(
                phones_t.insert(),
                [
                    {"number": household_phone(i), "language": "EN", "created_at": now, "updated_at": now}
                    for i in ids
                ],
            )
            session.execute(
                households_t.insert(),
                [
                    {
                        "id": i,
                        "member_code": sms.member_code(i),
                        "phone": household_phone(i),
                        "name": f"Household {i}",
                        "address": f"{i} Bench Street",
                        "joined_via": "bench",
                        "created_at": now,
                        "zone_id": yaba.id if i - first < in_zone else sabo.id,
                        "status": "active",
                    }
                    for i in ids
                ],
            )
            ledger.open_accounts(
                session, [(member_account(sms.member_code(i)), "member", True) for i in ids], now=now
            )
    advance_sequence(engine, url)
    engine.dispose()
    tidy(url)
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[math.ceil(len(ordered) * 0.95) - 1] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


class Collector:
    """One collector's app: a signed-in client, its #seq counter and its zone's member codes."""

    def __init__(self, app: Flask, phone: str) -> None:
        self.client: FlaskClient = app.test_client()
        started = time.perf_counter()
        answer = self.client.post("/api/v1/auth/token", json={"phone": phone, "pin": PIN, "label": "bench"})
        self.sign_in_seconds = time.perf_counter() - started
        assert answer.status_code == 201, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json['token']}"}  # type: ignore[index]
        self.seq = int(answer.json["me"]["seq_base"])  # type: ignore[index]
        self.codes: list[str] = []

    def get(self, path: str) -> Any:
        answer = self.client.get(path, headers=self.headers)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        return answer

    def download(self) -> dict[str, Any]:
        started = time.perf_counter()
        pages = raw = zipped = 0
        after: str | None = None
        while True:
            answer = self.get("/api/v1/households?limit=500" + (f"&after={after}" if after else ""))
            body = answer.get_data()
            pages, raw, zipped = pages + 1, raw + len(body), zipped + len(gzip.compress(body, 6))
            self.codes += [entry["code"] for entry in answer.json["households"]]
            after = answer.json["next"]
            if after is None:
                break
        return {
            "seconds": round(time.perf_counter() - started, 3),
            "households": len(self.codes),
            "pages": pages,
            "bytes": raw,
            "gzip_bytes": zipped,
        }

    def batch(self, rng: random.Random, size: int, refused: int = 0) -> list[dict[str, Any]]:
        operations = []
        for index in range(size):
            self.seq += 1
            materials = rng.sample(MATERIALS, rng.randint(1, 3))
            # A refusal: a phone that is nobody's (a member code might be someone's).
            household = {"phone": "+2348000000000"} if index < refused else {"code": rng.choice(self.codes)}
            operations.append(
                {
                    "type": "pickup",
                    "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "seq": self.seq,
                    "occurred_at": (datetime.now(UTC) - timedelta(minutes=rng.randint(1, 600))).isoformat(),
                    "household": household,
                    # From 500 g: less of GLASS (2 pts/kg) would be worth 0 points and refused.
                    "lines": [{"material": m, "grams": rng.randint(500, 20_000)} for m in materials],
                }
            )
        return operations

    def sync(self, operations: list[dict[str, Any]]) -> tuple[float, dict[str, int]]:
        started = time.perf_counter()
        answer = self.client.post("/api/v1/sync", json={"operations": operations}, headers=self.headers)
        seconds = time.perf_counter() - started
        assert answer.status_code == 200, answer.text[:300]
        counts: dict[str, int] = {}
        for result in answer.json["results"]:  # type: ignore[index]
            counts[result["status"]] = counts.get(result["status"], 0) + 1
        return seconds, counts


def time_reads(collector: Collector, path: str, repeat: int) -> dict[str, float]:
    collector.get(path)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        collector.get(path)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def time_syncs(collector: Collector, batches: list[list[dict[str, Any]]], expect: str) -> dict[str, Any]:
    samples, totals = [], {}
    for operations in batches:
        seconds, counts = collector.sync(operations)
        samples.append(seconds)
        for status, count in counts.items():
            totals[status] = totals.get(status, 0) + count
    assert expect in totals, totals
    return {**percentiles(samples), "results": totals}


def concurrent(app: Flask, phones: list[str], batches: int, size: int, codes: list[str]) -> dict[str, Any]:
    collectors = [Collector(app, phone) for phone in phones]
    plans = []
    for index, collector in enumerate(collectors):
        collector.codes = codes
        rng = random.Random(f"concurrent:{index}")
        plans.append([collector.batch(rng, size) for _ in range(batches)])
    barrier = threading.Barrier(len(collectors) + 1)
    samples: list[float] = []
    created = [0]
    lock = threading.Lock()

    def run(collector: Collector, plan: list[list[dict[str, Any]]]) -> None:
        barrier.wait()
        for operations in plan:
            seconds, counts = collector.sync(operations)
            with lock:
                samples.append(seconds)
                created[0] += counts.get("created", 0)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(collectors, plans, strict=True)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {
        "collectors": len(collectors),
        "pickups": created[0],
        "seconds": round(seconds, 2),
        "pickups_per_second": round(created[0] / seconds, 1),
        "batch": percentiles(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/kolekt_bench_api"
    )
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--zone-households", type=int, default=5_000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--collectors", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/4", help="queues and rate limits")
    args = parser.parse_args()
    url = args.database_url
    store = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(f"setting up {args.households:,} households ({args.zone_households:,} in the zone) on {store} ...")
    setup_seconds = setup(url, args.households, args.zone_households, args.collectors + 1)
    print(f"  set up in {setup_seconds:.0f} s")
    instance = Path(tempfile.mkdtemp(prefix="kolekt-bench-api-"))
    settings = Settings(
        database_url=url,
        redis_url=args.redis_url,
        secret_key="bench",  # noqa: S106 - a benchmark's throwaway app
        instance_dir=instance,
        quiet_hours="",
        sms_rate_per_second=0,
    )
    app = create_app(settings)
    # The rate limits are the product's: one collector's 20 batches stay within them, and the
    # concurrent phase is 8 collectors, each with their own token.
    figures: dict[str, Any] = {"store": store, "households": args.households, "zone": args.zone_households}
    first = Collector(app, collector_phone(0))
    signing = [Collector(app, collector_phone(0)).sign_in_seconds for _ in range(5)]
    figures["sign_in"] = percentiles(signing)
    figures["download"] = first.download()
    print("download", figures["download"])
    figures["materials"] = time_reads(first, "/api/v1/materials", args.repeat)
    rng = random.Random("bench")
    new = [first.batch(rng, args.batch_size) for _ in range(args.batches)]
    figures["sync_new"] = time_syncs(first, new, "created")
    print("sync new", figures["sync_new"])
    figures["sync_again"] = time_syncs(first, new, "duplicate")
    print("sync again", figures["sync_again"])
    refusing = [first.batch(rng, args.batch_size, refused=10) for _ in range(max(1, args.batches // 4))]
    figures["sync_with_refusals"] = time_syncs(first, refusing, "refused")
    figures["pickups_page"] = time_reads(first, "/api/v1/pickups?limit=50", args.repeat)
    figures["totals"] = time_reads(first, "/api/v1/totals", args.repeat)
    figures["search_name"] = time_reads(first, "/api/v1/households?q=Household%204", args.repeat)
    figures["search_code"] = time_reads(first, f"/api/v1/households?q={first.codes[-1]}", args.repeat)
    phones = [collector_phone(index) for index in range(1, args.collectors + 1)]
    figures["concurrent"] = concurrent(app, phones, max(1, args.batches // 4), args.batch_size, first.codes)
    print("concurrent", figures["concurrent"])
    figures["load_average"] = os.getloadavg()
    app.extensions["kolekt.runtime"].close()
    print(json.dumps(figures, indent=2))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "api.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    saved[store] = {**figures, "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    path.write_text(json.dumps(saved, indent=2) + "\n")


if __name__ == "__main__":
    main()
