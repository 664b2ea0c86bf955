"""Reference benchmark: django-hordak's ``Account.transfer_to`` on PostgreSQL, under Kolekt's load pattern.

``bench/ledger.py`` runs this script as a subprocess and divides its own throughput by the figure printed
here, so the pattern is the same as ours:

- every transfer debits ONE shared issuance account and credits one of H household accounts (picked
  uniformly at random), for a small random whole amount (1 to 100 EUR);
- one transfer per database transaction (``transaction.atomic()`` around each call), so every transfer
  is its own commit;
- W worker processes, each with its own database connection, share a fixed total of N transfers;
- the clock runs from the moment all workers are released by a barrier until the last one reports back.
  Process start-up, Django set-up and connecting are done before the barrier and are not timed.

Hordak is used as it intends: households are children of a "Households" liability root account and the
issuance account is an expense root account (only roots carry a type; children inherit it through
hordak's trigger). ``transfer_to`` credits ``self`` and debits ``to_account``, so the call is
``household.transfer_to(issuance, Money(amount, "EUR"))``: the household's balance rises and the issuance
(expense) balance rises with it. Each transfer first loads the household account by primary key, as a
caller holding a household id must (our ledger likewise resolves account codes inside each posting); the
issuance account is loaded once per worker. Nothing in hordak is switched off: its deferred "legs sum to
zero" constraint trigger, the leg/account currency trigger, the check constraints and the foreign keys all
run on every transfer. Hordak keeps no stored balances and has no overdraft check, so it updates no row
of the shared issuance account: the only thing it takes on that row is the ``FOR KEY SHARE`` lock of the
foreign-key check, which does not block other transfers (it does make PostgreSQL build multixacts).

Set-up (unless ``--no-setup``) drops and recreates the database named in the URL, runs hordak's
migrations and creates the accounts. The 100 000 household rows are written with ``bulk_create`` with
their MPTT fields (``tree_id``, ``lft``, ``rght``, ``level``) computed here, exactly as django-mptt would
lay out a root with H children, instead of H tree-shifting ``save()`` calls; the tree is then checked.

Usage::

    python bench/hordak_ref.py --database-url postgresql://postgres@127.0.0.1:5432/kolekt_bench_hordak \\
        --workers 8 --transfers 4000 --households 100000 [--setup-only | --no-setup]

The last line on stdout is one JSON object: ``{"workers", "transfers", "seconds", "transfers_per_s",
"households", "hordak_version"}`` (with ``--setup-only``: ``{"setup_seconds", "households",
"hordak_version"}``). Logs go to stderr. The exit status is non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import queue
import random
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Barrier
from typing import Any
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("hordak_ref")

CURRENCY = "EUR"
ISSUANCE_NAME = "Issuance"
HOUSEHOLDS_NAME = "Households"
MIN_AMOUNT, MAX_AMOUNT = 1, 100
BULK_BATCH = 5_000
STARTUP_TIMEOUT_S = 300.0
PROTECTED_DATABASES = {"postgres", "template0", "template1"}


class BenchError(Exception):
    """A failure with a message meant for the person running the benchmark."""


@dataclass(frozen=True)
class Accounts:
    issuance_id: int
    household_ids: list[int]


def hordak_version() -> str:
    try:
        return version("django-hordak")
    except PackageNotFoundError as exc:
        raise BenchError("django-hordak is not installed: pip install -r bench/requirements.txt") from exc


def database_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise BenchError(f"expected a postgresql:// URL, not {url!r}")
    name = parts.path.lstrip("/")
    if not name or "/" in name:
        raise BenchError(f"the URL must name a database: {url!r}")
    return name


def configure_django(url: str) -> None:
    """Configure Django in this process (idempotent): hordak and its apps, one PostgreSQL database."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    import dj_database_url

    database = dj_database_url.parse(url, conn_max_age=None)
    settings.configure(
        DEBUG=False,  # with DEBUG on, Django would keep every query in memory
        SECRET_KEY="hordak-reference-benchmark",  # noqa: S106 - no secrets in play
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "mptt",
            "djmoney",
            "hordak",
        ],
        DATABASES={"default": database},
        USE_TZ=True,
        TIME_ZONE="UTC",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        DEFAULT_CURRENCY=CURRENCY,
        HORDAK_INTERNAL_CURRENCY=CURRENCY,
        LOGGING_CONFIG=None,
    )
    django.setup()


def recreate_database(url: str) -> None:
    """Drop and recreate the database named in ``url``, through the ``postgres`` maintenance database."""
    import psycopg
    from psycopg import sql

    name = database_name(url)
    if name in PROTECTED_DATABASES:
        raise BenchError(f"refusing to drop the {name!r} database; name a scratch database in the URL")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    try:
        with psycopg.connect(maintenance, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchError(f"cannot recreate database {name!r} via {maintenance}: {exc}") from exc


def create_accounts(households: int) -> None:
    """The issuance root account, a "Households" root and ``households`` leaf accounts under it."""
    from django.db import connection, transaction
    from hordak.models import Account, AccountType

    with transaction.atomic():
        # Two ordinary saves: django-mptt places each as a new root and hordak's triggers run as usual.
        Account.objects.create(name=ISSUANCE_NAME, type=AccountType.expense, currencies=[CURRENCY])
        root = Account.objects.create(name=HOUSEHOLDS_NAME, type=AccountType.liability, currencies=[CURRENCY])
        # What django-mptt would produce by appending each child in turn: child i spans (2i, 2i + 1) and
        # the root ends up spanning (1, 2H + 2). ``type`` is left blank for hordak's trigger to inherit.
        children = (
            Account(
                name=f"Household {i:06d}",
                parent_id=root.pk,
                currencies=[CURRENCY],
                tree_id=root.tree_id,
                level=1,
                lft=2 * i,
                rght=2 * i + 1,
            )
            for i in range(1, households + 1)
        )
        while batch := [account for _, account in zip(range(BULK_BATCH), children, strict=False)]:
            Account.objects.bulk_create(batch)
        Account.objects.filter(pk=root.pk).update(rght=2 * households + 2)
        check_tree(root.pk, households)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE hordak_account")


def check_tree(root_id: int, households: int) -> None:
    """Fail unless the households form the tree django-mptt expects, each typed as a liability."""
    from django.db.models import Count, Max, Min
    from hordak.models import Account, AccountType

    root = Account.objects.get(pk=root_id)
    stats = Account.objects.filter(parent_id=root_id).aggregate(
        n=Count("id"), lo=Min("lft"), hi=Max("rght"), trees=Count("tree_id", distinct=True)
    )
    wrongly_typed = Account.objects.filter(parent_id=root_id).exclude(type=AccountType.liability).count()
    expected = {"n": households, "lo": 2, "hi": 2 * households + 1, "trees": 1}
    if stats != expected or (root.lft, root.rght) != (1, 2 * households + 2) or wrongly_typed:
        raise BenchError(f"household tree is not as expected: {stats}, root {root.lft}-{root.rght}")
    if root.get_descendant_count() != households:
        raise BenchError("django-mptt does not see every household as a descendant of the root")


def load_accounts() -> Accounts:
    from django.db import ProgrammingError
    from hordak.models import Account

    try:
        issuance = Account.objects.get(name=ISSUANCE_NAME, parent__isnull=True)
        root = Account.objects.get(name=HOUSEHOLDS_NAME, parent__isnull=True)
    except (Account.DoesNotExist, ProgrammingError) as exc:
        raise BenchError("hordak's tables or accounts are missing: run without --no-setup first") from exc
    ids = list(Account.objects.filter(parent_id=root.pk).order_by("id").values_list("id", flat=True))
    if not ids:
        raise BenchError("there are no household accounts: run without --no-setup first")
    return Accounts(issuance.pk, ids)


def setup(url: str, households: int) -> float:
    """Recreate the database, migrate and create the accounts; returns the seconds it took."""
    from django.core.management import call_command
    from django.db import connections

    started = time.perf_counter()
    recreate_database(url)
    log.info("database %s recreated", database_name(url))
    configure_django(url)
    call_command("migrate", verbosity=0, interactive=False)
    log.info("hordak migrations applied (%.1fs)", time.perf_counter() - started)
    accounts_started = time.perf_counter()
    create_accounts(households)
    log.info(
        "issuance + %d household accounts created (%.1fs)", households, time.perf_counter() - accounts_started
    )
    connections.close_all()
    return time.perf_counter() - started


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def worker(url: str, index: int, count: int, seed: int, barrier: Barrier, results: Any) -> None:
    """One worker process: connect, wait at the barrier, then ``count`` single-transfer transactions.

    Reports ``("ready", index, 0, None)`` once set up, then ``("done", index, committed, error)``.
    """
    try:
        configure_django(url)
        from django.db import transaction
        from hordak.models import Account
        from moneyed import Money

        accounts = load_accounts()
        issuance = Account.objects.get(pk=accounts.issuance_id)
        rng = random.Random(seed)
        plan = [
            (rng.choice(accounts.household_ids), rng.randint(MIN_AMOUNT, MAX_AMOUNT)) for _ in range(count)
        ]
    except Exception as exc:
        results.put(("done", index, 0, f"worker {index} failed before the start: {exc!r}"))
        barrier.abort()
        return
    results.put(("ready", index, 0, None))
    barrier.wait()
    done = 0
    try:
        for household_id, amount in plan:
            with transaction.atomic():
                household = Account.objects.get(pk=household_id)
                household.transfer_to(issuance, Money(amount, CURRENCY), description="hordak_ref")
            done += 1
    except Exception as exc:
        results.put(("done", index, done, f"worker {index} failed after {done} transfers: {exc!r}"))
        return
    results.put(("done", index, done, None))


def collect(results: Any, procs: list[BaseProcess], kind: str, deadline: float | None = None) -> int:
    """Wait for every worker's ``kind`` report; the sum of their counts. Fails fast on any error."""
    pending, total = set(range(len(procs))), 0
    while pending:
        try:
            report, index, count, error = results.get(timeout=0.5)
        except queue.Empty:
            dead = [p.name for i, p in enumerate(procs) if i in pending and not p.is_alive()]
            if dead:
                raise BenchError(f"worker(s) died without reporting: {', '.join(dead)}") from None
            if deadline is not None and time.monotonic() > deadline:
                raise BenchError(f"workers not ready after {STARTUP_TIMEOUT_S:.0f}s") from None
            continue
        if error:
            raise BenchError(error)
        if report == kind:
            pending.discard(index)
            total += count
    return total


def run(url: str, workers: int, transfers: int) -> tuple[float, int, int]:
    """Start the workers, time them from the barrier to the last report; (seconds, committed, households)."""
    from django.db import connections
    from hordak.models import Transaction

    configure_django(url)
    households = len(load_accounts().household_ids)
    before = Transaction.objects.count()
    connections.close_all()

    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers + 1, timeout=STARTUP_TIMEOUT_S)
    results = ctx.Queue()
    seed = random.SystemRandom().randrange(2**32)
    procs: list[BaseProcess] = [
        ctx.Process(target=worker, args=(url, i, n, seed + i, barrier, results), name=f"hordak-worker-{i}")
        for i, n in enumerate(split(transfers, workers))
    ]
    for proc in procs:
        proc.start()
    try:
        collect(results, procs, "ready", deadline=time.monotonic() + STARTUP_TIMEOUT_S)
        barrier.wait()
        started = time.perf_counter()
        committed = collect(results, procs, "done")
        seconds = time.perf_counter() - started
    except BaseException:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        raise
    finally:
        for proc in procs:
            proc.join(timeout=30)
    written = Transaction.objects.count() - before
    if written != committed or committed != transfers:
        raise BenchError(
            f"{committed} transfers reported, {written} hordak transactions written, {transfers} asked"
        )
    connections.close_all()
    return seconds, committed, households


def check_books() -> None:
    """After the run: hordak's own accounting-equation check, and both sides of the books agree."""
    from hordak.models import Account

    Account.validate_accounting_equation()
    roots = Account.objects.filter(parent__isnull=True, name__in=(ISSUANCE_NAME, HOUSEHOLDS_NAME))
    balances = {account.name: account.balance for account in roots.with_balances()}
    if balances[ISSUANCE_NAME] != balances[HOUSEHOLDS_NAME]:
        raise BenchError(f"the issuance and household balances differ: {balances}")
    log.info("books balance: issuance %s, households %s", balances[ISSUANCE_NAME], balances[HOUSEHOLDS_NAME])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="postgresql://... naming a scratch database")
    parser.add_argument("--workers", type=int, default=8, help="concurrent worker processes (W)")
    parser.add_argument("--transfers", type=int, default=4000, help="total transfers across all workers (N)")
    parser.add_argument("--households", type=int, default=100_000, help="household accounts to create (H)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--setup-only", action="store_true", help="recreate the database and accounts, then stop"
    )
    mode.add_argument("--no-setup", action="store_true", help="reuse the database and accounts as they are")
    args = parser.parse_args(argv)
    for name in ("workers", "transfers", "households"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s hordak_ref %(message)s")
    args = parse_args(argv)
    try:
        hordak = hordak_version()
        database_name(args.database_url)
        if not args.no_setup:
            setup_seconds = setup(args.database_url, args.households)
            log.info("setup took %.1fs", setup_seconds)
            if args.setup_only:
                report = {"setup_seconds": round(setup_seconds, 3), "households": args.households}
                print(json.dumps({**report, "hordak_version": hordak}), flush=True)
                return 0
        else:
            configure_django(args.database_url)
        log.info("running %d transfers over %d workers", args.transfers, args.workers)
        seconds, committed, households = run(args.database_url, args.workers, args.transfers)
        if households != args.households:
            log.warning("the database holds %d households, not --households %d", households, args.households)
        check_books()
    except BenchError as exc:
        log.error("failed: %s", exc)
        return 1
    except Exception as exc:
        from django.db import Error as DatabaseError

        if isinstance(exc, DatabaseError):
            log.error("failed: database error: %s", exc)
        else:
            log.exception("failed unexpectedly")
        return 1
    rate = committed / seconds
    log.info("%d transfers in %.3fs: %.1f transfers/s", committed, seconds, rate)
    result = {
        "workers": args.workers,
        "transfers": committed,
        "seconds": round(seconds, 3),
        "transfers_per_s": round(rate, 1),
        "households": households,
        "hordak_version": hordak,
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
