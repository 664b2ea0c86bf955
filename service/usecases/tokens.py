"""Who may call the JSON API: collectors by phone + PIN, dashboard users by email + password, each
holding a bearer token that can be revoked.

- A PIN is 4 to 6 digits, kept as an argon2id hash. An operator sets it (dashboard, CLI, API) or
  the collector texts ``PIN 4821`` from their own phone. A new PIN ends every token the collector
  holds: a lost phone is signed out by giving its owner a new PIN.
- A token is 256 random bits; only its SHA-256 is stored, so a copy of the database signs nobody
  in. It ends when revoked, when it expires, or when its holder is suspended or disabled.
- Each collector token carries its own block of ``#seq`` numbers (``seq_base``): the LOG texts
  two of a collector's phones hand to SMS never share a number, and numbers typed by hand on a
  basic phone stay below the first block.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from service.models import api_tokens_t, collectors_t, users_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, audit
from service.usecases.roles import active_collector

# The audit log's actions for a new PIN and for ending every app sign-in (SMS, dashboard, CLI, API).
PIN_ACTION = "collector.pin"
SIGN_OUT_ACTION = "collector.signout"

PIN_LENGTHS = range(4, 7)
SEQ_BLOCK = 100_000
# #seq is at most 9 digits in a LOG text; the blocks stop short of that.
MAX_SEQ_BASE = 999_999_999 - SEQ_BLOCK
COLLECTOR_TOKEN_DAYS = 90
USER_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366
# A token's last use is written at most this often: a GET does not write on every call.
TOUCH_EVERY = timedelta(minutes=10)
TOKEN_PREFIX = "kt_"  # noqa: S105 (a marker that says what a string is, not a secret)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("0000-not-anyone's-pin")


class PinError(ValueError):
    """A PIN that cannot be used: the message says why, in words a collector can act on."""


class TokenError(ValueError):
    """A token that cannot be issued (the holder cannot sign in)."""


class Holder(NamedTuple):
    """Who a valid token speaks for."""

    token_id: int
    kind: str  # collector | user
    role: str  # collector | admin | operator | auditor
    collector_id: int | None
    user_id: int | None
    name: str  # the collector's name or the user's email
    zone_id: int | None
    seq_base: int | None
    expires_at: datetime


class Issued(NamedTuple):
    token: str  # shown once, never stored
    holder: Holder


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _weak(pin: str) -> bool:
    """Guessed first by anyone trying: a run up or down, round the keypad too (1234, 9876,
    7890), or a shorter PIN repeated (1111, 1212, 123123)."""
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    repeated = any(len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size) for size in (1, 2, 3))
    return steps in ({1}, {9}) or repeated


def check_pin(pin: str) -> str:
    pin = pin.strip()
    if not pin.isascii() or not pin.isdigit() or len(pin) not in PIN_LENGTHS:
        raise PinError("A PIN is 4 to 6 digits.")
    if _weak(pin):
        raise PinError("That PIN is too easy to guess. Do not use a run like 1234 or 1111.")
    return pin


def set_pin(session: Session, collector_id: int, pin: str, now: datetime, *, by: str) -> int:
    """Give a collector a new PIN; every token they held ends. Returns how many ended."""
    pin = check_pin(pin)
    session.execute(
        update(collectors_t)
        .where(collectors_t.c.id == collector_id)
        .values(pin_hash=_hasher.hash(pin), pin_set_at=now)
    )
    return revoke_collector_tokens(session, collector_id, now, by=by)


def collector_subject(collector_id: int) -> str:
    """A collector as the audit log names them."""
    return f"collector:{collector_id}"


def pin_set_at(session: Session, collector_id: int) -> datetime | None:
    """When the collector's PIN was last set; None if they have none (and cannot sign in)."""
    row = session.execute(
        select(collectors_t.c.pin_set_at, collectors_t.c.pin_hash).where(collectors_t.c.id == collector_id)
    ).first()
    if row is None or not row.pin_hash:
        return None
    set_at: datetime | None = row.pin_set_at
    return set_at


def pin_by_sms(uow: UnitOfWork, collector_id: int, digits: str) -> int:
    """``PIN 4821`` from the collector's own phone: their new PIN, every app sign-in ended,
    audited without the digits. Returns how many sign-ins ended. ``Refused`` for a suspended
    collector (their app is refused anyway until the hub lets them work again) and for a PIN
    too easy to guess (the grammar let through only 4 to 6 digits)."""
    session = uow.session
    collector = active_collector(session, collector_id)
    subject = collector_subject(collector.id)
    try:
        ended = set_pin(session, collector.id, digits, uow.now, by=subject)
    except PinError:
        raise Refused("pin_too_easy") from None
    audit.record(
        session,
        actor=subject,
        action=PIN_ACTION,
        subject=subject,
        at=uow.now,
        details={"by": "sms", "signed_out": ended},
    )
    return ended


def collector_signing_in(session: Session, phone: str, pin: str) -> int | None:
    """The active collector whose phone and PIN these are; None otherwise (never which part).

    An unknown phone or a collector without a PIN costs one hash too, so the time taken does not
    tell which numbers are collectors'."""
    found = session.execute(
        select(collectors_t.c.id, collectors_t.c.pin_hash, collectors_t.c.status).where(
            collectors_t.c.phone == phone
        )
    ).first()
    stored = found.pin_hash if found is not None and found.pin_hash else _DUMMY_HASH
    pin = pin.strip()  # as check_pin kept it
    try:
        _hasher.verify(stored, pin)
    except (VerificationError, InvalidHashError):
        return None
    if found is None or not found.pin_hash or found.status != "active":
        return None
    if _hasher.check_needs_rehash(stored):
        session.execute(
            update(collectors_t).where(collectors_t.c.id == found.id).values(pin_hash=_hasher.hash(pin))
        )
    return int(found.id)


def _next_seq_base(session: Session, collector_id: int) -> int:
    # The block after the newest token's (not after the highest: once the blocks have started
    # again from the first, the highest would hand every new token the first block).
    newest = session.execute(
        select(api_tokens_t.c.seq_base)
        .where(api_tokens_t.c.collector_id == collector_id)
        .order_by(api_tokens_t.c.id.desc())
        .limit(1)
    ).scalar()
    following = (newest or 0) + SEQ_BLOCK
    # After ~10,000 sign-ins the blocks start again from the first: the oldest are long gone.
    return following if following <= MAX_SEQ_BASE else SEQ_BLOCK


def issue_token(
    session: Session,
    now: datetime,
    *,
    collector_id: int | None = None,
    user_id: int | None = None,
    label: str = "",
    days: int | None = None,
) -> Issued:
    """A new token for a collector or a user (exactly one of them)."""
    if (collector_id is None) == (user_id is None):
        raise TokenError("a token belongs to one collector or one user")
    if days is None:  # 0 is refused below, not taken for the default
        days = COLLECTOR_TOKEN_DAYS if collector_id is not None else USER_TOKEN_DAYS
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise TokenError(f"a token lasts 1 to {MAX_TOKEN_DAYS} days")
    # Locks the collector's row: two sign-ins at once cannot take the same block of #seq.
    if collector_id is not None:
        session.execute(select(collectors_t.c.id).where(collectors_t.c.id == collector_id).with_for_update())
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = session.execute(
        api_tokens_t.insert().returning(api_tokens_t.c.id),
        {
            "token_hash": token_hash(token),
            "collector_id": collector_id,
            "user_id": user_id,
            "label": " ".join(label.split())[:80] or ("app" if collector_id is not None else "api"),
            "seq_base": None if collector_id is None else _next_seq_base(session, collector_id),
            "created_at": now,
            "expires_at": now + timedelta(days=days),
        },
    ).scalar_one()
    holder = holder_of(session, token_id, now)
    if holder is None:
        raise TokenError("that account cannot sign in")
    return Issued(token, holder)


_HOLDER = (
    select(
        api_tokens_t.c.id,
        api_tokens_t.c.collector_id,
        api_tokens_t.c.user_id,
        api_tokens_t.c.seq_base,
        api_tokens_t.c.expires_at,
        api_tokens_t.c.revoked_at,
        api_tokens_t.c.last_used_at,
        collectors_t.c.name.label("collector_name"),
        collectors_t.c.zone_id,
        collectors_t.c.status.label("collector_status"),
        users_t.c.email,
        users_t.c.role,
        users_t.c.active.label("user_active"),
    )
    .select_from(api_tokens_t)
    .outerjoin(collectors_t, collectors_t.c.id == api_tokens_t.c.collector_id)
    .outerjoin(users_t, users_t.c.id == api_tokens_t.c.user_id)
)


def _holder(row: Any, now: datetime) -> Holder | None:
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.collector_id is not None:
        if row.collector_status != "active":
            return None
        return Holder(
            row.id,
            "collector",
            "collector",
            row.collector_id,
            None,
            row.collector_name,
            row.zone_id,
            row.seq_base,
            row.expires_at,
        )
    if not row.user_active:
        return None
    return Holder(
        row.id,
        "user",
        row.role,
        None,
        row.user_id,
        row.email,
        None,
        None,
        row.expires_at,
    )


def holder_of(session: Session, token_id: int, now: datetime) -> Holder | None:
    return _holder(session.execute(_HOLDER.where(api_tokens_t.c.id == token_id)).first(), now)


class Presented(NamedTuple):
    holder: Holder
    last_used_at: datetime | None


def authenticate(session: Session, token: str, now: datetime) -> Presented | None:
    """The holder of a presented token, or None if it is unknown, revoked, expired or its holder
    may no longer act. Looked up by its hash: the comparison is an index lookup, not a string
    compare an attacker could time."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.execute(_HOLDER.where(api_tokens_t.c.token_hash == token_hash(token))).first()
    holder = _holder(row, now)
    return None if holder is None or row is None else Presented(holder, row.last_used_at)


def touch(session: Session, token_id: int, now: datetime) -> None:
    session.execute(
        update(api_tokens_t)
        .where(api_tokens_t.c.id == token_id)
        .where((api_tokens_t.c.last_used_at.is_(None)) | (api_tokens_t.c.last_used_at < now - TOUCH_EVERY))
        .values(last_used_at=now)
    )


def needs_touch(presented: Presented, now: datetime) -> bool:
    return presented.last_used_at is None or presented.last_used_at < now - TOUCH_EVERY


def _revoke(session: Session, whose: ColumnElement[bool], now: datetime, by: str) -> int:
    """End the live tokens ``whose`` picks; how many there were."""
    done = session.execute(
        update(api_tokens_t)
        .where(whose, api_tokens_t.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=by[:254])
    )
    return int(done.rowcount)  # type: ignore[attr-defined]


def revoke(session: Session, token_id: int, now: datetime, *, by: str) -> bool:
    return _revoke(session, api_tokens_t.c.id == token_id, now, by) > 0


def revoke_collector_tokens(session: Session, collector_id: int, now: datetime, *, by: str) -> int:
    return _revoke(session, api_tokens_t.c.collector_id == collector_id, now, by)


def revoke_user_tokens(session: Session, user_id: int, now: datetime, *, by: str) -> int:
    return _revoke(session, api_tokens_t.c.user_id == user_id, now, by)


class TokenRow(NamedTuple):
    id: int
    label: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def collector_tokens(session: Session, collector_id: int) -> list[TokenRow]:
    rows = session.execute(
        select(
            api_tokens_t.c.id,
            api_tokens_t.c.label,
            api_tokens_t.c.created_at,
            api_tokens_t.c.expires_at,
            api_tokens_t.c.last_used_at,
            api_tokens_t.c.revoked_at,
        )
        .where(api_tokens_t.c.collector_id == collector_id)
        .order_by(api_tokens_t.c.id.desc())
        .limit(50)
    )
    return [TokenRow(*row) for row in rows]
