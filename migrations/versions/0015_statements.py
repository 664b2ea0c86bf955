"""Monthly statements by SMS (issue 23's STATEMENT ON): whether a household asked for them, and
each one sent, once a household a month.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "households",
        sa.Column("monthly_statement", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "monthly_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_monthly_statements_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox_messages.id"],
            name=op.f("fk_monthly_statements_outbox_id_outbox_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_statements")),
        sa.UniqueConstraint("household_id", "month", name=op.f("uq_monthly_statements_household_id")),
    )


def downgrade() -> None:
    op.drop_table("monthly_statements")
    op.drop_column("households", "monthly_statement")
