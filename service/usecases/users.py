"""The dashboard's users: an email, a role and an argon2id password hash.

- ``admin``: everything, the programme's settings included.
- ``operator``: runs the programme day to day (disputes, weigh-ins, adjustments, messages).
- ``auditor``: reads everything and changes nothing.

Passwords are hashed with argon2-cffi's defaults (argon2id, RFC 9106's low-memory profile); a hash
made with weaker parameters is replaced at the next sign-in. A sign-in for an unknown email still
costs one hash, so the time it takes does not tell which emails exist.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models import users_t
from service.usecases.tokens import revoke_user_tokens

ROLES = ("admin", "operator", "auditor")
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that answer takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not anyone's password")


class UserError(ValueError):
    """A refusal: the message says what to change."""


class User(NamedTuple):
    id: int
    email: str
    role: str
    active: bool
    session_version: int
    created_at: datetime
    last_sign_in_at: datetime | None


def normalise_email(text: str) -> str:
    email = text.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise UserError(f"{text.strip()[:60]!r} is not an email address")
    return email


def _check_password(password: str, email: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"a password has at most {MAX_PASSWORD} characters")
    if password.strip().lower() == email:
        raise UserError("the password cannot be the email address")


def _user(row: object) -> User:
    return User(*(getattr(row, name) for name in User._fields))


def _columns() -> list[Any]:
    return [users_t.c[name] for name in User._fields]


def add_user(session: Session, email: str, password: str, role: str, now: datetime) -> User:
    email = normalise_email(email)
    if role not in ROLES:
        raise UserError(f"the role is one of {', '.join(ROLES)}, not {role!r}")
    _check_password(password, email)
    if session.execute(select(users_t.c.id).where(users_t.c.email == email)).first():
        raise UserError(f"{email} has an account already")
    row = session.execute(
        users_t.insert()
        .values(
            email=email,
            role=role,
            password_hash=_hasher.hash(password),
            session_version=1,
            active=True,
            created_at=now,
        )
        .returning(*_columns())
    ).one()
    return _user(row)


def get_user(session: Session, user_id: int) -> User | None:
    row = session.execute(select(*_columns()).where(users_t.c.id == user_id)).first()
    return None if row is None else _user(row)


def user_by_email(session: Session, email: str) -> User | None:
    row = session.execute(select(*_columns()).where(users_t.c.email == email.strip().lower())).first()
    return None if row is None else _user(row)


# The demo's dashboard users share one password and an address at this domain (seed-demo makes
# them; the sign-in page shows them where they exist, so a newcomer can get in).
DEMO_DOMAIN = "@demo.kolekt"
DEMO_PASSWORD = "kolekt-demo-only"  # noqa: S105 - the demo's, shown on purpose


def demo_users(session: Session) -> list[User]:
    """The demo's active dashboard users on this database (none where seed-demo never ran)."""
    rows = session.execute(
        select(*_columns()).where(users_t.c.email.like(f"%{DEMO_DOMAIN}")).order_by(users_t.c.id)
    )
    return [user for user in map(_user, rows) if user.active]


def users(session: Session) -> list[User]:
    rows = session.execute(select(*_columns()).order_by(users_t.c.email))
    return [_user(row) for row in rows]


def sign_in(session: Session, email: str, password: str, now: datetime) -> User | None:
    """The user whose email and password these are, if active; None otherwise (never why)."""
    found = session.execute(
        select(users_t.c.id, users_t.c.password_hash, users_t.c.active).where(
            users_t.c.email == email.strip().lower()
        )
    ).first()
    try:
        _hasher.verify(found.password_hash if found else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if found is None or not found.active:
        return None
    changes: dict[str, object] = {"last_sign_in_at": now}
    if _hasher.check_needs_rehash(found.password_hash):
        changes["password_hash"] = _hasher.hash(password)
    session.execute(update(users_t).where(users_t.c.id == found.id).values(**changes))
    return get_user(session, found.id)


def _known(session: Session, email: str) -> User:
    found = user_by_email(session, email)
    if found is None:
        raise UserError(f"no user {email.strip().lower()!r}")
    return found


def _change(session: Session, email: str, **values: object) -> User:
    found = _known(session, email)
    session.execute(
        update(users_t)
        .where(users_t.c.id == found.id)
        .values(session_version=users_t.c.session_version + 1, **values)
    )
    changed = get_user(session, found.id)
    assert changed is not None
    return changed


def _end_api_tokens(session: Session, user_id: int, now: datetime | None, by: str) -> None:
    """Every API token the user holds ends with their browsers' sessions: whoever learnt the old
    password must not keep a token made with it."""
    revoke_user_tokens(session, user_id, now or datetime.now(UTC), by=by)


def set_password(
    session: Session, email: str, password: str, *, now: datetime | None = None, by: str = "new password"
) -> User:
    """A new password; every browser signed in as this user is signed out, every API token ends."""
    _check_password(password, email.strip().lower())
    changed = _change(session, email, password_hash=_hasher.hash(password))
    _end_api_tokens(session, changed.id, now, by)
    return changed


def _active_admins(session: Session) -> list[int]:
    """The active admins' ids, their rows locked until the transaction ends (PostgreSQL; SQLite's
    writers take turns anyway): two admins taking each other's admin role at the same moment
    cannot both see the other one left."""
    return list(
        session.execute(
            select(users_t.c.id)
            .where(users_t.c.role == "admin", users_t.c.active.is_(True))
            .order_by(users_t.c.id)
            .with_for_update()
        ).scalars()
    )


def set_active(
    session: Session,
    email: str,
    active: bool,
    *,
    now: datetime | None = None,
    by: str = "user disabled",
    actor: str | None = None,
) -> User:
    """Disable (signing the user out everywhere, ending every API token) or enable again (the
    tokens stay ended). The last active admin stays; ``actor``, the email of whoever makes the
    change, may not disable themselves."""
    found = _known(session, email)
    if found.active == active:
        raise UserError(f"{found.email} is {'active' if active else 'disabled'} already")
    if not active:
        if found.role == "admin" and _active_admins(session) == [found.id]:
            raise UserError("that is the last active admin; add another admin first")
        if actor is not None and actor.strip().lower() == found.email:
            raise UserError("you cannot disable your own account; another admin can")
    changed = _change(session, email, active=active)
    if not active:
        _end_api_tokens(session, changed.id, now, by)
    return changed


def set_role(session: Session, email: str, role: str, *, actor: str | None = None) -> User:
    """A user's new role, in force from their next page or API call (the role is read at each
    request, so their sessions and tokens stay). The last active admin keeps the admin role;
    ``actor``, the email of whoever makes the change, may not change their own."""
    if role not in ROLES:
        raise UserError(f"the role is one of {', '.join(ROLES)}, not {role!r}")
    found = _known(session, email)
    if found.role == role:
        raise UserError(f"{found.email} is {_article(role)} {role} already")
    if found.role == "admin" and found.active and _active_admins(session) == [found.id]:
        raise UserError("that is the last active admin; make another user admin first")
    if actor is not None and actor.strip().lower() == found.email:
        raise UserError("you cannot change your own role; another admin can")
    session.execute(update(users_t).where(users_t.c.id == found.id).values(role=role))
    changed = get_user(session, found.id)
    assert changed is not None
    return changed


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
