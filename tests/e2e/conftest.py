"""What the end-to-end tests of the operators' commands share: a new database per test and the
test's own look at it, and running a command as an operator does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.pool import NullPool

import ledger
from service.db import make_engine
from service.models import metadata
from service.settings import Settings
from tests.conftest import run_cli
from tests.e2e.api_helpers import MUSA, Api
from tests.e2e.browser import chromium
from tests.e2e.hub import Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser


@pytest.fixture
def settings(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings], redis: Redis
) -> Settings:
    """A new database; Redis emptied before and after (jobs a command queues reach no other test)."""
    return make_settings(fresh_database())


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The test's own look at the database the commands write to."""
    made = make_engine(settings.database_url, poolclass=NullPool)
    yield made
    made.dispose()


def ok(settings: Settings, *arguments: str) -> list[str]:
    """Run a command that must succeed quietly; its output lines."""
    result = run_cli(settings, *arguments)
    assert result.returncode == 0, (arguments, result.stderr)
    assert result.stderr == "", arguments
    return result.stdout.splitlines()


def columns(lines: list[str]) -> list[list[str]]:
    """A plain table's rows, split where two or more spaces separate its columns."""
    return [re.split(r"\s{2,}", line.strip()) for line in lines]


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, the service's and the ledger's."""
    tables = [*metadata.sorted_tables, *ledger.metadata.sorted_tables]
    with engine.connect() as connection:
        return {
            table.name: sorted(repr(tuple(row)) for row in connection.execute(select(table)))
            for table in tables
        }


@pytest.fixture
def hub(make_app: Callable[..., Flask]) -> Hub:
    """The dashboard on a new database (see tests/e2e/hub.py)."""
    return Hub(make_app())


@pytest.fixture
def api(hub: Hub, redis: Redis) -> Api:
    """The JSON API on the demo programme (see tests/e2e/api_helpers.py)."""
    hub.seed()
    return Api(hub)


@pytest.fixture
def musa(api: Api) -> str:
    """A token of the demo's collector Musa (Yaba), his PIN set first."""
    return api.collector_token(MUSA)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, one per test module (see tests/e2e/browser.py)."""
    with chromium() as launched:
        yield launched
