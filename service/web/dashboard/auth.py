"""Signing in and out. Failed attempts are limited per address, and per email unless the browser
shows a device cookie for that email (``service.usecases.sign_in_limits``): others' guesses at a
user's password do not lock that user's own browser out."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from service.usecases import audit as audit_log
from service.usecases import sign_in_limits, users
from service.web.base import (
    db_session,
    failed_sign_in,
    remember_device,
    sign_in_attempt,
    sign_in_refusal,
    unit_of_work,
)
from service.web.dashboard.base import ANYONE, DashboardUser, audit, blueprint, requires

log = logging.getLogger(__name__)

POLICY = sign_in_limits.DASHBOARD
# The browser's device cookie: sent back to the sign-in page only.
DEVICE_COOKIE = "kolekt-device"


def _safe_next(target: str | None) -> str:
    """Only a page of the dashboard itself: never another site (an open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/dashboard"):
            return target
    return url_for("dashboard.overview")


def _sign_in_page(**context: Any) -> str:
    """The sign-in page; where the demo data was loaded, with the demo's logins on it."""
    demo = users.demo_users(db_session())
    return render_template(
        "dashboard/sign_in.html", demo=demo, demo_password=users.DEMO_PASSWORD if demo else "", **context
    )


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    target = _safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(target)
        return _sign_in_page(next=target, email="")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    attempt = sign_in_attempt(POLICY, email.lower()[:254], DEVICE_COOKIE)
    refusal = sign_in_refusal(POLICY, attempt)
    if refusal is not None:
        log.info("dashboard sign-in held back for %r from %s", email[:60], attempt.address)
        page = _sign_in_page(
            next=target,
            email=email,
            error=f"Too many failed sign-ins. Try again in {refusal.wait()}.",
        )
        return page, 429, {"Retry-After": str(refusal.retry_after)}
    with unit_of_work() as uow:
        found = users.sign_in(uow.session, email, password, uow.now) if email and password else None
        if found is None:
            # Who tried which account, from where: the audit log shows failed sign-ins too.
            audit_log.record(
                uow.session,
                actor="(not signed in)",
                action="user.sign_in_failed",
                subject=f"email:{email.lower()[:70]}",
                at=uow.now,
                address=attempt.address,
            )
        else:
            session.clear()  # a new session for the signed-in user (no fixation of an earlier one)
            login_user(DashboardUser(found.id, found.email, found.role, found.session_version))
            session.permanent = True
            audit(uow, "user.sign_in", f"user:{found.id}", {"role": found.role})
    if found is None:
        failed_sign_in(POLICY, attempt)
        log.info("dashboard sign-in refused for %r from %s", email[:60], attempt.address)
        return _sign_in_page(next=target, email=email, error="Wrong email or password."), 401
    return remember_device(redirect(target), POLICY, found.email, DEVICE_COOKIE, url_for("dashboard.sign_in"))


@blueprint.post("/sign-out")
@requires(*ANYONE)
def sign_out() -> ResponseReturnValue:
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("dashboard.sign_in"))
