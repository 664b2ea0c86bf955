"""Hub scales and their calibrations (issue 24): each weigh-in may name the scale that read it, and
a reading on a scale out of calibration is flagged.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scales",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("location", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scales")),
        sa.UniqueConstraint("code", name=op.f("uq_scales_code")),
    )
    op.create_table(
        "scale_calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scale_id", sa.Integer(), nullable=False),
        sa.Column("calibrated_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("calibrated_by", sa.String(length=80), nullable=False),
        sa.Column("certificate", sa.String(length=80), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "valid_until >= calibrated_on", name=op.f("ck_scale_calibrations_valid_after_calibrated")
        ),
        sa.ForeignKeyConstraint(
            ["scale_id"], ["scales.id"], name=op.f("fk_scale_calibrations_scale_id_scales")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scale_calibrations")),
    )
    op.create_index("ix_scale_calibrations_scale_on", "scale_calibrations", ["scale_id", "calibrated_on"])
    with op.batch_alter_table("weigh_ins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scale_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_weigh_ins_scale_id_scales"), "scales", ["scale_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("weigh_ins", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_weigh_ins_scale_id_scales"), type_="foreignkey")
        batch_op.drop_column("scale_id")
    op.drop_index("ix_scale_calibrations_scale_on", table_name="scale_calibrations")
    op.drop_table("scale_calibrations")
    op.drop_table("scales")
