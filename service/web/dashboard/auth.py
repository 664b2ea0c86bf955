"""Signing in and out. Failed attempts are rate-limited per address and per email."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from service.usecases import users
from service.web.base import limiter, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    SIGN_IN_LIMITS,
    SIGN_IN_LIMITS_PER_EMAIL,
    DashboardUser,
    audit,
    blueprint,
    requires,
)

log = logging.getLogger(__name__)


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _email_key() -> str:
    return "sign-in:" + request.form.get("email", "").strip().lower()[:254]


def _safe_next(target: str | None) -> str:
    """Only a page of the dashboard itself: never another site (an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/dashboard"):
            return target
    return url_for("dashboard.overview")


@blueprint.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMITS, methods=["POST"], deduct_when=_failed)
@limiter.limit(SIGN_IN_LIMITS_PER_EMAIL, methods=["POST"], key_func=_email_key, deduct_when=_failed)
def sign_in() -> ResponseReturnValue:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(target)
        return render_template("dashboard/sign_in.html", next=target, email="")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    with unit_of_work() as uow:
        found = users.sign_in(uow.session, email, password, uow.now) if email and password else None
        if found is not None:
            session.clear()  # a new session for the signed-in user (no fixation of an earlier one)
            login_user(DashboardUser(found.id, found.email, found.role, found.session_version))
            session.permanent = True
            audit(uow, "user.sign_in", f"user:{found.id}", {"role": found.role})
    if found is None:
        log.info("dashboard sign-in refused for %r from %s", email[:60], request.remote_addr)
        return render_template(
            "dashboard/sign_in.html", next=target, email=email, error="Wrong email or password."
        ), 401
    return redirect(target)


@blueprint.post("/sign-out")
@requires(*ANYONE)
def sign_out() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("dashboard.sign_in"))
