"""The programme's reference data: zones and their day changes, materials, words, rates,
rewards, collectors and partner shops."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import UTCDateTime
from service.models.base import Base, utcnow


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What a kilo means to a household (IMPACT): how many items (``item_unit``: bottle, can,
    # sachet) and the grams of CO2e its recycling avoids. None: not said.
    items_per_kg: Mapped[int | None] = mapped_column(Integer, nullable=True)
    item_unit: Mapped[str | None] = mapped_column(String(12), nullable=True)
    co2e_g_per_kg: Mapped[int | None] = mapped_column(Integer, nullable=True)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The collector app's PIN (argon2id), set by an operator or by the collector's own phone (PIN).
    pin_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pin_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Where the collector lives: a household at the same address is their own (a signal, issue 24).
    home_address: Mapped[str | None] = mapped_column(String(160), nullable=True)


class Partner(Base):
    """A shop that accepts vouchers: its phone may text VERIFY code."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(ForeignKey("phones.number"), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | suspended
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- what happens in the field -------------------------------------------------------------------
