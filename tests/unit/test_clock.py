"""The clock's loop (``service.jobs.schedule.run_clock``) rides out a Redis that is away, and
ends when the worker that started it is gone (a SIGKILLed worker must not leave it behind)."""

from __future__ import annotations

import threading

import pytest

from service.jobs import schedule


def test_the_clock_waits_out_a_redis_that_is_away_and_stops_when_told() -> None:
    stop = threading.Event()
    looks: list[float] = []
    real_wait = stop.wait

    def counting_wait(seconds: float | None = None) -> bool:
        looks.append(seconds or 0)
        if len(looks) >= 3:
            stop.set()
        return real_wait(0)

    stop.wait = counting_wait  # type: ignore[method-assign]
    schedule.run_clock("redis://127.0.0.1:1/0", stop)  # nothing listens there
    assert looks == [schedule.REDIS_RETRY_SECONDS] * 3


def test_the_clock_stops_when_its_worker_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    parents = iter([100, 1])  # started under pid 100, then adopted by init
    monkeypatch.setattr(schedule.os, "getppid", lambda: next(parents))
    done = threading.Event()
    thread = threading.Thread(target=lambda: (schedule.run_clock("redis://127.0.0.1:1/0"), done.set()))
    thread.start()
    thread.join(10)
    assert done.is_set()
