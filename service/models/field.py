"""What happens in the field: households, pickups and their lines, disputes, ratings, pickup
requests and the route pages collectors were sent, redemptions, hub weigh-ins."""

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.models import BigId, UTCDateTime
from service.models.base import Base, utcnow


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | suspended
    # The collector app's id for a household it registered offline: syncing it again finds this row.
    client_id: Mapped[str | None] = mapped_column(String(36), unique=True, nullable=True)
    # STATEMENT ON: a statement of its month by SMS early each month (service.usecases.statements).
    monthly_statement: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The collector who registered it at its door (NEW, the app), for the "never seen again" signal.
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("collectors.id"), nullable=True)


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


class RoutePage(Base):
    """The last page of a ROUTE a collector was sent, for their ROUTE MORE: the collection day it
    was for, its number, and its last stop, named by its request's sort key (when it was asked
    for, which household), so that MORE goes on after that stop even when requests came in or
    were skipped in between. One row per collector, replaced by each page sent."""

    __tablename__ = "route_pages"

    collector_id: Mapped[int] = mapped_column(
        ForeignKey("collectors.id"), primary_key=True, autoincrement=False
    )
    collection_date: Mapped[date] = mapped_column(Date)
    page: Mapped[int] = mapped_column(Integer)
    last_requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_household_id: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


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
    # The hub scale that read it (None: recorded before scales were kept, or named no scale).
    scale_id: Mapped[int | None] = mapped_column(ForeignKey("scales.id"), nullable=True)


class Scale(Base):
    """A hub scale, by the code written on it; its calibrations say when its readings count."""

    __tablename__ = "scales"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    location: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScaleCalibration(Base):
    """A scale's calibration: when, by whom, the certificate's reference, and until when it holds."""

    __tablename__ = "scale_calibrations"
    __table_args__ = (
        CheckConstraint("valid_until >= calibrated_on", name="valid_after_calibrated"),
        Index("ix_scale_calibrations_scale_on", "scale_id", "calibrated_on"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scale_id: Mapped[int] = mapped_column(ForeignKey("scales.id"))
    calibrated_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    calibrated_by: Mapped[str] = mapped_column(String(80))
    certificate: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
