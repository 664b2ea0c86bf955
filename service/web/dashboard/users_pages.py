"""The dashboard's users, for admins only: the list, adding a user, and on a user's page changing
their role, setting a new password, disabling or enabling them. The rules are the CLI's
(``service.usecases.users``); operators and auditors get 403 on every page and action here."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service.usecases import users as use
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import ADMINS, audit, blueprint, refused, requires, user

ROLE_NOTES = {
    "admin": "everything, the programme's settings and the users included",
    "operator": "the day's work: disputes, weigh-ins, adjustments, texts",
    "auditor": "reads every page, changes nothing",
}
NOT_THE_SAME = "The two passwords are not the same. Type the new password twice."


def _subject(found: use.User) -> str:
    """An audit entry's subject: the user, shown in the audit log as their email."""
    return f"user:{found.id}"


def _by() -> str:
    """Who ended a user's API tokens, as ``api_tokens.revoked_by`` keeps it."""
    return f"user:{user().id} {user().email}"


def _list_context(**form: str) -> dict[str, Any]:
    return {"users": use.users(db_session()), "roles": use.ROLES, "notes": ROLE_NOTES, "form": form}


def _known(user_id: int) -> use.User:
    found = use.get_user(db_session(), user_id)
    if found is None:
        abort(404, description=f"there is no user {user_id}")
    return found


def _account_context(found: use.User) -> dict[str, Any]:
    return {"u": found, "roles": use.ROLES, "notes": ROLE_NOTES, "me": user()}


def _passwords() -> str:
    """The password typed twice (refused if the two differ); the length rules are the use case's."""
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    if password != again:
        raise use.UserError(NOT_THE_SAME)
    return password


@blueprint.get("/users")
@requires(*ADMINS)
def users() -> ResponseReturnValue:
    return render_template("dashboard/users.html", **_list_context())


@blueprint.post("/users")
@requires(*ADMINS)
def users_add() -> ResponseReturnValue:
    form = {name: request.form.get(name, "").strip()[:254] for name in ("email", "role")}
    try:
        password = _passwords()
        with unit_of_work() as uow:
            added = use.add_user(uow.session, form["email"], password, form["role"], uow.now)
            audit(uow, "user.add", _subject(added), {"email": added.email, "role": added.role})
    except use.UserError as error:
        return refused("dashboard/users.html", str(error), **_list_context(**form))
    flash(f"Added {added.email} ({added.role}). They sign in at /dashboard with the password you set.", "ok")
    return redirect(url_for("dashboard.users", _anchor=f"user-{added.id}"), 303)


@blueprint.get("/users/<int:user_id>")
@requires(*ADMINS)
def users_account(user_id: int) -> ResponseReturnValue:
    return render_template("dashboard/user.html", **_account_context(_known(user_id)))


def _back(found: use.User) -> ResponseReturnValue:
    return redirect(url_for("dashboard.users_account", user_id=found.id), 303)


@blueprint.post("/users/<int:user_id>/role")
@requires(*ADMINS)
def users_role(user_id: int) -> ResponseReturnValue:
    found = _known(user_id)
    role = request.form.get("role", "").strip()[:20]
    try:
        with unit_of_work() as uow:
            changed = use.set_role(uow.session, found.email, role, actor=user().email)
            audit(
                uow, "user.role", _subject(changed), {"email": changed.email, "from": found.role, "to": role}
            )
    except use.UserError as error:
        return refused("dashboard/user.html", str(error), **_account_context(found))
    flash(f"{changed.email}'s role is now {role}, from their next page.", "ok")
    return _back(changed)


@blueprint.post("/users/<int:user_id>/password")
@requires(*ADMINS)
def users_password(user_id: int) -> ResponseReturnValue:
    found = _known(user_id)
    try:
        password = _passwords()
        with unit_of_work() as uow:
            changed = use.set_password(uow.session, found.email, password, now=uow.now, by=_by())
            audit(uow, "user.password", _subject(changed), {"email": changed.email})
    except use.UserError as error:
        return refused("dashboard/user.html", str(error), **_account_context(found))
    if changed.id == user().id:
        # Their own: this browser is signed out with every other one.
        flash("Your new password is set and you are signed out everywhere: sign in with it.", "info")
        return redirect(url_for("dashboard.sign_in"), 303)
    flash(f"New password set for {changed.email}: signed out everywhere, API tokens ended.", "ok")
    return _back(changed)


def _set_active(user_id: int, active: bool) -> ResponseReturnValue:
    found = _known(user_id)
    try:
        with unit_of_work() as uow:
            changed = use.set_active(
                uow.session, found.email, active, now=uow.now, by=_by(), actor=user().email
            )
            audit(
                uow, "user.enable" if active else "user.disable", _subject(changed), {"email": changed.email}
            )
    except use.UserError as error:
        return refused("dashboard/user.html", str(error), **_account_context(found))
    if active:
        flash(f"{changed.email} is enabled: they can sign in again.", "ok")
    else:
        flash(f"{changed.email} is disabled: signed out everywhere, API tokens ended.", "ok")
    return _back(changed)


@blueprint.post("/users/<int:user_id>/disable")
@requires(*ADMINS)
def users_disable(user_id: int) -> ResponseReturnValue:
    return _set_active(user_id, False)


@blueprint.post("/users/<int:user_id>/enable")
@requires(*ADMINS)
def users_enable(user_id: int) -> ResponseReturnValue:
    return _set_active(user_id, True)
