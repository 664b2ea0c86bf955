"""Field flows: zones, materials and their words, rates, rewards, collectors, partners,
collections and their lines, disputes, ratings, pickup requests and redemptions.

The default materials (PET, SACHET, ALU, HDPE, PAPER, GLASS) and their synonyms are put in here,
so every programme starts able to read a LOG. Rates are append-only, like the ledger: the
database refuses UPDATE and DELETE on them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

DEFAULT_MATERIALS = {
    "PET": ("PET bottles", ("BOTTLE", "BOTTLES", "PLASTIC", "PLASTICS")),
    "SACHET": ("Water sachets", ("SACHETS", "PURE WATER", "PUREWATER", "PW", "NYLON SACHET", "NYLON")),
    "ALU": ("Aluminium cans", ("CAN", "CANS", "ALUMINIUM", "ALUMINUM")),
    "HDPE": ("HDPE containers", ("JERRYCAN", "JERRYCANS")),
    "PAPER": ("Paper and carton", ("CARTON", "CARTONS", "CARDBOARD")),
    "GLASS": ("Glass", ("JAR", "JARS")),
}

POSTGRESQL_RATES_APPEND_ONLY = [
    """
    CREATE FUNCTION rates_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'rates_append_only: a rate is never edited; add one with a later effective date'
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    "CREATE TRIGGER rates_refuse_change BEFORE UPDATE OR DELETE ON rates"
    " FOR EACH ROW EXECUTE FUNCTION rates_refuse_change()",
    "CREATE TRIGGER rates_refuse_truncate BEFORE TRUNCATE ON rates"
    " FOR EACH STATEMENT EXECUTE FUNCTION rates_refuse_change()",
]
SQLITE_RATES_APPEND_ONLY = [
    f"""
    CREATE TRIGGER rates_refuse_{name.lower()} BEFORE {name} ON rates
    BEGIN SELECT RAISE(ABORT, 'rates_append_only: a rate is never edited; add one with a later effective date'); END
    """
    for name in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    op.create_table(
        "materials",
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_materials")),
    )
    op.create_table(
        "rewards",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("price", sa.Integer(), nullable=False),
        sa.Column("min_units", sa.Integer(), nullable=False),
        sa.Column("max_units", sa.Integer(), nullable=False),
        sa.Column("stock", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_rewards")),
        sa.UniqueConstraint("position", name=op.f("uq_rewards_position")),
    )
    op.create_table(
        "zones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("days", sa.String(length=27), nullable=False),
        sa.Column("window_start", sa.String(length=5), nullable=False),
        sa.Column("window_end", sa.String(length=5), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("name", name=op.f("uq_zones_name")),
    )
    op.create_table(
        "collectors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("commission_per_kg", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["phone"], ["phones.number"], name=op.f("fk_collectors_phone_phones")),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_collectors_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collectors")),
        sa.UniqueConstraint("phone", name=op.f("uq_collectors_phone")),
    )
    op.create_table(
        "material_words",
        sa.Column("word", sa.String(length=30), nullable=False),
        sa.Column("material_code", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_code"], ["materials.code"], name=op.f("fk_material_words_material_code_materials")
        ),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_material_words")),
    )
    op.create_index(
        op.f("ix_material_words_material_code"), "material_words", ["material_code"], unique=False
    )
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["phone"], ["phones.number"], name=op.f("fk_partners_phone_phones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("phone", name=op.f("uq_partners_phone")),
    )
    op.create_table(
        "rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("material_code", sa.String(length=12), nullable=False),
        sa.Column("points_per_kg", sa.Integer(), nullable=False),
        sa.Column("commission_per_kg", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_code"], ["materials.code"], name=op.f("fk_rates_material_code_materials")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rates")),
        sa.UniqueConstraint("material_code", "effective_from", name=op.f("uq_rates_material_code")),
    )
    op.create_table(
        "collections",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=8), nullable=True),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dedupe_key", sa.String(length=120), nullable=False),
        sa.Column("text_key", sa.String(length=64), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("grams", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("commission", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.BigInteger(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_collections_collector_id_collectors")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_collections_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"], name=op.f("fk_collections_inbound_id_inbound_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_collections_dedupe_key")),
        sa.UniqueConstraint("reference", name=op.f("uq_collections_reference")),
    )
    op.create_index(
        "ix_collections_collector_received", "collections", ["collector_id", "received_at"], unique=False
    )
    op.create_index(
        "ix_collections_household_occurred", "collections", ["household_id", "occurred_at"], unique=False
    )
    op.create_table(
        "pickup_requests",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("collection_date", sa.Date(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("note", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_pickup_requests_household_id_households")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_pickup_requests_zone_id_zones")),
        sa.PrimaryKeyConstraint("household_id", "collection_date", name=op.f("pk_pickup_requests")),
    )
    op.create_index(
        "ix_pickup_requests_zone_date", "pickup_requests", ["zone_id", "collection_date"], unique=False
    )
    op.create_table(
        "redemptions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=8), nullable=True),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("reward_code", sa.String(length=20), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_ref", sa.String(length=64), nullable=True),
        sa.Column("voucher_code", sa.String(length=16), nullable=True),
        sa.Column("voucher_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voucher_used_by", sa.Integer(), nullable=True),
        sa.Column("failure", sa.String(length=200), nullable=True),
        sa.Column("inbound_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fulfilled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_redemptions_household_id_households")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"], name=op.f("fk_redemptions_inbound_id_inbound_messages")
        ),
        sa.ForeignKeyConstraint(
            ["reward_code"], ["rewards.code"], name=op.f("fk_redemptions_reward_code_rewards")
        ),
        sa.ForeignKeyConstraint(
            ["voucher_used_by"], ["partners.id"], name=op.f("fk_redemptions_voucher_used_by_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
        sa.UniqueConstraint("reference", name=op.f("uq_redemptions_reference")),
        sa.UniqueConstraint("voucher_code", name=op.f("uq_redemptions_voucher_code")),
    )
    op.create_index(op.f("ix_redemptions_household_id"), "redemptions", ["household_id"], unique=False)
    op.create_index("ix_redemptions_status_created", "redemptions", ["status", "created_at"], unique=False)
    op.create_table(
        "collection_lines",
        sa.Column("collection_id", sa.BigInteger(), nullable=False),
        sa.Column("material_code", sa.String(length=12), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=False),
        sa.Column("rate_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("commission", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_collection_lines_collection_id_collections")
        ),
        sa.ForeignKeyConstraint(
            ["material_code"], ["materials.code"], name=op.f("fk_collection_lines_material_code_materials")
        ),
        sa.ForeignKeyConstraint(["rate_id"], ["rates.id"], name=op.f("fk_collection_lines_rate_id_rates")),
        sa.PrimaryKeyConstraint("collection_id", "material_code", name=op.f("pk_collection_lines")),
    )
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=160), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=True),
        sa.Column("decision_note", sa.String(length=160), nullable=True),
        sa.Column("inbound_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_disputes_collection_id_collections")
        ),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound_messages.id"], name=op.f("fk_disputes_inbound_id_inbound_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
        sa.UniqueConstraint("collection_id", name=op.f("uq_disputes_collection_id")),
    )
    op.create_index("ix_disputes_status_opened", "disputes", ["status", "opened_at"], unique=False)
    op.create_table(
        "ratings",
        sa.Column("collection_id", sa.BigInteger(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["collection_id"], ["collections.id"], name=op.f("fk_ratings_collection_id_collections")
        ),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_ratings_collector_id_collectors")
        ),
        sa.PrimaryKeyConstraint("collection_id", name=op.f("pk_ratings")),
    )
    op.create_index(op.f("ix_ratings_collector_id"), "ratings", ["collector_id"], unique=False)
    with op.batch_alter_table("households") as batch:
        batch.add_column(sa.Column("zone_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("status", sa.String(length=12), nullable=False, server_default="active"))
        batch.create_index(batch.f("ix_households_zone_id"), ["zone_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_households_zone_id_zones"), "zones", ["zone_id"], ["id"])
    with op.batch_alter_table("households") as batch:
        batch.alter_column("status", server_default=None)
    _add_default_materials()
    _open_programme_accounts()
    triggers = (
        POSTGRESQL_RATES_APPEND_ONLY
        if op.get_context().dialect.name == "postgresql"
        else SQLITE_RATES_APPEND_ONLY
    )
    for statement in triggers:
        op.execute(statement)


def _open_programme_accounts() -> None:
    """The accounts every pickup and redemption posts against, opened through the ledger's own API."""
    from sqlalchemy.orm import Session

    from service.accounts import open_programme_accounts

    open_programme_accounts(Session(bind=op.get_bind()))


def _add_default_materials() -> None:
    materials = sa.table(
        "materials",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("created_at", sa.DateTime),
    )
    words = sa.table("material_words", sa.column("word", sa.String), sa.column("material_code", sa.String))
    now = datetime.now(UTC)
    op.bulk_insert(
        materials,
        [{"code": code, "name": name, "created_at": now} for code, (name, _) in DEFAULT_MATERIALS.items()],
    )
    op.bulk_insert(
        words,
        [
            {"word": word, "material_code": code}
            for code, (_, synonyms) in DEFAULT_MATERIALS.items()
            for word in (code, *synonyms)
        ],
    )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS rates_refuse_change ON rates")
        op.execute("DROP TRIGGER IF EXISTS rates_refuse_truncate ON rates")
        op.execute("DROP FUNCTION IF EXISTS rates_refuse_change()")
    with op.batch_alter_table("households") as batch:
        batch.drop_constraint(batch.f("fk_households_zone_id_zones"), type_="foreignkey")
        batch.drop_index(batch.f("ix_households_zone_id"))
        batch.drop_column("status")
        batch.drop_column("zone_id")
    op.drop_index(op.f("ix_ratings_collector_id"), table_name="ratings")
    op.drop_table("ratings")
    op.drop_index("ix_disputes_status_opened", table_name="disputes")
    op.drop_table("disputes")
    op.drop_table("collection_lines")
    op.drop_index("ix_redemptions_status_created", table_name="redemptions")
    op.drop_index(op.f("ix_redemptions_household_id"), table_name="redemptions")
    op.drop_table("redemptions")
    op.drop_index("ix_pickup_requests_zone_date", table_name="pickup_requests")
    op.drop_table("pickup_requests")
    op.drop_index("ix_collections_household_occurred", table_name="collections")
    op.drop_index("ix_collections_collector_received", table_name="collections")
    op.drop_table("collections")
    op.drop_table("rates")
    op.drop_table("partners")
    op.drop_index(op.f("ix_material_words_material_code"), table_name="material_words")
    op.drop_table("material_words")
    op.drop_table("collectors")
    op.drop_table("zones")
    op.drop_table("rewards")
    op.drop_table("materials")
