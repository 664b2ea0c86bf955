"""Webhook benchmark: signed Twilio inbound texts at gunicorn, on PostgreSQL + Redis, beside a floor
measured in the same run.

    .venv/bin/python bench/webhook.py
    .venv/bin/python bench/webhook.py --messages 200 --clients 4           # a small run
    .venv/bin/python bench/webhook.py --messages 4000 --logs 6000 --clients 16 32 --web-workers 6
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/kolekt_bench_webhook \\
        REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/webhook.py

Stores: --database-url (else DATABASE_URL, else kolekt_bench_webhook on 127.0.0.1:5432), dropped and
made again, so its name must say "bench"; --redis-url (else REDIS_URL, else db 7), flushed, so not
db 0. Set-up (not timed, bench/webhook_seed.py): the demo, --collectors collectors each in a zone of
its own, --households households spread over those zones with --points points each.

Served by gunicorn (--web-workers sync workers) with ``SMS_GATEWAY=twilio``, so every request is
checked against its X-Twilio-Signature exactly as in production. Clients (one asyncio process,
requests signed beforehand, a new connection each) post texts with distinct MessageSids over N
concurrent connections, one phase after another:
- JOIN: from a new number each (a household registered, its ledger account opened, a welcome);
- NEW: ``NEW <new phone> <name>`` by a collector, in turn (a household registered in its zone,
  the collector's answer and the household's welcome);
- LOG: ``LOG <household phone> PET 2.5 ALU 0.4 #n`` by a collector, in turn, of a household of
  its zone, each collector's #n counting up so none is a repeat (a pickup priced, the household
  and the collector credited, the collector's answer and the household's receipt);
- BAL: from households with points (balance and last movement, a reply);
- REDEEM: ``REDEEM AIRTIME 100`` from households with points (points taken, a fulfilment job).
Each request is the whole path: signature, raw text stored and committed, parsed, handled, replies
written, committed, jobs enqueued. No RQ worker runs during the phases (the jobs wait in Redis).

The floor (bench/webhook_floor.py: the same signature check, one INSERT, one LPUSH, the same empty
TwiML) is served by the same gunicorn settings on the same stores and sent the same kind of
requests (the LOG phase's texts, --messages of them) before and after each load's phases. Every
phase is printed with texts/s, p50 and p99 and its ratio to the floor's (texts/s as a fraction of
the floor's, p50 and p99 as multiples of them), then issue 22's goals: LOG at least 0.5 of the
floor's texts/s with p99 under 150 ms at 16 clients, JOIN and BAL at least 0.6. The database is
then checked (a stored and processed text per request, the households, pickups and redemptions).

Last, the send drain: with ``SMS_RATE_PER_SECOND=0`` (no limit) and the console gateway,
--drain-workers RQ workers in burst mode send every reply the phases enqueued; the fulfilment jobs
are set aside first, so this is the send worker's own rate, timed from its first job taken to the
last worker's exit. Figures also go to bench/results/webhook.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.ledger import tidy  # noqa: E402
from bench.servers import serve, stop  # noqa: E402
from bench.webhook_cpu import Meter, cpu_seconds  # noqa: E402
from bench.webhook_seed import (  # noqa: E402
    Seeded,
    compare,
    counts,
    join_phone,
    new_phone,
    seed,
    warm_phone,
)

RESULTS = ROOT / "bench" / "results"
TOKEN = "bench-auth-token"
ACCOUNT_SID = "AC" + "b" * 32
# The URL both servers check signatures against (PUBLIC_BASE_URL), so one signing serves either.
PUBLIC = "https://bench.kolekt.example"
PHASES = ("JOIN", "NEW", "LOG", "BAL", "REDEEM")
GOALS = {"LOG": 0.5, "JOIN": 0.6, "BAL": 0.6}  # issue 22: fraction of the floor's texts/s
GOAL_LOG_P99_MS = 150.0


def signed_requests(texts: list[tuple[str, str]], prefix: str) -> list[bytes]:
    """Raw HTTP/1.1 requests, each a distinct MessageSid, signed as Twilio signs them."""
    validator = RequestValidator(TOKEN)
    url = f"{PUBLIC}/sms/twilio/inbound"
    out = []
    for number, (sender, body) in enumerate(texts):
        form = {
            "MessageSid": f"SM{prefix}{number:0{32 - len(prefix)}d}",
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        payload = urlencode(form).encode()
        signature = validator.compute_signature(url, form)
        head = (
            "POST /sms/twilio/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(payload)}\r\n"
            f"X-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
        )
        out.append(head.encode() + payload)
    return out


# --- what each phase texts ----------------------------------------------------------------------


def texts_of(phase: str, seeded: Seeded, count: int, start: int) -> list[tuple[str, str]]:
    """``count`` (sender, body) of ``phase``; ``start`` keeps a later load's texts apart from the
    earlier ones' (new numbers, #n, households)."""
    homes, collectors = seeded.households, seeded.collectors
    per_zone = len(homes) // len(collectors)
    out = []
    for g in range(start, start + count):
        c = g % len(collectors)
        if phase == "JOIN":
            out.append((join_phone(g), f"JOIN Bench Member {g}, 5 Test St"))
        elif phase == "NEW":
            out.append((collectors[c], f"NEW {new_phone(g)} Bench New {g}"))
        elif phase == "LOG":
            home = homes[c + len(collectors) * ((g // len(collectors)) % per_zone)]
            out.append((collectors[c], f"LOG {home} PET 2.5 ALU 0.4 #{g // len(collectors) + 1}"))
        elif phase == "BAL":
            out.append((homes[g % len(homes)], "BAL"))
        else:
            out.append((homes[(g * 7 + 3) % len(homes)], "REDEEM AIRTIME 100"))
    return out


# --- clients -------------------------------------------------------------------------------------


async def _one(port: int, request: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    status = int(response.split(b" ", 2)[1]) if response else 0
    return time.perf_counter() - started, status


async def _load(port: int, requests: list[bytes], clients: int) -> tuple[float, list[float], dict[int, int]]:
    pending = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client() -> None:
        while pending:
            seconds, status = await _one(port, pending.pop())
            latencies.append(seconds)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, statuses


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def figures(
    name: str, clients: int, elapsed: float, latencies: list[float], statuses: dict[int, int]
) -> dict[str, Any]:
    return {
        "phase": name,
        "messages": len(latencies),
        "clients": clients,
        "seconds": round(elapsed, 2),
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "statuses": statuses,
    }


def run_phase(
    name: str, server: subprocess.Popen[bytes], port: int, requests: list[bytes], clients: int, meter: Meter
) -> tuple[dict[str, Any], list[float]]:
    """One phase's requests at ``server``, with the CPU each kind of process spent on it."""
    before = meter.read(server.pid)
    elapsed, latencies, statuses = asyncio.run(_load(port, requests, clients))
    result = figures(name, clients, elapsed, latencies, statuses)
    result["cpu_ms_per_text"] = meter.per_text(before, meter.read(server.pid), len(requests))
    return result, latencies


# --- the drain -----------------------------------------------------------------------------------


def drain(env: dict[str, str], redis: Redis, workers: int, sent: Callable[[], int]) -> dict[str, Any]:
    """How fast RQ workers send what the phases enqueued, with no rate limit (console gateway)."""
    jobs = [job for job in redis.lrange("rq:queue:high", 0, -1) if isinstance(job, bytes)]
    sends = [job for job in jobs if job.startswith(b"send-")]
    aside = [job for job in jobs if not job.startswith(b"send-")]
    with redis.pipeline() as pipe:  # only the send jobs stay on the queue, in their order
        pipe.delete("rq:queue:high")
        if sends:
            pipe.rpush("rq:queue:high", *sends)
        if aside:
            pipe.rpush("bench:set-aside", *aside)
        pipe.execute()
    sent_before = sent()
    worker_env = {**env, "SMS_GATEWAY": "console", "SMS_RATE_PER_SECOND": "0"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "--no-cron"]
    launched = time.perf_counter()
    procs = [
        subprocess.Popen(
            command, cwd=ROOT, env=worker_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(workers)
    ]
    # Timed from the first job taken: the workers' imports are not their sending rate. (No
    # poll() here: it would reap a worker before wait4 reads what it spent.)
    deadline = time.monotonic() + 120
    while sends and redis.llen("rq:queue:high") >= len(sends) and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.perf_counter()
    start_up_cpu = sum(cpu_seconds(proc.pid) for proc in procs)
    cpu = 0.0
    for proc in procs:
        _, _, usage = os.wait4(proc.pid, 0)
        cpu += usage.ru_utime + usage.ru_stime
        proc.returncode = 0
    seconds = time.perf_counter() - started
    texts = sent() - sent_before
    result = {
        "jobs": len(sends),
        "texts_sent": texts,
        "set_aside": len(aside),
        "workers": workers,
        "rate_limit": "off (SMS_RATE_PER_SECOND=0)",
        "seconds": round(seconds, 2),
        "start_up_s": round(started - launched, 2),
        "jobs_per_s": round(len(sends) / seconds, 1),
        "per_worker_per_s": round(len(sends) / seconds / workers, 1),
        "worker_cpu_ms_per_job": round((cpu - start_up_cpu) * 1000 / max(1, len(sends)), 2),
    }
    print(
        f"\nsend drain, no rate limit: {len(sends)} send jobs ({texts} texts sent) in {seconds:.1f} s by"
        f" {workers} RQ workers = {result['jobs_per_s']}/s, {result['per_worker_per_s']}/s a worker,"
        f" {result['worker_cpu_ms_per_job']} ms of a worker's CPU a job (start-up {result['start_up_s']} s"
        f" not counted; {len(aside)} fulfilment jobs set aside)",
        flush=True,
    )
    return result


# --- the run -------------------------------------------------------------------------------------


def ratios(phase: dict[str, Any], floor: dict[str, Any]) -> dict[str, float]:
    return {
        "texts_per_s": round(phase["messages_per_s"] / floor["messages_per_s"], 3),
        "p50": round(phase["p50_ms"] / floor["p50_ms"], 2),
        "p99": round(phase["p99_ms"] / floor["p99_ms"], 2),
    }


def report(clients: int, floor: dict[str, Any], rates: list[float], phases: list[dict[str, Any]]) -> None:
    print(f"\n{clients} clients. floor (signature, one INSERT, one LPUSH; same gunicorn, same requests):")
    print(f"  {floor['messages_per_s']:.1f} texts/s (before {rates[0]:.1f}, after {rates[1]:.1f}),", end=" ")
    print(f"p50 {floor['p50_ms']:.1f} ms, p99 {floor['p99_ms']:.1f} ms, statuses {floor['statuses']}")
    print(f"  {'phase':7} {'texts':>6} {'texts/s':>8} {'x floor':>8} {'p50 ms':>8} {'x floor':>8}", end="")
    print(f" {'p99 ms':>8} {'x floor':>8}  statuses")
    for phase in phases:
        x = phase["x_floor"]
        print(f"  {phase['phase']:7} {phase['messages']:6d} {phase['messages_per_s']:8.1f}", end=" ")
        print(
            f"{x['texts_per_s']:8.3f} {phase['p50_ms']:8.1f} {x['p50']:7.1f}x {phase['p99_ms']:8.1f}", end=" "
        )
        print(f"{x['p99']:7.1f}x  {phase['statuses']}")
    print(f"  CPU ms a text: {'web workers':>11} {'postgres':>9} {'redis':>6} {'client':>7} {'total':>7}")
    for phase in [floor, *phases]:
        cpu = phase["cpu_ms_per_text"]
        print(f"  {phase['phase']:13} {cpu['web']:11.2f} {cpu['db']:9.2f} {cpu['redis']:6.2f}", end=" ")
        print(f"{cpu['client']:7.2f} {cpu['total']:7.2f}")
    shown = {phase["phase"]: phase for phase in phases}
    said = []
    for name, goal in GOALS.items():
        if name in shown:
            met = shown[name]["x_floor"]["texts_per_s"] >= goal
            said.append(f"{name} >= {goal} of the floor: {'met' if met else 'NOT MET'}")
    if "LOG" in shown:
        met = shown["LOG"]["p99_ms"] < GOAL_LOG_P99_MS
        said.append(f"LOG p99 < {GOAL_LOG_P99_MS:.0f} ms: {'met' if met else 'NOT MET'}")
    print("  goals (issue 22, stated at 16 clients): " + "; ".join(said), flush=True)


def measure_load(
    load: int,
    clients: int,
    seeded: Seeded,
    sizes: dict[str, int],
    args: argparse.Namespace,
    servers: list[tuple[subprocess.Popen[bytes], int]],
    meter: Meter,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The floor, each phase in turn on the app, the floor again; the floor's figures are both
    runs together, each phase's ratios are to them."""
    floor_server, app_server = servers
    bodies = texts_of("LOG", seeded, args.messages, 0)
    first, first_latencies = run_phase(
        "floor", *floor_server, signed_requests(bodies, f"F{load}A"), clients, meter
    )
    phases = []
    for name in args.phases:
        requests = signed_requests(texts_of(name, seeded, sizes[name], load * sizes[name]), f"{name}{load}")
        phases.append(run_phase(name, *app_server, requests, clients, meter)[0])
    then, then_latencies = run_phase(
        "floor", *floor_server, signed_requests(bodies, f"F{load}B"), clients, meter
    )
    statuses = {s: first["statuses"].get(s, 0) + then["statuses"].get(s, 0) for s in first["statuses"]}
    statuses |= {s: n for s, n in then["statuses"].items() if s not in statuses}
    seconds = first["seconds"] + then["seconds"]
    floor = figures("floor", clients, seconds, first_latencies + then_latencies, statuses)
    floor["before_per_s"], floor["after_per_s"] = first["messages_per_s"], then["messages_per_s"]
    cpu = first["cpu_ms_per_text"], then["cpu_ms_per_text"]
    floor["cpu_ms_per_text"] = {kind: round((cpu[0][kind] + cpu[1][kind]) / 2, 2) for kind in cpu[0]}
    for phase in phases:
        phase["x_floor"] = ratios(phase, floor)
    report(clients, floor, [first["messages_per_s"], then["messages_per_s"]], phases)
    return floor, phases


def app_environment(url: str, redis_url: str) -> dict[str, str]:
    """The app's settings in both benches' runs: Twilio's gateway (every request's signature
    checked), no send limit, no quiet hours, warnings only."""
    return {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "bench",
        "SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "PUBLIC_BASE_URL": PUBLIC,
        "SMS_RATE_PER_SECOND": "0",
        "QUIET_HOURS": "",  # a receipt is sent at once whatever the hour the bench runs
        "LOG_LEVEL": "WARNING",
    }


def stores(args: argparse.Namespace) -> tuple[str, Redis]:
    url = args.database_url
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    name = make_url(url).database or ""
    if not url.startswith("postgresql") or "bench" not in name:
        raise SystemExit(f"the database {name!r} is dropped and made again: name a PostgreSQL bench one")
    redis = Redis.from_url(args.redis_url)
    if int(redis.connection_pool.connection_kwargs.get("db", 0)) == 0:
        raise SystemExit("the Redis database is flushed: name one other than 0 (the tests' own)")
    return url, redis


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_db = "postgresql+psycopg://postgres@127.0.0.1:5432/kolekt_bench_webhook"
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or default_db)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/7")
    parser.add_argument(
        "--messages", type=int, default=3000, help="JOIN and BAL texts a load, and the floor's"
    )
    parser.add_argument("--logs", type=int, help="LOG texts a load (default: --messages)")
    parser.add_argument("--news", type=int, help="NEW texts a load (default: --messages)")
    parser.add_argument("--redeems", type=int, help="REDEEM texts a load (default: --messages)")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=list(PHASES), help="in this order")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 32], help="one load each")
    parser.add_argument("--collectors", type=int, default=20, help="each in a zone of its own")
    parser.add_argument("--households", type=int, default=1000, help="spread over the collectors' zones")
    parser.add_argument("--points", type=int, default=100_000, help="each household's, for REDEEM")
    parser.add_argument("--web-workers", type=int, default=5, help="gunicorn sync workers, each server")
    parser.add_argument("--drain-workers", type=int, default=2)
    args = parser.parse_args()
    sizes = {"JOIN": args.messages, "BAL": args.messages, "LOG": args.logs or args.messages}
    sizes |= {"NEW": args.news or args.messages, "REDEEM": args.redeems or args.messages}

    started = time.perf_counter()
    url, redis = stores(args)
    redis.flushdb()
    seeded = seed(url, args.households, args.collectors, args.points)
    print(f"kolekt webhook bench: {make_url(url).database} (made again), redis {args.redis_url} (flushed)")
    print(f"set up in {time.perf_counter() - started:.1f} s: the demo, {args.collectors} collectors", end=" ")
    print("each in a zone of its own,")
    print(f"  {args.households} households over those zones ({args.points:,} pts each)", flush=True)
    env = {**os.environ, **app_environment(url, args.redis_url)}
    results: dict[str, Any] = {"web_workers": args.web_workers, "collectors": args.collectors}
    results |= {"households": args.households, "phases": [], "floors": []}
    servers = []
    meter: Meter | None = None
    try:
        servers.append(serve("bench.webhook_floor:create_app()", env, args.web_workers))
        servers.append(serve("wsgi:app", env, args.web_workers))
        meter = Meter(url, int(redis.connection_pool.connection_kwargs.get("port", 6379)))
        print(f"gunicorn, {args.web_workers} sync workers each; texts a phase: ", end="")
        print(
            ", ".join(f"{name} {sizes[name]}" for name in args.phases) + f"; floor {args.messages}",
            flush=True,
        )
        # Warm every worker of both (imports, pools, caches) with texts that are not counted.
        warm = [(warm_phone(i), "HELP") for i in range(50)]
        run_phase("warm", *servers[1], signed_requests(warm, "WA"), 10, meter)
        run_phase("warm", *servers[0], signed_requests(warm, "WF"), 10, meter)
        before = counts(url)
        for load, clients in enumerate(args.clients):
            tidy(url)  # what autovacuum would have done between loads
            floor, phases = measure_load(load, clients, seeded, sizes, args, servers, meter)
            results["phases"] += phases
            results["floors"].append(floor)
        after = counts(url)
    finally:
        for server, _ in servers:
            stop(server)
        if meter is not None:
            meter.close()
    app_texts = {name: sizes[name] * len(args.clients) for name in args.phases}
    checks = compare(before, after, app_texts, 2 * args.messages * len(args.clients))
    right = "right" if checks["right"] else "WRONG"
    print(f"\nchecks: {checks['made']} (expected {checks['expected']}): {right}")
    print(f"replies written, by template: {checks['replies']}", flush=True)
    results["checks"] = checks
    results["drain"] = drain(env, redis, args.drain_workers, lambda: int(counts(url)["sent"]))
    redis.flushdb()
    averages = os.getloadavg()
    print(f"took {time.perf_counter() - started:.0f} s; load average {averages[0]:.2f}", flush=True)
    results |= {"load_average": averages, "measured_at": datetime.now(UTC).isoformat()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "webhook.json").write_text(json.dumps(results, indent=2) + "\n")
    if not checks["right"]:
        raise SystemExit("the phases did not write what they should have: see checks above")


if __name__ == "__main__":
    main()
