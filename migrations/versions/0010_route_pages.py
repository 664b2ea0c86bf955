"""ROUTE in pages: the last page of the route each collector was sent (its collection day, its
number and its last stop), so that ROUTE MORE sends the next one from any web process.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "route_pages",
        sa.Column("collector_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("last_requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_household_id", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_route_pages_collector_id_collectors")
        ),
        sa.PrimaryKeyConstraint("collector_id", name=op.f("pk_route_pages")),
    )


def downgrade() -> None:
    op.drop_table("route_pages")
