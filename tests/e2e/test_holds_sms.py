"""A held pickup by SMS, end to end (signed webhooks in, texts out): a collector registers a
household at his own address and LOGs its pickup; he is answered that it is held, the household
that it is being checked and by when, and its points wait in the holds account until the hub
decides; HOLDS off credits it as ever."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

import ledger
from service.accounts import HOLDS
from service.db import transaction
from service.models import collectors_t, households_t
from service.usecases.catalogue import set_rate
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.api_helpers import ADA, MUSA, Api, pickup_op
from tests.e2e.helpers import sessions
from tests.e2e.hub import Hub
from tests.e2e.test_field_flows import code_of, last_reference, points_of, say

TUNDE = "+2348030000001"
BOLA = "+2348052223333"


def programme(make_app: Callable[..., Flask], *, holds: bool) -> Flask:
    app = make_app(**TWILIO_TEST_SETTINGS, holds=holds)
    now = datetime.now(UTC)
    with transaction(sessions(app)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        collector = add_collector(session, TUNDE, "Tunde Bakare", zone.id, now)
        session.execute(
            collectors_t.update().where(collectors_t.c.id == collector.id).values(home_address="3 Oju Street")
        )
        set_rate(session, "PET", 10, 2, now - timedelta(days=1), "test", now)
    return app


def held_points(app: Flask) -> int:
    with transaction(sessions(app)) as session:
        return ledger.balance(session, HOLDS).credit_balance


@pytest.mark.usefixtures("redis")
def test_a_pickup_at_the_collectors_own_address_is_held_and_both_are_told(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    app = programme(make_app, holds=True)
    say(app, TUNDE, "NEW 0805 222 3333 Bola Ade, 3 Oju St.")
    code = code_of(app, BOLA)
    replies = say(app, TUNDE, f"LOG {code} PET 4.5")
    reference = last_reference(app)
    decided = datetime.now(UTC).astimezone(app.extensions["kolekt.runtime"].settings.zone).date() + timedelta(
        7
    )
    assert replies == [
        f"{TUNDE}: OK {reference}: {code} PET 4.5kg = 45 pts, held: the hub checks it.",
        f"{BOLA}: Kolekt: +45 pts from Tunde (PET 4.5kg) being checked, decided by {decided:%d/%m}. "
        f"Wrong? Text NO {reference}",
    ]
    assert points_of(app, BOLA) == 0
    assert held_points(app) == 45 + 9
    # BAL and HIST say what waits (not "no pickups yet").
    waiting = f"{BOLA}: Kolekt: 0 pts (NGN 0), and 45 pts being checked by the hub. Text REWARDS to spend."
    assert say(app, BOLA, "BAL") == [waiting]
    assert say(app, BOLA, "HIST") == [waiting]


def test_with_holds_off_the_same_pickup_is_credited(make_app: Callable[..., Flask], redis: Redis) -> None:
    app = programme(make_app, holds=False)
    say(app, TUNDE, "NEW 0805 222 3333 Bola Ade, 3 Oju St.")
    code = code_of(app, BOLA)
    replies = say(app, TUNDE, f"LOG {code} PET 4.5")
    assert replies[0] == f"{TUNDE}: OK {last_reference(app)}: {code} PET 4.5kg = 45 pts."
    assert points_of(app, BOLA) == 45
    assert held_points(app) == 0


def test_the_app_is_told_a_synced_pickup_is_held(make_app: Callable[..., Flask], redis: Redis) -> None:
    """The collector app's sync answers ``held: true`` for a pickup its signals held (and says
    nothing of holds for one credited as ever)."""
    hub = Hub(make_app(holds=True))
    hub.seed()
    api = Api(hub)
    musa = api.collector_token(MUSA)
    (credited,) = api.sync(musa, [pickup_op({"code": api.code(ADA)}, (("PET", 4500),))])
    assert credited["status"] == "created" and "held" not in credited
    with transaction(sessions(hub.app)) as session:
        address = session.execute(
            select(households_t.c.address).where(households_t.c.phone == ADA)
        ).scalar_one()
        session.execute(
            collectors_t.update().where(collectors_t.c.phone == MUSA).values(home_address=address)
        )
    (held,) = api.sync(musa, [pickup_op({"code": api.code(ADA)}, (("PET", 3000),))])
    assert (held["status"], held["held"], held["points"]) == ("created", True, 30)
    assert any("being checked" in body for body in api.outbox(ADA))
