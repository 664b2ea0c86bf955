"""Points that expire (issue 23, off unless POINTS_EXPIRE_MONTHS): each warning and each expiry,
once a household and date, and the breakage account expired points go to.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expiry_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.Column("transfer_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_expiry_notices_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox_messages.id"], name=op.f("fk_expiry_notices_outbox_id_outbox_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expiry_notices")),
        sa.UniqueConstraint(
            "household_id", "expires_on", "days", name=op.f("uq_expiry_notices_household_id")
        ),
    )
    op.create_index("ix_expiry_notices_expires_on_days", "expiry_notices", ["expires_on", "days"])
    _open_breakage_account()


def _open_breakage_account() -> None:
    """Where expired points go, opened through the ledger's own API (kept on a downgrade, like
    every account: the ledger's history may name it)."""
    from sqlalchemy.orm import Session

    from service.accounts import open_breakage_account

    open_breakage_account(Session(bind=op.get_bind()))


def downgrade() -> None:
    op.drop_index("ix_expiry_notices_expires_on_days", table_name="expiry_notices")
    op.drop_table("expiry_notices")
