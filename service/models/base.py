"""The declarative base and the one metadata the service's tables live on (the ledger keeps its
own, ``ledger.metadata``; Alembic builds both)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from ledger.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)
