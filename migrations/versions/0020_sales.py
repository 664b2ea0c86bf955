"""Sales and chain of custody (issue 24): batches sold to a recycler, each with a serial number and
the weigh-ins it came from; a weigh-in is sold in one batch at most.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sales_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=24), nullable=True),
        sa.Column("buyer", sa.String(length=80), nullable=False),
        sa.Column("material_code", sa.String(length=12), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=False),
        sa.Column("weighed_grams", sa.Integer(), nullable=False),
        sa.Column("price_kobo", sa.BigInteger(), nullable=False),
        sa.Column("sold_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=160), nullable=True),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("grams > 0", name=op.f("ck_sales_batches_grams_positive")),
        sa.CheckConstraint("weighed_grams > 0", name=op.f("ck_sales_batches_weighed_grams_positive")),
        sa.CheckConstraint("price_kobo >= 0", name=op.f("ck_sales_batches_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["material_code"], ["materials.code"], name=op.f("fk_sales_batches_material_code_materials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_batches")),
        sa.UniqueConstraint("serial", name=op.f("uq_sales_batches_serial")),
    )
    op.create_table(
        "sales_batch_weigh_ins",
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("weigh_in_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["sales_batches.id"], name=op.f("fk_sales_batch_weigh_ins_batch_id_sales_batches")
        ),
        sa.ForeignKeyConstraint(
            ["weigh_in_id"], ["weigh_ins.id"], name=op.f("fk_sales_batch_weigh_ins_weigh_in_id_weigh_ins")
        ),
        sa.PrimaryKeyConstraint("batch_id", "weigh_in_id", name=op.f("pk_sales_batch_weigh_ins")),
        sa.UniqueConstraint("weigh_in_id", name=op.f("uq_sales_batch_weigh_ins_weigh_in_id")),
    )


def downgrade() -> None:
    op.drop_table("sales_batch_weigh_ins")
    op.drop_table("sales_batches")
