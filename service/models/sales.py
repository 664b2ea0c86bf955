"""Sales: batches of weighed material sold to a recycler, each with its serial number and the hub
weigh-ins it came from (issue 24's chain of custody, ``service.reads.custody``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import UTCDateTime
from service.models.base import Base


class SalesBatch(Base):
    """A batch sold to a buyer: one material, the weigh-ins' sum and the weight the buyer paid for
    (buyers weigh again: moisture and dirt make the two differ), the price and the day."""

    __tablename__ = "sales_batches"
    __table_args__ = (
        CheckConstraint("grams > 0", name="grams_positive"),
        CheckConstraint("weighed_grams > 0", name="weighed_grams_positive"),
        CheckConstraint("price_kobo >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # PREFIX-YEAR-NNNNNN (the id, zero-padded); set in the same transaction as the row (it needs the id).
    serial: Mapped[str | None] = mapped_column(String(24), unique=True, nullable=True)
    buyer: Mapped[str] = mapped_column(String(80))
    material_code: Mapped[str] = mapped_column(ForeignKey("materials.code"))
    grams: Mapped[int] = mapped_column(Integer)  # as sold: the buyer's weight
    weighed_grams: Mapped[int] = mapped_column(Integer)  # the hub weigh-ins' sum
    price_kobo: Mapped[int] = mapped_column(BigInteger)
    sold_on: Mapped[date] = mapped_column(Date)  # the programme's local day of the sale
    note: Mapped[str | None] = mapped_column(String(160), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(80))  # cli:<system user>, as the audit log says
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SalesBatchWeighIn(Base):
    """A weigh-in sold in a batch: each weigh-in is sold at most once."""

    __tablename__ = "sales_batch_weigh_ins"

    batch_id: Mapped[int] = mapped_column(ForeignKey("sales_batches.id"), primary_key=True)
    weigh_in_id: Mapped[int] = mapped_column(ForeignKey("weigh_ins.id"), primary_key=True, unique=True)
