"""Webhook benchmark: signed Twilio inbound texts at gunicorn, on PostgreSQL + Redis.

    .venv/bin/python bench/webhook.py
    .venv/bin/python bench/webhook.py --messages 4000 --clients 32 --web-workers 6

Starts gunicorn (sync workers) on a new PostgreSQL database with ``SMS_GATEWAY=twilio``, so
every request is checked against its X-Twilio-Signature exactly as in production. Clients (one
asyncio process, requests signed beforehand so the client spends little CPU) post texts with
distinct MessageSids over N concurrent connections:
- JOIN: each from a new number (a household registered, its ledger account opened, a welcome
  written to the outbox and enqueued on Redis);
- BAL: from the numbers that joined, each with a few points in the ledger (balance, last
  movement, a reply written and enqueued).
Each request is the whole path: signature, raw message stored, parsed, handled, reply written,
committed, send job enqueued. Prints messages/s and p50/p99 latency per phase; the goal on the
2-core machine is >= 300 messages/s with p99 < 100 ms for each. No RQ worker runs during the
phases (the jobs wait in Redis); the send jobs' own rate is measured after, on the console
gateway, by a burst of RQ workers. Figures also go to bench/results/webhook.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

import ledger  # noqa: E402
from bench.ledger import recreate_database  # noqa: E402
from ledger import TransferRequest  # noqa: E402
from service.accounts import ISSUANCE, member_account, open_programme_accounts  # noqa: E402
from service.db import make_engine, make_session_factory, transaction  # noqa: E402
from service.migrate import upgrade  # noqa: E402
from service.models import Household  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TOKEN = "bench-auth-token"
ACCOUNT_SID = "AC" + "b" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def phone(index: int) -> str:
    return f"+23480{30000000 + index:08d}"


def signed_requests(base: str, texts: list[tuple[str, str]], prefix: str) -> list[bytes]:
    """Raw HTTP/1.1 requests, each a distinct MessageSid, signed as Twilio signs them."""
    validator = RequestValidator(TOKEN)
    url = f"{base}/sms/twilio/inbound"
    host = base.split("://", 1)[1]
    out = []
    for number, (sender, body) in enumerate(texts):
        form = {
            "MessageSid": f"SM{prefix}{number:030d}"[:34],
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        payload = urlencode(form).encode()
        signature = validator.compute_signature(url, form)
        head = (
            f"POST /sms/twilio/inbound HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(payload)}\r\n"
            f"X-Twilio-Signature: {signature}\r\nConnection: close\r\n\r\n"
        )
        out.append(head.encode() + payload)
    return out


async def _one(host: str, port: int, request: bytes) -> tuple[float, int]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(request)
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    status = int(response.split(b" ", 2)[1]) if response else 0
    return time.perf_counter() - started, status


async def _load(
    host: str, port: int, requests: list[bytes], clients: int
) -> tuple[float, list[float], dict[int, int]]:
    pending = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def client() -> None:
        while pending:
            seconds, status = await _one(host, port, pending.pop())
            latencies.append(seconds)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, latencies, statuses


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_phase(name: str, host: str, port: int, requests: list[bytes], clients: int) -> dict[str, Any]:
    elapsed, latencies, statuses = asyncio.run(_load(host, port, requests, clients))
    result = {
        "phase": name,
        "messages": len(requests),
        "clients": clients,
        "messages_per_s": round(len(requests) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "statuses": statuses,
    }
    print(
        f"{name:5} {result['messages']:6d} msgs  {clients:3d} clients  {result['messages_per_s']:8.1f} msg/s"
        f"  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:7.2f} ms  statuses {statuses}",
        flush=True,
    )
    return result


def credit_members(url: str, count: int) -> None:
    """A few points for each household that joined, so BAL has a balance and a last movement."""
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        open_programme_accounts(session)
        codes = [code for (code,) in session.query(Household.member_code).order_by(Household.id).limit(count)]
        ledger.post_linked(
            session,
            [
                TransferRequest(ISSUANCE, member_account(code), 40 + i % 60, "pickup_credit", f"bench:{code}")
                for i, code in enumerate(codes)
                if code
            ],
        )
        ledger.seal_all(session)
    engine.dispose()


def wait_until_up(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def drain(env: dict[str, str], redis: Redis, workers: int) -> dict[str, Any]:
    """How fast RQ workers send what the phases enqueued (console gateway: no network)."""
    queued = redis.llen("rq:queue:high")
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "--no-cron"],
            cwd=ROOT,
            env={**env, "SMS_GATEWAY": "console"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.wait()
    seconds = time.perf_counter() - started
    result = {"jobs": queued, "workers": workers, "jobs_per_s": round(queued / seconds, 1)}
    print(
        f"send jobs: {queued} in {seconds:.1f}s with {workers} RQ workers = {result['jobs_per_s']}/s",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/kolekt_bench_webhook"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--web-workers", type=int, default=5)
    parser.add_argument("--drain-workers", type=int, default=2)
    args = parser.parse_args()

    recreate_database(args.database_url)
    upgrade(args.database_url)
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench",
        "SMS_GATEWAY": "twilio",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "PUBLIC_BASE_URL": base,
    }
    web = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.web_workers),
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    results: dict[str, Any] = {"web_workers": args.web_workers, "phases": []}
    try:
        wait_until_up(port)
        # warm every gunicorn worker (imports, pools) with a few texts that are not counted
        warm = signed_requests(base, [(phone(900000 + i), "HELP") for i in range(50)], "W")
        run_phase("warm", "127.0.0.1", port, warm, 10)
        joined = 0
        for round_number, clients in enumerate(args.clients):
            senders = [phone(joined + i) for i in range(args.messages)]
            joins = signed_requests(
                base,
                [(s, f"JOIN Bench Member {i}, 5 Test St") for i, s in enumerate(senders)],
                f"J{round_number}",
            )
            results["phases"].append(run_phase("JOIN", "127.0.0.1", port, joins, clients))
            joined += args.messages
        credit_members(args.database_url, joined)
        for round_number, clients in enumerate(args.clients):
            bals = signed_requests(
                base, [(phone(i % joined), "BAL") for i in range(args.messages)], f"B{round_number}"
            )
            results["phases"].append(run_phase("BAL", "127.0.0.1", port, bals, clients))
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(30)
    results["drain"] = drain(env, redis, args.drain_workers)
    redis.flushdb()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "webhook.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
