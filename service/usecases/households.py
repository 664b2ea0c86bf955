"""Households: joining (JOIN by SMS, a collector's NEW at the door, the collector app, the demo,
an operator at the hub), the welcome text, and finding a member by phone, code or the app's id;
an operator's changes to a household (its name, address and language, its zone, its phone, and
suspending it: a suspended household's pickups and redemptions are refused and it gets no
reminders)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import member_account
from service.models import households_t, phones_t, pickup_requests_t
from service.timetable import local_day
from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError, Refused, phones
from service.usecases.phones import ensure_phone
from service.usecases.roles import STATUSES, Collector, active_collector, check_status_change, role_of
from service.usecases.zones import Zone, get_zone, zones


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


_WITH_LANGUAGE = (
    select(*_MEMBER.selected_columns, phones_t.c.language)
    .join(phones_t, phones_t.c.number == households_t.c.phone)
    .where(households_t.c.member_code.is_not(None))
)
_WITH_LANGUAGE_BY = {
    "code": _WITH_LANGUAGE.where(households_t.c.member_code == bindparam("value")),
    "phone": _WITH_LANGUAGE.where(households_t.c.phone == bindparam("value")),
}


def member_and_language(
    session: Session, *, code: str | None = None, phone: str | None = None
) -> tuple[Member, str] | None:
    """The member with ``code`` (else ``phone``) and the language its phone is texted in, in one
    query; None when there is none."""
    by, value = ("code", code) if code is not None else ("phone", phone)
    found = session.execute(_WITH_LANGUAGE_BY[by], {"value": value}).first()
    if found is None:
        return None
    *member, language = found
    return Member(*member), language or "EN"


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
    registered_by: int | None = None,
) -> Member:
    """A new member: its row, its member code (from its id, with a check letter) and its account.
    The phone's row must exist (``ensure_phone``). ``registered_by``: the collector who registered
    it at its door."""
    address = address[:160] if address else None
    values = {
        "phone": phone,
        "name": name[:80],
        "address": address,
        "joined_via": joined_via,
        "created_at": now,
        "zone_id": zone_id,
        "status": "active",
        "registered_by": registered_by,
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
    uow: UnitOfWork,
    phone: str,
    name: str,
    address: str | None,
    *,
    language: str | None = None,
    zone_id: int | None = None,
    via: str = "sms",
) -> Member:
    """JOIN: this phone becomes a member, in the zone chosen (USSD) or its address names (if it
    names one), and is welcomed, in ``language`` when it joined in that language's words. A
    number that had opted out is back in: it asked to join. ``Refused`` when it is a member
    already."""
    session = uow.session
    phones.start(session, phone, uow.now)
    if language is not None:
        phones.set_language(session, phone, language, uow.now)
    existing = member_by_phone(session, phone)
    if existing is not None:
        raise Refused("already_member", name=sms.first_name(existing.name), code=existing.member_code)
    if zone_id is None:
        zone_id = zone_named_in(session, address)
    member = register_household(session, phone, name, address, via, uow.now, zone_id=zone_id)
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
        session,
        phone,
        name,
        address,
        "collector",
        uow.now,
        zone_id=collector.zone_id,
        registered_by=collector.id,
    )
    welcome(uow, member)
    return member


# --- an operator's changes (the dashboard) -----------------------------------------------------------
# Each refuses bad values with ``CatalogueError`` (its message is what the form shows) and then
# writes nothing; each returns the household before and after, for the audit entry.

NAME_WIDTH = 80
ADDRESS_WIDTH = 160
REASON_WIDTH = 160


class Household(NamedTuple):
    """A household as an operator changes it: its own row and its phone's language."""

    id: int
    member_code: str | None
    name: str
    phone: str
    address: str | None
    zone_id: int | None
    status: str
    language: str


_HOUSEHOLD = (
    select(
        households_t.c.id,
        households_t.c.member_code,
        households_t.c.name,
        households_t.c.phone,
        households_t.c.address,
        households_t.c.zone_id,
        households_t.c.status,
        phones_t.c.language,
    )
    .join(phones_t, phones_t.c.number == households_t.c.phone)
    .where(households_t.c.id == bindparam("household_id"))
)


class Changed(NamedTuple):
    before: Household
    after: Household


def get_household(session: Session, household_id: int) -> Household | None:
    row = session.execute(_HOUSEHOLD, {"household_id": household_id}).first()
    return None if row is None else Household(*row)


def _known(session: Session, household_id: int) -> Household:
    found = get_household(session, household_id)
    if found is None:
        raise CatalogueError(f"there is no household {household_id}")
    return found


def _called(household: Household) -> str:
    return household.member_code or household.name


def _name(text: str) -> str:
    name = " ".join(text.split())
    if not name or len(name) > NAME_WIDTH:
        raise CatalogueError(f"a household needs a name of 1 to {NAME_WIDTH} characters")
    return name


def _address(text: str | None) -> str | None:
    address = " ".join((text or "").split()) or None
    if address is not None and len(address) > ADDRESS_WIDTH:
        raise CatalogueError(f"an address is at most {ADDRESS_WIDTH} characters")
    return address


def _language(code: str) -> str:
    language = code.strip().upper()
    if language not in sms.LANGUAGES:
        raise CatalogueError(f"the language must be one of {', '.join(sms.LANGUAGES)}")
    return language


def _zone(session: Session, zone_id: int | None) -> Zone:
    zone = get_zone(session, zone_id) if zone_id is not None else None
    if zone is None:
        raise CatalogueError("choose one of the zones")
    return zone


def _free_for_household(session: Session, phone: str) -> None:
    """One number, one role: a household's phone is nobody else's (a collector's phone gets the
    collector commands, a shop's VERIFY)."""
    role, _ = role_of(session, phone)
    if role == "collector":
        raise CatalogueError(f"{phone} is a collector's phone; a household needs its own")
    if role == "partner":
        raise CatalogueError(f"{phone} is a partner shop's phone; a household needs its own")
    existing = session.execute(
        select(households_t.c.member_code, households_t.c.name).where(households_t.c.phone == phone)
    ).first()
    if existing is not None:
        raise CatalogueError(f"{phone} is already member {existing.member_code} ({existing.name})")


def register_at_hub(
    uow: UnitOfWork,
    phone: str,
    name: str,
    zone_id: int | None,
    address: str | None = None,
    *,
    language: str | None = None,
    joined_via: str = "dashboard",
) -> Member:
    """An operator registers a household at the hub (the dashboard, or ``members add``): in the
    zone they chose, welcomed as a household registered at the door is (in ``language`` when
    given; the phone is texted in it from then on). ``phone`` is E.164; a number that is a
    collector's, a shop's or a member's already is refused."""
    session = uow.session
    name, address = _name(name), _address(address)
    zone = _zone(session, zone_id)
    language = _language(language) if language else None
    _free_for_household(session, phone)
    ensure_phone(session, phone, uow.now)
    if language is not None:
        phones.set_language(session, phone, language, uow.now)
    member = register_household(session, phone, name, address, joined_via, uow.now, zone_id=zone.id)
    welcome(uow, member)
    return member


def edit_household(
    session: Session, household_id: int, name: str, address: str | None, language: str, now: datetime
) -> Changed:
    """A household's name, address and language (its phone's: every text to it is in it)."""
    before = _known(session, household_id)
    name, address, language = _name(name), _address(address), _language(language)
    if (name, address, language) == (before.name, before.address, before.language):
        raise CatalogueError(
            f"nothing to change: {_called(before)}'s name, address and language are as typed"
        )
    if (name, address) != (before.name, before.address):
        session.execute(
            households_t.update().where(households_t.c.id == household_id).values(name=name, address=address)
        )
    if language != before.language:
        phones.set_language(session, before.phone, language, now)
    return Changed(before, _known(session, household_id))


class Moved(NamedTuple):
    before: Household
    after: Household
    dropped: int  # its PICKUP and SKIP requests for the old zone's coming days, dropped


def move_household(uow: UnitOfWork, household_id: int, zone_id: int | None) -> Moved:
    """The household now lives in (is collected in) another zone. Its requests for the old
    zone's coming collection days are dropped: that zone's collector no longer calls; it asks
    again (PICKUP, SKIP) for its new zone's days."""
    session = uow.session
    before = _known(session, household_id)
    zone = _zone(session, zone_id)
    if zone.id == before.zone_id:
        raise CatalogueError(f"{_called(before)} is in {zone.name} already")
    session.execute(households_t.update().where(households_t.c.id == household_id).values(zone_id=zone.id))
    dropped = session.execute(
        delete(pickup_requests_t).where(
            pickup_requests_t.c.household_id == household_id,
            pickup_requests_t.c.collection_date >= local_day(uow.now, uow.settings.zone),
        )
    )
    return Moved(before, _known(session, household_id), int(dropped.rowcount))  # type: ignore[attr-defined]


def set_household_status(session: Session, household_id: int, status: str, reason: str) -> Changed:
    """Suspend a household (``reason`` required: its pickups and redemptions are refused, it gets
    no reminders) or make it active again."""
    if status not in STATUSES:
        raise CatalogueError(f"status must be one of {', '.join(STATUSES)}")
    before = _known(session, household_id)
    check_status_change(before.status, status, reason, called=_called(before), kind="household")
    session.execute(households_t.update().where(households_t.c.id == household_id).values(status=status))
    return Changed(before, _known(session, household_id))


def change_household_phone(session: Session, household_id: int, phone: str, now: datetime) -> Changed:
    """The household's new number (E.164), nobody else's (not another household's, a collector's
    or a shop's). Its language goes with it; an opt-out stays with the number that sent STOP."""
    before = _known(session, household_id)
    if phone == before.phone:
        raise CatalogueError(f"{phone} is {_called(before)}'s phone already")
    _free_for_household(session, phone)
    ensure_phone(session, phone, now)
    phones.set_language(session, phone, before.language, now)
    session.execute(households_t.update().where(households_t.c.id == household_id).values(phone=phone))
    return Changed(before, _known(session, household_id))
