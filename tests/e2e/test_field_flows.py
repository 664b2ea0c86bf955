"""The field flows end to end through signed Twilio webhooks: a collector's LOG, UNDO, NEW, ROUTE
(in pages) and TODAY; a household's JOIN, BAL, HIST, PICKUP, SKIP, YES, NO, RATE and CHECK; an operator's
decision on a dispute. Every bad input gets one reply and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import func, select

import ledger
import sms
from service.accounts import collector_account, member_account
from service.db import transaction
from service.models import (
    Collection,
    Dispute,
    Household,
    InboundMessage,
    OutboxMessage,
    PickupRequest,
    Rating,
)
from service.reads.disputes import open_disputes
from service.runtime import Runtime
from service.usecases.catalogue import set_rate
from service.usecases.disputes import DisputeError, reject, uphold
from service.usecases.roles import add_collector, set_collector_status
from service.usecases.zones import add_zone
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.helpers import message_sid, read, replies_to_sid, sessions, twilio_text

ADA = "+2348031234567"
BOLA = "+2348052223333"
TUNDE = "+2348030000001"  # the collector
KEMI = "+2348030000002"  # another collector
STRANGER = "+2348099990000"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    """A programme with a zone (Yaba, Tue and Fri 8-12), two collectors and rates for PET, ALU and
    SACHET (GLASS has none)."""
    app = make_app(**TWILIO_TEST_SETTINGS)
    now = datetime.now(UTC)
    with transaction(sessions(app)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        add_collector(session, TUNDE, "Tunde Bakare", zone.id, now)
        add_collector(session, KEMI, "Kemi Ade", zone.id, now, commission_per_kg=4)
        for material, points, commission in (("PET", 10, 2), ("ALU", 30, 5), ("SACHET", 8, 1)):
            set_rate(session, material, points, commission, LONG_AGO, "test", now)
    return app


def runtime(app: Flask) -> Runtime:
    """The app's runtime, whose units of work the operator's decisions go through."""
    found: Runtime = app.extensions["kolekt.runtime"]
    return found


def say(app: Flask, sender: str, text: str) -> list[str]:
    """Text from ``sender``; every reply it caused, to anyone, as "to: body"."""
    sid = message_sid()
    twilio_text(app.test_client(), text, sender=sender, sid=sid)
    return [f"{row.to_phone}: {row.body}" for row in replies_to_sid(app, sid)]


def only_reply(app: Flask, sender: str, text: str) -> str:
    replies = say(app, sender, text)
    assert len(replies) == 1, replies
    to, _, body = replies[0].partition(": ")
    assert to == sender
    return body


def points_of(app: Flask, phone: str) -> int:
    with transaction(sessions(app)) as session:
        code = session.execute(select(Household.member_code).where(Household.phone == phone)).scalar_one()
        return ledger.balance(session, member_account(code)).credit_balance


def code_of(app: Flask, phone: str) -> str:
    (code,) = read(app, select(Household.member_code).where(Household.phone == phone))
    return str(code)


def last_reference(app: Flask) -> str:
    (reference,) = read(app, select(Collection.reference).order_by(Collection.id.desc()).limit(1))
    return str(reference)


def age_pickup(app: Flask, reference: str, by: timedelta) -> None:
    with transaction(sessions(app)) as session:
        pickup = session.execute(select(Collection).where(Collection.reference == reference)).scalar_one()
        pickup.received_at -= by
        pickup.occurred_at -= by


def books(app: Flask) -> dict[str, int]:
    """Every count a refused text must leave as it was (the inbound text itself aside)."""
    with transaction(sessions(app)) as session:
        counted = {
            model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Collection, Dispute, Household, PickupRequest, Rating)
        }
        counted["transfers"] = session.execute(
            select(func.count()).select_from(ledger.metadata.tables["ledger_transfers"])
        ).scalar_one()
        counted["undone"] = session.execute(
            select(func.count()).where(Collection.status != "credited")
        ).scalar_one()
        counted["confirmed"] = session.execute(
            select(func.count()).where(Collection.confirmed_at.is_not(None))
        ).scalar_one()
    return counted


def test_joining_with_an_address_in_a_zone_gets_its_collection_days(app: Flask) -> None:
    body = only_reply(app, ADA, "JOIN Ada Okafor, 12 Adeniyi St Yaba")
    assert body == (
        f"Welcome to Kolekt, Ada! Your code is {code_of(app, ADA)}. Pickups in Yaba: Tue, Fri 8-12. "
        "Text BAL for points, HELP for help."
    )


def test_a_collector_registers_a_household_at_its_door(app: Flask) -> None:
    replies = say(app, TUNDE, "NEW 0805 222 3333 Bola Ade, 3 Oju St")
    code = code_of(app, BOLA)
    assert replies == [
        f"{TUNDE}: OK: Bola is {code}. We texted them a welcome.",
        f"{BOLA}: Welcome to Kolekt, Bola! Your code is {code}. Pickups in Yaba: Tue, Fri 8-12. "
        "Text BAL for points, HELP for help.",
    ]
    assert (
        only_reply(app, TUNDE, "NEW 08052223333 Bola Again")
        == f"+2348052223333 is already {code} (Bola). LOG with that code."
    )
    assert (
        only_reply(app, TUNDE, f"NEW {KEMI} Kemi")
        == "+2348030000002 is a collector's or shop's phone, not a member's."
    )


def test_a_pickup_is_credited_at_the_rates_in_force_and_both_sides_are_told(app: Flask) -> None:
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    code = code_of(app, ADA)
    replies = say(app, TUNDE, f"LOG {code} PET 4.5 ALU 1.2 #17")
    ref = last_reference(app)
    # PET 4.5 kg x 10 = 45, ALU 1.2 kg x 30 = 36; commission 4.5 x 2 = 9 and 1.2 x 5 = 6.
    assert replies == [
        f"{TUNDE}: OK {ref}: {code} PET 4.5kg ALU 1.2kg = 81 pts.",
        f"{ADA}: Kolekt: +81 pts from Tunde (PET 4.5kg, ALU 1.2kg). Bal 81. Wrong? Text NO {ref}",
    ]
    with transaction(sessions(app)) as session:
        (pickup,) = session.execute(select(Collection)).scalars()
        assert (pickup.points, pickup.commission, pickup.grams, pickup.seq, pickup.channel) == (
            81,
            15,
            5700,
            17,
            "sms",
        )
        member, commission = ledger.transfers_for(session, f"pickup:{pickup.id}")
        assert (member.credit, member.amount, member.human_ref) == (member_account(code), 81, ref)
        assert (commission.credit, commission.amount) == (collector_account(1), 15)
        # The collector's answer goes even in quiet hours; the household's receipt waits for morning.
        answer, receipt = session.execute(
            select(OutboxMessage.reply)
            .where(OutboxMessage.template.in_(("log_ok", "receipt")))
            .order_by(OutboxMessage.id)
        ).scalars()
        assert (answer, receipt) == (True, False)
    assert only_reply(app, ADA, "BAL").startswith("Kolekt: 81 pts (NGN 81). Last: +81, ")
    assert only_reply(app, TUNDE, "BAL") == "Kolekt: your commission is 15 pts. Text TODAY for today."


def test_rounding_is_half_up_per_line_and_a_collectors_own_commission_applies(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    code = code_of(app, ADA)
    # ALU 0.05 kg x 30 = 1.5 -> 2 and PET 0.249 kg x 10 = 2.49 -> 2: half up, line by line.
    # Kemi earns 4 per kg of anything: 0.05 x 4 = 0.2 -> 0, 0.249 x 4 = 0.996 -> 1.
    say(app, KEMI, f"LOG {code} alu 0.05 pet 0.249")
    (pickup,) = read(app, select(Collection))
    assert (pickup.points, pickup.commission) == (4, 1)


def test_a_rate_set_for_later_does_not_price_a_pickup_today(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    with transaction(sessions(app)) as session:
        now = datetime.now(UTC)
        set_rate(session, "PET", 99, 9, now + timedelta(days=1), "test", now)
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 1")
    (pickup,) = read(app, select(Collection))
    assert pickup.points == 10


def test_a_repeated_log_is_answered_with_the_original_reference_and_credits_nothing(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    code = code_of(app, ADA)
    say(app, TUNDE, f"LOG {code} PET 2 #5")
    ref = last_reference(app)
    before = books(app)
    # The same #seq whatever the text (the app and the SMS fallback send the same pickup).
    assert only_reply(app, TUNDE, f"log {code} pet 2.0kg #5").startswith(f"Already logged as {ref} on ")
    # The same text again (a phone resending), typed differently, no #seq.
    say(app, TUNDE, f"LOG {code} ALU 1")
    second = last_reference(app)
    assert only_reply(app, TUNDE, f"log {code.lower()}  1kg alu").startswith(
        f"Already logged as {second} on "
    )
    assert books(app)["collections"] == before["collections"] + 1
    assert points_of(app, ADA) == 20 + 30
    # Six hours on, the same text is a new pickup.
    age_pickup(app, second, timedelta(hours=6, minutes=1))
    assert say(app, TUNDE, f"LOG {code} ALU 1")[0].startswith(f"{TUNDE}: OK ")


def test_undo_within_30_minutes_reverses_and_tells_the_household(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 3")
    ref = last_reference(app)
    replies = say(app, TUNDE, f"undo {ref.lower()}")
    assert replies == [
        f"{TUNDE}: Undone {ref}: {code_of(app, ADA)} -30 pts. Nothing else changed.",
        f"{ADA}: Kolekt: pickup {ref} was cancelled by Tunde: -30 pts. Bal 0.",
    ]
    assert points_of(app, ADA) == 0
    with transaction(sessions(app)) as session:
        assert ledger.balance(session, collector_account(1)).credit_balance == 0
        assert len(ledger.transfers_for(session, "pickup:1")) == 4  # two postings and their reversals
    assert only_reply(app, TUNDE, f"UNDO {ref}") == f"Pickup {ref} was already cancelled."
    assert only_reply(app, KEMI, f"UNDO {ref}") == f"No pickup {ref} for you. Check the code."


def test_undo_after_30_minutes_is_refused(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 3")
    ref = last_reference(app)
    age_pickup(app, ref, timedelta(minutes=31))
    before = books(app)
    assert (
        only_reply(app, TUNDE, f"UNDO {ref}")
        == f"{ref} is over 30 min old: it cannot be undone. Ask the hub."
    )
    assert books(app) == before


def test_a_dispute_upheld_reverses_the_pickup_and_tells_both(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    code = code_of(app, ADA)
    say(app, TUNDE, f"LOG {code} PET 4.5")
    ref = last_reference(app)
    assert (
        only_reply(app, ADA, f"NO {ref} wrong weight")
        == f"Kolekt: we got your NO for {ref}. The hub will check it and text you."
    )
    assert only_reply(app, ADA, f"NO {ref}") == f"{ref} is already disputed (open)."
    with runtime(app).unit_of_work() as uow:
        (waiting,) = open_disputes(uow.session)
        assert (waiting.reference, waiting.member_code, waiting.points, waiting.reason) == (
            ref,
            code,
            45,
            "wrong weight",
        )
        assert uphold(uow, waiting.id, "ops@hub") == 45
    texts = {
        row.to_phone: row.body
        for row in read(app, select(OutboxMessage).where(OutboxMessage.template.like("dispute_upheld%")))
    }
    assert texts == {
        ADA: f"Kolekt: your NO for {ref} was upheld. The pickup is cancelled: -45 pts. Bal 0.",
        TUNDE: f"Dispute on {ref} upheld: the pickup is cancelled, {code} -45 pts.",
    }
    (pickup,) = read(app, select(Collection))
    assert (pickup.status, pickup.reversed_by) == ("reversed", "operator:ops@hub")
    with runtime(app).unit_of_work() as uow, pytest.raises(DisputeError, match="upheld already"):
        uphold(uow, waiting.id, "ops@hub")


def test_a_dispute_rejected_keeps_the_pickup_and_says_why(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 4.5")
    ref = last_reference(app)
    say(app, ADA, f"NO {ref}")
    with runtime(app).unit_of_work() as uow:
        (waiting,) = open_disputes(uow.session)
        with pytest.raises(DisputeError, match="reason"):
            reject(uow, waiting.id, "ops@hub", " ")
        reject(uow, waiting.id, "ops@hub", "the hub scale agrees")
    texts = {
        row.to_phone: row.body
        for row in read(app, select(OutboxMessage).where(OutboxMessage.template.like("dispute_rejected%")))
    }
    assert texts[ADA] == f"Kolekt: your NO for {ref} was not upheld: the hub scale agrees"
    assert texts[TUNDE] == f"Dispute on {ref} ({code_of(app, ADA)}) rejected: your pickup stands."
    assert points_of(app, ADA) == 45


def test_a_dispute_after_the_window_is_refused(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 4.5")
    ref = last_reference(app)
    age_pickup(app, ref, timedelta(hours=48, minutes=1))
    before = books(app)
    assert only_reply(app, ADA, f"NO {ref}") == f"{ref} is over 48h old. Call the hub to dispute it."
    assert books(app) == before


def test_yes_rate_hist_and_check(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    code = code_of(app, ADA)
    say(app, TUNDE, f"LOG {code} PET 1")
    first = last_reference(app)
    say(app, TUNDE, f"LOG {code} ALU 1")
    second = last_reference(app)
    assert only_reply(app, ADA, f"yes {first.lower()}") == f"Thanks! {first} is confirmed."
    assert only_reply(app, ADA, f"RATE {first} 5") == f"Thanks! You gave Tunde 5 stars for {first}."
    assert only_reply(app, ADA, f"RATE {first} 4") == f"Thanks! You gave Tunde 4 stars for {first}."
    (rating,) = read(app, select(Rating))
    assert (rating.stars, rating.collector_id) == (4, 1)
    history = only_reply(app, ADA, "HIST")
    assert (
        history.startswith("Kolekt: +30 ")
        and f" {second}, +10 " in history
        and history.endswith(f" {first}. Bal 40.")
    )
    masked = code[0] + "*" * (len(code) - 3) + code[-2:]
    checked = only_reply(app, STRANGER, f"CHECK {first}")
    assert checked.startswith(f"{first} is in the Kolekt ledger: pickup of 10 pts, {masked}, ")
    assert only_reply(app, STRANGER, "CHECK ZZZZ") == "ZZZZ is not in the Kolekt ledger. Check the code."


def test_pickup_skip_route_and_today(app: Flask) -> None:
    say(app, ADA, "JOIN Ada Okafor, 12 Adeniyi St Yaba")
    say(app, TUNDE, "NEW 08052223333 Bola Ade, 3 Oju St")
    assert only_reply(app, ADA, "PICKUP 2 bags").startswith("OK, pickup asked for ")
    assert only_reply(app, BOLA, "SKIP").startswith("OK, no pickup and no reminder for you on ")
    route = only_reply(app, TUNDE, "ROUTE")
    assert route.startswith("Route ") and f"{code_of(app, ADA)} 12 Adeniyi St Yaba (2 bags)" in route
    assert code_of(app, BOLA) not in route
    assert only_reply(app, BOLA, "PICKUP").startswith("OK, pickup asked for ")  # changes its mind
    assert code_of(app, BOLA) in only_reply(app, TUNDE, "ROUTE")
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 4.5 ALU 1.2")
    say(app, TUNDE, f"LOG {code_of(app, BOLA)} SACHET 2")
    assert only_reply(app, TUNDE, "TODAY") == "Today: 2 pickups, 7.7 kg, 97 pts to members, 17 pts to you."


def test_route_in_pages_route_2_and_route_more(app: Flask) -> None:
    """16 requests make a route of several pages: ROUTE is page 1, ROUTE 2 page 2, ROUTE MORE
    the page after the last one sent, then "that was the last page"; every stop is on one page,
    in the order asked, each reply within the route's two segments."""
    phones = [f"+23480500000{number:02d}" for number in range(1, 17)]
    for number, phone in enumerate(phones, start=1):
        say(app, phone, f"JOIN Neighbour {number}, {100 + number} Herbert Macaulay Road, Yaba, Lagos")
        assert only_reply(app, phone, "PICKUP 2 bags" if number % 2 else "PICKUP").startswith("OK, pickup")
    codes = [code_of(app, phone) for phone in phones]

    first = only_reply(app, TUNDE, "ROUTE")
    header = re.fullmatch(r"Route (\w{3} \d{1,2} \w{3}) 1/(\d): (.*)\. Text ROUTE 2 for more\.", first)
    assert header, first
    day, pages = header[1], int(header[2])
    assert pages >= 3
    sent = [first]
    for number in range(2, pages + 1):
        sent.append(only_reply(app, TUNDE, "ROUTE MORE" if number % 2 else "route next"))
        assert sent[-1].startswith(f"Route {day} {number}/{pages}: ")
    assert sent[-1].endswith(". End of route.")
    listed = [
        re.fullmatch(r"Route [^:]+: (.*)\. (Text ROUTE \d+ for more|End of route)\.", reply) for reply in sent
    ]
    stops = [stop for found in listed if found for stop in found[1].split("; ")]
    assert [stop.split()[0] for stop in stops] == codes
    assert stops[0] == f"{codes[0]} 101 Herbert Macaulay Road (2 bags)"  # cut after "Road,", not in it
    assert stops[1] == f"{codes[1]} 102 Herbert Macaulay Road"
    assert all(sms.segments(reply).encoding == "GSM-7" and sms.segments(reply).count <= 2 for reply in sent)

    assert only_reply(app, TUNDE, "ROUTE MORE") == (
        f"That was the last page of the route for {day} (16 stops). Text ROUTE for page 1 again."
    )
    assert only_reply(app, TUNDE, "ROUTE 2") == sent[1]
    assert only_reply(app, TUNDE, "ROUTE MORE") == sent[2]  # the page after ROUTE 2
    assert only_reply(app, KEMI, "ROUTE MORE") == first  # each collector's own: none sent yet
    assert only_reply(app, TUNDE, "ROUTE 1") == first
    assert only_reply(app, TUNDE, "ROUTE 9") == (
        f"The route for {day} has no page 9: it has {pages}. Text ROUTE for page 1."
    )
    assert only_reply(app, TUNDE, "ROUTE MORE") == sent[1]  # ROUTE 9 sent nothing to go on from
    assert only_reply(app, TUNDE, "ROUTE 0") == (
        "Send ROUTE for the first page of stops, ROUTE 2 for the second, ROUTE MORE for the next."
    )


def test_a_household_without_a_zone_is_told_so(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    assert (
        only_reply(app, ADA, "PICKUP")
        == "Your area has no collection day yet. The hub will text you your day."
    )
    assert only_reply(app, STRANGER, "PICKUP").startswith("You are not in Kolekt yet.")


BAD_INPUTS = [
    # (who, text, the one reply)
    (TUNDE, "LOG K0999C PET 1", "No member K0999C. Check the code."),
    (TUNDE, "LOG {code_typo} PET 1", "No member {code_typo}. Check the code."),
    (TUNDE, "LOG {code} GOLD 1", "Unknown material GOLD. Use PET, SACHET, ALU, HDPE, PAPER or GLASS."),
    (TUNDE, "LOG {code} PET 0", "Weight 0 is not valid. Send kg, e.g. 4.5"),
    (TUNDE, "LOG {code} PET 250", "250 is over 200 kg for one line. Check the weight."),
    (TUNDE, "LOG {code} GLASS 3", "No rate for GLASS yet. Nothing was logged. Ask the hub to set one."),
    (TUNDE, "LOG {code} PET 0.01", "PET 0.01kg earns 0 pts at today's rates. Nothing was logged."),
    (
        TUNDE,
        "LOG 08099990000 PET 1",
        "No member with phone +2348099990000. Register them: NEW +2348099990000 name",
    ),
    (TUNDE, "UNDO ZZZZ", "No pickup ZZZZ for you. Check the code."),
    (ADA, "LOG {code} PET 1", "LOG is not for this phone. Text HELP for your commands."),
    (ADA, "NO ZZZZ", "No pickup ZZZZ for you. Check the code."),
    (ADA, "YES ZZZZ", "No pickup ZZZZ for you. Check the code."),
    (ADA, "RATE ZZZZ 9", "Rate 1 to 5, e.g. RATE ZZZZ 5"),
    (STRANGER, "RATE ZZZZ 3", "You are not in Kolekt yet. Text JOIN and your name, e.g. JOIN Ada Okafor"),
    (TUNDE, "NEW 0803 Ada", "Phone number 0803 is not valid, e.g. NEW 08031234567 Ada Okafor"),
]


@pytest.mark.parametrize(("sender", "text", "expected"), BAD_INPUTS)
def test_bad_input_gets_one_reason_and_changes_nothing(
    app: Flask, sender: str, text: str, expected: str
) -> None:
    say(app, ADA, "JOIN Ada")
    code = code_of(app, ADA)
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    values = {"code": code, "code_typo": typo}
    before = books(app)
    assert only_reply(app, sender, text.format(**values)) == expected.format(**values)
    assert books(app) == before


def test_a_suspended_collector_changes_nothing(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    with transaction(sessions(app)) as session:
        set_collector_status(session, TUNDE, "suspended")
    before = books(app)
    for text in (f"LOG {code_of(app, ADA)} PET 1", "NEW 08052223333 Bola", "UNDO ABCD", "ROUTE", "TODAY"):
        assert (
            only_reply(app, TUNDE, text)
            == "Your collector account is suspended. Nothing was done. Call the hub."
        )
    assert books(app) == before


def test_every_text_was_stored_as_processed(app: Flask) -> None:
    say(app, ADA, "JOIN Ada")
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 1")
    assert {row.status for row in read(app, select(InboundMessage))} == {"processed"}


def test_operators_decide_disputes_from_the_cli(app: Flask) -> None:
    from tests.conftest import run_cli

    say(app, ADA, "JOIN Ada")
    say(app, TUNDE, f"LOG {code_of(app, ADA)} PET 4.5")
    first = last_reference(app)
    say(app, TUNDE, f"LOG {code_of(app, ADA)} ALU 1")
    second = last_reference(app)
    say(app, ADA, f"NO {first} wrong weight")
    say(app, ADA, f"NO {second}")
    settings = app.extensions["kolekt.runtime"].settings
    listed = run_cli(settings, "disputes", "list")
    assert listed.returncode == 0 and first in listed.stdout and "wrong weight" in listed.stdout
    upheld = run_cli(settings, "disputes", "uphold", "1", "--by", "ops@hub")
    assert upheld.returncode == 0, upheld.stderr
    assert upheld.stdout.strip() == "dispute 1 upheld: pickup reversed (-45 pts); both parties texted"
    again = run_cli(settings, "disputes", "uphold", "1", "--by", "ops@hub")
    assert again.returncode == 1 and again.stderr.strip() == "Error: dispute 1 was upheld already"
    no_reason = run_cli(settings, "disputes", "reject", "2", "--by", "ops@hub", "--reason", " ")
    assert no_reason.returncode == 1 and "needs a reason" in no_reason.stderr
    rejected = run_cli(settings, "disputes", "reject", "2", "--by", "ops@hub", "--reason", "scale agrees")
    assert rejected.returncode == 0, rejected.stderr
    missing = run_cli(settings, "disputes", "reject", "9", "--by", "ops@hub", "--reason", "x")
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no dispute 9"
    assert points_of(app, ADA) == 30
    statuses = read(app, select(Dispute.status).order_by(Dispute.id))
    assert statuses == ["upheld", "rejected"]
