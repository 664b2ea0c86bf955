"""Honest weights (issue 24): each pickup's signals as they were when it was logged, the
thresholds they were judged by (learned from the programme's own pickups by a job), each
collector's own signals (rounding, registrations never seen again, disputes, ratings, the hub's
weigh-ins), and the holds on doubtful credits with their decisions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import UTCDateTime
from service.models.base import Base


class PickupSignal(Base):
    """A signal a pickup raised when it was logged: the measure, the threshold it passed, and the
    reason in words (what the review queue and the scorecard show)."""

    __tablename__ = "pickup_signals"
    __table_args__ = (Index("ix_pickup_signals_collector_at", "collector_id", "occurred_at"),)

    collection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("collections.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    collector_id: Mapped[int] = mapped_column(ForeignKey("collectors.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the pickup's, for the scorecard's weeks
    measure: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(String(160))


class SignalThreshold(Base):
    """A threshold learned from the programme's pickups: for everyone (``collector_id`` 0) or, for
    a collector's day, against their peers only. ``samples`` 0: the stated starting point."""

    __tablename__ = "signal_thresholds"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    collector_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(Integer)
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CollectorSignal(Base):
    """One of a collector's own measures (whole-kilo share, registrations never seen again,
    disputes, low ratings, weigh-in gap), against what the programme's rate makes unusual."""

    __tablename__ = "collector_signals"

    collector_id: Mapped[int] = mapped_column(ForeignKey("collectors.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)  # how many of theirs
    out_of: Mapped[int] = mapped_column(Integer)
    limit: Mapped[int] = mapped_column(Integer)  # above this many is unusual
    flagged: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(160))
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Hold(Base):
    """A pickup credited as held: its points and commission wait in ``holds:pickups`` until an
    operator approves (they move on) or rejects it (they go back), or ``release_on`` comes."""

    __tablename__ = "holds"
    __table_args__ = (Index("ix_holds_status_release", "status", "release_on"),)

    collection_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("collections.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(10))  # held | approved | rejected | released | undone
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    release_on: Mapped[date] = mapped_column(Date)  # the programme's day it is released undecided
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(160), nullable=True)  # a rejection's, texted
