"""Public pages: the programme's home with the published ledger head, and health."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_compress import Compress
from sqlalchemy import text
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

import ledger
from service.runtime import Runtime

blueprint = Blueprint("web", __name__)


def kolekt_runtime() -> Runtime:
    runtime: Runtime = current_app.extensions["kolekt.runtime"]
    return runtime


def db_session() -> Session:
    """The request's session, closed (and so rolled back if not committed) when the request ends.

    A GET only reads: its session takes no write lock (SQLite) and is read-only (PostgreSQL).
    """
    if "db_session" not in g:
        runtime = kolekt_runtime()
        g.db_session = runtime.readers() if request.method in ("GET", "HEAD") else runtime.sessions()
    session: Session = g.db_session
    return session


@blueprint.teardown_app_request
def close_session(_error: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def _head() -> tuple[ledger.Head, int]:
    session = db_session()
    return ledger.head(session), ledger.pending_count(session)


@blueprint.get("/")
def home() -> ResponseReturnValue:
    settings = kolekt_runtime().settings
    top, pending = _head()
    sealed_at = top.sealed_at.astimezone(settings.zone) if top.sealed_at else None
    return render_template("home.html", settings=settings, head=top, pending=pending, sealed_at=sealed_at)


@blueprint.get("/ledger/head")
def ledger_head() -> ResponseReturnValue:
    """The published head: anyone can note it and later check the ledger still extends it."""
    top, pending = _head()
    sealed_at = top.sealed_at.isoformat() if top.sealed_at else None
    return jsonify({"count": top.count, "hash": top.hash, "sealed_at": sealed_at, "pending": pending})


@blueprint.get("/healthz")
def health() -> ResponseReturnValue:
    runtime = kolekt_runtime()
    try:
        db_session().execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means not healthy; the body says which part
        database = "unavailable"
    try:
        runtime.redis.ping()
        redis = "ok"
    except Exception:  # noqa: BLE001
        redis = "unavailable"
    # Without Redis, Kolekt still accepts and keeps everything (the sweep sends it later).
    status = 200 if database == "ok" else 503
    return jsonify(
        {"status": "ok" if status == 200 else "unavailable", "database": database, "redis": redis}
    ), status


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


def init_compression(app: Flask) -> None:
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


def register_errors(
    app: Flask, as_page: Callable[[HTTPException], ResponseReturnValue | None] | None = None
) -> None:
    """Errors as JSON, but where ``as_page`` renders one for a person reading a page."""

    def handle(error: HTTPException) -> ResponseReturnValue:
        page = as_page(error) if as_page else None
        return page if page is not None else json_error(error)

    app.register_error_handler(HTTPException, handle)
