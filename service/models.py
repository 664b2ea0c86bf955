"""The service's own tables (households, collectors, pickups, messages, ...) on one metadata.

The ledger keeps its tables on a metadata of its own (``ledger.metadata``); Alembic builds both.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from ledger.models import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


metadata = Base.metadata
