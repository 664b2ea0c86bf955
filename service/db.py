"""The database: one engine per process, sessions for changes and for reads, and what makes a
transaction worth running again.

SQLite (the embedded default) is put in WAL mode and every transaction starts with
``BEGIN IMMEDIATE``: SQLite has one writer at a time, and taking the write lock up front (waiting
for it politely) is what keeps a read-then-write transaction from failing half way with
"database is locked". PostgreSQL runs at READ COMMITTED; the ledger locks what it must.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Column, Engine, Table, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ledger import RetryablePostingError

SQLITE_BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")
U = TypeVar("U")
log = logging.getLogger(__name__)


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _tune_sqlite(engine)
        return engine
    # No pre-ping: it costs a round trip on every checkout, a third of a posting's. A connection
    # that died while pooled fails its first statement instead, and the unit of work retries.
    return create_engine(url, **kwargs)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A reader (a page, an export) takes no write lock: in WAL mode it then never holds up a
        # pickup, however long it reads.
        reading = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# The execution option that marks a connection as only reading (see ``make_reader_factory``).
READ_ONLY = "kolekt_read_only"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def make_reader_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read: on SQLite a plain BEGIN (no write lock), on PostgreSQL a READ
    ONLY transaction (a write in one is an error, not a surprise)."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return sessionmaker(bind=engine.execution_options(**options), expire_on_commit=False, autoflush=False)


def is_retryable(error: BaseException) -> bool:
    """A deadlock, a serialization failure or a busy SQLite: the same transaction may succeed again."""
    if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
        return True
    if isinstance(error, DBAPIError):
        code = getattr(error.orig, "sqlstate", None)
        return code in {"40001", "40P01"}
    return False


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back on any error.
    Kolekt's own changes go through a unit of work (``service.unit_of_work``), which stands on this."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def worth_retrying(error: BaseException, committing: bool) -> bool:
    """Whether a transaction that failed with ``error`` may be run again from the start."""
    if isinstance(error, RetryablePostingError) or is_retryable(error):
        return True  # refused and rolled back: running it again is safe
    # A connection that died while pooled (the database restarted): safe before COMMIT was sent.
    # A connection lost during COMMIT leaves the outcome unknown, so that is never retried.
    return isinstance(error, DBAPIError) and error.connection_invalidated and not committing


@lru_cache(maxsize=64)
def _conflict_statement(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...] | None,
    returning: tuple[str, ...],
) -> Any:
    """INSERT ... ON CONFLICT, built once per shape (building one costs more than running it)."""
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(
        {name: bindparam(name, type_=table.c[name].type) for name in columns}
    )
    if update is None:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    else:
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict),
            set_={name: bindparam(f"set_{name}", type_=table.c[name].type) for name in update},
        )
    return statement.returning(*(table.c[name] for name in returning))


def insert_ignoring_conflict(
    session: Session,
    table: Table,
    values: dict[str, Any],
    *,
    conflict: tuple[str, ...],
    returning: Column[Any],
) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING one column: its value, or None if the row existed.

    Waits for a concurrent insert of the same key to commit or roll back, so of two racing
    inserts exactly one gets a value (both stores)."""
    dialect = session.get_bind().dialect.name
    statement = _conflict_statement(dialect, table, tuple(values), conflict, None, (returning.name,))
    return session.execute(statement, values).scalar()


def upsert(
    session: Session,
    table: Table,
    values: dict[str, Any],
    *,
    conflict: tuple[str, ...],
    update: dict[str, Any],
    returning: tuple[Column[Any], ...],
) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the row, new or existing, locked until commit."""
    dialect = session.get_bind().dialect.name
    names = tuple(column.name for column in returning)
    statement = _conflict_statement(dialect, table, tuple(values), conflict, tuple(update), names)
    parameters = {**values, **{f"set_{name}": value for name, value in update.items()}}
    return session.execute(statement, parameters).one()


def transact(
    begin: Callable[[], AbstractContextManager[U]],
    work: Callable[[U], T],
    *,
    attempts: int = 3,
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """``work`` in what ``begin`` opens (a unit of work, or a plain ``transaction``), again from
    the start (a new transaction) when the database asks for a retry, when the connection turns
    out to have died before COMMIT was sent, or on one of ``retry_on`` (a unique key another
    request took a moment before)."""
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with begin() as opened:
                result = work(opened)
                committing = True
            return result
        except (DBAPIError, RetryablePostingError) as error:
            if attempt == attempts or not (
                worth_retrying(error, committing) or (isinstance(error, retry_on) and not committing)
            ):
                raise
            log.info("retrying a transaction (%d of %d): %s", attempt + 1, attempts, type(error).__name__)
    raise AssertionError("unreachable")
