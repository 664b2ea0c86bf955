"""USSD sessions on real stores (SQLite or PostgreSQL, ``DATABASE_URL``; real Redis): a session's
last screen commits once whatever the network does. A final request sent again gets the same
screen; with the session's state gone from Redis (expired, flushed, Redis down) it is replayed from
Africa's Talking's ``text`` and finds its inbound row; twenty sessions of one phone at once spend
its points no further than they go; and the ledger verifies after each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import func, select

import ledger
from service.channels.ussd import engine
from service.models import collections_t, inbound_t, payouts_t, redemptions_t
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub
from tests.ussd_helpers import (
    ADA,
    MUSA,
    Dial,
    credit,
    demo,
    dialled,
    en,
    forget_sessions,
    points_of,
    refused,
    rows_of,
    save_account,
    session_rows,
)

DONE_ALREADY = "END Kolekt: this was done already. Dial again for the menu."
REDEEMED = "END Kolekt: Airtime is yours, {points} pts. We will text you when it is ready."


@pytest.fixture
def hub(make_app: Callable[..., Flask], redis: Redis) -> Hub:
    return demo(make_app, payout_cooling_off_hours=0)


def verified(hub: Hub) -> None:
    """The ledger verifies, sealed first as ``ledger verify`` does."""

    def check(session: Any) -> None:
        ledger.seal_all(session)
        report = ledger.verify(session, workers=1)
        assert report.ok, report.problem

    hub.read(check)


# What each kind of session commits: who dials, the way to its last screen, how its end begins,
# and how to count what it made.
FINALS: dict[str, tuple[str, tuple[str, ...], str, Callable[[Hub], int]]] = {
    "redemption": (ADA, ("4", "1", "60"), REDEEMED.format(points=60), lambda hub: hub.count(redemptions_t)),
    "pickup": (
        MUSA,
        ("1", "K0001E", "5", "4.5"),
        "END OK ",
        lambda hub: hub.count(collections_t, collections_t.c.channel == "ussd"),
    ),
    "payout": (ADA, ("5", "150"), "END NGN 150 is on its way", lambda hub: hub.count(payouts_t)),
}


@pytest.mark.parametrize("kind", list(FINALS))
def test_a_final_request_sent_again_commits_once_with_or_without_the_state(hub: Hub, kind: str) -> None:
    phone, way, said, made = FINALS[kind]
    save_account(hub, ADA)
    dial = dialled(hub, phone, *way)
    done = dial.send("1")
    assert done.startswith(said) and made(hub) == 1, done
    points = points_of(hub, ADA)
    assert points != 210  # spent, or credited
    assert dial.again() == done  # the state in Redis: the same screen
    assert forget_sessions(hub) >= 1
    assert dial.again() == DONE_ALREADY  # replayed from text: the inbound row is there
    assert dial.again() == DONE_ALREADY
    assert made(hub) == 1 and points_of(hub, ADA) == points
    assert len(session_rows(hub, dial)) == 1
    verified(hub)


def test_a_session_whose_state_is_lost_midway_goes_on_from_text(hub: Hub) -> None:
    dial = dialled(hub, ADA, "4", "1")
    wrong = refused(dial, "abc", "Type a whole number.")
    forget_sessions(hub)
    assert dial.again() == wrong  # replayed: the wrong answer is said again
    forget_sessions(hub)
    assert dial.send("60") == "CON 60 x Airtime for 60 pts. You have 210.\n1 Yes, redeem\n0 Back"
    forget_sessions(hub)
    assert dial.send("1") == REDEEMED.format(points=60)
    assert hub.count(redemptions_t) == 1 and points_of(hub, ADA) == 150


def test_twenty_sessions_at_once_spend_points_for_three_three_times(hub: Hub) -> None:
    credit(hub, ADA, 300 - points_of(hub, ADA))  # three airtimes of 100
    dials = [dialled(hub, ADA, "4", "1", "100") for _ in range(20)]
    assert {dial.screens[-1] for dial in dials} == {
        "CON 100 x Airtime for 100 pts. You have 300.\n1 Yes, redeem\n0 Back"
    }
    start = threading.Barrier(len(dials) + 1)
    screens: list[str] = []
    balances: list[int] = []
    lock = threading.Lock()
    running = threading.Event()

    def confirm(dial: Dial) -> None:
        start.wait()
        screen = dial.send("1")
        with lock:
            screens.append(screen)

    def watch() -> None:  # the balance as others see it meanwhile
        start.wait()
        while running.is_set():
            balances.append(points_of(hub, ADA))

    running.set()
    threads = [threading.Thread(target=confirm, args=(dial,)) for dial in dials]
    watcher = threading.Thread(target=watch)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join(60)
    running.clear()
    watcher.join(10)

    refusals = {en("not_enough_points", reward="Airtime", need=100, balance=left) for left in (0, 100, 200)}
    assert len(screens) == 20 and screens.count(REDEEMED.format(points=100)) == 3, screens
    assert {screen[4:] for screen in screens if screen != REDEEMED.format(points=100)} <= refusals, screens
    assert rows_of(hub, select(redemptions_t.c.units, func.count()).group_by(redemptions_t.c.units)) == [
        (100, 3)
    ]
    assert points_of(hub, ADA) == 0 and min(balances, default=0) >= 0
    assert hub.count(inbound_t, inbound_t.c.provider == "ussd") == 20  # one row per session
    verified(hub)


def test_the_same_final_request_twice_at_once_commits_once(hub: Hub) -> None:
    dial = dialled(hub, ADA, "4", "1", "60")
    dial.answers.append("1")
    start = threading.Barrier(2)
    screens: list[str] = []

    def resend() -> None:
        start.wait()
        screens.append(dial.again())

    threads = [threading.Thread(target=resend) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # The second finds the first's state (the same screen) or its inbound row (done already).
    assert len(screens) == 2 and REDEEMED.format(points=60) in screens, screens
    assert set(screens) <= {REDEEMED.format(points=60), DONE_ALREADY}, screens
    assert hub.count(redemptions_t) == 1 and points_of(hub, ADA) == 150
    verified(hub)


def test_without_redis_whole_sessions_work_by_replay_and_commit_once(
    make_app: Callable[..., Flask], redis: Redis, unreachable_redis: str
) -> None:
    hub = demo(make_app, redis_url=unreachable_redis)
    dial = dialled(hub, ADA, "4", "1")
    refused(dial, "abc", "Type a whole number.")
    assert dial.send("60") == "CON 60 x Airtime for 60 pts. You have 210.\n1 Yes, redeem\n0 Back"
    assert dial.send("1") == REDEEMED.format(points=60)
    assert dial.again() == DONE_ALREADY
    assert hub.count(redemptions_t) == 1 and points_of(hub, ADA) == 150
    log = dialled(hub, MUSA, "1", "K0001E", "5", "4.5", "2", "1", "1.2", "1")
    assert log.screens[-1].startswith("END OK ") and log.screens[-1].endswith(
        ": K0001E PET 4.5kg ALU 1.2kg = 81 pts."
    )
    assert log.again() == DONE_ALREADY
    assert (
        hub.count(collections_t, collections_t.c.channel == "ussd") == 1 and points_of(hub, ADA) == 150 + 81
    )
    verified(hub)


def test_a_database_failure_at_the_end_says_nothing_was_changed(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    dial = dialled(hub, ADA, "4", "1", "60")
    before = snapshot(hub.runtime.engine)
    with monkeypatch.context() as failing:

        def down(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the database is down")

        failing.setattr(engine, "insert_ignoring_conflict", down)
        failed = dial.send("1")
    assert failed == "END Sorry, Kolekt could not do it just now. Nothing was changed. Please dial again."
    assert snapshot(hub.runtime.engine) == before
    assert dialled(hub, ADA, "4", "1", "60", "1").screens[-1] == REDEEMED.format(points=60)  # dialled again
    assert hub.count(redemptions_t) == 1
