"""The operators' dashboard: users (argon2 hashes, roles), an append-only audit log of every change
made from the dashboard, maker-checker adjustments, hub weigh-ins, retried texts; and indexes that
let the ledger's pages find an account's, a code's or a period's transfers without a scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The audit log is history: nobody, an operator with a database client included, edits it.
POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_append_only: audit_log is append-only; % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    "CREATE TRIGGER audit_log_refuse_change BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
    "CREATE TRIGGER audit_log_refuse_truncate BEFORE TRUNCATE ON audit_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
]
SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER audit_log_refuse_{name.lower()} BEFORE {name} ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_append_only: audit_log is append-only; {name} refused'); END
    """
    for name in ("UPDATE", "DELETE")
]

TRANSFER_INDEXES = {
    "ix_ledger_transfers_debit_account": ["debit_account_id", "id"],
    "ix_ledger_transfers_credit_account": ["credit_account_id", "id"],
    "ix_ledger_transfers_code": ["code", "id"],
    "ix_ledger_transfers_recorded_at": ["recorded_at", "id"],
}


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'operator', 'auditor')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("address", sa.String(length=45), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"], unique=False)
    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_code", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=160), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_by", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=160), nullable=True),
        sa.Column("transfer_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_adjustments_amount_not_zero")),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> proposed_by", name=op.f("ck_adjustments_four_eyes")
        ),
        sa.ForeignKeyConstraint(["proposed_by"], ["users.id"], name=op.f("fk_adjustments_proposed_by_users")),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], name=op.f("fk_adjustments_decided_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
    )
    op.create_index("ix_adjustments_status_id", "adjustments", ["status", "id"], unique=False)
    op.create_table(
        "weigh_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("material_code", sa.String(length=12), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=160), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("grams > 0", name=op.f("ck_weigh_ins_grams_positive")),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_weigh_ins_collector_id_collectors")
        ),
        sa.ForeignKeyConstraint(
            ["material_code"], ["materials.code"], name=op.f("fk_weigh_ins_material_code_materials")
        ),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f("fk_weigh_ins_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weigh_ins")),
    )
    op.create_index("ix_weigh_ins_collector_day", "weigh_ins", ["collector_id", "day"], unique=False)
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("retry_of", sa.BigInteger(), nullable=True))
    # Few texts are ever sent again: only those rows have an entry.
    op.create_index(
        "ix_outbox_messages_retry_of",
        "outbox_messages",
        ["retry_of"],
        unique=False,
        postgresql_where=sa.text("retry_of IS NOT NULL"),
        sqlite_where=sa.text("retry_of IS NOT NULL"),
    )
    for name, columns in TRANSFER_INDEXES.items():
        op.create_index(name, "ledger_transfers", columns, unique=False)
    for statement in POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_refuse_change ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_refuse_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change()")
    for name in TRANSFER_INDEXES:
        op.drop_index(name, table_name="ledger_transfers")
    op.drop_index("ix_outbox_messages_retry_of", table_name="outbox_messages")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("retry_of")
    op.drop_index("ix_weigh_ins_collector_day", table_name="weigh_ins")
    op.drop_table("weigh_ins")
    op.drop_index("ix_adjustments_status_id", table_name="adjustments")
    op.drop_table("adjustments")
    op.drop_index("ix_audit_log_action_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("users")
