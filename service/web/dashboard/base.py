"""The operators' dashboard under ``/dashboard``: server-rendered pages, htmx for small updates.

What every page shares lives here:

- sign-in state (Flask-Login; the cookie names the user *and* their ``session_version``, so a
  password change or a disabled account signs that user out of every browser);
- roles: ``requires(...)`` on each view; auditors read everything and change nothing;
- CSRF on every form and htmx request (Flask-WTF; the token rides in a header for htmx);
- the limits on failed sign-ins (``service.usecases.sign_in_limits``: per address, and per email
  unless the browser holds a device cookie from an earlier sign-in);
- security headers, and cookies that are Secure, HttpOnly and SameSite;
- ``audit(...)``: the entry every change writes, in the change's own transaction.

Pages live in one module per area (``service.web.dashboard``); each adds its views to ``blueprint``.
A view reads through the request's read-only session (``db_session``) and makes each change in a
unit of work (``unit_of_work``), with its audit entry (``audit``) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_required
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

import sms
from service.runtime import Runtime
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import audit as audit_log
from service.usecases.users import get_user
from service.web.base import db_session, kolekt_runtime
from service.web.dashboard import labels

F = TypeVar("F", bound=Callable[..., Any])

blueprint = Blueprint("dashboard", __name__, url_prefix="/dashboard")

# Who may change what. Auditors are in no write set.
OPERATORS = ("admin", "operator")
ADMINS = ("admin",)
ANYONE = ("admin", "operator", "auditor")

login_manager = LoginManager()
login_manager.login_view = "dashboard.sign_in"
login_manager.login_message = "Sign in to see that page."
login_manager.login_message_category = "info"
# "basic": a hub's phone changes address on the mobile network; "strong" would sign it out.
login_manager.session_protection = "basic"

csrf = CSRFProtect()

SESSION_HOURS = 12

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)


class DashboardUser(UserMixin):  # type: ignore[misc]
    def __init__(self, user_id: int, email: str, role: str, session_version: int) -> None:
        self.id = user_id
        self.email = email
        self.role = role
        self.session_version = session_version

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def can_operate(self) -> bool:
        return self.role in OPERATORS

    @property
    def is_admin(self) -> bool:
        return self.role in ADMINS


def load_user(identity: str) -> DashboardUser | None:
    user_id, _, version = identity.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None
    found = get_user(db_session(), int(user_id))
    if found is None or not found.active or found.session_version != int(version):
        return None
    return DashboardUser(found.id, found.email, found.role, found.session_version)


def unauthorized() -> ResponseReturnValue:
    if request.headers.get("HX-Request"):
        # htmx cannot follow a redirect to a whole page; it is told to load the sign-in page.
        response = jsonify({"error": {"code": "unauthorized", "message": "sign in again"}})
        response.headers["HX-Redirect"] = url_for("dashboard.sign_in", next=request.full_path)
        return response, 401
    return redirect(url_for("dashboard.sign_in", next=request.full_path))


login_manager.user_loader(load_user)
login_manager.unauthorized_handler(unauthorized)


def user() -> DashboardUser:
    return cast(DashboardUser, current_user._get_current_object())


def requires(*roles: str) -> Callable[[F], F]:
    """Signed in, with one of ``roles`` (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if user().role not in roles:
                abort(403, description="your role may not do that")
            return view(*args, **kwargs)

        return cast(F, login_required(checked))

    return decorate


def now() -> datetime:
    return datetime.now(UTC)


def runtime() -> Runtime:
    return kolekt_runtime()


def settings() -> Settings:
    return kolekt_runtime().settings


def audit(uow: UnitOfWork, action: str, subject: str, details: Mapping[str, Any] | None = None) -> int:
    """Record a change made by the signed-in user, in the change's own unit of work."""
    who = user()
    return audit_log.record(
        uow.session,
        actor=who.email,
        action=action,
        subject=subject,
        at=now(),
        details=details,
        user_id=who.id,
        address=request.remote_addr,
    )


def refused(template: str, message: str, **context: Any) -> ResponseReturnValue:
    """A form's refusal: the page again with the reason, 422 (htmx swaps it in as well)."""
    return render_template(template, error=message, **context), 422


def local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the programme's local time."""
    return "" if moment is None else moment.astimezone(settings().zone).strftime(pattern)


def points(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def kg(grams: int | None, signed: bool = False) -> str:
    """Grams as kilograms, exactly as a text writes them (``sms.kg``: 2250 -> "2.25", 3000 -> "3"),
    the whole kilos grouped for reading (1234500 -> "1,234.5"); never rounded through a float.
    ``signed``: a difference, "+1.75", "-0.5" or "0"."""
    if grams is None:
        return ""
    sign = "-" if grams < 0 else "+" if signed and grams else ""
    whole, point, fraction = sms.kg(abs(grams)).partition(".")
    return f"{sign}{int(whole):,}{point}{fraction}"


def _security_headers(response: Any) -> Any:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.blueprint == "dashboard" or request.path.startswith("/dashboard"):
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        # Pages of points and phone numbers are not kept by a shared hub computer's cache.
        if not request.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
    return response


def _wants_html() -> bool:
    return (
        request.path.startswith("/dashboard")
        and not request.headers.get("HX-Request")
        and request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    )


def page_error(error: HTTPException) -> ResponseReturnValue | None:
    """A dashboard page's error as a page (a person is reading it); None leaves it to JSON."""
    if not _wants_html():
        return None
    return render_template("dashboard/error.html", error=error), error.code or 500


# The navigation: (endpoint, label, roles that see it); an area not registered yet is left out.
NAV = (
    ("dashboard.overview", "Overview", ANYONE),
    ("dashboard.ledger", "Ledger", ANYONE),
    ("dashboard.households", "Households", ANYONE),
    ("dashboard.collectors", "Collectors", ANYONE),
    ("dashboard.weigh_ins", "Weigh-ins", ANYONE),
    ("dashboard.disputes", "Disputes", ANYONE),
    ("dashboard.holds", "Holds", ANYONE),
    ("dashboard.adjustments", "Adjustments", ANYONE),
    ("dashboard.messages", "Messages", ANYONE),
    ("dashboard.broadcasts", "Broadcasts", ANYONE),
    ("dashboard.payouts", "Payouts", ANYONE),
    ("dashboard.programme", "Programme", ANYONE),
    ("dashboard.users", "Users", ADMINS),
    ("dashboard.audit_log", "Audit log", ANYONE),
)


def _nav(views: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The menu's (endpoint, label) pairs the signed-in user's role sees."""
    role = user().role if current_user.is_authenticated else None
    return [(endpoint, label) for endpoint, label, roles in NAV if endpoint in views and role in roles]


def _template_helpers() -> dict[str, Any]:
    views = current_app.view_functions
    return {
        "local": local,
        "points": points,
        "kg": kg,
        "dashboard_user": user,
        "settings": settings(),
        "nav": _nav(views),
        "has_page": lambda endpoint: endpoint in views,
        "transfer_kind": labels.transfer_kind,
        "action_label": labels.action,
        "detail": labels.detail,
    }


def configure(app: Flask, settings: Settings) -> None:
    """Cookies, CSRF, sign-in limits, security headers and the templates' helpers; the views are
    registered by ``service.web.dashboard.init_app``."""
    secure = settings.cookie_secure
    app.config.update(
        # "__Host-": the browser takes the cookie only from this host over HTTPS, for path "/".
        SESSION_COOKIE_NAME="__Host-kolekt" if secure else "kolekt",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        REMEMBER_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_DURATION=timedelta(hours=SESSION_HOURS),
        # A form stays valid as long as the session does (a hub's tab left open over lunch).
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
        WTF_CSRF_SSL_STRICT=secure,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    app.after_request(_security_headers)
    app.context_processor(_template_helpers)


def exempt_from_csrf(*blueprints: Blueprint) -> None:
    """Blueprints whose callers prove themselves otherwise (webhook signatures)."""
    for exempted in blueprints:
        csrf.exempt(exempted)


def before_arg(what: str = "a transfer number") -> int | None:
    """A keyset page's ``?before=<id>`` (None on the first page); 422 if it is not an id."""
    text = request.args.get("before", "")
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        abort(422, description=f"before must be {what}")
    return int(text)


def keep(values: Mapping[str, Any]) -> dict[str, Any]:
    """The non-empty query arguments, for links that keep a page's filters."""
    return {key: value for key, value in values.items() if value not in (None, "")}
