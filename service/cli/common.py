"""What the CLI's commands share: the runtime, one unit of work per command, and messages that
end a command with a non-zero exit."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import NoReturn

import click
from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import ORMExecuteState, Session

import sms
from service.runtime import Runtime
from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError
from service.usecases import audit as audit_log
from service.usecases.zones import Zone, zone_by_name


def runtime() -> Runtime:
    """The app's runtime (the process's)."""
    found: Runtime = current_app.extensions["kolekt.runtime"]
    return found


def fail(message: str, code: int = 1) -> NoReturn:
    """``Error: <message>`` on standard error, and exit with ``code`` (2: the arguments are wrong)."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def read_secret(prompt: str, what: str) -> str:
    """A password or PIN: asked twice at a terminal (not shown), else the first line of standard
    input (for scripts: ``printf '%s\n' "$PASSWORD" | flask ...``)."""
    if sys.stdin.isatty():
        return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))
    line = sys.stdin.readline()
    if not line:
        fail(f"no {what} on standard input (or run this at a terminal to be asked)")
    return line.rstrip("\r\n")


def no_schema(error: Exception) -> NoReturn:
    fail(f"the database is not ready ({type(error).__name__}); run: flask --app wsgi db upgrade")


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """The command's unit of work (its texts and jobs enqueued after the commit); a refusal or a
    missing schema becomes ``Error: ...`` and a non-zero exit (after the rollback, so nothing it
    did stays)."""
    try:
        with runtime().unit_of_work() as uow:
            event.listen(uow.session, "do_orm_execute", _note_writes)
            yield uow
            _audit(uow)
    except CatalogueError as error:
        fail(str(error))
    except (OperationalError, ProgrammingError) as error:
        no_schema(error)


# Commands that only read; every other command's unit of work is in the audit log, with who ran
# it and what it was given (secrets left out), in the same transaction as what it changed.
READ_ONLY = {"list", "history", "changes", "preview", "topics", "expiring", "recent", "thresholds", "export"}
SECRET_WORDS = ("password", "pin", "secret", "token")


def _note_writes(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["kolekt.wrote"] = True


def _audit(uow: UnitOfWork) -> None:
    if not uow.session.info.get("kolekt.wrote"):  # read only, or refused before any write
        return
    context = click.get_current_context(silent=True)
    if context is None or context.command.name in READ_ONLY or context.meta.get("kolekt.audited"):
        return
    if uow.session.info.get("kolekt.audited"):  # the command wrote its own entry
        return
    context.meta["kolekt.audited"] = True
    path: list[str] = []
    here: click.Context | None = context
    while here is not None and here.parent is not None:  # the root is flask's own group
        path.insert(0, here.info_name or "")
        here = here.parent
    details = {
        name: value
        for name, value in context.params.items()
        if value not in (None, (), "") and not any(word in name.lower() for word in SECRET_WORDS)
    }
    arguments = [param.name for param in context.command.params if isinstance(param, click.Argument)]
    first = next((details[name] for name in arguments if name in details), next(iter(details.values()), ""))
    audit_log.record(
        uow.session,
        actor=operator(),
        action=("cli." + ".".join(path))[:40],
        subject=str(first)[:80],
        at=uow.now,
        details=details,
    )


def phone_of(text: str) -> str:
    phone = sms.normalise_phone(text, runtime().settings.phone_region)
    if phone is None:
        fail(f"--phone {text!r} is not a phone number (e.g. +2348031234567 or 08031234567)", 2)
    return phone


def utc_now() -> datetime:
    return datetime.now(UTC)


def operator() -> str:
    """Who ran the command, as far as this process can tell (rates and day changes record it)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this container or service account
        return "cli"


def zone_named(session: Session, name: str) -> Zone:
    found = zone_by_name(session, name)
    if found is None:
        raise CatalogueError(f"no zone called {' '.join(name.split())!r} (see: flask --app wsgi zones list)")
    return found


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]], empty: str) -> None:
    if not rows:
        click.echo(empty)
        return
    cells = [list(header), *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
