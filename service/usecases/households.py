"""Households: joining (JOIN by SMS, a collector's NEW at the door, the collector app, the demo),
the welcome text, and finding a member by phone, code or the app's id."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import member_account
from service.models import households_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, phones
from service.usecases.phones import ensure_phone
from service.usecases.roles import Collector, active_collector, role_of
from service.usecases.zones import get_zone, zones


class Member(NamedTuple):
    """A member household, as the use cases need it."""

    id: int
    member_code: str
    name: str
    phone: str
    zone_id: int | None = None
    status: str = "active"
    address: str | None = None


_MEMBER = select(
    households_t.c.id,
    households_t.c.member_code,
    households_t.c.name,
    households_t.c.phone,
    households_t.c.zone_id,
    households_t.c.status,
    households_t.c.address,
).where(households_t.c.member_code.is_not(None))
_MEMBER_BY_PHONE = _MEMBER.where(households_t.c.phone == bindparam("phone"))
_MEMBER_BY_CODE = _MEMBER.where(households_t.c.member_code == bindparam("code"))
_MEMBER_BY_ID = _MEMBER.where(households_t.c.id == bindparam("household_id"))
_MEMBER_BY_CLIENT_ID = _MEMBER.where(households_t.c.client_id == bindparam("client_id"))
_INSERT_HOUSEHOLD = households_t.insert().returning(households_t.c.id)
_SET_MEMBER_CODE = (
    households_t.update()
    .where(households_t.c.id == bindparam("household_id"))
    .values(member_code=bindparam("code"))
)


def member_by_phone(session: Session, phone: str) -> Member | None:
    found = session.execute(_MEMBER_BY_PHONE, {"phone": phone}).first()
    return Member(*found) if found else None


def member_by_code(session: Session, code: str) -> Member | None:
    found = session.execute(_MEMBER_BY_CODE, {"code": code}).first()
    return Member(*found) if found else None


def member_by_client_id(session: Session, client_id: str) -> Member | None:
    """The household the collector app registered under its own id (``households.client_id``)."""
    found = session.execute(_MEMBER_BY_CLIENT_ID, {"client_id": client_id}).first()
    return Member(*found) if found else None


def get_member(session: Session, household_id: int) -> Member:
    return Member(*session.execute(_MEMBER_BY_ID, {"household_id": household_id}).one())


def register_household(
    session: Session,
    phone: str,
    name: str,
    address: str | None,
    joined_via: str,
    now: datetime,
    *,
    zone_id: int | None = None,
) -> Member:
    """A new member: its row, its member code (from its id, with a check letter) and its account.
    The phone's row must exist (``ensure_phone``)."""
    address = address[:160] if address else None
    values = {
        "phone": phone,
        "name": name[:80],
        "address": address,
        "joined_via": joined_via,
        "created_at": now,
        "zone_id": zone_id,
        "status": "active",
    }
    household_id = session.execute(_INSERT_HOUSEHOLD, values).scalar_one()
    code = sms.member_code(household_id)
    session.execute(_SET_MEMBER_CODE, {"household_id": household_id, "code": code})
    ledger.open_accounts(session, [(member_account(code), "member", True)], now=now)
    return Member(household_id, code, name[:80], phone, zone_id, "active", address)


def zone_named_in(session: Session, address: str | None) -> int | None:
    """The zone an address names, when it names exactly one ("12 Adeniyi St Yaba" -> Yaba)."""
    if not address:
        return None
    words = " " + " ".join(address.lower().replace(",", " ").split()) + " "
    found = [zone.id for zone in zones(session) if f" {zone.name.lower()} " in words]
    return found[0] if len(found) == 1 else None


def welcome(uow: UnitOfWork, member: Member) -> None:
    """The welcome text, to the new member's phone: its code and, when it has a zone, its days."""
    zone = get_zone(uow.session, member.zone_id) if member.zone_id is not None else None
    values: dict[str, object] = {"name": sms.first_name(member.name), "code": member.member_code}
    if zone is None:
        uow.outbox.text(member.phone, "welcome_no_zone", **values)
    else:
        uow.outbox.text(member.phone, "welcome", zone=zone.name, days=zone.weekdays(), **values)


def join(
    uow: UnitOfWork, phone: str, name: str, address: str | None, *, language: str | None = None
) -> Member:
    """JOIN: this phone becomes a member, in the zone its address names (if it names one), and
    is welcomed, in ``language`` when it joined in that language's words. A number that had
    opted out is back in: it asked to join. ``Refused`` when it is a member already."""
    session = uow.session
    phones.start(session, phone, uow.now)
    if language is not None:
        phones.set_language(session, phone, language, uow.now)
    existing = member_by_phone(session, phone)
    if existing is not None:
        raise Refused("already_member", name=sms.first_name(existing.name), code=existing.member_code)
    member = register_household(
        session, phone, name, address, "sms", uow.now, zone_id=zone_named_in(session, address)
    )
    welcome(uow, member)
    return member


def zone_allows(collector_zone: int | None, household_zone: int | None, *, any_zone: bool = False) -> bool:
    """Whether a collector of ``collector_zone`` may work for (log for, look up) a household of
    ``household_zone``: one of their own zone, or one no zone has yet (the hub has not placed it;
    whoever collects from it first may), unless the programme lets collectors work every zone
    (``COLLECTORS_ANY_ZONE``)."""
    return any_zone or household_zone is None or household_zone == collector_zone


def may_collect_from(collector: Collector, household: Member, *, any_zone: bool = False) -> bool:
    return zone_allows(collector.zone_id, household.zone_id, any_zone=any_zone)


def register_at_door(
    uow: UnitOfWork,
    collector_id: int,
    phone: str,
    name: str,
    address: str | None,
    *,
    language: str | None = None,
) -> Member:
    """NEW: a collector registers a household at its door, in the collector's zone, and the
    household is welcomed (in ``language``, when the collector gave one). ``Refused`` for a
    suspended collector, a collector's or a shop's number, or a number that is a member's
    already."""
    session = uow.session
    collector = active_collector(session, collector_id)
    if role_of(session, phone)[0] != "household":
        raise Refused("not_a_member_phone", phone=phone)
    existing = member_by_phone(session, phone)
    if existing is not None and not may_collect_from(
        collector, existing, any_zone=uow.settings.collectors_any_zone
    ):
        raise Refused("member_elsewhere", phone=phone)  # nothing of another zone's household told
    if existing is not None:
        raise Refused(
            "already_registered",
            phone=phone,
            code=existing.member_code,
            name=sms.first_name(existing.name),
        )
    ensure_phone(session, phone, uow.now)
    if language is not None:
        phones.set_language(session, phone, language, uow.now)
    member = register_household(
        session, phone, name, address, "collector", uow.now, zone_id=collector.zone_id
    )
    welcome(uow, member)
    return member
