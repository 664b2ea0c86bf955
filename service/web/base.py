"""What every web area shares: the app's runtime, the request's read-only session, changes in a
unit of work, errors as JSON (or as a page where a person reads one), and compression.

A view only reads through ``db_session()`` (no write lock on SQLite, READ ONLY on PostgreSQL);
every change goes through ``unit_of_work()``, committed before the view answers, with its texts
and jobs enqueued after the commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import RedisStorage
from redis import ConnectionPool, Redis
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from service.providers import logs
from service.runtime import Runtime
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import sign_in_limits

R = TypeVar("R", bound=BaseResponse)


def kolekt_runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["kolekt.runtime"]
    return runtime


def db_session() -> Session:
    """The request's session for reading, closed when the request ends. It takes no write lock
    (SQLite) and is read-only (PostgreSQL): changes go through ``unit_of_work()``."""
    if "db_session" not in g:
        g.db_session = kolekt_runtime().readers()
    session: Session = g.db_session
    return session


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """A change made by this request: committed when the block ends, rolled back if it raises."""
    with kolekt_runtime().unit_of_work() as uow:
        yield uow


def _close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def json_error(error: HTTPException) -> ResponseReturnValue:
    """``{"error": {"code", "message"}}``, and ``fields`` for invalid input: each field at fault
    (from a schema that read the request, or given by the view), with what is wrong."""
    code = getattr(error, "error_code", None) or (error.name or "error").lower().replace(" ", "_")
    body: dict[str, object] = {"code": code, "message": error.description}
    fields = getattr(error, "fields", None)
    messages = (getattr(error, "data", None) or {}).get("messages")
    if fields is None and messages is not None:
        fields = flatten_messages(messages)
        body["message"] = "The request is not valid: see fields."
    if fields is not None:
        body["fields"] = fields
    response = jsonify({"error": body})
    # The error's own headers (a 405's Allow, say), but not its HTML page's Content-Type.
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    for name, value in ((getattr(error, "data", None) or {}).get("headers") or {}).items():
        response.headers[name] = value
    return response, error.code or 500


LOCATIONS = {"json", "query", "path", "form", "headers", "view_args", "files", "cookies"}


def flatten_messages(messages: object) -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"lines.0.grams": [...]}``; where in the request they
    were (json, query) is left out."""
    if isinstance(messages, dict) and messages and set(messages) <= LOCATIONS:
        flat: dict[str, list[str]] = {}
        for inner in messages.values():
            flat.update(_flatten(inner, ""))
        return flat
    return _flatten(messages, "")


def _flatten(messages: object, prefix: str) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        return {prefix or "_schema": list(messages)}
    return {prefix or "_schema": [str(messages)]}


# Compressed answers: what a collector's phone downloads over a 2G link (a zone's households are
# 600 kB of JSON, 60 kB gzipped) and the app's files. Only GETs of data anyone with the token may
# read: a page holding a secret next to text an attacker chose (a form with its CSRF token, the
# sign-in answer with its token) is left uncompressed, so its length cannot leak the secret (BREACH).
COMPRESSED_PATHS = ("/api/v1/", "/app/static/")
COMPRESSED_TYPES = ["application/json", "text/javascript", "text/css", "application/manifest+json"]
compress = Compress()


def _init_compression(app: Flask) -> None:
    app.config.update(
        COMPRESS_REGISTER=False,
        COMPRESS_MIMETYPES=COMPRESSED_TYPES,
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_STREAMS=False,
    )
    compress.init_app(app)

    def compressed(response: Response) -> Response:
        if request.method == "GET" and request.path.startswith(COMPRESSED_PATHS):
            return compress.after_request(response)
        return response

    app.after_request(compressed)


# Rate limits (Flask-Limiter), counted in Redis when there is one, else in this process: the
# dashboard's and the API's (per token). A Redis that fails lets those requests through
# (swallow_errors); the sign-in limits are counted apart and hold without Redis (below).
limiter = Limiter(key_func=get_remote_address, strategy="moving-window", swallow_errors=True)


def _redis_pool(settings: Settings) -> ConnectionPool | None:
    """Redis's own pool for the limits, with short time-outs: a Redis that hangs must not hang the
    sign-in page."""
    if not settings.redis_url:
        return None
    return Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2).connection_pool


def _limiter_storage(pool: ConnectionPool | None) -> tuple[str, dict[str, Any]]:
    if pool is None:
        return "memory://", {}
    return "redis://", {"connection_pool": pool}


# --- sign-in limits and device cookies (``service.usecases.sign_in_limits``) ------------------------


def sign_in_counts() -> sign_in_limits.Counts:
    counts: sign_in_limits.Counts = current_app.extensions["kolekt.sign_in_counts"]
    return counts


def sign_in_attempt(policy: sign_in_limits.Policy, name: str, cookie: str) -> sign_in_limits.Attempt:
    """This request's attempt to sign in as ``name``: its address, and its device cookie (named
    ``cookie``) if that is valid for ``name``."""
    device = sign_in_limits.trusted_device(
        kolekt_runtime().settings.secret_key, policy.area, name, request.cookies.get(cookie), _now()
    )
    return sign_in_limits.Attempt(name=name, address=get_remote_address() or "", device=device)


def sign_in_refusal(
    policy: sign_in_limits.Policy, attempt: sign_in_limits.Attempt
) -> sign_in_limits.Refusal | None:
    return sign_in_counts().refused(policy, attempt, _now())


def failed_sign_in(policy: sign_in_limits.Policy, attempt: sign_in_limits.Attempt) -> None:
    sign_in_counts().failed(policy, attempt, _now())


def remember_device(response: R, policy: sign_in_limits.Policy, name: str, cookie: str, path: str) -> R:
    """Give the browser that just signed in as ``name`` a new device cookie, sent back to the
    sign-in endpoint (``path``) only, never readable by a script nor sent from another site."""
    settings = kolekt_runtime().settings
    response.set_cookie(
        cookie,
        sign_in_limits.device_cookie(settings.secret_key, policy.area, name, _now()),
        max_age=int(timedelta(days=sign_in_limits.DEVICE_DAYS).total_seconds()),
        path=path,
        secure=request.is_secure or settings.cookie_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


def _init_request_ids(app: Flask, settings: Settings) -> None:
    """Each request's id (``X-Request-ID``) on every line logged while serving it and in the
    answer; with JSON logs, a line per request too (``service.providers.logs``)."""
    log_requests = settings.log_format == "json"

    def start() -> None:
        g.kolekt_request_started = time.perf_counter()
        g.kolekt_request_token = logs.request_id.set(logs.new_request_id(request.headers.get(logs.HEADER)))

    def answer(response: Response) -> Response:
        response.headers[logs.HEADER] = logs.request_id.get() or ""
        if log_requests:
            logs.log_request(request.method, request.path, response.status_code, g.kolekt_request_started)
        return response

    def end(error: BaseException | None) -> None:
        token = g.pop("kolekt_request_token", None)
        if token is not None:
            logs.request_id.reset(token)

    app.before_request(start)
    app.after_request(answer)
    app.teardown_request(end)


def _now() -> datetime:
    return datetime.now(UTC)


def init_app(
    app: Flask, settings: Settings, as_page: Callable[[HTTPException], ResponseReturnValue | None]
) -> None:
    """The request's session closed at the end; errors as JSON, but where ``as_page`` renders one
    for a person reading a page; rate limits; compression."""
    pool = _redis_pool(settings)
    storage_uri, storage_options = _limiter_storage(pool)
    app.config.update(
        RATELIMIT_STORAGE_URI=storage_uri,
        RATELIMIT_STORAGE_OPTIONS=storage_options,
        RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_KEY_PREFIX="kolekt-limit",
    )
    limiter.init_app(app)
    # In Redis under the same prefix as Flask-Limiter's counts; in the database without Redis.
    storage = None if pool is None else RedisStorage("redis://", connection_pool=pool, wrap_exceptions=True)
    app.extensions["kolekt.sign_in_counts"] = sign_in_limits.Counts(storage, app.extensions["kolekt.runtime"])

    def handle(error: HTTPException) -> ResponseReturnValue:
        page = as_page(error)
        return page if page is not None else json_error(error)

    app.teardown_request(_close_session)
    app.register_error_handler(HTTPException, handle)
    _init_request_ids(app, settings)
    _init_compression(app)
