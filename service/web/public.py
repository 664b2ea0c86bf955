"""Public pages: the programme's home with the published ledger head, its terms, and health."""

from __future__ import annotations

import hmac
import ipaddress
from datetime import UTC, datetime

from flask import Blueprint, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text

import ledger
from service.reads import metrics
from service.reads.open_books import open_books, vote_json
from service.usecases import job_runs
from service.usecases.terms import terms as programme_terms
from service.web.base import db_session, kolekt_runtime

blueprint = Blueprint("web", __name__)


def _head() -> tuple[ledger.Head, int]:
    session = db_session()
    return ledger.head(session), ledger.pending_count(session)


@blueprint.get("/")
def home() -> ResponseReturnValue:
    settings = kolekt_runtime().settings
    top, pending = _head()
    sealed_at = top.sealed_at.astimezone(settings.zone) if top.sealed_at else None
    return render_template("home.html", settings=settings, head=top, pending=pending, sealed_at=sealed_at)


@blueprint.get("/open")
def open_books_page() -> ResponseReturnValue:
    """The open books: the programme's totals and its published ledger heads, for anyone."""
    settings = kolekt_runtime().settings
    books = open_books(db_session(), settings.zone)
    sealed_at = books.head.sealed_at.astimezone(settings.zone) if books.head.sealed_at else None
    now = datetime.now(UTC)
    shown = [vote_json(result, settings.zone, now) for result in books.votes]
    return render_template(
        "open.html",
        settings=settings,
        books=books,
        sealed_at=sealed_at,
        terms=programme_terms(settings),
        votes=shown,
    )


@blueprint.get("/open.json")
def open_books_json() -> ResponseReturnValue:
    settings = kolekt_runtime().settings
    return jsonify(open_books(db_session(), settings.zone).as_json(settings.zone, datetime.now(UTC)))


@blueprint.get("/terms")
def terms() -> ResponseReturnValue:
    """What TERMS answers by SMS, on a page its last words point to."""
    settings = kolekt_runtime().settings
    return render_template("terms.html", settings=settings, terms=programme_terms(settings))


@blueprint.get("/ledger/head")
def ledger_head() -> ResponseReturnValue:
    """The published head: anyone can note it and later check the ledger still extends it."""
    top, pending = _head()
    sealed_at = top.sealed_at.isoformat() if top.sealed_at else None
    return jsonify({"count": top.count, "hash": top.hash, "sealed_at": sealed_at, "pending": pending})


@blueprint.get("/metrics")
def prometheus_metrics() -> ResponseReturnValue:
    """Prometheus's scrape: with ``METRICS_TOKEN`` set, for whoever sends it as a bearer token;
    without one, for a scraper on this machine only."""
    runtime = kolekt_runtime()
    token = runtime.settings.metrics_token
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return _json_error(401, "send the metrics token: Authorization: Bearer METRICS_TOKEN")
    elif not ipaddress.ip_address(request.remote_addr or "0.0.0.0").is_loopback:  # noqa: S104
        return _json_error(403, "metrics are read from this machine, or with METRICS_TOKEN set")
    body = metrics.exposition(runtime.sessions, runtime.redis, datetime.now(UTC))
    return body, 200, {"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"}


def _json_error(status: int, message: str) -> ResponseReturnValue:
    return jsonify({"error": {"status": status, "message": message}}), status


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
    late: list[str] = []
    if database == "ok":
        late = [job.name for job in job_runs.late(db_session(), datetime.now(UTC))]
    # Without Redis, Kolekt still accepts and keeps everything (the sweep sends it later): the web
    # process is healthy (200), the programme "degraded" while Redis is away or background work
    # (sweeps, sealing, reminders) has fallen behind.
    status = 200 if database == "ok" else 503
    word = "unavailable" if status != 200 else "degraded" if late or redis != "ok" else "ok"
    return jsonify({"status": word, "database": database, "redis": redis, "late_jobs": late}), status
