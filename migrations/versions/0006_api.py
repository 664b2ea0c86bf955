"""The JSON API and the collector app: bearer tokens (collectors by phone + PIN, dashboard users by
role), the collectors' PINs, the app's own ids for households it registered offline, and an index
that finds a collector's #seq whether the pickup came by SMS or by the app.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("seq_base", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=254), nullable=True),
        sa.CheckConstraint(
            "(collector_id IS NULL) <> (user_id IS NULL)", name=op.f("ck_api_tokens_one_holder")
        ),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_api_tokens_collector_id_collectors")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_collector_id", "api_tokens", ["collector_id"], unique=False)
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"], unique=False)
    with op.batch_alter_table("collectors") as batch:
        batch.add_column(sa.Column("pin_hash", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("pin_set_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("client_id", sa.String(length=36), nullable=True))
        batch.create_unique_constraint(op.f("uq_households_client_id"), ["client_id"])
    op.create_index("ix_collections_collector_seq", "collections", ["collector_id", "seq"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_collections_collector_seq", table_name="collections")
    with op.batch_alter_table("households") as batch:
        batch.drop_constraint(op.f("uq_households_client_id"), type_="unique")
        batch.drop_column("client_id")
    with op.batch_alter_table("collectors") as batch:
        batch.drop_column("pin_set_at")
        batch.drop_column("pin_hash")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_index("ix_api_tokens_collector_id", table_name="api_tokens")
    op.drop_table("api_tokens")
