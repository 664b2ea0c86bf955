"""The ledger: accounts, transfers, balance counters, the hash chain, and the triggers that
keep posted history append-only and the counters true.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Posted history: no UPDATE, no DELETE (and on PostgreSQL no TRUNCATE), whoever asks.
APPEND_ONLY = ("ledger_accounts", "ledger_transfers", "ledger_chain")

# How many counter rows an account without a limit spreads its totals over (PostgreSQL): the
# issuance account is debited by every pickup, and one row would make it a global lock.
SPREAD = 16

POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger_append_only: % is append-only; % refused', TG_TABLE_NAME, TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    *[
        sql
        for table in APPEND_ONLY
        for sql in (
            f"CREATE TRIGGER {table}_refuse_change BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
            f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        )
    ],
    # The counters move only from inside the posting trigger (nesting depth 2), never by hand.
    """
    CREATE FUNCTION ledger_balances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF pg_trigger_depth() > 1 AND TG_OP <> 'DELETE' THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'INSERT' AND NEW.debits = 0 AND NEW.credits = 0 THEN
            RETURN NEW;  -- an account's first, empty counter row
        END IF;
        RAISE EXCEPTION 'ledger_append_only: ledger_balances moves only with a transfer; % refused', TG_OP
            USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    "CREATE TRIGGER ledger_balances_refuse_change BEFORE INSERT OR UPDATE OR DELETE ON ledger_balances"
    " FOR EACH ROW EXECUTE FUNCTION ledger_balances_guard()",
    "CREATE TRIGGER ledger_balances_refuse_truncate BEFORE TRUNCATE ON ledger_balances"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    # Once per INSERT statement, over all its rows (a transition table): a batch of 100 pickups
    # adds to the issuance account's counter once, not 100 times.
    f"""
    CREATE FUNCTION ledger_count_transfers() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        spread integer := (txid_current() % {SPREAD})::integer;
        overdrawn text;
    BEGIN
        -- Limited accounts (one counter row each, in id order) first, spread ones after: one
        -- lock order for every posting.
        INSERT INTO ledger_balances AS b (account_id, slot, debits, credits)
        SELECT moved.account_id, CASE WHEN a.no_overdraft THEN 0 ELSE spread END,
               sum(moved.debit), sum(moved.credit)
        FROM (
            SELECT debit_account_id AS account_id, amount AS debit, 0 AS credit FROM new_transfers
            UNION ALL
            SELECT credit_account_id, 0, amount FROM new_transfers
        ) AS moved
        JOIN ledger_accounts a ON a.id = moved.account_id
        GROUP BY moved.account_id, a.no_overdraft
        ORDER BY a.no_overdraft DESC, moved.account_id
        ON CONFLICT (account_id, slot)
        DO UPDATE SET debits = b.debits + EXCLUDED.debits, credits = b.credits + EXCLUDED.credits;
        -- The counters just moved hold the row locks: this check sees what no one else can change.
        SELECT a.code INTO overdrawn
        FROM ledger_balances b JOIN ledger_accounts a ON a.id = b.account_id
        WHERE b.slot = 0 AND a.no_overdraft AND b.debits > b.credits
          AND b.account_id IN (SELECT debit_account_id FROM new_transfers)
        ORDER BY a.id
        LIMIT 1;
        IF overdrawn IS NOT NULL THEN
            RAISE EXCEPTION 'ledger_insufficient_funds: % would go below zero', overdrawn
                USING ERRCODE = 'check_violation';
        END IF;
        INSERT INTO ledger_pending (transfer_id) SELECT id FROM new_transfers;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER ledger_transfers_count AFTER INSERT ON ledger_transfers"
    " REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT EXECUTE FUNCTION ledger_count_transfers()",
]

# The sealer's queue gains a row with every posting and loses it at the next seal: vacuumed after
# every few thousand dead rows rather than after a fifth of the table (the default), its index
# never fills with dead entries. The counters are rewritten by every posting: the same.
POSTGRESQL_STORAGE = [
    "ALTER TABLE ledger_pending SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000,"
    " autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 5000)",
    "ALTER TABLE ledger_balances SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 5000)",
]

# SQLite has one writer at a time, so every account keeps one counter row (slot 0).
SQLITE_TRIGGERS = [
    *[
        f"""
        CREATE TRIGGER {table}_refuse_{op_name.lower()} BEFORE {op_name} ON {table}
        BEGIN SELECT RAISE(ABORT, 'ledger_append_only: {table} is append-only; {op_name} refused'); END
        """
        for table in APPEND_ONLY
        for op_name in ("UPDATE", "DELETE")
    ],
    """
    CREATE TRIGGER ledger_balances_refuse_delete BEFORE DELETE ON ledger_balances
    BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_balances moves only with a transfer; DELETE refused'); END
    """,
    # SQLite has no trigger depth to tell the posting trigger from a hand: refuse at least any
    # change that is not an increase (verify() catches the rest).
    """
    CREATE TRIGGER ledger_balances_refuse_update BEFORE UPDATE ON ledger_balances
    WHEN NEW.debits < OLD.debits OR NEW.credits < OLD.credits
        OR NEW.account_id <> OLD.account_id OR NEW.slot <> OLD.slot
    BEGIN SELECT RAISE(ABORT, 'ledger_append_only: ledger_balances only grows; UPDATE refused'); END
    """,
    """
    CREATE TRIGGER ledger_transfers_count AFTER INSERT ON ledger_transfers
    BEGIN
        INSERT INTO ledger_balances (account_id, slot, debits, credits)
        VALUES (NEW.credit_account_id, 0, 0, NEW.amount)
        ON CONFLICT (account_id, slot) DO UPDATE SET credits = credits + excluded.credits;
        INSERT INTO ledger_balances (account_id, slot, debits, credits)
        VALUES (NEW.debit_account_id, 0, NEW.amount, 0)
        ON CONFLICT (account_id, slot) DO UPDATE SET debits = debits + excluded.debits;
        SELECT RAISE(ABORT, 'ledger_insufficient_funds: a limited account would go below zero')
        WHERE EXISTS (
            SELECT 1 FROM ledger_accounts a JOIN ledger_balances b ON b.account_id = a.id AND b.slot = 0
            WHERE a.id = NEW.debit_account_id AND a.no_overdraft AND b.debits > b.credits
        );
        INSERT INTO ledger_pending (transfer_id) VALUES (NEW.id);
    END
    """,
]


def upgrade() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("no_overdraft", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_accounts")),
        sa.UniqueConstraint("code", name=op.f("uq_ledger_accounts_code")),
    )
    op.create_table(
        "ledger_balances",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("debits", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "debits >= 0 AND credits >= 0",
            name=op.f("ck_ledger_balances_counters_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_balances_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", "slot", name=op.f("pk_ledger_balances")),
    )
    op.create_table(
        "ledger_sealed_totals",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("debits", sa.BigInteger(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["ledger_accounts.id"],
            name=op.f("fk_ledger_sealed_totals_account_id_ledger_accounts"),
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_ledger_sealed_totals")),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("human_ref", sa.String(length=6), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("memo", sa.String(length=500), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_transfers_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id",
            name=op.f("ck_ledger_transfers_distinct_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_ledger_transfers_reverses_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transfers")),
        sa.UniqueConstraint("human_ref", name=op.f("uq_ledger_transfers_human_ref")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transfers_idempotency_key")),
    )
    op.create_index("ix_ledger_transfers_reference", "ledger_transfers", ["reference"], unique=False)
    # A transfer is reversed at most once; most are never reversed and need no index entry.
    op.create_index(
        "uq_ledger_transfers_reverses_id",
        "ledger_transfers",
        ["reverses_id"],
        unique=True,
        postgresql_where=sa.text("reverses_id IS NOT NULL"),
        sqlite_where=sa.text("reverses_id IS NOT NULL"),
    )
    op.create_table(
        "ledger_chain",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("transfer_id", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("debit_side_debits", sa.BigInteger(), nullable=False),
        sa.Column("debit_side_credits", sa.BigInteger(), nullable=False),
        sa.Column("credit_side_debits", sa.BigInteger(), nullable=False),
        sa.Column("credit_side_credits", sa.BigInteger(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_chain")),
        sa.UniqueConstraint("transfer_id", name=op.f("uq_ledger_chain_transfer_id")),
    )
    op.create_index(
        "ix_ledger_chain_credit_account",
        "ledger_chain",
        ["credit_account_id", "seq"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_chain_debit_account",
        "ledger_chain",
        ["debit_account_id", "seq"],
        unique=False,
    )
    op.create_index("ix_ledger_chain_sealed_at", "ledger_chain", ["sealed_at"], unique=False)
    op.create_table(
        "ledger_pending",
        sa.Column("transfer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_ledger_pending")),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*POSTGRESQL_TRIGGERS, *POSTGRESQL_STORAGE):
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*APPEND_ONLY, "ledger_balances"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_truncate ON {table}")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_count ON ledger_transfers")
        op.execute("DROP FUNCTION IF EXISTS ledger_count_transfers()")
        op.execute("DROP FUNCTION IF EXISTS ledger_refuse_change()")
        op.execute("DROP FUNCTION IF EXISTS ledger_balances_guard()")
    op.drop_table("ledger_pending")
    op.drop_index("ix_ledger_chain_sealed_at", table_name="ledger_chain")
    op.drop_index("ix_ledger_chain_debit_account", table_name="ledger_chain")
    op.drop_index("ix_ledger_chain_credit_account", table_name="ledger_chain")
    op.drop_table("ledger_chain")
    op.drop_index("ix_ledger_transfers_reference", table_name="ledger_transfers")
    op.drop_index("uq_ledger_transfers_reverses_id", table_name="ledger_transfers")
    op.drop_table("ledger_transfers")
    op.drop_table("ledger_sealed_totals")
    op.drop_table("ledger_balances")
    op.drop_table("ledger_accounts")
