"""Cash-out: the banks Paystack pays into (cached), each household's payout account, each payout,
and the provider's events as they came (a replayed webhook is kept once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import UTCDateTime
from service.models.base import Base

ACCOUNT_STATUSES = ("resolving", "awaiting_yes", "active", "replaced", "refused")
PAYOUT_STATUSES = ("held", "sending", "pending", "paid", "failed", "reversed")


class Bank(Base):
    """A bank (or mobile-money wallet) as Paystack's /bank lists it, refreshed daily: what a
    household's ``BANK <words>`` is matched against."""

    __tablename__ = "banks"
    __table_args__ = (UniqueConstraint("country", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(20))  # nigeria | ghana | kenya
    code: Mapped[str] = mapped_column(String(20))  # Paystack's bank code ("058")
    name: Mapped[str] = mapped_column(String(120))  # "Guaranty Trust Bank"
    slug: Mapped[str] = mapped_column(String(120))  # "guaranty-trust-bank"
    kind: Mapped[str] = mapped_column(String(20))  # nuban | mobile_money | ...
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PayoutAccount(Base):
    """Where a household's cash goes: resolving (asked Paystack for its name) -> awaiting_yes (the
    name texted; YES from the household's own phone saves it) -> active, until another replaces it
    (replaced); refused when Paystack knows no such account. One active account a household.
    Registered by a collector or an operator, or replacing another, it is ``usable_from`` a
    cooling-off period later (against a stolen phone or a dishonest helper)."""

    __tablename__ = "payout_accounts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('resolving', 'awaiting_yes', 'active', 'replaced', 'refused')", name="status"
        ),
        Index(
            "uq_payout_accounts_one_active",
            "household_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index("ix_payout_accounts_household_id_id", "household_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    bank_code: Mapped[str] = mapped_column(String(20))
    bank_name: Mapped[str] = mapped_column(String(120))
    account_number: Mapped[str] = mapped_column(String(20))
    account_name: Mapped[str | None] = mapped_column(String(120), nullable=True)
    recipient_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="resolving")
    # "household", "collector:<id>" or "user:<id> <email>"
    registered_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    usable_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failure: Mapped[str | None] = mapped_column(String(300), nullable=True)


class Payout(Base):
    """Cash sent to a household's account. held (points debited at once) -> sending (a job has it)
    -> pending (Paystack took it) -> paid; or failed / reversed, each refunded (an exact reversal
    of the debit) in the same transaction. ``reference`` goes to Paystack with the transfer: a
    retry finds the transfer it made instead of making another."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('held', 'sending', 'pending', 'paid', 'failed', 'reversed')", name="status"
        ),
        CheckConstraint("amount_kobo > 0 AND points > 0", name="positive"),
        Index("ix_payouts_status_id", "status", "id"),
        Index("ix_payouts_household_id_created_at", "household_id", "created_at"),
        Index("ix_payouts_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("payout_accounts.id"))
    amount_kobo: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    human_ref: Mapped[str | None] = mapped_column(String(12), nullable=True)  # the debit's receipt ref
    status: Mapped[str] = mapped_column(String(10), default="held")
    transfer_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)  # a new account's cooling-off
    failure: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    inbound_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("payouts.id"), nullable=True)
    # The programme's Paystack balance seen just before this payout was sent (the float).
    float_kobo: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class PayoutEvent(Base):
    """A provider's webhook as it came, once: ``digest`` is the SHA-256 of its raw body, so the same
    event delivered twice is kept and acted on once."""

    __tablename__ = "payout_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(60), nullable=True, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
