"""``flask --app wsgi users ...``: adding dashboard users with the password from standard input,
listing, new passwords, disabling; every refusal an ``Error:`` line, a non-zero exit and no change."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import Engine, select

from service.models import audit_log_t, users_t
from service.settings import Settings
from tests.conftest import ROOT, run_cli, settings_environ
from tests.e2e.conftest import columns, snapshot

PASSWORD = "correct horse battery"


def users_cli(
    settings: Settings, *arguments: str, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(settings, "users", *arguments, stdin=None if password is None else password + "\n")


def test_add_list_password_disable(settings: Settings, engine: Engine) -> None:
    added = users_cli(settings, "add", "--email", "Ada@Hub.Example", "--role", "admin", password=PASSWORD)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added ada@hub.example (admin); they sign in at /dashboard"
    assert (
        users_cli(
            settings, "add", "--email", "ben@hub.example", "--role", "auditor", password=PASSWORD
        ).returncode
        == 0
    )
    listed = columns(users_cli(settings, "list").stdout.splitlines())
    assert listed[0] == ["email", "role", "status", "last sign-in (UTC)"]
    assert listed[1:] == [
        ["ada@hub.example", "admin", "active", "never"],
        ["ben@hub.example", "auditor", "active", "never"],
    ]
    with engine.connect() as connection:
        version = connection.execute(
            select(users_t.c.session_version).where(users_t.c.email == "ben@hub.example")
        ).scalar_one()
    changed = users_cli(settings, "password", "--email", "ben@hub.example", password="a new long password")
    assert changed.returncode == 0 and "signed out everywhere" in changed.stdout
    disabled = users_cli(settings, "disable", "--email", "ben@hub.example")
    assert disabled.returncode == 0
    with engine.connect() as connection:
        row = connection.execute(select(users_t).where(users_t.c.email == "ben@hub.example")).one()
        actions = list(connection.execute(select(audit_log_t.c.action).order_by(audit_log_t.c.id)).scalars())
    assert (row.active, row.session_version) == (False, version + 2)
    assert actions == ["user.add", "user.add", "user.password", "user.disable"]
    assert users_cli(settings, "enable", "--email", "ben@hub.example").returncode == 0


@pytest.mark.parametrize(
    ("arguments", "password", "message"),
    [
        (("add", "--email", "nope", "--role", "operator"), PASSWORD, "is not an email address"),
        (("add", "--email", "c@hub.example", "--role", "operator"), "short", "at least 10 characters"),
        (("add", "--email", "c@hub.example", "--role", "operator"), "", "at least 10 characters"),
        (("add", "--email", "ada@hub.example", "--role", "operator"), PASSWORD, "has an account already"),
        (("password", "--email", "who@hub.example"), PASSWORD, "no user"),
        (("disable", "--email", "ada@hub.example"), None, "last active admin"),
        (("enable", "--email", "who@hub.example"), None, "no user"),
    ],
)
def test_refusals(
    settings: Settings, engine: Engine, arguments: tuple[str, ...], password: str | None, message: str
) -> None:
    assert (
        users_cli(
            settings, "add", "--email", "ada@hub.example", "--role", "admin", password=PASSWORD
        ).returncode
        == 0
    )
    before = snapshot(engine)
    refused = users_cli(settings, *arguments, password=password)
    assert refused.returncode != 0
    assert refused.stderr.startswith("Error: ") and message in refused.stderr, refused.stderr
    assert snapshot(engine) == before


def test_a_bad_role_and_no_password_on_stdin_are_refused(settings: Settings, engine: Engine) -> None:
    before = snapshot(engine)
    bad_role = users_cli(settings, "add", "--email", "c@hub.example", "--role", "root", password=PASSWORD)
    assert bad_role.returncode == 2 and "'root' is not one of" in bad_role.stderr
    no_password = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "users",
            "add",
            "--email",
            "c@hub.example",
            "--role",
            "operator",
        ],
        cwd=ROOT,
        env=settings_environ(settings),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert no_password.returncode == 1 and "no password on standard input" in no_password.stderr
    assert snapshot(engine) == before
