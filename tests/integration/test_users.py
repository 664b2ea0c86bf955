"""Dashboard users: argon2id hashes, roles, sign-in that never says why, sessions ended by a
password change or by disabling; and the audit log, which the database keeps append-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.models import audit_log_t, users_t
from service.usecases import audit, users

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def test_a_user_is_stored_with_an_argon2id_hash_and_signs_in(session: Session) -> None:
    added = users.add_user(session, "  Ada@Hub.Example ", PASSWORD, "operator", NOW)
    assert (added.email, added.role, added.active, added.session_version) == (
        "ada@hub.example",
        "operator",
        True,
        1,
    )
    stored = session.execute(select(users_t.c.password_hash).where(users_t.c.id == added.id)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    signed = users.sign_in(session, "ADA@hub.example", PASSWORD, NOW)
    assert signed is not None and signed.last_sign_in_at == NOW


@pytest.mark.parametrize(
    ("email", "password"),
    [("ada@hub.example", "wrong password"), ("nobody@hub.example", PASSWORD), ("ada@hub.example", "")],
)
def test_a_wrong_email_or_password_gets_none(session: Session, email: str, password: str) -> None:
    users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    assert users.sign_in(session, email, password, NOW) is None


def test_a_disabled_user_cannot_sign_in_and_their_sessions_end(session: Session) -> None:
    users.add_user(session, "boss@hub.example", PASSWORD, "admin", NOW)
    added = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    disabled = users.set_active(session, "ada@hub.example", False)
    assert disabled.session_version == added.session_version + 1
    assert users.sign_in(session, "ada@hub.example", PASSWORD, NOW) is None
    assert users.set_active(session, "ada@hub.example", True).active


def test_a_new_password_replaces_the_old_and_ends_sessions(session: Session) -> None:
    added = users.add_user(session, "ada@hub.example", PASSWORD, "auditor", NOW)
    changed = users.set_password(session, "ada@hub.example", "another long password")
    assert changed.session_version == added.session_version + 1
    assert users.sign_in(session, "ada@hub.example", PASSWORD, NOW) is None
    assert users.sign_in(session, "ada@hub.example", "another long password", NOW) is not None


def test_a_weak_hash_is_replaced_at_sign_in(session: Session) -> None:
    added = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    session.execute(update(users_t).where(users_t.c.id == added.id).values(password_hash=weak))
    assert users.sign_in(session, "ada@hub.example", PASSWORD, NOW) is not None
    stored = session.execute(select(users_t.c.password_hash).where(users_t.c.id == added.id)).scalar_one()
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("not-an-email", PASSWORD, "operator", "not an email address"),
        ("ada@hub.example", "short", "operator", "at least 10 characters"),
        ("ada@hub.example", "x" * 201, "operator", "at most 200"),
        ("ada@hub.example", "ada@hub.example", "operator", "cannot be the email"),
        ("ada@hub.example", PASSWORD, "boss", "role is one of"),
        ("taken@hub.example", PASSWORD, "operator", "has an account already"),
    ],
)
def test_refusals_say_why_and_add_nobody(
    session: Session, email: str, password: str, role: str, message: str
) -> None:
    users.add_user(session, "taken@hub.example", PASSWORD, "operator", NOW)
    with pytest.raises(users.UserError, match=message):
        users.add_user(session, email, password, role, NOW)
    assert [u.email for u in users.users(session)] == ["taken@hub.example"]


def test_the_last_active_admin_cannot_be_disabled(session: Session) -> None:
    users.add_user(session, "boss@hub.example", PASSWORD, "admin", NOW)
    with pytest.raises(users.UserError, match="last active admin"):
        users.set_active(session, "boss@hub.example", False)
    users.add_user(session, "second@hub.example", PASSWORD, "admin", NOW)
    assert not users.set_active(session, "boss@hub.example", False).active


def test_the_database_refuses_an_unknown_role(session: Session) -> None:
    with pytest.raises(DBAPIError), session.begin_nested():
        session.execute(
            users_t.insert().values(
                email="x@hub.example",
                role="root",
                password_hash="h",
                session_version=1,
                active=True,
                created_at=NOW,
            )
        )


def test_the_audit_log_is_append_only(session: Session) -> None:
    entry = audit.record(
        session, actor="ada@hub.example", action="test.thing", subject="x:1", at=NOW, details={"a": 1}
    )
    assert audit.entries(session, action="test.")[0].details == {"a": 1}
    for statement in (
        update(audit_log_t).where(audit_log_t.c.id == entry).values(actor="someone else"),
        delete(audit_log_t).where(audit_log_t.c.id == entry),
    ):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(statement)
    if session.get_bind().dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text("TRUNCATE audit_log CASCADE"))
    assert audit.entries(session, action="test.thing")[0].actor == "ada@hub.example"
