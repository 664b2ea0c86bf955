"""gunicorn for the benches: an app served on a free local port, waited for, stopped gracefully."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def serve(
    target: str, env: dict[str, str], workers: int, threads: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """``gunicorn target`` with ``workers`` processes: sync workers (gunicorn's default class), or
    gthread ones of ``threads`` threads each (as the Procfile serves the app); its port, once it
    accepts connections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if threads is not None:
        command += ["--worker-class", "gthread", "--threads", str(threads)]
    server = subprocess.Popen([*command, "--log-level", "warning", target], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server, port
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"gunicorn {target} did not start")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()  # gunicorn's graceful stop
    server.wait(30)
