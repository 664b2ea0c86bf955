"""``transact`` and connections that die: the engine has no pre-ping (it would cost a
round trip on every posting), so a connection that died while it sat in the pool is found by the
first statement, and the work runs again on a new one. A connection lost while COMMIT was on its
way leaves the outcome unknown: that is raised, never retried (it could post twice)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.db import make_engine, make_session_factory, transact, transaction
from tests.conftest import ON_POSTGRESQL

pytestmark = pytest.mark.skipif(not ON_POSTGRESQL, reason="kills PostgreSQL backends")


@pytest.fixture
def engines(fresh_database: Callable[[], str]) -> Iterator[tuple[Engine, Engine]]:
    url = fresh_database()
    pooled = make_engine(url, pool_size=1, max_overflow=0)
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    yield pooled, admin
    pooled.dispose()
    admin.dispose()


def terminate(admin: Engine, pid: int) -> None:
    with admin.connect() as connection:
        # The two-argument form waits until the backend is gone.
        assert connection.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()


def backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_that_died_in_the_pool_is_replaced_and_the_work_runs_again(
    engines: tuple[Engine, Engine],
) -> None:
    pooled, admin = engines
    factory = make_session_factory(pooled)
    first = transact(lambda: transaction(factory), backend_pid)
    terminate(admin, first)
    runs: list[int] = []

    def work(session: Session) -> int:
        runs.append(1)
        return backend_pid(session)

    second = transact(lambda: transaction(factory), work)
    assert second != first
    assert len(runs) == 2


def test_a_connection_lost_during_commit_is_raised_not_retried(engines: tuple[Engine, Engine]) -> None:
    pooled, admin = engines
    factory = make_session_factory(pooled)
    runs: list[int] = []

    def work(session: Session) -> None:
        runs.append(backend_pid(session))
        session.execute(text("CREATE TABLE lost_at_commit (n integer)"))

    @event.listens_for(pooled, "commit")
    def kill_before_commit(connection: object) -> None:
        terminate(admin, runs[-1])

    with pytest.raises(DBAPIError) as raised:
        transact(lambda: transaction(factory), work, attempts=3)
    assert raised.value.connection_invalidated
    assert len(runs) == 1
    event.remove(pooled, "commit", kill_before_commit)
    with pooled.connect() as connection:
        assert connection.execute(text("SELECT to_regclass('lost_at_commit')")).scalar() is None
