"""What keeps households in: the milestones each was texted about (once each)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import UTCDateTime
from service.models.base import Base


class Milestone(Base):
    """A milestone a household reached (``first``, ``10kg``..., ``year1``, ``year2``...), kept once:
    the row is what makes its text go exactly once, however many checks run at once or again."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("household_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    name: Mapped[str] = mapped_column(String(12))
    reached_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The text that said so (None: the milestone was turned off, or a higher one was said instead).
    outbox_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("outbox_messages.id"), nullable=True)


class MonthlyStatement(Base):
    """A month's statement texted to a household that asked for them (STATEMENT ON), once."""

    __tablename__ = "monthly_statements"
    __table_args__ = (UniqueConstraint("household_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    month: Mapped[date] = mapped_column(Date)  # its first day, in the programme's calendar
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("outbox_messages.id"), nullable=True)


class Suggestion(Base):
    """A household's idea for a reward (SUGGEST), and the topic an operator put it under."""

    __tablename__ = "suggestions"
    __table_args__ = (Index("ix_suggestions_household_created", "household_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    text: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    topic: Mapped[str | None] = mapped_column(String(40), nullable=True)


class ExpiryNotice(Base):
    """Points that expire (``service.usecases.expiry``): a household's warning 30 or 7 days before
    an expiry date (``days``), and the expiry itself (``days`` 0, with its ledger transfer). Each
    is kept once; its row is what makes its text go exactly once."""

    __tablename__ = "expiry_notices"
    __table_args__ = (
        UniqueConstraint("household_id", "expires_on", "days"),
        # A date's warnings and expiries, as the expiry run and the hub's outlook read them.
        Index("ix_expiry_notices_expires_on_days", "expires_on", "days"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    expires_on: Mapped[date] = mapped_column(Date)  # the first day of a month, in the programme's calendar
    days: Mapped[int] = mapped_column(Integer)  # 30 or 7 before; 0: the expiry
    points: Mapped[int] = mapped_column(BigInteger)  # to expire (a warning), or expired
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outbox_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("outbox_messages.id"), nullable=True)
    transfer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Vote(Base):
    """A question an operator put to the households, with up to three options (VOTE 1|2|3).
    ``is_open`` is True while it may be the one open vote (unique: NULL once closed)."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("is_open"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question: Mapped[str] = mapped_column(String(60))
    option_1: Mapped[str] = mapped_column(String(20))
    option_2: Mapped[str] = mapped_column(String(20))
    option_3: Mapped[str | None] = mapped_column(String(20), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_open: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Ballot(Base):
    """A household's vote: one a household a vote; a later VOTE changes it until the vote closes."""

    __tablename__ = "ballots"
    __table_args__ = (UniqueConstraint("vote_id", "household_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("votes.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    choice: Mapped[int] = mapped_column(Integer)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the last time it was cast
