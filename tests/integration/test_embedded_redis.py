"""The embedded Redis (no REDIS_URL): one redis-server per instance directory however the
processes that use it start (together, forked, as the Procfile's web and worker), and none left
once they have all had SIGTERM (``service/providers/embedded_redis.py``).

Each test runs its processes on a fresh instance directory of its own and finds the servers and
keepers that belong to it in /proc (by their command line, working directory or environment), so
servers other tests or people run on this machine do not count; whatever is left is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")

# Imports first (slow), then waits for the go file so that every process opens Redis at once.
CLIENT = """
import os, sys, time
from pathlib import Path
from service.runtime import redis_connection
from service.settings import Settings

print("imported", flush=True)
while not Path(sys.argv[1]).exists():
    time.sleep(0.01)
connection = redis_connection(Settings.from_env())
connection.incr("users")
print("ready", connection.info("server")["process_id"], flush=True)
time.sleep(120)
"""

# A child that uses the server and exits (running the atexit handlers it inherited); then a child
# that outlives its parent.
FORKS = """
import os, sys, time
from service.runtime import redis_connection
from service.settings import Settings

connection = redis_connection(Settings.from_env())
server = connection.info("server")["process_id"]
child = os.fork()
if child == 0:
    connection.incr("children")
    sys.exit(0)
os.waitpid(child, 0)
time.sleep(1.5)  # the keeper looks every half second
print("after child", connection.info("server")["process_id"] == server, int(connection.get("children")))
sys.stdout.flush()
joined, told = os.pipe()
parent = os.getpid()
child = os.fork()
if child == 0:
    connection.incr("children")
    os.write(told, b"x")
    while os.getppid() == parent:
        time.sleep(0.05)
    time.sleep(1.5)
    print("after parent", connection.info("server")["process_id"] == server, flush=True)
    os._exit(0)
os.read(joined, 1)
os._exit(0)
"""


NONE: dict[str, list[int]] = {"servers": [], "keepers": []}


def processes_of(instance: Path) -> dict[str, list[int]]:
    """The live redis-servers and keepers started for ``instance`` (zombies are not live)."""
    marks = (os.fsencode(instance), f"KOLEKT_INSTANCE_DIR={instance}".encode())
    found: dict[str, list[int]] = {"servers": [], "keepers": []}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            executable = os.readlink(entry / "exe")
            cmdline = (entry / "cmdline").read_bytes()
            ours = (
                marks[0] in cmdline
                or marks[1] in (entry / "environ").read_bytes()
                or os.readlink(entry / "cwd") == str(instance)
            )
        except OSError:
            continue
        if not ours:
            continue
        if Path(executable).name == "redis-server":
            found["servers"].append(int(entry.name))
        elif b"embedded_redis.py" in cmdline:
            found["keepers"].append(int(entry.name))
    return found


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    made = (tmp_path / "instance").resolve()
    made.mkdir()
    return made


@pytest.fixture
def environ(instance: Path) -> dict[str, str]:
    """A Kolekt process's environment on the embedded stores of ``instance`` (and no .env's)."""
    return {
        **os.environ,
        "KOLEKT_INSTANCE_DIR": str(instance),
        "REDIS_URL": "",  # the embedded Redis
        "DATABASE_URL": f"sqlite:///{instance / 'kolekt.db'}",
        "SECRET_KEY": "test-secret",
    }


@pytest.fixture
def started(instance: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts (each the leader of a session of its own); at the end, whatever of
    them, and of the servers and keepers of ``instance``, is still running is killed."""
    made: list[subprocess.Popen[str]] = []
    yield made
    for process in made:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    gone = wait_for(lambda: processes_of(instance) == NONE, 10)
    left = processes_of(instance)
    for pid in (*left["keepers"], *left["servers"]):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert gone, f"left running: {left}"


def start(
    started: list[subprocess.Popen[str]],
    command: list[str],
    environ: dict[str, str],
    output: IO[str] | int = subprocess.PIPE,
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output == subprocess.PIPE else output,
        text=True,
        start_new_session=True,  # so the whole group can be sent SIGTERM, as a platform does
    )
    started.append(process)
    return process


def read_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"process {process.pid} ended (exit {process.wait()})"
    return line.strip()


def test_processes_started_together_share_one_server_and_none_is_left_after_sigterm(
    instance: Path, environ: dict[str, str], started: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    go = tmp_path / "go"
    clients = [start(started, [sys.executable, "-c", CLIENT, str(go)], environ) for _ in range(3)]
    for client in clients:
        assert read_line(client) == "imported"
    go.touch()
    servers = {read_line(client) for client in clients}

    assert len(servers) == 1, servers  # one server pid reported by all three
    assert processes_of(instance)["servers"] == [int(servers.pop().split()[1])]
    assert len(processes_of(instance)["keepers"]) == 1

    # SIGTERM's default action: no atexit handler, no finally, runs in the clients.
    for client in clients:
        client.send_signal(signal.SIGTERM)
        assert client.wait(10) == -signal.SIGTERM
    assert wait_for(lambda: processes_of(instance) == NONE, 5)
    assert (instance / "redis.db").exists()  # what it held is saved ...
    assert not (instance / "redis.state").exists()  # ... and nobody is recorded as using it


def test_a_forked_child_joins_its_parents_server_and_neither_stops_it_for_the_other(
    instance: Path, environ: dict[str, str], started: list[subprocess.Popen[str]]
) -> None:
    process = start(started, [sys.executable, "-c", FORKS], environ)

    assert read_line(process) == "after child True 1"  # the child's exit left the server up
    assert process.wait(30) == 0  # the parent has gone; the second child still uses the server
    assert read_line(process) == "after parent True"
    assert wait_for(lambda: processes_of(instance) == NONE, 5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def health(port: int) -> dict[str, str] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return dict(json.load(response))
    except OSError:
        return None


@pytest.mark.slow
def test_the_procfiles_web_and_worker_started_together_run_one_server_and_leave_none(
    instance: Path,
    environ: dict[str, str],
    started: list[subprocess.Popen[str]],
    fresh_database: Callable[[], str],
    tmp_path: Path,
) -> None:
    """The finding: gunicorn (2 workers) and ``flask --app wsgi worker`` (RQ's forked scheduler,
    the spawned cron process) on a fresh instance directory, then SIGTERM to every process."""
    environ["DATABASE_URL"] = fresh_database()
    port = free_port()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    with web_log.open("w") as web_output, worker_log.open("w") as worker_output:
        web = start(
            started,
            [
                *(sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2"),
                *("--worker-class", "gthread", "--threads", "4", "--no-control-socket", "wsgi:app"),
            ],
            environ,
            web_output,
        )
        worker = start(
            started, [sys.executable, "-m", "flask", "--app", "wsgi", "worker"], environ, worker_output
        )

    def healthy() -> bool:
        return (health(port) or {}).get("redis") == "ok"

    assert wait_for(healthy, 40), web_log.read_text()[-2000:]
    with ThreadPoolExecutor(16) as pool:  # enough at once that both web workers answer some
        assert all(answer and answer["redis"] == "ok" for answer in pool.map(health, [port] * 32))
    assert wait_for(lambda: "clock: started" in worker_log.read_text(), 40), worker_log.read_text()[-2000:]
    # RQ's scheduler (forked from the worker) is checked below: a user of the one server.

    assert len(processes_of(instance)["servers"]) == 1

    def forks_joined() -> bool:
        """The worker and the scheduler RQ forked from it, and gunicorn's workers (forked by the
        master, which opens no Redis) are the server's users; none started one of its own."""
        users = [int(pid) for pid in json.loads((instance / "redis.state").read_text())["users"]]
        parents = {parent_of(pid) for pid in users}
        return worker.pid in users and worker.pid in parents and web.pid in parents

    assert wait_for(forks_joined, 10), (instance / "redis.state").read_text()
    assert len(processes_of(instance)["servers"]) == 1

    for process in (web, worker):  # every process of both, at once
        os.killpg(process.pid, signal.SIGTERM)
    for process in (web, worker):
        process.wait(30)
    assert wait_for(lambda: processes_of(instance) == NONE, 5)
