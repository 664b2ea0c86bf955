"""A served process's logs and error reports, for real: a view that fails, in a process of its own
logging JSON (LOG_FORMAT=json) and reporting to a Sentry DSN that points at a fake Sentry on
this machine. The report arrives, names the error and the request's id, and carries no phone
number; the log has the request's line and the error's, both with that id."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import brotli
import pytest

from service.settings import Settings
from tests.conftest import ROOT, settings_environ

SCRIPT = """
import logging, sentry_sdk
from service import create_app
from service.providers import logs
from service.settings import Settings

settings = Settings.from_env()
logs.configure(settings.log_level, settings.log_format)
assert logs.start_error_reports(settings.sentry_dsn, settings.sentry_environment)
app = create_app(settings)

@app.get("/boom")
def boom():
    logging.getLogger("service.test").info("about to fail for %s", "a reason")
    raise RuntimeError("the scale fell over")

answer = app.test_client().get("/boom?q=08031234567", headers={"X-Request-ID": "req-42"})
print("STATUS", answer.status_code, answer.headers.get("X-Request-ID"), flush=True)
sentry_sdk.flush(timeout=10)
"""


class FakeSentry(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            body = brotli.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sentry() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (FakeSentry,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://public-key@127.0.0.1:{server.server_port}/7", received
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_request_is_reported_and_logged_as_json_with_its_id(
    sentry: tuple[str, list[bytes]], fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    dsn, received = sentry
    environ = settings_environ(make_settings(fresh_database()))
    environ.update(LOG_FORMAT="json", LOG_LEVEL="INFO", SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="ci")
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "STATUS 500 req-42" in ran.stdout

    lines = [json.loads(line) for line in ran.stderr.splitlines() if line.startswith("{")]
    about = next(line for line in lines if line["message"] == "about to fail for a reason")
    assert about["request_id"] == "req-42" and about["logger"] == "service.test"
    failed = next(line for line in lines if "error" in line)
    assert failed["level"] == "ERROR" and "RuntimeError: the scale fell over" in failed["error"]
    assert failed["request_id"] == "req-42"
    served = next(line for line in lines if line["logger"] == "service.requests")
    assert (served["method"], served["path"], served["status"]) == ("GET", "/boom", 500)
    assert served["request_id"] == "req-42" and served["ms"] >= 0
    assert "08031234567" not in ran.stderr  # the query is never logged

    reports = b"\n".join(received).decode()
    assert "the scale fell over" in reports and "RuntimeError" in reports
    assert '"request_id":"req-42"' in reports.replace(" ", "")
    assert '"environment":"ci"' in reports.replace(" ", "")
    assert "08031234567" not in reports
