"""Running Prism (Stoplight's OpenAPI mock server) on a vendored spec, for tests of provider clients:
Twilio's (``TWILIO_SPEC``) for the SMS gateway, Paystack's (``PAYSTACK_SPEC``) for cash payouts.

Prism answers every request the spec describes with an example response and refuses, with 422,
any request that breaks the spec, so a client tested against it speaks the provider's real
contract without reaching the provider. It is a Node program installed next to the repo, not a
Python dependency; without it the tests that need it skip, unless KOLEKT_REQUIRE_PRISM=1 (CI)
makes its absence a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRISM = ROOT / ".prism" / "node_modules" / ".bin" / "prism"
INSTALL = "npm install --prefix .prism --no-audit --no-fund @stoplight/prism-cli@5"
TWILIO_SPEC = ROOT / "tests" / "vendor" / "twilio-oai" / "twilio_api_v2010.json"
PAYSTACK_SPEC = ROOT / "tests" / "vendor" / "paystack-oai" / "paystack.yaml"
# Loading Twilio's 1.8 MB spec takes Prism a few seconds; a loaded CI machine may need far more.
START_TIMEOUT_SECONDS = 60.0


def require_prism() -> Path:
    """The Prism executable, or a skip (a failure under KOLEKT_REQUIRE_PRISM=1) saying how to get it."""
    missing = None
    if not PRISM.exists():
        missing = f"Prism is not installed: run `{INSTALL}` in {ROOT}"
    elif shutil.which("node") is None:
        missing = "Prism needs Node.js (`node` is not on PATH)"
    if missing is None:
        return PRISM
    if os.environ.get("KOLEKT_REQUIRE_PRISM") == "1":
        pytest.fail(f"{missing} (KOLEKT_REQUIRE_PRISM=1 makes this a failure)", pytrace=False)
    pytest.skip(missing)


def violations(headers: Mapping[str, str]) -> list[str]:
    """What Prism found wrong with a request, from its ``sl-violations`` answer header (it answers
    422 with an empty body when a violation is an error, and adds the header to warnings too)."""
    found = json.loads(headers.get("sl-violations") or "[]")
    return [f"{'.'.join(map(str, item.get('location', [])))}: {item.get('message')}" for item in found]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def prism_mock(spec: Path, log_path: Path) -> Iterator[str]:
    """Prism serving ``spec`` (any OpenAPI file) on a free local port: yields its base URL, stops it
    on exit. Each spec gets its own Prism: a test module starts one for its session.

    Prism logs every route it loads and every request, so its output goes to ``log_path`` (a pipe
    nobody reads would fill and stall it); the log's tail explains a failure to start. Prism only
    listens once the spec is loaded, so an accepted connection means it is ready.
    """
    prism = require_prism()
    if not spec.is_file():
        pytest.fail(f"no OpenAPI document at {spec}", pytrace=False)
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stopping it stops any child it made
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not _listening(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    pytest.fail(f"Prism did not start on port {port} (exit {process.poll()}):\n{tail}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
