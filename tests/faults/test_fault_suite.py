"""The fault suite: a load of signed Twilio webhooks (LOG texts from collectors, BAL and REDEEM
from households) and collector-app syncs, with faults scripted from a seed around it: PostgreSQL
backends terminated every 0.1 s for a while, Redis killed and started again empty, a worker
SIGKILLed mid-batch, the gateway answering 503, taking a message and dropping the connection, or
taking it and answering after the sender's time-out. Then, once the faults stop and the work
settles:

- every accepted text was acted on exactly once (none lost, none twice);
- every pickup is in the books once (no credit doubled), whether it came by SMS or by sync;
- every REDEEM spent points once at most, and every redemption was fulfilled or refunded;
- every reply was handed to the gateway at least once (the duplicates are counted);
- ``ledger.verify`` passes, and every household's balance is what its pickups credited less
  what it redeemed (and was not refunded).

    KOLEKT_FAULT_SEEDS=1,2,3 KOLEKT_FAULT_TEXTS=400 DATABASE_URL=postgresql://... \\
        .venv/bin/python -m pytest tests/faults -m faults -s

PostgreSQL only (the storms terminate its backends). A short seed runs in CI (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

import ledger
from service.accounts import member_account, open_programme_accounts
from service.app import create_app
from service.db import transaction
from service.jobs import sending
from service.models import Collection, Household, InboundMessage, OutboxMessage, Redemption
from service.runtime import Runtime, use
from service.settings import Settings
from service.usecases import tokens
from service.usecases.catalogue import set_rate
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.rewards import add_reward
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from tests.conftest import ON_POSTGRESQL, ROOT, TWILIO_TEST_SETTINGS
from tests.faults.conftest import OwnRedis
from tests.faults.harness import (
    FakeTwilio,
    Load,
    WebServer,
    backend_storm,
    in_thread,
    send_texts,
    sync_pickups,
)

pytestmark = [
    pytest.mark.faults,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="the fault suite terminates PostgreSQL backends"),
]

SEEDS = [int(seed) for seed in os.environ.get("KOLEKT_FAULT_SEEDS", "1").split(",") if seed.strip()]
TEXTS = int(os.environ.get("KOLEKT_FAULT_TEXTS", "120"))
COLLECTORS = ("+2348030000001", "+2348030000002")
HOUSEHOLDS = 30
# The load is spread over this long, so that every fault falls while texts arrive.
LOAD_SECONDS = 14.0
SETTLE_SECONDS = 240
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
# What households redeem: a voucher made here, and airtime from the console provider.
REDEEMS = ("REDEEM SOAP", "REDEEM AIRTIME 100")
# The gateway's slow answers come after the sender's time-out.
GATEWAY_TIMEOUT_SECONDS = 2


def household_phone(index: int) -> str:
    return f"+234805{index:07d}"


def seed_programme(runtime: Runtime) -> tuple[list[str], str]:
    """A zone, two collectors, households, a rate; the member codes and an app token."""
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        open_programme_accounts(session)
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        collectors = [
            add_collector(session, phone, f"Collector {i}", zone.id, now)
            for i, phone in enumerate(COLLECTORS)
        ]
        set_rate(session, "PET", 10, 2, LONG_AGO, "faults", now)
        add_reward(session, "SOAP", "Bar of soap", "voucher", 30, now)
        add_reward(session, "AIRTIME", "Airtime", "airtime", 1, now)
        codes = []
        for index in range(HOUSEHOLDS):
            phone = household_phone(index)
            ensure_phone(session, phone, now)
            codes.append(
                register_household(
                    session, phone, f"House {index}", None, "sms", now, zone_id=zone.id
                ).member_code
            )
        token = tokens.issue_token(session, now, collector_id=collectors[0].id, label="faults").token
    return codes, token


def counted(runtime: Runtime, statement: Any) -> int:
    with transaction(runtime.sessions) as session:
        return int(session.execute(statement).scalar_one())


def settled(runtime: Runtime) -> bool:
    waiting = counted(
        runtime, select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "received")
    )
    unfulfilled = counted(
        runtime, select(func.count()).select_from(Redemption).where(Redemption.status == "created")
    )
    unsent = counted(
        runtime,
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status.in_(("queued", "sending"))),
    )
    return waiting == 0 and unsent == 0 and unfulfilled == 0


def settle(runtime: Runtime) -> float:
    """Let the work finish: the workers and their clocks run, and the outbox sweep is run here
    too. A row "sending" for over 10 s belongs to the SIGKILLed worker (a live hand-over takes
    milliseconds): its ``sending_at`` is moved back past the 5 minutes such a row waits (time
    passing, simulated), so the sweep looks for it at the provider now. Seconds it took."""
    started = time.monotonic()
    use(runtime)
    while time.monotonic() - started < SETTLE_SECONDS:
        if settled(runtime):
            return time.monotonic() - started
        now = datetime.now(UTC)
        with transaction(runtime.sessions) as session:
            stuck = session.execute(
                select(OutboxMessage.id, OutboxMessage.sending_at).where(
                    OutboxMessage.status == "sending", OutboxMessage.sending_at < now - timedelta(seconds=10)
                )
            ).all()
            for row_id, sending_at in stuck:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(sending_at=sending_at - timedelta(minutes=6))
                )
        sending.sweep_outbox()
        time.sleep(3)
    raise AssertionError(f"the work did not settle within {SETTLE_SECONDS} s")


@pytest.fixture
def programme(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings], own_redis: OwnRedis
) -> Iterator[tuple[Flask, Settings, FakeTwilio]]:
    fake = FakeTwilio(random.Random(0))
    server = fake.serve()
    settings = make_settings(
        fresh_database(),
        **TWILIO_TEST_SETTINGS,
        twilio_api_base_url=fake.url,
        sms_rate_per_second=0,
        sms_gateway_timeout_seconds=GATEWAY_TIMEOUT_SECONDS,
    ).with_changes(redis_url=own_redis.url)
    app = create_app(settings)
    yield app, settings, fake
    app.extensions["kolekt.runtime"].close()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("seed", SEEDS)
def test_nothing_lost_nothing_doubled_under_faults(
    seed: int,
    programme: tuple[Flask, Settings, FakeTwilio],
    own_redis: OwnRedis,
    start_worker: Callable[[Settings], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> None:
    app, settings, fake = programme
    runtime: Runtime = app.extensions["kolekt.runtime"]
    rng = random.Random(seed)
    fake.rng = random.Random(seed * 7919)
    codes, token = seed_programme(runtime)
    web = WebServer(app)
    workers = [start_worker(settings), start_worker(settings)]

    # The load: LOGs (each its own #seq), BALs, REDEEMs, and app syncs of the first collector's
    # pickups.
    texts: list[tuple[str, str]] = []
    for index in range(TEXTS):
        if index % 8 == 3:
            texts.append((household_phone(rng.randrange(HOUSEHOLDS)), "BAL"))
        elif index % 8 == 7:
            texts.append((household_phone(rng.randrange(HOUSEHOLDS)), rng.choice(REDEEMS)))
        else:
            collector = COLLECTORS[index % 2]
            texts.append((collector, f"LOG {rng.choice(codes)} PET {rng.randint(1, 9)} #{index + 1}"))
    batches = [
        [
            {
                "type": "pickup",
                "id": f"{seed:04d}0000-0000-4000-8000-{batch * 10 + item:012d}",
                "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                "household": {"code": rng.choice(codes)},
                "lines": [{"material": "PET", "grams": rng.randint(1, 9) * 1000}],
                "seq": 100_000 + batch * 10 + item,
            }
            for item in range(10)
        ]
        for batch in range(max(1, TEXTS // 40))
    ]
    load = Load()
    senders = [
        in_thread(
            lambda part=part: send_texts(
                web, settings.public_base_url, settings.twilio_auth_token, part, load
            )
        )
        for part in (texts[i::4] for i in range(4))
    ]
    syncer = in_thread(lambda: sync_pickups(web, token, batches, load, pause=LOAD_SECONDS / len(batches)))

    # The faults, at moments drawn from the seed while the load runs.
    stop_storm = threading.Event()
    fake.fail_rate, fake.drop_rate, fake.slow_rate = 0.05, 0.03, 0.03
    fake.slow_seconds = GATEWAY_TIMEOUT_SECONDS + 1.0
    faults: list[str] = ["gateway: 5% 503, 3% dropped after taking, 3% answered after the time-out"]
    time.sleep(rng.uniform(0.5, 1.5))
    storm = in_thread(lambda: backend_storm(settings.database_url, stop_storm))
    faults.append("backend storm 2 s")
    time.sleep(2)
    stop_storm.set()
    storm.join(10)
    time.sleep(rng.uniform(0.5, 1.5))
    os.kill(workers[0].pid, signal.SIGKILL)
    faults.append("worker SIGKILLed")
    time.sleep(rng.uniform(0.2, 1.0))
    own_redis.kill()
    faults.append("Redis killed 3 s")
    time.sleep(3)
    own_redis.start()
    workers.append(start_worker(settings))
    for thread in (*senders, syncer):
        thread.join(300)
    fake.fail_rate = fake.drop_rate = fake.slow_rate = 0.0

    seconds = settle(runtime)
    web.stop()

    tally = check_the_books(runtime, load, fake)
    tally.update(seed=seed, texts_sent=TEXTS, faults=faults, settled_in_s=round(seconds, 1))
    (tmp_path / "tally.json").write_text(json.dumps(tally, indent=2))
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"faults-seed-{seed}.json").write_text(json.dumps(tally, indent=2))
    print("\n" + json.dumps(tally))
    assert tally["texts_lost"] == 0 and tally["texts_handled_twice"] == 0, tally
    assert tally["credits_doubled"] == 0 and tally["pickups_lost"] == 0, tally
    refused = tally["texts_refused_after_retries"]
    assert tally["logs_accepted"] <= tally["logs_in_books"] <= tally["logs_accepted"] + refused, tally
    assert tally["redemptions_doubled"] == 0 and tally["redemptions_unsettled"] == 0, tally
    assert tally["replies_never_sent"] == 0, tally
    assert tally["ledger_verified"] and tally["balances_wrong"] == 0, tally


def check_the_books(runtime: Runtime, load: Load, fake: FakeTwilio) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        inbound = {
            row.provider_message_id: row
            for row in session.execute(
                select(InboundMessage).where(InboundMessage.provider == "twilio")
            ).scalars()
        }
        lost = [sid for sid in load.texts if sid not in inbound or inbound[sid].status != "processed"]
        per_inbound = session.execute(
            select(Collection.inbound_id, func.count())
            .where(Collection.inbound_id.is_not(None))
            .group_by(Collection.inbound_id)
            .having(func.count() > 1)
        ).all()
        by_seq = session.execute(
            select(Collection.collector_id, Collection.seq, func.count())
            .where(Collection.seq.is_not(None))
            .group_by(Collection.collector_id, Collection.seq)
            .having(func.count() > 1)
        ).all()
        logs_accepted = [body for body in load.texts.values() if body.startswith("LOG")]
        logged = counted(
            runtime, select(func.count()).select_from(Collection).where(Collection.channel == "sms")
        )
        synced = set(
            session.execute(select(Collection.dedupe_key).where(Collection.channel == "app")).scalars()
        )
        pickups_lost = [cid for cid in load.pickups if f"app:{cid}" not in synced]
        replies = session.execute(select(OutboxMessage.id, OutboxMessage.status)).all()
        never_sent = [row.id for row in replies if row.status not in ("sent", "delivered")]
        twice = sum(count - 1 for count in fake.per_row.values() if count > 1)
        redeemed = session.execute(select(Redemption.inbound_id, Redemption.status)).all()
        redemptions_doubled = session.execute(
            select(Redemption.inbound_id)
            .where(Redemption.inbound_id.is_not(None))
            .group_by(Redemption.inbound_id)
            .having(func.count() > 1)
        ).all()
        verified = ledger.verify(session).ok
        wrong = 0
        for member_code, household_id in session.execute(select(Household.member_code, Household.id)).all():
            credited = session.execute(
                select(func.coalesce(func.sum(Collection.points), 0)).where(
                    Collection.household_id == household_id, Collection.status != "reversed"
                )
            ).scalar_one()
            spent = session.execute(
                select(func.coalesce(func.sum(Redemption.points), 0)).where(
                    Redemption.household_id == household_id, Redemption.status != "refunded"
                )
            ).scalar_one()
            if ledger.balance(session, member_account(member_code)).credit_balance != credited - spent:
                wrong += 1
    return {
        "texts_accepted": len(load.texts),
        "texts_refused_after_retries": len(load.refused_texts),
        "texts_lost": len(lost),
        "texts_handled_twice": len(per_inbound),
        "logs_accepted": len(logs_accepted),
        "logs_in_books": logged,
        "credits_doubled": len(by_seq),
        "app_pickups_answered": len(load.pickups),
        "pickups_lost": len(pickups_lost),
        "redeems_accepted": sum(body.startswith("REDEEM") for body in load.texts.values()),
        "redemptions": len(redeemed),
        "redemptions_fulfilled": sum(status == "fulfilled" for _, status in redeemed),
        "redemptions_refunded": sum(status == "refunded" for _, status in redeemed),
        "redemptions_unsettled": sum(status == "created" for _, status in redeemed),
        "redemptions_doubled": len(redemptions_doubled),
        "replies": len(replies),
        "replies_never_sent": len(never_sent),
        "replies_sent_twice": twice,
        "ledger_verified": verified,
        "balances_wrong": wrong,
        "webhook_statuses": dict(load.webhook_statuses),
        "gateway_faults": dict(fake.faults),
    }
