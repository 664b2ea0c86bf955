"""Cash-out through Paystack: the banks (Paystack's list, cached), each household's payout
account (one active), each payout with the reference sent to Paystack, and the provider's events
kept once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banks")),
        sa.UniqueConstraint("country", "code", name=op.f("uq_banks_country")),
    )
    op.create_table(
        "payout_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_events")),
        sa.UniqueConstraint("digest", name=op.f("uq_payout_events_digest")),
    )
    with op.batch_alter_table("payout_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payout_events_reference"), ["reference"], unique=False)

    op.create_table(
        "payout_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("bank_code", sa.String(length=20), nullable=False),
        sa.Column("bank_name", sa.String(length=120), nullable=False),
        sa.Column("account_number", sa.String(length=20), nullable=False),
        sa.Column("account_name", sa.String(length=120), nullable=True),
        sa.Column("recipient_code", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("registered_by", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usable_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure", sa.String(length=300), nullable=True),
        sa.CheckConstraint(
            "status IN ('resolving', 'awaiting_yes', 'active', 'replaced', 'refused')",
            name=op.f("ck_payout_accounts_status"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_payout_accounts_household_id_households")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_accounts")),
    )
    with op.batch_alter_table("payout_accounts", schema=None) as batch_op:
        batch_op.create_index("ix_payout_accounts_household_id_id", ["household_id", "id"], unique=False)
        batch_op.create_index(
            "uq_payout_accounts_one_active",
            ["household_id"],
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )

    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount_kobo", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("human_ref", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("transfer_code", sa.String(length=60), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failure", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("final_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inbound_id", sa.BigInteger(), nullable=True),
        sa.Column("retry_of", sa.Integer(), nullable=True),
        sa.Column("float_kobo", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('held', 'sending', 'pending', 'paid', 'failed', 'reversed')",
            name=op.f("ck_payouts_status"),
        ),
        sa.CheckConstraint("amount_kobo > 0 AND points > 0", name=op.f("ck_payouts_positive")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["payout_accounts.id"], name=op.f("fk_payouts_account_id_payout_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"], ["households.id"], name=op.f("fk_payouts_household_id_households")
        ),
        sa.ForeignKeyConstraint(["retry_of"], ["payouts.id"], name=op.f("fk_payouts_retry_of_payouts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("reference", name=op.f("uq_payouts_reference")),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index("ix_payouts_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_payouts_household_id_created_at", ["household_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_payouts_status_id", ["status", "id"], unique=False)

    _open_payout_accounts()


def _open_payout_accounts() -> None:
    """The two accounts cash-out posts against, opened through the ledger's own API."""
    from sqlalchemy.orm import Session

    from service.accounts import open_payout_accounts

    open_payout_accounts(Session(bind=op.get_bind()))


def downgrade() -> None:
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_payouts_status_id")
        batch_op.drop_index("ix_payouts_household_id_created_at")
        batch_op.drop_index("ix_payouts_created_at")

    op.drop_table("payouts")
    with op.batch_alter_table("payout_accounts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_payout_accounts_one_active",
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        )
        batch_op.drop_index("ix_payout_accounts_household_id_id")

    op.drop_table("payout_accounts")
    with op.batch_alter_table("payout_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_events_reference"))

    op.drop_table("payout_events")
    op.drop_table("banks")
