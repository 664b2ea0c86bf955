"""Broadcasts: a text an operator sends to a zone, a list of households or everyone, and the
outbox rows it became (one per household, so it is sent once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import UTCDateTime
from service.models.base import Base


class Broadcast(Base):
    """One broadcast: its audience, its text in English and, where written, in the other languages
    (a household of a language without its own text gets the English one), and where it stands.

    proposed -> sent (at once when small; else when a different operator approves it)
             -> cancelled (by its proposer) | rejected (by another operator, with a note).
    Approving *is* sending, in one transaction: a broadcast is never approved and left unsent.
    ``request_key`` is the compose form's own: the same form sent twice (a double click, a
    retried request) finds the broadcast it made the first time.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'sent', 'cancelled', 'rejected')", name="status"),
        CheckConstraint("audience IN ('zone', 'list', 'everyone')", name="audience"),
        CheckConstraint("audience <> 'zone' OR zone_id IS NOT NULL", name="zone_named"),
        CheckConstraint("audience <> 'list' OR members IS NOT NULL", name="list_named"),
        CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="four_eyes"),
        Index("ix_broadcasts_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_key: Mapped[str] = mapped_column(String(32), unique=True)
    audience: Mapped[str] = mapped_column(String(10))  # zone | list | everyone
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), nullable=True)
    # A list: the member codes of the households the operator's list named, one a line.
    members: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_en: Mapped[str] = mapped_column(Text)
    text_pcm: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_yo: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_ha: Mapped[str | None] = mapped_column(Text, nullable=True)
    text_ig: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    proposed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The second operator who approved (and so sent) it, or rejected it; empty when it went at
    # once (small enough) or its proposer cancelled it.
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(160), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The counts: as previewed when proposed, as written when sent.
    recipients: Mapped[int] = mapped_column(Integer)
    opted_out: Mapped[int] = mapped_column(Integer)  # households left out: their number sent STOP
    suspended: Mapped[int] = mapped_column(Integer)  # households left out: not active
    segments: Mapped[int] = mapped_column(Integer)
    cost_kobo: Mapped[int] = mapped_column(Integer)


class BroadcastMessage(Base):
    """A household's text of a broadcast: its key (broadcast, household) lets it be written once."""

    __tablename__ = "broadcast_messages"

    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"), primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("outbox_messages.id"), unique=True)
