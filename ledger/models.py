"""The ledger's tables, as SQLAlchemy 2 typed models on a metadata of their own.

The schema is built by the project's Alembic migrations (which also install the triggers that make
history append-only and keep the balance counters); these models describe it for queries.

- ``ledger_accounts``: immutable once opened.
- ``ledger_transfers``: immutable; every credit, commission, redemption, reversal, adjustment.
- ``ledger_balances``: per-account posted debit and credit counters, kept by a trigger on every
  insert into ``ledger_transfers``. An account without a limit spreads its counters over several
  slots so that the one issuance account every pickup debits is never a single hot row; an account
  with a limit keeps exactly one slot, which is locked and checked on every posting.
- ``ledger_pending``: transfers committed but not yet sealed into the chain.
- ``ledger_chain``: the SHA-256 hash chain, one row per transfer, in sequence order, with each
  account's running totals after it (for balances as of any past sequence number).
- ``ledger_sealed_totals``: each account's running totals as of the last sealed transfer.

Posted history (transfers, chain, pending) has no foreign keys to accounts or between its own
tables, on purpose. Its rows are never changed or deleted (the triggers), so a key could only
check inserts, which posting already does by resolving account codes; and on PostgreSQL each
check takes a share lock on the parent row, which for the issuance account that every pickup
debits is exactly the hot lock the design avoids. ``verify()`` checks every such reference
instead. (``reverses_id`` keeps its key: reversals are rare and must name a real transfer.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Connection,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps it as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware datetime (UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


class LedgerBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(LedgerBase):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    # "Debits may not exceed credits": a household can never go below zero.
    no_overdraft: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transfer(LedgerBase):
    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        Index("ix_ledger_transfers_reference", "reference"),
        # Browsing (newest first, paged by id): an account's, a code's and a period's transfers.
        Index("ix_ledger_transfers_debit_account", "debit_account_id", "id"),
        Index("ix_ledger_transfers_credit_account", "credit_account_id", "id"),
        Index("ix_ledger_transfers_code", "code", "id"),
        Index("ix_ledger_transfers_recorded_at", "recorded_at", "id"),
        # A transfer is reversed at most once; most are never reversed and need no index entry.
        Index(
            "uq_ledger_transfers_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    human_ref: Mapped[str] = mapped_column(String(6), unique=True)
    debit_account_id: Mapped[int] = mapped_column(Integer)
    credit_account_id: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(128))
    memo: Mapped[str] = mapped_column(String(500))
    actor: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("ledger_transfers.id"), nullable=True
    )


class BalanceSlot(LedgerBase):
    __tablename__ = "ledger_balances"
    __table_args__ = (CheckConstraint("debits >= 0 AND credits >= 0", name="counters_not_negative"),)

    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    debits: Mapped[int] = mapped_column(BigInteger, default=0)
    credits: Mapped[int] = mapped_column(BigInteger, default=0)


class Pending(LedgerBase):
    __tablename__ = "ledger_pending"

    transfer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class ChainLink(LedgerBase):
    __tablename__ = "ledger_chain"
    __table_args__ = (
        Index("ix_ledger_chain_debit_account", "debit_account_id", "seq"),
        Index("ix_ledger_chain_credit_account", "credit_account_id", "seq"),
        Index("ix_ledger_chain_sealed_at", "sealed_at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    transfer_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    debit_account_id: Mapped[int] = mapped_column(Integer)
    credit_account_id: Mapped[int] = mapped_column(Integer)
    # Running totals of the debited and of the credited account once this transfer is counted.
    debit_side_debits: Mapped[int] = mapped_column(BigInteger)
    debit_side_credits: Mapped[int] = mapped_column(BigInteger)
    credit_side_debits: Mapped[int] = mapped_column(BigInteger)
    credit_side_credits: Mapped[int] = mapped_column(BigInteger)
    sealed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SealedTotals(LedgerBase):
    __tablename__ = "ledger_sealed_totals"

    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    debits: Mapped[int] = mapped_column(BigInteger)
    credits: Mapped[int] = mapped_column(BigInteger)


metadata = LedgerBase.metadata

# The tables, for Core statements (the hot paths use Core: fewer objects per posting).
accounts_t = cast(Table, Account.__table__)
transfers_t = cast(Table, Transfer.__table__)
balances_t = cast(Table, BalanceSlot.__table__)
pending_t = cast(Table, Pending.__table__)
chain_t = cast(Table, ChainLink.__table__)
totals_t = cast(Table, SealedTotals.__table__)


def driver_cursor(connection: Connection, name: str | None = None) -> Any:
    """A cursor on the driver's own connection (server-side when named, on PostgreSQL): the hot
    paths send plain SQL straight to it, skipping SQLAlchemy's statement machinery."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    return dbapi.cursor(name=name) if name else dbapi.cursor()
