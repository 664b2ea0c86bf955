"""Scheduled work: reminder times per zone, one-off changes to collection days, reminders keyed
once per (household, zone, day, kind), fan-out runs, ledger checks, daily summaries; outbox rows
that answer the recipient's own text (the only ones sent in quiet hours); settled pickups.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Columns are only added (with server defaults that stay): on SQLite that is a plain ALTER
    # TABLE, where dropping a default would rebuild tables other tables refer to.
    with op.batch_alter_table("zones") as batch:
        batch.add_column(sa.Column("remind_at", sa.String(length=5), nullable=False, server_default="18:00"))
        batch.add_column(sa.Column("morning_at", sa.String(length=5), nullable=True))
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("reply", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("collections") as batch:
        batch.add_column(sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_collections_settled_received", ["settled_at", "received_at"], unique=False)
    op.create_table(
        "day_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("moved_to", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_day_changes_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_changes")),
        sa.UniqueConstraint("zone_id", "day", name=op.f("uq_day_changes_zone_id")),
    )
    op.create_table(
        "reminders",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_reminders_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox_messages.id"], name=op.f("fk_reminders_outbox_id_outbox_messages")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_reminders_zone_id_zones")),
        # The run's columns first: one index serves a household's key and a whole run's rows.
        sa.PrimaryKeyConstraint(
            "zone_id", "collection_date", "kind", "household_id", name=op.f("pk_reminders")
        ),
    )
    op.create_table(
        "reminder_runs",
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_reminder_runs_zone_id_zones")),
        sa.PrimaryKeyConstraint("zone_id", "collection_date", "kind", name=op.f("pk_reminder_runs")),
    )
    op.create_table(
        "ledger_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(length=12), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("transfers", sa.BigInteger(), nullable=True),
        sa.Column("head_hash", sa.String(length=64), nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checks")),
    )
    op.create_index(op.f("ix_ledger_checks_started_at"), "ledger_checks", ["started_at"], unique=False)
    op.create_table(
        "daily_summaries",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_daily_summaries")),
    )


def downgrade() -> None:
    op.drop_table("daily_summaries")
    op.drop_index(op.f("ix_ledger_checks_started_at"), table_name="ledger_checks")
    op.drop_table("ledger_checks")
    op.drop_table("reminder_runs")
    op.drop_table("reminders")
    op.drop_table("day_changes")
    with op.batch_alter_table("collections") as batch:
        batch.drop_index("ix_collections_settled_received")
        batch.drop_column("settled_at")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("reply")
    with op.batch_alter_table("zones") as batch:
        batch.drop_column("morning_at")
        batch.drop_column("remind_at")
