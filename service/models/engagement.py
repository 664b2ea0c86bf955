"""What keeps households in: the milestones each was texted about (once each)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
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
