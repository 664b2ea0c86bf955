"""Signals kept at log time, learned thresholds, collectors' own signals, and holds on doubtful
credits (issue 24); who registered a household, where a collector lives; the holds account.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pickup_signals",
        sa.Column("collection_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measure", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("reason", sa.String(length=160), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_pickup_signals_collection_id_collections")
        ),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_pickup_signals_collector_id_collectors")
        ),
        sa.PrimaryKeyConstraint("collection_id", "name", name=op.f("pk_pickup_signals")),
    )
    op.create_index("ix_pickup_signals_collector_at", "pickup_signals", ["collector_id", "occurred_at"])
    op.create_table(
        "signal_thresholds",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("collector_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "collector_id", name=op.f("pk_signal_thresholds")),
    )
    op.create_table(
        "collector_signals",
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("out_of", sa.Integer(), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=160), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_collector_signals_collector_id_collectors")
        ),
        sa.PrimaryKeyConstraint("collector_id", "name", name=op.f("pk_collector_signals")),
    )
    op.create_table(
        "holds",
        sa.Column("collection_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release_on", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.String(length=160), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_holds_collection_id_collections")
        ),
        sa.PrimaryKeyConstraint("collection_id", name=op.f("pk_holds")),
    )
    op.create_index("ix_holds_status_release", "holds", ["status", "release_on"])
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registered_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_households_registered_by_collectors"), "collectors", ["registered_by"], ["id"]
        )
    with op.batch_alter_table("collectors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("home_address", sa.String(length=160), nullable=True))
    _open_holds_account()


def _open_holds_account() -> None:
    """Where held credits wait, opened through the ledger's own API (kept on a downgrade, like
    every account: the ledger's history may name it)."""
    from sqlalchemy.orm import Session

    from service.accounts import open_holds_account

    open_holds_account(Session(bind=op.get_bind()))


def downgrade() -> None:
    with op.batch_alter_table("collectors", schema=None) as batch_op:
        batch_op.drop_column("home_address")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_households_registered_by_collectors"), type_="foreignkey")
        batch_op.drop_column("registered_by")
    op.drop_index("ix_holds_status_release", table_name="holds")
    op.drop_table("holds")
    op.drop_table("collector_signals")
    op.drop_table("signal_thresholds")
    op.drop_index("ix_pickup_signals_collector_at", table_name="pickup_signals")
    op.drop_table("pickup_signals")
