"""A day in the life of a programme, through signed Twilio webhooks and a real RQ worker: people
join, a collector registers a household at its door and logs many pickups, a household checks
its points, a pickup is undone, another disputed and upheld, airtime and a voucher are redeemed,
a shop verifies the voucher, anyone checks a receipt, a household stops. At the end the ledger
verifies and the households' points are exactly what was issued minus what was redeemed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

import ledger
from service.accounts import member_account
from service.db import transaction
from service.models import Collection, Household, OutboxMessage, Redemption
from service.reads.disputes import open_disputes
from service.runtime import Runtime, use
from service.usecases.catalogue import set_rate
from service.usecases.disputes import uphold
from service.usecases.rewards import add_reward
from service.usecases.roles import add_collector, add_partner
from service.usecases.zones import add_zone
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.helpers import message_sid, read, replies_to_sid, sessions, twilio_text

ADA, BOLA, CHIDI = "+2348031234567", "+2348052223333", "+2348064445555"
TUNDE = "+2348030000001"
SHOP = "+2348040000001"
STRANGER = "+2348099990000"
SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def test_a_day_in_the_life(make_app: Callable[..., Flask], redis: Redis) -> None:
    app = make_app(**TWILIO_TEST_SETTINGS)
    runtime: Runtime = app.extensions["kolekt.runtime"]
    use(runtime)
    now = datetime.now(UTC)
    with transaction(sessions(app)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        add_collector(session, TUNDE, "Tunde Bakare", zone.id, now)
        for material, points, commission in (("PET", 10, 2), ("SACHET", 8, 1), ("ALU", 30, 5)):
            set_rate(session, material, points, commission, SINCE, "test", now)
        add_reward(session, "AIRTIME", "Airtime", "airtime", 1, now, min_units=100)
        add_reward(session, "RICE", "Rice 1kg", "voucher", 200, now)
        add_partner(session, SHOP, "Mama Nkechi Store", now)

    def say(sender: str, text: str) -> list[str]:
        sid = message_sid()
        twilio_text(app.test_client(), text, sender=sender, sid=sid)
        return [row.body for row in replies_to_sid(app, sid)]

    def texts_to(phone: str) -> list[str]:
        return [
            row.body
            for row in read(
                app, select(OutboxMessage).where(OutboxMessage.to_phone == phone).order_by(OutboxMessage.id)
            )
        ]

    def code(phone: str) -> str:
        (found,) = read(app, select(Household.member_code).where(Household.phone == phone))
        return str(found)

    def last_ref() -> str:
        (found,) = read(app, select(Collection.reference).order_by(Collection.id.desc()).limit(1))
        return str(found)

    def work() -> None:
        queues = [Queue(name, connection=redis) for name in ("high", "default", "low")]
        SimpleWorker(queues, connection=redis).work(burst=True)

    # Morning: two households join by SMS, a third is registered at its door.
    assert say(ADA, "JOIN Ada Okafor, 12 Adeniyi St Yaba")[0].startswith("Welcome to Kolekt, Ada!")
    assert say(CHIDI, "join Chidi")[0].startswith("Welcome to Kolekt, Chidi!")
    assert say(TUNDE, "NEW 0805 222 3333 Bola Ade")[0].startswith("OK: Bola is ")
    assert texts_to(BOLA)[0].startswith("Welcome to Kolekt, Bola!")
    ada, bola, chidi = code(ADA), code(BOLA), code(CHIDI)

    # The round: many pickups, one of them sent twice by a phone with no signal.
    for text in (
        f"LOG {ada} PET 4.5 ALU 1.2 #1",  # 45 + 36 = 81
        f"LOG {bola} sachet 3 #2",  # 24
        f"LOG {chidi} bottles 10 cans 2 #3",  # 100 + 60 = 160
        f"LOG {ada} pw 2.5 #4",  # 20
        f"LOG {chidi} PET 30 #5",  # 300
        f"LOG {bola} PET 1 #6",  # 10, undone below
    ):
        assert say(TUNDE, text)[0].startswith("OK ")
    assert say(TUNDE, f"LOG {chidi} PET 30 #5")[0].startswith("Already logged as ")
    assert say(TUNDE, f"UNDO {last_ref()}")[0].startswith("Undone ")
    assert say(TUNDE, "TODAY") == ["Today: 5 pickups, 53.2 kg, 585 pts to members, 111 pts to you."]

    # Households look at their points and answer their receipts.
    assert say(ADA, "BAL")[0].startswith("Kolekt: 101 pts (NGN 101). Last: +20, ")
    assert say(ADA, "HIST")[0].endswith("Bal 101.")
    (ada_first,) = read(app, select(Collection.reference).where(Collection.seq == 1))
    assert say(ADA, f"YES {ada_first}") == [f"Thanks! {ada_first} is confirmed."]
    assert say(ADA, f"RATE {ada_first} 5") == [f"Thanks! You gave Tunde 5 stars for {ada_first}."]
    (bola_sachet,) = read(app, select(Collection.reference).where(Collection.seq == 2))
    assert say(BOLA, f"NO {bola_sachet} I gave 5 kg")[0].startswith("Kolekt: we got your NO")

    # The hub upholds Bola's dispute: the pickup is reversed and both are told.
    with runtime.unit_of_work() as uow:  # its texts are enqueued after the commit
        (dispute,) = open_disputes(uow.session)
        assert uphold(uow, dispute.id, "ops@hub") == 24
    assert texts_to(BOLA)[-1].startswith(f"Kolekt: your NO for {bola_sachet} was upheld.")
    assert texts_to(TUNDE)[-1].startswith(f"Dispute on {bola_sachet} upheld")

    # Chidi spends: airtime, then a voucher that a shop verifies once.
    assert say(CHIDI, "REWARDS")[0].startswith("Kolekt rewards: CASH NGN 100-20,000, 1 ")
    say(CHIDI, "REDEEM AIRTIME 200")
    say(CHIDI, "redeem 2")
    work()
    assert any(text.startswith("Kolekt: NGN 200 airtime sent to this phone.") for text in texts_to(CHIDI))
    (voucher,) = read(app, select(Redemption.voucher_code).where(Redemption.voucher_code.is_not(None)))
    assert any(f"voucher {voucher[:5]}-{voucher[5:]}" in text for text in texts_to(CHIDI))
    assert say(SHOP, f"VERIFY {voucher[:5]}-{voucher[5:]}")[0].startswith(
        f"Voucher {voucher[:5]}-{voucher[5:]} OK: Rice 1kg"
    )
    assert say(SHOP, f"VERIFY {voucher}")[0].startswith(
        f"Voucher {voucher[:5]}-{voucher[5:]} was already used on "
    )
    assert say(CHIDI, "REDEEM AIRTIME 5000")[0].startswith("Not enough points")

    # Anyone can check a receipt; a household stops.
    masked = chidi[0] + "*" * (len(chidi) - 3) + chidi[-2:]
    (chidi_first,) = read(app, select(Collection.reference).where(Collection.seq == 3))
    assert say(STRANGER, f"CHECK {chidi_first}")[0].startswith(
        f"{chidi_first} is in the Kolekt ledger: pickup of 160 pts, {masked}"
    )
    assert say(ADA, "STOP") == []  # Twilio confirms opt-outs itself
    say(TUNDE, f"LOG {ada} PET 1 #7")
    assert [row.status for row in read(app, select(OutboxMessage).where(OutboxMessage.to_phone == ADA))][
        -1
    ] == "suppressed"
    work()

    # The books: the chain verifies, and the households hold what was issued minus what was spent.
    with transaction(sessions(app)) as session:
        ledger.seal_all(session)
        assert ledger.verify(session, workers=1).ok
        codes = session.execute(select(Household.member_code)).scalars().all()
        held = sum(ledger.balance(session, member_account(c)).credit_balance for c in codes)
        issued = session.execute(
            select(func.sum(Collection.points)).where(Collection.status == "credited")
        ).scalar()
        spent = session.execute(
            select(func.sum(Redemption.points)).where(Redemption.status == "fulfilled")
        ).scalar()
    assert (issued, spent) == (81 + 160 + 20 + 300 + 10, 200 + 200)
    assert held == issued - spent
