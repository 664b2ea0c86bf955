"""How Kolekt's processes log, and where their errors are reported.

- ``LOG_LEVEL``: Kolekt's own messages at that level; RQ's line for every job only at DEBUG.
- ``LOG_FORMAT=json``: one JSON object a line (``time`` in UTC, ``level``, ``logger``,
  ``message``, ``request_id`` inside a web request, ``job_id`` inside a job, ``error`` with the
  traceback), for a log platform to index; ``text`` (the default) is for a person at a console.
- A request id: every web request takes the caller's ``X-Request-ID`` when it is a plain token
  (a platform's router sets one), or makes one, answers it in ``X-Request-ID``, and every line
  logged while serving the request carries it. In JSON, each request is also one line of its own
  (method, path without the query, status, milliseconds): the query can hold a phone number.
- ``SENTRY_DSN``: errors (an exception in a view or a job, a line logged at ERROR) go to Sentry,
  or any service that takes Sentry's protocol, with no personal data: no cookies, no request
  bodies, no addresses (``send_default_pii`` off), and no performance tracing.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from service.settings import LOG_FORMATS

if TYPE_CHECKING:
    from sentry_sdk._types import Event

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HEADER = "X-Request-ID"
_TOKEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("kolekt_request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("kolekt_job_id", default=None)

# The attributes every LogRecord has: what is left over was passed in ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "job_id"}


class Context(logging.Filter):
    """Puts the request's and the job's ids on every record (None outside them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.job_id = job_id.get()
        return True


class JsonLines(logging.Formatter):
    """A record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value:
                line[key] = value
        line.update(
            (key, value)
            for key, value in record.__dict__.items()
            if key not in _STANDARD and not key.startswith("_")
        )
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Kolekt's own handler on the root logger: replaced, never added twice."""


def configure(level: str, style: str = "text") -> None:
    """The process's logging: Kolekt's messages at ``level`` in ``style`` (text or json); RQ's
    word on every job it enqueues, starts and finishes (the sealer alone runs every 2 s: 1,700
    lines in 10 minutes) only at DEBUG, its warnings and errors always."""
    if style not in LOG_FORMATS:
        raise ValueError(f"style must be one of {LOG_FORMATS}, not {style!r}")
    root = logging.getLogger()
    for old in [handler for handler in root.handlers if isinstance(handler, _Handler)]:
        root.removeHandler(old)
    handler = _Handler()
    handler.addFilter(Context())
    handler.setFormatter(JsonLines() if style == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    if root.level > logging.getLevelName(level) or root.level == logging.NOTSET:
        root.setLevel(level)
    logging.getLogger("service").setLevel(level)
    logging.getLogger("rq").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def new_request_id(given: str | None) -> str:
    """The caller's id when it is a plain token of at most 64 characters, else a new one."""
    if given and _TOKEN.fullmatch(given):
        return given
    return uuid.uuid4().hex


access = logging.getLogger("service").getChild("requests")  # a child of "service": LOG_LEVEL applies


def log_request(method: str, path: str, status: int, started: float) -> None:
    """One line for a served request (JSON logs only; a console has gunicorn's access log)."""
    milliseconds = round((time.perf_counter() - started) * 1000, 1)
    access.info(
        "%s %s %d %.1f ms", method, path, status, milliseconds,
        extra={"method": method, "path": path, "status": status, "ms": milliseconds},
    )  # fmt: skip


def _scrubbed(event: Event, hint: dict[str, Any]) -> Event:
    """An error report without the request's query (a search holds a phone number), its body or
    its cookies, and with the request's and job's ids to find its lines in the logs."""
    asked: Any = event.get("request")
    if isinstance(asked, dict):
        for key in ("query_string", "data", "cookies"):
            asked.pop(key, None)
        if isinstance(asked.get("url"), str):
            asked["url"] = asked["url"].partition("?")[0]
    tags: Any = event.setdefault("tags", {})
    for key, value in (("request_id", request_id.get()), ("job_id", job_id.get())):
        if value:
            tags[key] = value
    return event


def start_error_reports(dsn: str, environment: str) -> bool:
    """Errors to Sentry when ``dsn`` is set (Flask's and RQ's errors are found by sentry-sdk's
    own integrations); False when there is no DSN."""
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        before_send=_scrubbed,
        environment=environment,
        send_default_pii=False,  # no cookies, bodies, addresses or user ids
        traces_sample_rate=0.0,  # errors only: no performance tracing on a 2-core hub server
        max_request_body_size="never",
        include_local_variables=False,  # a frame's locals can hold a phone number or a token
    )
    return True
