"""Issue 23's "Done when": each reason to stay, seen by a household in the phone simulator. Texts
go in at ``POST /simulator/messages`` and come back in ``GET /simulator/conversation``; a real RQ
worker in burst mode runs the jobs (the milestone after a pickup). What a clock brings (the
monthly statement, the warnings and the expiry of old points) runs as its recurring job would,
on the days it would. Then the open books show the vote's result and the points expired; the
browser tier keeps screenshots of the simulator's conversation and of the open books."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import select

from service.db import transaction
from service.models import Household
from service.runtime import Runtime
from service.usecases import expiry, reports, statements, votes
from service.usecases.catalogue import set_rate
from service.usecases.impact import month_start
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from tests.e2e.helpers import sessions
from tests.e2e.helpers import simulator_send as send
from tests.payout_helpers import work

ADA = "+2348031234567"  # the simulator's own phone
TUNDE = "+2348030000001"  # a collector
SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def texts_to_ada(client: FlaskClient) -> list[str]:
    response = client.get("/simulator/conversation", query_string={"phone": ADA})
    assert response.status_code == 200
    return [m["body"] for m in response.get_json()["messages"] if m["direction"] == "out"]


def runtime_of(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions["kolekt.runtime"]
    return runtime


def reasons_to_stay(app: Flask, redis: Redis) -> FlaskClient:
    """The household's side, text by text, and what the clock brings it."""
    client, runtime = app.test_client(), runtime_of(app)
    local, now = runtime.settings.zone, datetime.now(UTC)
    with transaction(sessions(app)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        add_collector(session, TUNDE, "Tunde Bakare", zone.id, now)
        set_rate(session, "PET", 10, 2, SINCE, "test", now)
        set_rate(session, "SACHET", 8, 1, SINCE, "test", now)
    assert send(client, "JOIN Ada Okafor, Yaba")[0].startswith("Welcome to Kolekt, Ada!")
    with transaction(sessions(app)) as session:
        code = session.execute(select(Household.member_code)).scalar_one()
    assert send(client, f"LOG {code} PET 8 SACHET 4 #1", TUNDE)[0].startswith("OK ")  # 112 points

    # Milestones: the first pickup and the first 10 kg, texted once, by the job after the pickup.
    work(redis, lambda: any("with us!" in body for body in texts_to_ada(client)), "the milestone")
    assert texts_to_ada(client)[-1] == (
        "Kolekt: Ada, you have now recycled 10kg with us! Thank you for keeping your street clean. "
        "Text IMPACT to see what it saved."
    )
    assert send(client, "IMPACT") == [
        "Kolekt: since you joined, PET 8kg (400 bottles), SACHET 4kg (1,600 sachets). About 13kg CO2e "
        "saved and 112 pts earned. Thank you!"
    ]
    assert send(client, "ZONE")[0].startswith("Kolekt Yaba: 12kg recycled this month, no. 1 of 1 zone")
    assert send(client, "STATEMENT ON")[0].startswith("Kolekt: OK, a statement of your month")
    assert send(client, "SUGGEST rice and beans")[0].startswith("Kolekt: thank you, Ada! Your idea")

    with transaction(sessions(app)) as session:
        vote = votes.open_vote(session, "Next reward?", ["Rice", "Soap", "Data 1GB"], 7, now, local)
    day = vote.last_day(local)
    assert send(client, "VOTE") == [
        f"Kolekt vote: Next reward? 1 Rice, 2 Soap, 3 Data 1GB. Text VOTE and a number by {day}."
    ]
    assert send(client, "VOTE 2")[0].startswith("Kolekt: thank you, your vote is 2 Soap.")
    assert send(client, "VOTE 1")[0].startswith("Kolekt: thank you, your vote is 1 Rice.")  # the last counts
    assert "VOTE" in send(client, "HELP")[0]

    # The clock: next month's statement; with points that expire 3 months after the month
    # earned, this month's go at the start of the fourth month, warned 30 and 7 days before.
    first = month_start(now, local, -1)
    runtime.transact(statements.send_due, now=first + timedelta(hours=9, minutes=30))
    assert texts_to_ada(client)[-1].startswith(
        f"Kolekt {now.astimezone(local):%m/%Y}: 12kg recycled in 1 pickups"
    )
    expires_at = month_start(now, local, -4)
    for days, hours in ((30, 0), (7, 0)):
        runtime.transact(
            expiry.warn_due, now=expires_at - timedelta(days=days, hours=hours) + timedelta(hours=10)
        )
    runtime.transact(expiry.expire_due, now=expires_at + timedelta(hours=1))
    on = f"{expires_at.astimezone(local):%d/%m/%Y}"
    assert texts_to_ada(client)[-3:] == [
        f"Kolekt: 112 of your pts expire on {on}. Spend them before then: text REWARDS to see what they buy. "
        "Bal 112 pts.",
        f"Kolekt: 112 of your pts expire on {on}. Spend them before then: text REWARDS to see what they buy. "
        "Bal 112 pts.",
        f"Kolekt: 112 pts earned before {month_start(now, local, -1).astimezone(local):%m/%Y} have expired, "
        "as the terms say. Bal 0 pts. Think it is wrong? Call the hub.",
    ]
    with transaction(sessions(app)) as session:
        votes.close_vote(session, datetime.now(UTC))
    books = client.get("/open.json").get_json()
    assert books["household_points"]["expired"] == 112 and books["votes"][0]["result"] == {
        "Rice": 1,
        "Soap": 0,
        "Data 1GB": 0,
    }
    return client


def test_a_household_sees_every_reason_to_stay_in_the_simulator(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    reasons_to_stay(make_app(points_expire_months=3), redis)


@pytest.mark.browser
@pytest.mark.slow
def test_the_simulator_and_the_open_books_in_a_browser(make_app: Callable[..., Flask], redis: Redis) -> None:
    from tests.e2e.browser import chromium, screenshots_dir, serve

    app = make_app(points_expire_months=3)
    reasons_to_stay(app, redis)
    assert reports.check_and_record(runtime_of(app), "daily").ok  # seals and publishes the head
    shots = screenshots_dir()
    shots.mkdir(parents=True, exist_ok=True)
    with serve(app) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.goto(f"{base}/simulator")
        page.locator("#messages").get_by_text("have expired").wait_for()
        # The whole conversation in one picture, not its scrolled box.
        page.add_style_tag(content="#messages { height: auto !important; overflow: visible !important; }")
        page.screenshot(path=str(shots / "simulator-reasons-to-stay.png"), full_page=True)
        page.goto(f"{base}/open")
        assert "Next reward?" in page.locator("#vote-1").inner_text()
        page.screenshot(path=str(shots / "open-books-vote.png"), full_page=True)
        page.close()
