"""The programme's records: reminders and their runs, ledger checks, daily summaries, dashboard
users, the audit log, adjustments, API tokens, failed sign-ins counted while Redis is away, the
recurring jobs' last runs."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import BigId, UTCDateTime
from service.models.base import Base


class Reminder(Base):
    """One reminder or notice to one household: the key makes the fan-out send it at most once,
    however often it runs. ``kind``: eve (the evening before), morning, cancelled, moved."""

    __tablename__ = "reminders"

    # The run's columns first: one index serves a household's key and a whole run's rows.
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), primary_key=True)
    collection_date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("outbox_messages.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReminderRun(Base):
    """One fan-out (zone, collection day, kind): when it was due, last enqueued, and finished
    (every household it was for has its reminder)."""

    __tablename__ = "reminder_runs"

    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), primary_key=True)
    collection_date: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reminded: Mapped[int] = mapped_column(Integer, default=0)


class LedgerCheck(Base):
    """One run of the ledger's verification (the daily job, the CLI): its result, for the dashboard."""

    __tablename__ = "ledger_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(12))  # daily | cli
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    transfers: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    head_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    problem: Mapped[str | None] = mapped_column(Text, nullable=True)


class DailySummary(Base):
    """The figures of one local day, written once (the operators' summary text is sent with it)."""

    __tablename__ = "daily_summaries"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    figures: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """Someone who signs in to the dashboard: an admin, an operator or an auditor (reads only).

    ``session_version`` is part of the sign-in cookie's identity: changing the password or
    disabling the user moves it on, which signs out every browser that user had signed in.
    """

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'operator', 'auditor')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """One change made from the dashboard (or a sign-in): who, what, when. Append-only: the
    migrations install triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_id", "action", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(254))  # the email, kept as it was then
    action: Mapped[str] = mapped_column(String(40))  # e.g. dispute.uphold, adjustment.approve
    subject: Mapped[str] = mapped_column(String(80))  # e.g. dispute:12, account:member:K7X
    details: Mapped[str] = mapped_column(Text)  # JSON
    address: Mapped[str | None] = mapped_column(String(45), nullable=True)


class Adjustment(Base):
    """A manual correction to an account, maker-checker: proposed by one user, posted to the
    ledger only when a different user approves it (the database refuses the same user twice)."""

    __tablename__ = "adjustments"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="four_eyes"),
        Index("ix_adjustments_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_code: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(Integer)  # points: > 0 credits the account, < 0 debits it
    reason: Mapped[str] = mapped_column(String(160))
    # proposed -> approved (posted) | rejected | withdrawn
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    proposed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(160), nullable=True)
    transfer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ApiToken(Base):
    """A bearer token for the JSON API: a collector's (phone + PIN) or a dashboard user's (their
    role). Only its SHA-256 is kept; revoking it, a new PIN or a disabled account ends it.

    ``seq_base`` is a collector device's own block of #seq numbers, so that the LOG texts two
    phones of one collector hand to SMS never share a number (typed ones stay below the first)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("(collector_id IS NULL) <> (user_id IS NULL)", name="one_holder"),
        Index("ix_api_tokens_collector_id", "collector_id"),
        Index("ix_api_tokens_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256, hex
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("collectors.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    label: Mapped[str] = mapped_column(String(80))
    seq_base: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(254), nullable=True)


class SignInCount(Base):
    """Failed sign-ins counted in one fixed window, while Redis (where they are counted
    otherwise) does not answer: ``key`` names the limit and what it counts against (an address, a
    name tried, a device cookie), hashed (``service.usecases.sign_in_limits``)."""

    __tablename__ = "sign_in_counts"
    __table_args__ = (Index("ix_sign_in_counts_window_start", "window_start"),)

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)


class JobRun(Base):
    """The last run of each recurring job (sweeps, sealing, reminders, checks): when it last
    started, ended well or failed, and how often it is meant to run, so a page can tell that
    background work has fallen behind (``service.usecases.job_runs``)."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    every_seconds: Mapped[int] = mapped_column(Integer)
    last_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
