"""Households in their own words: the material words of Pidgin and Nigerian English, Yoruba,
Hausa and Igbo, for programmes made before them (each added only where the word is free and its
material exists; an operator's own words stay as they are).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As sms.grammar.LOCAL_MATERIALS was when this was written (a migration keeps its own copy).
LOCAL_MATERIALS = {
    "TIN": "ALU",
    "TINS": "ALU",
    "RUBBER": "HDPE",
    "KEG": "HDPE",
    "KEGS": "HDPE",
    "IGO": "PET",
    "ORA": "SACHET",
    "AGOLO": "ALU",
    "IWE": "PAPER",
    "GILAASI": "GLASS",
    "KWALBA": "PET",
    "LEDA": "SACHET",
    "GWANGWANI": "ALU",
    "JARKA": "HDPE",
    "TAKARDA": "PAPER",
    "GILASHI": "GLASS",
    "KARAMA": "PET",
    "NAILON": "SACHET",
    "AKWUKWO": "PAPER",
    "IKO": "GLASS",
}


def upgrade() -> None:
    add = sa.text(
        "INSERT INTO material_words (word, material_code) SELECT :word, :code "
        "WHERE EXISTS (SELECT 1 FROM materials WHERE code = :code) "
        "AND NOT EXISTS (SELECT 1 FROM material_words WHERE word = :word)"
    )
    for word, code in LOCAL_MATERIALS.items():
        op.execute(add.bindparams(word=word, code=code))


def downgrade() -> None:
    remove = sa.text("DELETE FROM material_words WHERE word = :word AND material_code = :code")
    for word, code in LOCAL_MATERIALS.items():
        op.execute(remove.bindparams(word=word, code=code))
