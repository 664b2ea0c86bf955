"""What every endpoint of the JSON API shares: authentication, errors, limits, headers.

- Bodies in and out are marshmallow schemas (``schemas.py``); flask-smorest reads requests with
  them and generates the OpenAPI document from them (``/api/v1/openapi.json``, read at
  ``/api/v1/docs``).
- Callers hold a bearer token (``service.usecases.tokens``): collectors by phone + PIN, dashboard users by
  email + password, with their role. ``authenticated(...)`` names who may call a view.
- Errors are ``{"error": {"code", "message", "fields"}}`` with the right status, whatever raised
  them (``service.web.base.json_error``).
- Each token has its own rate limits (Flask-Limiter, in Redis). Failed sign-ins are limited per
  address, and per phone or email unless the browser shows a device cookie for it
  (``service.usecases.sign_in_limits``), whether Redis answers or not.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import wraps
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import urlsplit

from flask import Request, Response, after_this_request, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from markupsafe import Markup, escape
from webargs.core import missing, parse_json
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

import sms
from service.settings import Settings
from service.usecases import sign_in_limits, tokens
from service.web.api import schemas
from service.web.base import (
    db_session,
    failed_sign_in,
    kolekt_runtime,
    limiter,
    remember_device,
    sign_in_attempt,
    sign_in_refusal,
    unit_of_work,
)

F = TypeVar("F", bound=Callable[..., Any])

PREFIX = "/api/v1"
COLLECTORS = ("collector",)
USERS = ("admin", "operator", "auditor")
OPERATORS = ("admin", "operator")
ANYONE = COLLECTORS + USERS

# Per token (or per address for a caller without one).
API_LIMITS = "600 per minute;20000 per day"
SYNC_LIMITS = "60 per minute"
# Failed sign-ins: per address, and per phone or email or per device (``sign_in_limits.API``).
SIGN_IN_POLICY = sign_in_limits.API
# The collector app's device cookie: sent back to the sign-in endpoint only.
DEVICE_COOKIE = "kolekt-app-device"
SIGN_IN_PATH = f"{PREFIX}/auth/token"

CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"


class ApiError(HTTPException):
    """An answer other than success, with a code a program can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        fields: dict[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(description=message)
        self.code = status
        self.error_code = code
        self.fields = fields
        self.data = {"headers": dict(headers or {})}


NOT_JSON = "Send the body as JSON, with Content-Type: application/json."
INVALID_JSON = "The body is not valid JSON."


class JsonParser(FlaskParser):
    """webargs' parser, but a body that is not JSON is invalid input like any other (422, with
    ``fields``), and one sent as a form or as text is refused, not read as an empty body (which
    would answer that every field is missing, although the caller sent them)."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            if req.get_data(cache=True):
                raise ApiError(422, "unprocessable_entity", NOT_JSON, fields={"_schema": [NOT_JSON]})
            return missing
        return parse_json(req.get_data(cache=True))

    def _handle_invalid_json_error(
        self, error: Exception, req: Request, *args: Any, **kwargs: Any
    ) -> NoReturn:
        raise ApiError(422, "unprocessable_entity", INVALID_JSON, fields={"_schema": [INVALID_JSON]})


class Blueprint(SmorestBlueprint):  # type: ignore[misc]
    ARGUMENTS_PARSER = JsonParser()


class Api(SmorestApi):  # type: ignore[misc]
    """flask-smorest, with Kolekt's own error answers: documented with its own schema, and
    handled once for the whole app (``web.register_errors``)."""

    ERROR_SCHEMA = schemas.Error

    def _register_error_handlers(self) -> None:
        pass


def now() -> datetime:
    return datetime.now(UTC)


def settings() -> Settings:
    return kolekt_runtime().settings


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def holder() -> tokens.Holder:
    """The caller, once ``authenticated`` let them in."""
    found: tokens.Holder = g.api_holder
    return found


def _authenticate() -> tokens.Holder:
    token = _bearer()
    if token is None:
        raise ApiError(401, "unauthorized", "Sign in: send Authorization: Bearer <token>.")
    moment = now()
    presented = tokens.authenticate(db_session(), token, moment)
    if presented is None:
        raise ApiError(401, "unauthorized", "This token is not valid any more. Sign in again.")
    if tokens.needs_touch(presented, moment):
        # A short unit of work of its own, before the view begins: the request's session only reads.
        with unit_of_work() as uow:
            tokens.touch(uow.session, presented.holder.token_id, moment)
    return presented.holder


def authenticated(*roles: str) -> Callable[[F], F]:
    """A valid token (401 otherwise) whose holder has one of ``roles`` (403 otherwise)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            found = _authenticate()
            if found.role not in roles:
                raise ApiError(403, "forbidden", f"A {found.role}'s token may not do this.")
            g.api_holder = found
            return view(*args, **kwargs)

        return cast(F, checked)

    return decorate


def token_key() -> str:
    """Rate limits count per token (hashed: the key never holds the token), else per address."""
    token = _bearer()
    if token:
        return "api-token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    return "api-address:" + (get_remote_address() or "")


def sign_in_name(body: Mapping[str, Any]) -> str:
    """Who a sign-in is for: the phone in E.164 (0803..., +234803... and 234 803... are one number,
    and writing it another way gets no more tries), or the email in lower case."""
    name = body.get("phone") or body.get("email") or ""
    name = name if isinstance(name, str) else ""
    if "phone" in body:
        name = sms.normalise_phone(name, settings().phone_region) or name
    return "".join(name.split()).lower()[:254]


def sign_in_allowed(body: Mapping[str, Any]) -> sign_in_limits.Attempt:
    """The attempt, once no limit it is held to refuses it: 429, with Retry-After, otherwise."""
    attempt = sign_in_attempt(SIGN_IN_POLICY, sign_in_name(body), DEVICE_COOKIE)
    refusal = sign_in_refusal(SIGN_IN_POLICY, attempt)
    if refusal is not None:
        raise ApiError(
            429,
            "too_many_requests",
            f"Too many failed sign-ins: try again in {refusal.wait()}.",
            headers={"Retry-After": str(refusal.retry_after)},
        )
    return attempt


def sign_in_failed(attempt: sign_in_limits.Attempt) -> None:
    failed_sign_in(SIGN_IN_POLICY, attempt)


def _from_a_browser_here() -> bool:
    """A browser's fetch from this site (the collector app at /app): the one caller that keeps a
    cookie and sends it back. Programs hold their token instead, and get no cookie."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is not None and urlsplit(origin).netloc == request.host


def sign_in_succeeded(name: str) -> None:
    """A browser that signed in gets a device cookie for ``name``: a flood of wrong PINs or
    passwords for that name from elsewhere does not keep it out."""
    if _from_a_browser_here():
        after_this_request(
            lambda response: remember_device(response, SIGN_IN_POLICY, name, DEVICE_COOKIE, SIGN_IN_PATH)
        )


def headers(response: Response) -> Response:
    if request.path.startswith(PREFIX):
        docs = request.path == f"{PREFIX}/docs"
        response.headers.setdefault(
            "Content-Security-Policy", DOCS_POLICY if docs else CONTENT_SECURITY_POLICY
        )
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def challenge(response: Response) -> Response:
    """A 401 names the scheme to sign in with."""
    if response.status_code == 401 and request.path.startswith(PREFIX):
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="kolekt"')
    return response


def docs() -> ResponseReturnValue:
    """The API's reference, read from the OpenAPI document: no script, nothing from elsewhere."""
    api: Api = current_app.extensions["kolekt.api"]
    return render_template("api/docs.html", spec=api.spec.to_dict(), prose=prose)


_CODE = re.compile(r"``(.+?)``|`(.+?)`")


def prose(text: str | None, inline: bool = False) -> Markup:
    """A description written in docstrings' style as HTML: escaped, ``code`` and `code` as code,
    blank lines as paragraphs (one line's breaks joined); ``inline``: one run of text, no <p>."""
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", text or "") if part.strip()]
    html = []
    for paragraph in paragraphs:
        escaped = _CODE.sub(lambda m: f"<code>{m.group(1) or m.group(2)}</code>", str(escape(paragraph)))
        html.append(escaped if inline else f"<p>{escaped}</p>")
    return Markup(" ".join(html))  # noqa: S704 - built from escape()d text and fixed tags only


def api_blueprint(name: str, description: str) -> Blueprint:
    made = Blueprint(name, __name__, url_prefix=PREFIX, description=description)
    limiter.limit(API_LIMITS, key_func=token_key)(made)
    return made


ERRORS = {
    401: "No valid token: sign in.",
    403: "This token's role may not do this.",
    404: "Not found (or not yours to see).",
    409: "It conflicts with what is there.",
    422: "Invalid input: error.fields says which, and why.",
    429: "Too many requests: wait for Retry-After seconds.",
    502: "A provider Kolekt asks (Paystack) did not answer: try again.",
}


def errors(blueprint: Blueprint, *statuses: int) -> Any:
    """Document the error answers a view may give (each one an ``Error``); 429 on every one, as
    every endpoint is rate limited (``API_LIMITS``)."""

    def decorate(view: Any) -> Any:
        for status in sorted({*statuses, 429}):
            view = blueprint.alt_response(status, schema=schemas.Error, description=ERRORS[status])(view)
        return view

    return decorate
