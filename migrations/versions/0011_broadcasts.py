"""Broadcasts: an operator's text to a zone, a list of households or everyone, in each language,
sent at once when small, else when a second operator approves it; and the outbox row each
household got, keyed (broadcast, household) so that a broadcast is written once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=32), nullable=False),
        sa.Column("audience", sa.String(length=10), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("members", sa.Text(), nullable=True),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("text_pcm", sa.Text(), nullable=True),
        sa.Column("text_yo", sa.Text(), nullable=True),
        sa.Column("text_ha", sa.Text(), nullable=True),
        sa.Column("text_ig", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=160), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("opted_out", sa.Integer(), nullable=False),
        sa.Column("suspended", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("cost_kobo", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'sent', 'cancelled', 'rejected')", name=op.f("ck_broadcasts_status")
        ),
        sa.CheckConstraint("audience IN ('zone', 'list', 'everyone')", name=op.f("ck_broadcasts_audience")),
        sa.CheckConstraint(
            "audience <> 'zone' OR zone_id IS NOT NULL", name=op.f("ck_broadcasts_zone_named")
        ),
        sa.CheckConstraint(
            "audience <> 'list' OR members IS NOT NULL", name=op.f("ck_broadcasts_list_named")
        ),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> proposed_by", name=op.f("ck_broadcasts_four_eyes")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_broadcasts_zone_id_zones")),
        sa.ForeignKeyConstraint(["proposed_by"], ["users.id"], name=op.f("fk_broadcasts_proposed_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_broadcasts_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sa.UniqueConstraint("request_key", name=op.f("uq_broadcasts_request_key")),
    )
    op.create_index("ix_broadcasts_status_id", "broadcasts", ["status", "id"], unique=False)
    op.create_table(
        "broadcast_messages",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_broadcast_messages_broadcast_id_broadcasts")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_broadcast_messages_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_messages.id"],
            name=op.f("fk_broadcast_messages_outbox_id_outbox_messages"),
        ),
        sa.PrimaryKeyConstraint("broadcast_id", "household_id", name=op.f("pk_broadcast_messages")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_broadcast_messages_outbox_id")),
    )


def downgrade() -> None:
    op.drop_table("broadcast_messages")
    op.drop_index("ix_broadcasts_status_id", table_name="broadcasts")
    op.drop_table("broadcasts")
