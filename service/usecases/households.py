"""Households: registering one (JOIN, a collector's NEW, the demo) and finding one by phone."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import member_account
from service.db import insert_ignoring_conflict
from service.models import households_t, phones_t


class Member(NamedTuple):
    """A member household, as a conversation needs it."""

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


def mask_code(code: str) -> str:
    """A member code as CHECK shows it to anyone: enough to recognise one's own, not to use."""
    return code[0] + "*" * (len(code) - 3) + code[-2:]


def ensure_phone(session: Session, number: str, now: datetime) -> None:
    """The phone's row (language, opt-out), created if Kolekt has not met the number before."""
    insert_ignoring_conflict(
        session,
        phones_t,
        {"number": number, "language": "EN", "created_at": now, "updated_at": now},
        conflict=("number",),
        returning=phones_t.c.number,
    )


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
