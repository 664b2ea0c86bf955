"""Where a phase's time goes in bench/webhook.py: the CPU each process spent on it, per text.

Read from /proc (Linux): the serving gunicorn's workers, the PostgreSQL backends connected to the
bench's database, the Redis server on the bench's port and the client process itself. On two
cores the sum per text is most of what bounds texts/s; the split says where to look first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import psycopg

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` in seconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            found.append((int(entry.name), int(tail.split()[1]), head.split("(", 1)[1]))
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Meter:
    """CPU seconds by process kind, read before and after a phase."""

    def __init__(self, database_url: str, redis_port: int) -> None:
        plain = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.connection = psycopg.connect(plain, autocommit=True)
        self.redis = [
            pid
            for pid, _, name in _processes()
            if name.startswith("redis-server") and f":{redis_port}" in _command_line(pid)
        ]

    def _backends(self) -> list[int]:
        rows = self.connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [int(pid) for (pid,) in rows]

    def read(self, server: int) -> dict[str, Any]:
        workers = [pid for pid, parent, _ in _processes() if parent == server]
        backends = self._backends()
        return {
            "pids": {"web": workers, "db": backends},
            "web": {pid: cpu_seconds(pid) for pid in workers},
            "db": {pid: cpu_seconds(pid) for pid in backends},
            "redis": sum(cpu_seconds(pid) for pid in self.redis),
            "client": time.process_time(),
        }

    def per_text(self, before: dict[str, Any], after: dict[str, Any], texts: int) -> dict[str, float]:
        """Milliseconds of CPU a text, by kind (a process that came during the phase counted whole)."""

        def spent(kind: str) -> float:
            return float(sum(after[kind][pid] - before[kind].get(pid, 0.0) for pid in after[kind]))

        out = {
            "web": spent("web"),
            "db": spent("db"),
            "redis": after["redis"] - before["redis"],
            "client": after["client"] - before["client"],
        }
        out["total"] = sum(out.values())
        return {kind: round(seconds * 1000 / texts, 2) for kind, seconds in out.items()}

    def close(self) -> None:
        self.connection.close()
