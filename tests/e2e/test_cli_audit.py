"""A change made from the command line is in the audit log like one made in the dashboard: who
ran it (cli:<system user>), the command, what it was given (never a secret), in the same
transaction as the change; a command that only reads, or is refused, leaves nothing."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from service.models import audit_log_t
from service.settings import Settings
from tests.conftest import run_cli
from tests.e2e.test_cli_users import users_cli


def entries(engine: Engine) -> list[tuple[str, str, str, dict[str, object]]]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_log_t).order_by(audit_log_t.c.id)).all()
    return [(row.actor, row.action, row.subject, json.loads(row.details)) for row in rows]


def test_cli_changes_are_audited_with_who_and_what(settings: Settings, engine: Engine) -> None:
    assert (
        run_cli(settings, "zones", "add", "Yaba", "--days", "tue,fri", "--window", "08:00-12:00").returncode
        == 0
    )
    assert run_cli(settings, "materials", "words", "PET", "flask").returncode == 0
    assert run_cli(settings, "materials", "list").returncode == 0  # reads only
    refused = run_cli(settings, "materials", "words", "PET", "bal")
    assert refused.returncode == 1 and "command word" in refused.stderr
    found = entries(engine)
    assert [(action, subject) for _, action, subject, _ in found] == [
        ("cli.zones.add", "Yaba"),
        ("cli.materials.words", "PET"),
    ]
    assert all(actor.startswith("cli") for actor, _, _, _ in found)
    assert found[0][3]["days"] == "tue,fri" and found[1][3]["words"] == ["flask"]


def test_a_command_that_audits_itself_is_not_written_twice(settings: Settings, engine: Engine) -> None:
    added = users_cli(
        settings, "add", "--email", "ada@hub.example", "--role", "admin", password="correct horse battery"
    )
    assert added.returncode == 0, added.stderr
    found = entries(engine)
    assert [action for _, action, _, _ in found] == ["user.add"]
    assert "correct horse battery" not in json.dumps(found)
