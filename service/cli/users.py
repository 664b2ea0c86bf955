"""``flask --app wsgi users ...``: the dashboard's users (admins, operators, auditors), and their
tokens for the JSON API.

The password is asked for at the terminal (twice, not shown), or read from the first line of
standard input when that is not a terminal: ``printf '%s\\n' "$PW" | flask --app wsgi users add ...``.
Each change is written to the audit log as done by ``cli:<the system user>``.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from service.cli.common import fail, operator, print_table, read_secret, unit_of_work, utc_now
from service.usecases import audit, tokens, users


@click.group("users", cls=AppGroup, help="Dashboard users: add, list, password, disable, enable; API tokens.")
def users_group() -> None:
    pass


def _record(session: object, action: str, user: users.User, **details: object) -> None:
    audit.record(
        session,  # type: ignore[arg-type]
        actor=operator(),
        action=action,
        subject=f"user:{user.id}",
        at=utc_now(),
        details={"email": user.email, **details},
    )


@users_group.command("add", help="Add a user who signs in to the dashboard with email and password.")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(users.ROLES), help="What the user may do.")
def users_add(email: str, role: str) -> None:
    password = read_secret("Password", "password")
    try:
        with unit_of_work() as uow:
            added = users.add_user(uow.session, email, password, role, utc_now())
            _record(uow.session, "user.add", added, role=role)
    except users.UserError as error:
        fail(str(error))
    click.echo(f"added {added.email} ({added.role}); they sign in at /dashboard")


@users_group.command("list", help="Every user, with role and last sign-in.")
def users_list() -> None:
    with unit_of_work() as uow:
        rows = [
            (
                u.email,
                u.role,
                "active" if u.active else "disabled",
                f"{u.last_sign_in_at:%Y-%m-%d %H:%M}" if u.last_sign_in_at else "never",
            )
            for u in users.users(uow.session)
        ]
    print_table(
        ("email", "role", "status", "last sign-in (UTC)"), rows, "no users yet: users add --email ..."
    )


@users_group.command("password", help="Set a new password (signs the user out everywhere).")
@click.option("--email", required=True)
def users_password(email: str) -> None:
    password = read_secret("Password", "password")
    try:
        with unit_of_work() as uow:
            changed = users.set_password(uow.session, email, password, now=utc_now(), by=operator())
            _record(uow.session, "user.password", changed)
    except users.UserError as error:
        fail(str(error))
    click.echo(f"new password set for {changed.email}; signed out everywhere, API tokens ended")


def _set_active(email: str, active: bool) -> None:
    try:
        with unit_of_work() as uow:
            changed = users.set_active(uow.session, email, active, now=utc_now(), by=operator())
            _record(uow.session, "user.enable" if active else "user.disable", changed)
    except users.UserError as error:
        fail(str(error))
    click.echo(f"{changed.email} {'enabled' if active else 'disabled and signed out everywhere'}")


@users_group.command("disable", help="Stop a user signing in (and sign them out everywhere).")
@click.option("--email", required=True)
def users_disable(email: str) -> None:
    _set_active(email, False)


@users_group.command("enable", help="Let a disabled user sign in again.")
@click.option("--email", required=True)
def users_enable(email: str) -> None:
    _set_active(email, True)


def _active_user(session: Session, email: str) -> users.User:
    found = users.user_by_email(session, email)
    if found is None:
        raise users.UserError(f"no user {email.strip().lower()!r}")
    if not found.active:
        raise users.UserError(f"{found.email} is disabled; enable them first")
    return found


@users_group.command(
    "token",
    help="A token for the JSON API, acting with the user's role until it expires or is revoked. "
    "Printed once: only its hash is kept.",
)
@click.option("--email", required=True)
@click.option("--label", default="", help="What it is for, e.g. 'monthly report script'.")
@click.option(
    "--days",
    type=int,
    help=f"How long it lasts (1 to {tokens.MAX_TOKEN_DAYS}; default {tokens.USER_TOKEN_DAYS}).",
)
def users_token(email: str, label: str, days: int | None) -> None:
    try:
        with unit_of_work() as uow:
            holder = _active_user(uow.session, email)
            issued = tokens.issue_token(uow.session, utc_now(), user_id=holder.id, label=label, days=days)
            _record(
                uow.session,
                "user.token",
                holder,
                token_id=issued.holder.token_id,
                label=label,
                expires_at=issued.holder.expires_at.isoformat(),
            )
    except (users.UserError, tokens.TokenError) as error:
        fail(str(error))
    expires = f"{issued.holder.expires_at:%Y-%m-%d %H:%M} UTC"
    click.echo(f"API token for {holder.email} ({holder.role}), expires {expires}; shown this once:")
    click.echo(issued.token)


@users_group.command("revoke-tokens", help="End every API token the user holds (their password stays).")
@click.option("--email", required=True)
def users_revoke_tokens(email: str) -> None:
    try:
        with unit_of_work() as uow:
            found = users.user_by_email(uow.session, email)
            if found is None:
                raise users.UserError(f"no user {email.strip().lower()!r}")
            ended = tokens.revoke_user_tokens(uow.session, found.id, utc_now(), by=operator())
            _record(uow.session, "user.revoke_tokens", found, revoked=ended)
    except users.UserError as error:
        fail(str(error))
    click.echo(f"{found.email}: {ended} API token{'s' if ended != 1 else ''} revoked")


USERS_GROUPS = (users_group,)
