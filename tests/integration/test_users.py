"""Dashboard users: argon2id hashes, roles, sign-in that never says why, sessions ended by a
password change or by disabling; and the audit log, which the database keeps append-only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from service.db import make_engine, make_session_factory, transaction
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


def test_a_new_role_keeps_the_users_sessions_and_applies_from_their_next_request(session: Session) -> None:
    users.add_user(session, "boss@hub.example", PASSWORD, "admin", NOW)
    added = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    changed = users.set_role(session, "ADA@hub.example ", "auditor", actor="boss@hub.example")
    assert (changed.role, changed.session_version) == ("auditor", added.session_version)
    signed = users.sign_in(session, "ada@hub.example", PASSWORD, NOW)
    assert signed is not None and signed.role == "auditor"
    assert users.set_role(session, "ada@hub.example", "admin").role == "admin"


@pytest.mark.parametrize(
    ("email", "role", "message"),
    [
        ("ada@hub.example", "boss", "role is one of"),
        ("ada@hub.example", "operator", "is an operator already"),
        ("nobody@hub.example", "auditor", "no user"),
        ("boss@hub.example", "operator", "your own role"),
    ],
)
def test_a_role_change_refused_says_why_and_changes_nothing(
    session: Session, email: str, role: str, message: str
) -> None:
    users.add_user(session, "boss@hub.example", PASSWORD, "admin", NOW)
    users.add_user(session, "second@hub.example", PASSWORD, "admin", NOW)
    users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    before = users.users(session)
    with pytest.raises(users.UserError, match=message):
        users.set_role(session, email, role, actor="boss@hub.example")
    assert users.users(session) == before


def test_the_last_active_admin_keeps_the_admin_role(session: Session) -> None:
    users.add_user(session, "boss@hub.example", PASSWORD, "admin", NOW)
    users.add_user(session, "old@hub.example", PASSWORD, "admin", NOW)
    users.set_active(session, "old@hub.example", False)  # a disabled admin is no admin to fall back on
    with pytest.raises(users.UserError, match="last active admin"):
        users.set_role(session, "boss@hub.example", "operator")
    assert users.set_role(session, "old@hub.example", "auditor").role == "auditor"  # disabled: no matter
    users.add_user(session, "second@hub.example", PASSWORD, "admin", NOW)
    assert (
        users.set_role(session, "boss@hub.example", "operator", actor="second@hub.example").role == "operator"
    )
    with pytest.raises(users.UserError, match="last active admin"):
        users.set_role(session, "second@hub.example", "auditor")
    assert [u.email for u in users.users(session) if u.role == "admin"] == ["second@hub.example"]


def test_an_admin_cannot_disable_themselves_nor_a_user_twice(session: Session) -> None:
    users.add_user(session, "boss@hub.example", PASSWORD, "admin", NOW)
    users.add_user(session, "second@hub.example", PASSWORD, "admin", NOW)
    added = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    with pytest.raises(users.UserError, match="your own account"):
        users.set_active(session, "boss@hub.example", False, actor=" Boss@hub.example")
    with pytest.raises(users.UserError, match="is active already"):
        users.set_active(session, "ada@hub.example", True, actor="boss@hub.example")
    users.set_active(session, "ada@hub.example", False, actor="boss@hub.example")
    with pytest.raises(users.UserError, match="is disabled already"):
        users.set_active(session, "ada@hub.example", False, actor="boss@hub.example")
    ada = users.user_by_email(session, "ada@hub.example")
    assert ada is not None and (ada.active, ada.session_version) == (False, added.session_version + 1)
    boss = users.user_by_email(session, "boss@hub.example")
    assert boss is not None and boss.active and boss.session_version == 1


def test_two_admins_taking_each_others_admin_role_at_once_leave_one_admin(
    fresh_database: Callable[[], str],
) -> None:
    """Each sees two admins when it starts; the second waits for the first's locks, then sees one."""
    engine = make_engine(fresh_database())
    sessions = make_session_factory(engine)
    with transaction(sessions) as setup:
        for email in ("ada@hub.example", "ben@hub.example"):
            users.add_user(setup, email, PASSWORD, "admin", NOW)
    answers: list[object] = []

    def ben_demotes_ada() -> None:
        try:
            with transaction(sessions) as session:
                answers.append(
                    users.set_role(session, "ada@hub.example", "operator", actor="ben@hub.example")
                )
        except users.UserError as error:
            answers.append(error)

    try:
        with transaction(sessions) as session:
            users.set_role(session, "ben@hub.example", "operator", actor="ada@hub.example")
            second = threading.Thread(target=ben_demotes_ada)
            second.start()
            time.sleep(0.5)  # Ben's change waits on Ada's transaction, still open
            assert answers == []
        second.join(30)
        assert len(answers) == 1 and "last active admin" in str(answers[0])
        with transaction(sessions) as session:
            assert [(u.email, u.role) for u in users.users(session)] == [
                ("ada@hub.example", "admin"),
                ("ben@hub.example", "operator"),
            ]
    finally:
        engine.dispose()
