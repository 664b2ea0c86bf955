"""The runtime: what a process holds once (settings, the database, Redis, the providers, the job
queue) and the units of work it opens.

One per process. ``service.app.make_runtime`` builds it (the app factory does, for the web, the
CLI and the worker alike) and ``use`` makes it the process's own; the app's views reach it through
the app (``service.web.base.kolekt_runtime``), jobs through ``current()``: the same object.

RQ forks a work horse per job where it is asked to; the engine's pooled connections must not cross
a fork, so the child drops the parent's pool (without closing the parent's sockets) and opens its
own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cached_property
from typing import TypeVar

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.db import make_engine, make_reader_factory, make_session_factory, transact, transaction
from service.providers import embedded_redis
from service.providers.send_limit import SendLimit, send_limit_for
from service.providers.sms import gateway_for
from service.settings import Settings
from service.unit_of_work import JobQueue, UnitOfWork
from sms.gateways import Gateway

T = TypeVar("T")


class Runtime:
    """Everything is made on first use, so a process pays only for what it touches."""

    def __init__(self, settings: Settings, queue: Callable[[Redis], JobQueue]) -> None:
        self.settings = settings
        self._make_queue = queue

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def readers(self) -> sessionmaker[Session]:
        """Sessions for pages and exports that only read (no write lock on SQLite)."""
        return make_reader_factory(self.engine)

    @cached_property
    def redis(self) -> Redis:
        return redis_connection(self.settings)

    @cached_property
    def queue_redis(self) -> Redis:
        """Redis for enqueuing: short time-outs, so a Redis that hangs delays a webhook's answer
        by seconds at most (the rows wait for the sweep), never by minutes."""
        url = self.settings.redis_url or redis_url_of(self.redis)
        return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def queue(self) -> JobQueue:
        return self._make_queue(self.queue_redis)

    @cached_property
    def gateway(self) -> Gateway:
        return gateway_for(self.settings)

    @cached_property
    def send_limit(self) -> SendLimit | None:
        return send_limit_for(self.redis, self.settings.sms_gateway, self.settings.sms_rate_per_second)

    @contextmanager
    def unit_of_work(
        self, *, now: datetime | None = None, queue: JobQueue | None = None
    ) -> Iterator[UnitOfWork]:
        """One unit of work: committed when the block ends, and only then its texts and jobs
        enqueued (on ``queue`` if given, else the runtime's); rolled back if anything raises."""
        with transaction(self.sessions) as session:
            uow = UnitOfWork(session, self.settings, queue or self.queue, now or datetime.now(UTC))
            yield uow
        uow.enqueue()

    def transact(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        now: datetime | None = None,
        attempts: int = 3,
        retry_on: tuple[type[Exception], ...] = (),
        queue: JobQueue | None = None,
    ) -> T:
        """``work`` in one unit of work, run again from the start when the database asks (see
        ``service.db.transact``)."""
        return transact(
            lambda: self.unit_of_work(now=now, queue=queue), work, attempts=attempts, retry_on=retry_on
        )

    def close(self) -> None:
        """Close the pool's connections (tests; a process that is about to exit)."""
        if "engine" in self.__dict__:
            self.engine.dispose()
        for name in ("queue_redis", "redis"):
            if name in self.__dict__:
                self.__dict__[name].close()

    def after_fork(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose(close=False)


_current: Runtime | None = None


def current() -> Runtime:
    """The process's runtime (jobs, the worker, the CLI's commands)."""
    if _current is None:
        raise RuntimeError("this process has no runtime: build one with service.app.make_runtime")
    return _current


def use(runtime: Runtime) -> Runtime:
    """Make ``runtime`` the process's own (the app factory does; tests that run jobs in-process
    name the app whose stores the jobs are to use)."""
    global _current
    _current = runtime
    return runtime


def _after_fork_in_child() -> None:
    if _current is not None:
        _current.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def redis_connection(settings: Settings) -> Redis:
    """Redis from ``REDIS_URL``, or the embedded server whose files live under instance/.

    Every process that opens the same embedded database file shares one server, and the server
    stops once none of them is left (``service.providers.embedded_redis``).
    """
    if settings.redis_url:
        return Redis.from_url(settings.redis_url)
    return embedded_redis.connect(settings.embedded_redis_path)


def redis_url_of(connection: Redis) -> str:
    """A URL other processes can use to reach this connection's server (for the embedded one too)."""
    kwargs = connection.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    password = f":{kwargs['password']}@" if kwargs.get("password") else ""
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"redis://{password}{host}:{port}/{db}"
