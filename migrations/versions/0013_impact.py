"""What a kilo of each material means to a household (issue 23's IMPACT): how many items it is
(bottles, cans, sachets) and the CO2e its recycling avoids, per material, set by the operator.
The default materials get the defaults docs/reasons-to-stay.md cites; a programme's own
materials start without (IMPACT then shows their kilos alone).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code: (items a kg, what an item is, grams of CO2e avoided a kg recycled); docs/reasons-to-stay.md
DEFAULTS = {
    "PET": (50, "bottle", 1150),
    "ALU": (67, "can", 10060),
    "SACHET": (400, "sachet", 1030),
    "HDPE": (None, None, 880),
    "PAPER": (None, None, 3910),
    "GLASS": (3, "bottle", 310),
}


def upgrade() -> None:
    op.add_column("materials", sa.Column("items_per_kg", sa.Integer(), nullable=True))
    op.add_column("materials", sa.Column("item_unit", sa.String(length=12), nullable=True))
    op.add_column("materials", sa.Column("co2e_g_per_kg", sa.Integer(), nullable=True))
    materials = sa.table(
        "materials",
        sa.column("code", sa.String),
        sa.column("items_per_kg", sa.Integer),
        sa.column("item_unit", sa.String),
        sa.column("co2e_g_per_kg", sa.Integer),
    )
    for code, (items, unit, co2e) in DEFAULTS.items():
        op.execute(
            materials.update()
            .where(materials.c.code == code)
            .values(items_per_kg=items, item_unit=unit, co2e_g_per_kg=co2e)
        )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+ has it): a batch would copy ``materials`` into a new table
    # and drop the old one, which the rows of ``rates`` and ``material_words`` forbid.
    for column in ("co2e_g_per_kg", "item_unit", "items_per_kg"):
        op.drop_column("materials", column)
