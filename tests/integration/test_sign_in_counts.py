"""Failed sign-ins counted in the database while Redis is away (``sign_in_counts``, migration
0007), on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from limits.storage import RedisStorage
from redis import Redis
from sqlalchemy import func, inspect, select

from service.app import make_runtime
from service.db import make_engine, transaction
from service.migrate import downgrade, upgrade
from service.models import sign_in_counts_t
from service.runtime import Runtime
from service.settings import Settings
from service.usecases.sign_in_limits import API, DASHBOARD, Attempt, Counts

NOW = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)  # 5 minutes into a 15-minute window
MUSA = "+2348030000001"


def test_the_migration_adds_the_table_and_takes_it_away(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    engine = make_engine(url)
    try:
        assert "sign_in_counts" in inspect(engine).get_table_names()
        downgrade(url, "0006")
        engine.dispose()
        assert "sign_in_counts" not in inspect(engine).get_table_names()
        assert "api_tokens" in inspect(engine).get_table_names()
        upgrade(url)
        engine.dispose()
        assert "sign_in_counts" in inspect(engine).get_table_names()
        assert {index["name"] for index in inspect(engine).get_indexes("sign_in_counts")} == {
            "ix_sign_in_counts_window_start"
        }
    finally:
        engine.dispose()


@pytest.fixture
def runtime(fresh_database: Callable[[], str], make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    made = make_runtime(make_settings(fresh_database()))
    yield made
    made.close()


def rows(runtime: Runtime) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.execute(select(func.count()).select_from(sign_in_counts_t)).scalar_one())


def test_without_redis_failures_are_counted_in_the_database(runtime: Runtime) -> None:
    counts = Counts(None, runtime)
    untrusted = Attempt(name=MUSA, address="192.0.2.1", device=None)
    for _ in range(5):
        assert counts.refused(API, untrusted, NOW) is None
        counts.failed(API, untrusted, NOW)
    refusal = counts.refused(API, untrusted, NOW)
    assert refusal is not None and refusal.retry_after == 10 * 60  # the rest of the window
    # From another address too: the phone is locked for untrusted attempts.
    assert counts.refused(API, untrusted._replace(address="192.0.2.2"), NOW) is not None
    # Not for a device that signed in as Musa before.
    assert counts.refused(API, untrusted._replace(device="nonce1"), NOW) is None
    # Nor in the dashboard, nor in the next window.
    assert counts.refused(DASHBOARD, untrusted, NOW) is None
    assert counts.refused(API, untrusted, NOW + timedelta(minutes=10)) is None
    # Three rows, one a limit and window however many failures: the address's hour, the phone's
    # 15 minutes and its day.
    assert rows(runtime) == 3


def test_rows_of_windows_long_past_are_deleted(runtime: Runtime) -> None:
    counts = Counts(None, runtime)
    attempt = Attempt(name="ada@hub.example", address="192.0.2.1", device=None)
    counts.failed(DASHBOARD, attempt, NOW - timedelta(days=3))
    assert rows(runtime) == 3  # the address's minute and hour, the email's hour
    counts.failed(DASHBOARD, attempt, NOW)
    assert rows(runtime) == 3  # the old ones gone


def test_a_redis_that_does_not_answer_hands_the_count_to_the_database(runtime: Runtime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = Redis(host="127.0.0.1", port=port, socket_connect_timeout=1).connection_pool
    counts = Counts(RedisStorage("redis://", connection_pool=dead, wrap_exceptions=True), runtime)
    attempt = Attempt(name=MUSA, address="192.0.2.1", device="nonce1")
    for _ in range(5):
        assert counts.refused(API, attempt, NOW) is None
        counts.failed(API, attempt, NOW)
    assert counts.refused(API, attempt, NOW) is not None
    assert rows(runtime) == 3


def test_with_redis_failures_are_counted_there(runtime: Runtime, redis: Redis, redis_url: str) -> None:
    counts = Counts(
        RedisStorage("redis://", connection_pool=Redis.from_url(redis_url).connection_pool), runtime
    )
    attempt = Attempt(name=MUSA, address="192.0.2.1", device=None)
    for _ in range(5):
        assert counts.refused(API, attempt, NOW) is None
        counts.failed(API, attempt, NOW)
    refusal = counts.refused(API, attempt, NOW)
    assert refusal is not None and 0 < refusal.retry_after <= 15 * 60
    assert rows(runtime) == 0
