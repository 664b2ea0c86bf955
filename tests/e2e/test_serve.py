"""The embedded run (`flask --app wsgi serve`, what the README's run command ends in): one banner
with every way in and the demo's logins, the processes' logs in files under the instance folder,
and a worker that does not flood them with every job RQ runs (the sealer runs every 2 s)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def flask(environ: dict[str, str], *arguments: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *arguments],
        cwd=ROOT,
        env=environ,
        check=True,
        capture_output=True,
        timeout=180,
    )


def test_the_embedded_run_prints_one_banner_and_keeps_its_logs_in_files(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "LOG_LEVEL"}
    }
    environ.update(KOLEKT_INSTANCE_DIR=str(instance), SECRET_KEY="serve-test")
    flask(environ, "db", "upgrade")
    flask(environ, "seed-demo")
    port = free_port()
    console_file = tmp_path / "console.txt"
    with console_file.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "flask",
                "--app",
                "wsgi",
                "serve",
                "--port",
                str(port),
                "--web-workers",
                "1",
            ],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.5)
        else:
            raise AssertionError("the web process did not answer")
        time.sleep(8)  # four runs of the sealer, and the sweeps
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
    console = console_file.read_text()
    assert "Kolekt is running" in console
    for shown in ("/dashboard", "admin@demo.kolekt", "kolekt-demo-only", "/simulator", "/app", "PIN 2580"):
        assert shown in console, shown
    assert "/api/v1/docs" in console and str(instance / "logs") in console
    assert len(console.splitlines()) < 20, console  # the banner and the goodbye, no job chatter
    worker_log = (instance / "logs" / "worker.log").read_text()
    assert "seal_ledger" not in worker_log, worker_log[-2000:]
    assert "Job OK" not in worker_log
    assert (instance / "logs" / "web.log").exists()
