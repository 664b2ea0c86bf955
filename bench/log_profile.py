"""A profile of one LOG: the statements a signed LOG webhook sends (count and time), the Redis
commands, the Python CPU per text, and where that CPU goes.

    .venv/bin/python bench/log_profile.py
    .venv/bin/python bench/log_profile.py --texts 500 --phase JOIN
    .venv/bin/python bench/log_profile.py --database-url sqlite:////tmp/kolekt_bench_profile.db

In one process, no gunicorn: the app made by ``create_app`` (``SMS_GATEWAY=twilio``, so every
request's X-Twilio-Signature is checked) served through Werkzeug's test client, on the stores of
bench/webhook.py's set-up (bench/webhook_seed.py: the demo, 20 collectors each in a zone of its own,
households with points). --texts texts of the phase are posted one after another, after 50 HELP
texts that warm the caches, and measured three ways, each in its own pass so none skews another:
1. statements: every statement the database is sent (SQLAlchemy's cursor events), grouped by its
   SQL, with the count a text and the wall time in the database driver;
2. CPU: the process's CPU a text (``time.process_time``), alone;
3. where it goes: cProfile, the functions with the most time of their own, and that time summed
   by package (Kolekt's own, SQLAlchemy, psycopg, Flask and Werkzeug, ...).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from redis import Redis  # noqa: E402
from sqlalchemy import event  # noqa: E402

from bench.webhook import ACCOUNT_SID, PUBLIC, TOKEN, app_environment, texts_of  # noqa: E402
from bench.webhook_seed import seed, warm_phone  # noqa: E402

PACKAGES = (
    ("kolekt: service", f"{ROOT}/service/"),
    ("kolekt: ledger", f"{ROOT}/ledger/"),
    ("kolekt: sms", f"{ROOT}/sms/"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("psycopg", "/psycopg"),
    ("flask, werkzeug, jinja2", "/flask/"),
    ("flask, werkzeug, jinja2", "/werkzeug/"),
    ("flask, werkzeug, jinja2", "/jinja2/"),
    ("redis, rq", "/redis/"),
    ("redis, rq", "/rq/"),
    ("twilio", "/twilio/"),
    ("phonenumbers", "/phonenumbers/"),
    ("babel", "/babel/"),
)


def package_of(filename: str) -> str:
    for name, marker in PACKAGES:
        if marker in filename:
            return name
    if filename.startswith("~") or "/python3." in filename:
        return "python (standard library, builtins)"
    return "other"


def shape(statement: str) -> str:
    """A statement's SQL with its parameters' names and lists folded, short enough for a table."""
    text = re.sub(r"\s+", " ", statement).strip()
    text = re.sub(r"%\(\w+\)s|\$\d+|\?|:\w+", "?", text)
    text = re.sub(r"(\?, )+\?", "?…", text)
    text = re.sub(r"\(\?…\)(, \(\?…\))+", "(?…)…", text)
    return text[:110]


class Statements:
    """Every statement an engine is sent, with the time from cursor execute to its return."""

    def __init__(self, engine: Any) -> None:
        self.counts: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.on = False
        self.trace: list[str] | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.on:
            key = shape(statement)
            if self.trace is not None:
                self.trace.append(re.sub(r"\s+", " ", statement)[:300])
            self.counts[key] += 1
            self.seconds[key] += time.perf_counter() - conn.info.pop("bench_started")


def commands_done(redis: Redis) -> Counter[str]:
    info = redis.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(stats["calls"]) for name, stats in info.items()})


def post_all(client: Any, forms: list[dict[str, str]], signatures: list[str]) -> None:
    for form, signature in zip(forms, signatures, strict=True):
        response = client.post("/sms/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature})
        if response.status_code != 200:
            raise SystemExit(f"{form['Body']!r}: {response.status_code} {response.get_data(as_text=True)}")


def signed(texts: list[tuple[str, str]], prefix: str) -> tuple[list[dict[str, str]], list[str]]:
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    url = f"{PUBLIC}/sms/twilio/inbound"
    forms = [
        {
            "MessageSid": f"SM{prefix}{n:0{32 - len(prefix)}d}",
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": "+15005550006",
            "Body": body,
            "NumMedia": "0",
        }
        for n, (sender, body) in enumerate(texts)
    ]
    return forms, [validator.compute_signature(url, form) for form in forms]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    default_db = "postgresql+psycopg://postgres@127.0.0.1:5432/kolekt_bench_profile"
    parser.add_argument("--database-url", default=default_db, help="dropped and made again")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/8", help="flushed")
    parser.add_argument("--phase", default="LOG", choices=("JOIN", "NEW", "LOG", "BAL", "REDEEM"))
    parser.add_argument("--texts", type=int, default=300, help="a pass (three passes)")
    parser.add_argument("--trace", action="store_true", help="print one text's statements in order")
    parser.add_argument("--top", type=int, default=25, help="functions shown")
    args = parser.parse_args()
    url = args.database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if "bench" not in url:
        raise SystemExit("the database is dropped and made again: name a bench one")
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    seeded = seed(url, 1000, 20, 100_000)
    os.environ |= app_environment(url, args.redis_url)
    from service.app import create_app
    from service.web.base import kolekt_runtime

    app = create_app()
    with app.app_context():
        engine = kolekt_runtime().engine
    client = app.test_client()
    statements = Statements(engine)
    post_all(client, *signed([(warm_phone(i), "HELP") for i in range(50)], "WARM"))
    n = args.texts
    passes = [signed(texts_of(args.phase, seeded, n, k * n), f"P{k}") for k in range(3)]

    if args.trace:
        statements.on, statements.trace = True, []
        post_all(client, *signed(texts_of(args.phase, seeded, 1, 3 * n), "TRACE"))
        statements.on = False
        print(
            f"one {args.phase}'s statements, in order (driver-level ones such as the ledger's are not seen):"
        )
        for number, statement in enumerate(statements.trace, 1):
            print(f"  {number:2d}. {statement}")
        statements.counts.clear()
        statements.seconds.clear()
        statements.trace = None

    statements.on = True
    redis_before = commands_done(redis)
    started = time.perf_counter()
    post_all(client, *passes[0])
    wall = time.perf_counter() - started
    statements.on = False
    redis_calls = commands_done(redis) - redis_before
    redis_calls.pop("info", None)

    cpu_started = time.process_time()
    wall_started = time.perf_counter()
    post_all(client, *passes[1])
    cpu = time.process_time() - cpu_started
    wall_alone = time.perf_counter() - wall_started

    profile = cProfile.Profile(time.process_time)
    profile.enable()
    post_all(client, *passes[2])
    profile.disable()

    print(f"{args.phase} profile: {n} texts a pass, one after another, {engine.dialect.name}, in one process")
    print(f"\n1. statements a text (pass 1, {wall * 1000 / n:.2f} ms wall a text):")
    total_count = sum(statements.counts.values()) / n
    total_ms = sum(statements.seconds.values()) * 1000 / n
    print(f"  {'a text':>7} {'ms':>6}  statement")
    for key, count in sorted(statements.counts.items(), key=lambda item: -item[1]):
        print(f"  {count / n:7.2f} {statements.seconds[key] * 1000 / n:6.3f}  {key}")
    print(f"  {total_count:7.2f} {total_ms:6.3f}  in all (the driver's round trips, wall time)")
    redis_text = ", ".join(f"{name} {calls / n:.2f}" for name, calls in redis_calls.most_common())
    print(f"  Redis commands a text: {sum(redis_calls.values()) / n:.2f} ({redis_text})")
    wall_ms = wall_alone * 1000 / n
    print(f"\n2. CPU of this process a text (pass 2): {cpu * 1000 / n:.2f} ms ({wall_ms:.2f} ms wall)")

    stats = pstats.Stats(profile)
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: defaultdict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, own, _, _) in entries.items():
        by_package[package_of(filename)] += own
    profiled = sum(by_package.values())
    print(
        f"\n3. where the CPU goes (pass 3, cProfile; {profiled * 1000 / n:.2f} ms a text under the profiler):"
    )
    for name, own in sorted(by_package.items(), key=lambda item: -item[1]):
        print(f"  {own / profiled:6.1%}  {name}")
    print(f"\n  the {args.top} functions with the most time of their own (ms a text, calls a text):")
    ranked = sorted(entries.items(), key=lambda item: -item[1][2])[: args.top]
    for (filename, line, function), (_, calls, own, cumulative, _) in ranked:
        where = filename.replace(str(ROOT) + "/", "").split("site-packages/")[-1]
        own_ms, cumulative_ms = own * 1000 / n, cumulative * 1000 / n
        print(f"  {own_ms:6.3f} {cumulative_ms:7.3f} {calls / n:7.1f}  {where}:{line} {function}")
    print("  (columns: own ms, cumulative ms, calls)")
    redis.flushdb()
    engine.dispose()


if __name__ == "__main__":
    main()
