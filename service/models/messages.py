"""Phones, and the texts in and out."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import BigId, UTCDateTime
from service.models.base import Base, utcnow


class Phone(Base):
    """A phone number Kolekt has heard from or texts: its language and whether it opted out.

    Opt-outs belong to the number, not to a household: anyone may text STOP, and a number that
    did is never sent anything again until it texts START.
    """

    __tablename__ = "phones"

    number: Mapped[str] = mapped_column(String(16), primary_key=True)  # E.164
    language: Mapped[str] = mapped_column(String(3), default="EN")
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundMessage(Base):
    """A text as the gateway delivered it, kept before it is acted on: the provider's id makes a
    repeated webhook a no-op, and the row shows what was received even if acting on it failed."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id"),
        # The inbox sweep: texts stored but not acted on yet.
        Index("ix_inbound_messages_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20))
    provider_message_id: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(16), index=True)  # E.164
    recipient: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # received (stored, not acted on yet) -> processed | failed (given up: the sender was told)
    status: Mapped[str] = mapped_column(String(12), default="received")
    # How many times acting on it failed (a sweep and a job try again, up to a limit).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
    kind: Mapped[str] = mapped_column(String(16))  # transactional | reminder | report | broadcast
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
