"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and undo it."""

from __future__ import annotations

from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import ledger
from service import models
from service.db import make_engine
from service.migrate import downgrade, upgrade


def test_migrations_match_the_models(fresh_database: Callable[[], str]) -> None:
    engine = make_engine(fresh_database())
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, [ledger.metadata, models.metadata])  # type: ignore[arg-type]
    finally:
        engine.dispose()
    assert differences == []


def test_downgrade_to_base_and_up_again(fresh_database: Callable[[], str]) -> None:
    url = fresh_database()
    downgrade(url, "0001")
    engine = make_engine(url)
    try:
        assert "outbox_messages" not in inspect(engine).get_table_names()
        engine.dispose()
        upgrade(url)
        assert {"phones", "households", "inbound_messages", "outbox_messages", "collections", "rates"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
