"""Sign-in limits that hold while Redis is away: failed sign-ins counted in the database, per
window, by what they are counted against (the address, the name tried, the device cookie).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_counts",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_sign_in_counts")),
    )
    op.create_index("ix_sign_in_counts_window_start", "sign_in_counts", ["window_start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sign_in_counts_window_start", table_name="sign_in_counts")
    op.drop_table("sign_in_counts")
