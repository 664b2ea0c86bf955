"""Who a number is: a collector or a partner shop (registered by operators, each with an id), or
else a household's, or someone who may JOIN. One number, one role.

Collectors log pickups at the door and earn a commission (their ledger account); partner shops
take vouchers (VERIFY). Operators add them and suspend them; a suspended one changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Table, bindparam, delete, literal, select, union_all
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import collector_account
from service.models import collectors_t, households_t, partners_t, route_pages_t
from service.usecases import CatalogueError, Refused
from service.usecases.catalogue import MAX_RATE_PER_KG
from service.usecases.phones import ensure_phone
from service.usecases.zones import get_zone

STATUSES = ("active", "suspended")

_ROLE = union_all(
    select(literal("collector").label("role"), collectors_t.c.id).where(
        collectors_t.c.phone == bindparam("phone")
    ),
    select(literal("partner").label("role"), partners_t.c.id).where(partners_t.c.phone == bindparam("phone")),
)


def role_of(session: Session, phone: str) -> tuple[sms.Role, int | None]:
    """Who the number belongs to: a collector or a partner shop (with their id), or else a
    household (or someone who may JOIN)."""
    found = session.execute(_ROLE, {"phone": phone}).first()
    if found is None:
        return "household", None
    role: sms.Role = found.role
    return role, found.id


# What each role is called in an operator's error, and what it needs.
_CALLED = {"collector": ("a collector", "a collector's", "a collector needs their own"),
           "partner": ("a partner shop", "a shop's", "a shop needs its own")}  # fmt: skip


def _number_is_free(session: Session, phone: str, wanted: str) -> None:
    """One number, one role: ``phone`` may become ``wanted`` only if it is nobody's yet."""
    role, _ = role_of(session, phone)
    needs = _CALLED[wanted][2]
    if role == wanted:
        raise CatalogueError(f"{phone} is already {_CALLED[wanted][0]}")
    if role != "household":
        raise CatalogueError(f"{phone} is {_CALLED[role][1]} phone; {needs}")
    if session.execute(select(households_t.c.id).where(households_t.c.phone == phone)).first():
        raise CatalogueError(f"{phone} is a member household's phone; {needs}")


def _set_status(session: Session, table: Table, phone: str, status: str, called: str) -> int:
    """A collector's or a shop's new status, by phone; its id."""
    if status not in STATUSES:
        raise CatalogueError(f"status must be one of {', '.join(STATUSES)}")
    found = session.execute(select(table.c.id).where(table.c.phone == phone)).scalar()
    if found is None:
        raise CatalogueError(f"no {called} with phone {phone}")
    session.execute(table.update().where(table.c.id == found).values(status=status))
    return int(found)


# --- collectors ------------------------------------------------------------------------------------


class Collector(NamedTuple):
    id: int
    phone: str
    name: str
    zone_id: int | None
    commission_per_kg: int | None
    status: str


_COLLECTOR_COLUMNS = (
    collectors_t.c.id,
    collectors_t.c.phone,
    collectors_t.c.name,
    collectors_t.c.zone_id,
    collectors_t.c.commission_per_kg,
    collectors_t.c.status,
)


def get_collector(session: Session, collector_id: int, *, lock: bool = False) -> Collector | None:
    """The collector; with ``lock``, their row is locked until the commit (one collector's
    pickups are recorded one at a time; ``pickups.lock_collector``)."""
    statement = select(*_COLLECTOR_COLUMNS).where(collectors_t.c.id == collector_id)
    row = session.execute(statement.with_for_update() if lock else statement).first()
    return None if row is None else Collector(*row)


def collector_by_phone(session: Session, phone: str) -> Collector | None:
    row = session.execute(select(*_COLLECTOR_COLUMNS).where(collectors_t.c.phone == phone)).first()
    return None if row is None else Collector(*row)


def active_collector(session: Session, collector_id: int, *, lock: bool = False) -> Collector:
    """The collector, who may act; ``Refused`` when suspended (they change nothing). ``lock``: as
    for ``get_collector``."""
    collector = get_collector(session, collector_id, lock=lock)
    if collector is None:
        raise LookupError(f"no collector {collector_id}")
    if collector.status != "active":
        raise Refused("collector_suspended")
    return collector


def add_collector(
    session: Session,
    phone: str,
    name: str,
    zone_id: int | None,
    now: datetime,
    *,
    commission_per_kg: int | None = None,
) -> Collector:
    """A collector with their ledger account (commission)."""
    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise CatalogueError("a collector needs a name of 1 to 80 characters")
    if commission_per_kg is not None and not 0 <= commission_per_kg <= MAX_RATE_PER_KG:
        raise CatalogueError(f"commission per kg must be from 0 to {MAX_RATE_PER_KG}")
    if zone_id is not None and get_zone(session, zone_id) is None:
        raise CatalogueError("choose one of the zones")
    _number_is_free(session, phone, "collector")
    ensure_phone(session, phone, now)
    collector_id = session.execute(
        collectors_t.insert().returning(collectors_t.c.id),
        {
            "phone": phone,
            "name": name,
            "zone_id": zone_id,
            "commission_per_kg": commission_per_kg,
            "status": "active",
            "created_at": now,
        },
    ).scalar_one()
    ledger.open_accounts(session, [(collector_account(collector_id), "collector", False)], now=now)
    found = get_collector(session, collector_id)
    assert found is not None
    return found


def set_home_address(session: Session, collector_id: int, address: str) -> tuple[str | None, str | None]:
    """Where a collector lives (empty: not known): a household at the same address is their own,
    and its pickups are held for checking (``service.usecases.screening``). Before and after."""
    address = " ".join(address.split())
    if len(address) > 160:
        raise CatalogueError(f"the address is {len(address)} characters; 160 at most")
    before = session.execute(
        select(collectors_t.c.home_address).where(collectors_t.c.id == collector_id)
    ).scalar()
    session.execute(
        collectors_t.update().where(collectors_t.c.id == collector_id).values(home_address=address or None)
    )
    return before, address or None


def set_collector_status(session: Session, phone: str, status: str) -> Collector:
    found = get_collector(session, _set_status(session, collectors_t, phone, status, "collector"))
    assert found is not None
    return found


# An operator's changes at the dashboard: each returns the collector before and after (for the
# audit entry), or refuses with ``CatalogueError`` and writes nothing.

REASON_WIDTH = 160


class CollectorChanged(NamedTuple):
    before: Collector
    after: Collector


def _known_collector(session: Session, collector_id: int) -> Collector:
    found = get_collector(session, collector_id)
    if found is None:
        raise CatalogueError(f"there is no collector {collector_id}")
    return found


def _collector_name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > 80:
        raise CatalogueError("a collector needs a name of 1 to 80 characters")
    return name


def edit_collector(session: Session, collector_id: int, name: str) -> CollectorChanged:
    """A collector's name (their receipts to households name them)."""
    before = _known_collector(session, collector_id)
    name = _collector_name(name)
    if name == before.name:
        raise CatalogueError(f"nothing to change: the collector is called {name} already")
    session.execute(collectors_t.update().where(collectors_t.c.id == collector_id).values(name=name))
    return CollectorChanged(before, _known_collector(session, collector_id))


def move_collector(session: Session, collector_id: int, zone_id: int | None) -> CollectorChanged:
    """The collector now covers another zone: from their next text on they log for its households
    and ROUTE lists its requests (the last route page they were sent, of the old zone, is
    forgotten: ROUTE MORE starts the new zone's route from its first page)."""
    before = _known_collector(session, collector_id)
    zone = get_zone(session, zone_id) if zone_id is not None else None
    if zone is None:
        raise CatalogueError("choose one of the zones")
    if zone.id == before.zone_id:
        raise CatalogueError(f"{before.name} covers {zone.name} already")
    session.execute(collectors_t.update().where(collectors_t.c.id == collector_id).values(zone_id=zone.id))
    session.execute(delete(route_pages_t).where(route_pages_t.c.collector_id == collector_id))
    return CollectorChanged(before, _known_collector(session, collector_id))


def check_status_change(current: str, status: str, reason: str, *, called: str, kind: str) -> None:
    """A suspension or reinstatement as an operator asks it (a household's or a collector's): a
    real change, and a reason of at most ``REASON_WIDTH`` characters, required to suspend."""
    if current == status:
        raise CatalogueError(f"{called} is {status} already")
    reason = " ".join(reason.split())
    if status == "suspended" and not reason:
        raise CatalogueError(f"say why the {kind} is suspended")
    if len(reason) > REASON_WIDTH:
        raise CatalogueError(f"a reason is at most {REASON_WIDTH} characters")


def change_collector_status(
    session: Session, collector_id: int, status: str, reason: str
) -> CollectorChanged:
    """Suspend a collector (``reason`` required: their LOG, NEW, UNDO, ROUTE and the app's syncs
    are refused) or make them active again."""
    if status not in STATUSES:
        raise CatalogueError(f"status must be one of {', '.join(STATUSES)}")
    before = _known_collector(session, collector_id)
    check_status_change(before.status, status, reason, called=before.name, kind="collector")
    session.execute(collectors_t.update().where(collectors_t.c.id == collector_id).values(status=status))
    return CollectorChanged(before, _known_collector(session, collector_id))


# --- partner shops ----------------------------------------------------------------------------------


class Partner(NamedTuple):
    id: int
    phone: str
    name: str
    status: str


_PARTNER_COLUMNS = (partners_t.c.id, partners_t.c.phone, partners_t.c.name, partners_t.c.status)


def partner_by_phone(session: Session, phone: str) -> Partner | None:
    row = session.execute(select(*_PARTNER_COLUMNS).where(partners_t.c.phone == phone)).first()
    return None if row is None else Partner(*row)


def active_partner(session: Session, partner_id: int) -> None:
    """``Refused`` when the shop is suspended."""
    status = session.execute(select(partners_t.c.status).where(partners_t.c.id == partner_id)).scalar()
    if status != "active":
        raise Refused("account_suspended")


def add_partner(session: Session, phone: str, name: str, now: datetime) -> Partner:
    """A shop that takes vouchers: its phone (E.164) may text VERIFY."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise CatalogueError("a partner shop needs a name of 1 to 80 characters")
    _number_is_free(session, phone, "partner")
    ensure_phone(session, phone, now)
    partner_id = session.execute(
        partners_t.insert().returning(partners_t.c.id),
        {"phone": phone, "name": name, "status": "active", "created_at": now},
    ).scalar_one()
    return Partner(partner_id, phone, name, "active")


def set_partner_status(session: Session, phone: str, status: str) -> Partner:
    _set_status(session, partners_t, phone, status, "partner shop")
    found = partner_by_phone(session, phone)
    assert found is not None
    return found
