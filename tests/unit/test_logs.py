"""Logs a person or a log platform can read: JSON lines with the request's and job's ids, a
request id taken only when it is a plain token, RQ's chatter kept to DEBUG, and error reports
stripped of what could name a household."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from service.providers import logs
from service.settings import Settings, SettingsError


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    before = (
        list(root.handlers),
        root.level,
        logging.getLogger("service").level,
        logging.getLogger("rq").level,
    )
    yield
    root.handlers[:] = before[0]
    root.setLevel(before[1])
    logging.getLogger("service").setLevel(before[2])
    logging.getLogger("rq").setLevel(before[3])


def record(message: str = "sent %d", *args: object, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("service.jobs.sending", logging.INFO, __file__, 1, message, args or (3,), None)
    made.__dict__.update(extra)
    return made


def test_a_json_line_has_the_time_level_logger_message_ids_and_extra_fields() -> None:
    made = record(status=200, path="/dashboard/")
    token = logs.request_id.set("abc123")
    try:
        logs.Context().filter(made)
    finally:
        logs.request_id.reset(token)
    line = json.loads(logs.JsonLines().format(made))
    assert line["time"].endswith("+00:00") and line["level"] == "INFO"
    assert (line["logger"], line["message"], line["request_id"]) == (
        "service.jobs.sending",
        "sent 3",
        "abc123",
    )
    assert (line["status"], line["path"]) == (200, "/dashboard/")
    assert "job_id" not in line  # outside a job: left out, not null


def test_a_json_line_carries_the_traceback_of_an_error() -> None:
    try:
        raise ValueError("no such zone")
    except ValueError:
        made = logging.LogRecord("service", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(logs.JsonLines().format(made))
    assert line["message"] == "failed" and "ValueError: no such zone" in line["error"]


def test_configuring_twice_keeps_one_handler_and_rq_quiet_below_debug(restore_logging: None) -> None:
    logs.configure("INFO", "json")
    logs.configure("WARNING", "text")
    ours = [handler for handler in logging.getLogger().handlers if isinstance(handler, logs._Handler)]
    assert len(ours) == 1 and not isinstance(ours[0].formatter, logs.JsonLines)
    assert logging.getLogger("rq").level == logging.WARNING
    assert logging.getLogger("service").level == logging.WARNING
    logs.configure("DEBUG", "json")
    assert logging.getLogger("rq").level == logging.DEBUG
    with pytest.raises(ValueError, match="style"):
        logs.configure("INFO", "yaml")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42", True),
        ("5f0c6a1e-2b4d-4f9e-8a7c-3d2e1f0a9b8c", True),
        ("Root=1-67891233-abcdef012345678912345678", False),  # "=" is not in a plain token
        ("x" * 64, True),
        ("x" * 65, False),
        ("a b", False),
        ("<script>", False),
        ("", False),
        (None, False),
    ],
)
def test_a_request_id_is_taken_only_when_it_is_a_plain_token(given: str | None, kept: bool) -> None:
    made = logs.new_request_id(given)
    assert (made == given) is kept
    assert len(made) <= 64 and made.replace("-", "").replace(".", "").replace(":", "").isalnum()


def test_an_error_report_loses_the_query_body_and_cookies_and_gains_the_ids() -> None:
    event: Any = {
        "request": {
            "url": "https://hub.example/dashboard/households?q=08031234567",
            "query_string": "q=08031234567",
            "data": {"phone": "08031234567"},
            "cookies": {"kolekt": "secret"},
            "method": "GET",
        }
    }
    token = logs.job_id.set("job-7")
    try:
        scrubbed: Any = logs._scrubbed(event, {})
    finally:
        logs.job_id.reset(token)
    assert scrubbed["request"] == {"url": "https://hub.example/dashboard/households", "method": "GET"}
    assert scrubbed["tags"] == {"job_id": "job-7"}
    assert "08031234567" not in json.dumps(scrubbed)


def test_no_dsn_starts_no_error_reports() -> None:
    assert logs.start_error_reports("", "production") is False


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of text, json"),
        ({"SENTRY_DSN": "not a dsn"}, "SENTRY_DSN must look like"),
        ({"SENTRY_DSN": "https://sentry.example/1"}, "SENTRY_DSN must look like"),  # no key
        ({"SENTRY_DSN": "https://key@sentry.example"}, "SENTRY_DSN must look like"),  # no project
    ],
)
def test_bad_log_and_error_report_settings_are_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"SECRET_KEY": "k", **environ}, dotenv=False)


def test_log_and_error_report_settings_are_read() -> None:
    settings = Settings.from_env(
        {"SECRET_KEY": "k", "LOG_FORMAT": " JSON ", "SENTRY_DSN": "https://key@o1.ingest.sentry.io/42"},
        dotenv=False,
    )
    assert (settings.log_format, settings.sentry_dsn) == ("json", "https://key@o1.ingest.sentry.io/42")
    assert settings.sentry_environment == "production"
    default = Settings.from_env({"SECRET_KEY": "k"}, dotenv=False)
    assert (default.log_format, default.sentry_dsn) == ("text", "")
