"""The service's own tables (households, collectors, pickups, messages, ...) on one metadata.

The ledger keeps its tables on a metadata of its own (``ledger.metadata``); Alembic builds both.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.models import NAMING_CONVENTION, BigId, UTCDateTime


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Phone(Base):
    """A phone number Kolekt has heard from or texts: its language and whether it opted out.

    Opt-outs belong to the number, not to a household: anyone may text STOP, and a number that
    did is never sent anything again until it texts START.
    """

    __tablename__ = "phones"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)  # E.164
    language: Mapped[str] = mapped_column(String(3), default="EN")
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)


class Household(Base):
    """A member household: registered by JOIN (or a collector's NEW), known by its member code."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # K + the id + a check letter; set in the same transaction as the row (it needs the id).
    member_code: Mapped[str | None] = mapped_column(String(12), unique=True, nullable=True)
    phone: Mapped[str] = mapped_column(ForeignKey("phones.number"), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    address: Mapped[str | None] = mapped_column(String(160), nullable=True)
    joined_via: Mapped[str] = mapped_column(String(16), default="sms")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | suspended
    # The collector app's id for a household it registered offline: syncing it again finds this row.
    client_id: Mapped[str | None] = mapped_column(String(36), unique=True, nullable=True)


class InboundMessage(Base):
    """A text as the gateway delivered it, kept before it is acted on: the provider's id makes a
    repeated webhook a no-op, and the row shows what was received even if acting on it failed."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("provider", "provider_message_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    recipient: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # received -> processed | failed
    status: Mapped[str] = mapped_column(String(12), default="received")
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # What it was read as: a command name (Balance, Join, ...) or parse-error:<reason>.
    command: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class OutboxMessage(Base):
    """One text to send, written in the same transaction as the change that caused it and sent by
    a job after the commit. Its status only moves forward (``sms.gateways.STATUS_RANK``)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id"),
        # The sweep: what is queued and due.
        Index("ix_outbox_messages_status_due", "status", "next_attempt_at"),
        # The loop guard and a phone's conversation.
        Index("ix_outbox_messages_to_created", "to_phone", "created_at"),
        # A failed text's retry (few rows: only those sent again have an entry).
        Index(
            "ix_outbox_messages_retry_of",
            "retry_of",
            postgresql_where=text("retry_of IS NOT NULL"),
            sqlite_where=text("retry_of IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    to_phone: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(3))
    segments: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str] = mapped_column(String(5))  # GSM-7 or UCS-2
    kind: Mapped[str] = mapped_column(String(16))  # transactional | reminder | report
    template: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    provider: Mapped[str | None] = mapped_column(String(20), nullable=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    inbound_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id"), nullable=True, index=True
    )
    # An answer to the recipient's own text: the only kind sent in quiet hours.
    reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A text an operator sent again from the dashboard names the failed one it repeats.
    retry_of: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- the programme: zones, materials, rates, rewards ---------------------------------------------


class Zone(Base):
    """A neighbourhood a collector covers, with its collection days and time window (local time).

    ``days``: lower-case weekday abbreviations in week order, comma-separated ("tue,fri");
    ``window_start``/``window_end``: "HH:MM" in the programme's time zone.
    """

    __tablename__ = "zones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    days: Mapped[str] = mapped_column(String(27))
    window_start: Mapped[str] = mapped_column(String(5))
    window_end: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)
    # "HH:MM" local: the reminder the evening before a collection day, and the optional one on
    # the morning of it (None: no morning reminder).
    remind_at: Mapped[str] = mapped_column(String(5), default="18:00", server_default="18:00")
    morning_at: Mapped[str | None] = mapped_column(String(5), nullable=True)


class DayChange(Base):
    """A one-off exception to a zone's collection days: ``day`` (one of its collection days) is
    cancelled, or moved to ``moved_to``. The zone's households are told by text."""

    __tablename__ = "day_changes"
    __table_args__ = (UniqueConstraint("zone_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    day: Mapped[date] = mapped_column(Date)
    moved_to: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))


class Material(Base):
    """What collectors pick up (PET, SACHET, ...). Its words (code and synonyms) are in ``material_words``."""

    __tablename__ = "materials"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)


class MaterialWord(Base):
    """A word (upper case, one or two words) a person may type for a material: a word means one
    material only."""

    __tablename__ = "material_words"

    word: Mapped[str] = mapped_column(String(30), primary_key=True)
    material_code: Mapped[str] = mapped_column(ForeignKey("materials.code"), index=True)


class Rate(Base):
    """Points per kg for the household and commission per kg for the collector, for one material
    from ``effective_from`` on. Never edited in place (the database refuses UPDATE and DELETE):
    a change is a new row with a later ``effective_from``; a pickup is priced at the row in force
    when it happened."""

    __tablename__ = "rates"
    __table_args__ = (UniqueConstraint("material_code", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_code: Mapped[str] = mapped_column(ForeignKey("materials.code"))
    points_per_kg: Mapped[int] = mapped_column(Integer)
    commission_per_kg: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)
    created_by: Mapped[str] = mapped_column(String(80))


class Reward(Base):
    """One item of the rewards catalogue. ``price`` is points per unit: per naira of airtime, per
    voucher or per item of goods. ``stock`` None means unlimited; ``position`` is its number in
    the REWARDS reply (REDEEM 2)."""

    __tablename__ = "rewards"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # airtime | voucher | goods
    price: Mapped[int] = mapped_column(Integer)
    min_units: Mapped[int] = mapped_column(Integer, default=1)
    max_units: Mapped[int] = mapped_column(Integer, default=1)
    stock: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)


# --- people in the field ---------------------------------------------------------------------------


class Collector(Base):
    """A field agent: their phone gets the collector commands. ``commission_per_kg``, when set,
    replaces the rates' per-material commission for this collector."""

    __tablename__ = "collectors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(ForeignKey("phones.number"), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), nullable=True)
    commission_per_kg: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | suspended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)
    # The collector app's PIN (argon2id), set by an operator or by the collector's own phone (PIN).
    pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pin_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Partner(Base):
    """A shop that accepts vouchers: its phone may text VERIFY code."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(ForeignKey("phones.number"), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | suspended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=_utcnow)


# --- what happens in the field -------------------------------------------------------------------


class Collection(Base):
    """One pickup: who, when, what (its lines), and the ledger transfers that credited it.

    ``reference`` is the human reference of the household's credit transfer (the receipt's code).
    ``dedupe_key`` makes a pickup count once however often it arrives: ``sms:<collector>:#<seq>``,
    ``app:<uuid>``, or one per inbound text (``sms:in:<id>``) when no #seq was given; a repeat
    of the same text within 6 hours is found by ``text_key``.
    """

    __tablename__ = "collections"
    __table_args__ = (
        Index("ix_collections_collector_received", "collector_id", "received_at"),
        Index("ix_collections_household_occurred", "household_id", "occurred_at"),
        # The dispute-window expiry: unsettled pickups, oldest first.
        Index("ix_collections_settled_received", "settled_at", "received_at"),
        # A collector's #seq, whether it came by SMS or by the app's sync: the same pickup.
        Index("ix_collections_collector_seq", "collector_id", "seq"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reference: Mapped[str | None] = mapped_column(String(8), unique=True, nullable=True)
    collector_id: Mapped[int] = mapped_column(ForeignKey("collectors.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    channel: Mapped[str] = mapped_column(String(12))  # sms | app | dashboard | demo
    # credited -> undone (UNDO) | reversed (a dispute upheld)
    status: Mapped[str] = mapped_column(String(12), default="credited")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dedupe_key: Mapped[str] = mapped_column(String(120), unique=True)
    text_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grams: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    commission: Mapped[int] = mapped_column(Integer)
    inbound_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id"), nullable=True
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When its dispute window closed with the pickup standing: from then on it is final.
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reversed_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class CollectionLine(Base):
    """One material of a pickup, with the rate it was priced at (copied: the receipt stands alone)."""

    __tablename__ = "collection_lines"

    collection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("collections.id"), primary_key=True)
    material_code: Mapped[str] = mapped_column(ForeignKey("materials.code"), primary_key=True)
    grams: Mapped[int] = mapped_column(Integer)
    rate_id: Mapped[int] = mapped_column(ForeignKey("rates.id"))
    points: Mapped[int] = mapped_column(Integer)
    commission: Mapped[int] = mapped_column(Integer)


class Dispute(Base):
    """A household's NO to a receipt: open until an operator upholds it (the pickup is reversed)
    or rejects it with a reason. One per pickup."""

    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_status_opened", "status", "opened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("collections.id"), unique=True)
    reason: Mapped[str | None] = mapped_column(String(160), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | upheld | rejected
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(160), nullable=True)
    inbound_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id"), nullable=True
    )


class Rating(Base):
    """A household's 1-5 for the collector of one pickup (a second RATE replaces the first)."""

    __tablename__ = "ratings"

    collection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("collections.id"), primary_key=True)
    collector_id: Mapped[int] = mapped_column(ForeignKey("collectors.id"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PickupRequest(Base):
    """A household's PICKUP (come, please) or SKIP (not this time) for one collection day."""

    __tablename__ = "pickup_requests"
    __table_args__ = (Index("ix_pickup_requests_zone_date", "zone_id", "collection_date"),)

    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    collection_date: Mapped[date] = mapped_column(Date, primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"))
    kind: Mapped[str] = mapped_column(String(8))  # pickup | skip
    note: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Redemption(Base):
    """Points spent on a reward: created (points debited, same transaction) -> fulfilled, or
    failed -> refunded (a reversing transfer). ``reference`` is the debit transfer's human
    reference; a voucher's ``voucher_code`` is unguessable and used once (a partner's VERIFY)."""

    __tablename__ = "redemptions"
    __table_args__ = (Index("ix_redemptions_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reference: Mapped[str | None] = mapped_column(String(8), unique=True, nullable=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    reward_code: Mapped[str] = mapped_column(ForeignKey("rewards.code"))
    units: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="created")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    provider_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    voucher_code: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    voucher_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    voucher_used_by: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), nullable=True)
    failure: Mapped[str | None] = mapped_column(String(200), nullable=True)
    inbound_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("inbound_messages.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


# --- scheduled work: reminders, ledger checks, daily summaries ------------------------------------


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


class WeighIn(Base):
    """What a collector delivered to the hub on a day, per material, as the hub's scale read it."""

    __tablename__ = "weigh_ins"
    __table_args__ = (
        CheckConstraint("grams > 0", name="grams_positive"),
        Index("ix_weigh_ins_collector_day", "collector_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    collector_id: Mapped[int] = mapped_column(ForeignKey("collectors.id"))
    day: Mapped[date] = mapped_column(Date)  # the programme's local day of the delivery
    material_code: Mapped[str] = mapped_column(ForeignKey("materials.code"))
    grams: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(160), nullable=True)
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


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


phones_t = cast(Table, Phone.__table__)
households_t = cast(Table, Household.__table__)
inbound_t = cast(Table, InboundMessage.__table__)
outbox_t = cast(Table, OutboxMessage.__table__)
zones_t = cast(Table, Zone.__table__)
materials_t = cast(Table, Material.__table__)
material_words_t = cast(Table, MaterialWord.__table__)
rates_t = cast(Table, Rate.__table__)
rewards_t = cast(Table, Reward.__table__)
collectors_t = cast(Table, Collector.__table__)
partners_t = cast(Table, Partner.__table__)
collections_t = cast(Table, Collection.__table__)
collection_lines_t = cast(Table, CollectionLine.__table__)
disputes_t = cast(Table, Dispute.__table__)
ratings_t = cast(Table, Rating.__table__)
pickup_requests_t = cast(Table, PickupRequest.__table__)
redemptions_t = cast(Table, Redemption.__table__)
day_changes_t = cast(Table, DayChange.__table__)
reminders_t = cast(Table, Reminder.__table__)
reminder_runs_t = cast(Table, ReminderRun.__table__)
ledger_checks_t = cast(Table, LedgerCheck.__table__)
daily_summaries_t = cast(Table, DailySummary.__table__)
users_t = cast(Table, User.__table__)
audit_log_t = cast(Table, AuditEntry.__table__)
adjustments_t = cast(Table, Adjustment.__table__)
weigh_ins_t = cast(Table, WeighIn.__table__)
api_tokens_t = cast(Table, ApiToken.__table__)
