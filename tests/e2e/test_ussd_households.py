"""A household's USSD menu end to end: a basic phone dials the demo programme through Africa's
Talking's callback (tests/ussd_helpers.py ``Dial``, with the API's own field names), and each path
of docs/ussd.md's tree is walked to its end: the screens it shows, and the rows its last screen
commits, once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

import sms
from service.channels.ussd import engine
from service.models import (
    ballots_t,
    collections_t,
    households_t,
    outbox_t,
    payout_accounts_t,
    payouts_t,
    phones_t,
    pickup_requests_t,
    ratings_t,
    redemptions_t,
    rewards_t,
    zones_t,
)
from service.usecases import votes
from service.usecases.households import set_household_status
from service.usecases.rewards import add_reward
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub
from tests.ussd_helpers import (
    ADA,
    HOUSEHOLD_SCREENS,
    NGOZI,
    SHOP,
    STRANGER,
    Dial,
    Renders,
    body,
    credit,
    demo,
    dialled,
    en,
    forget_sessions,
    latest_pickups,
    member,
    points_of,
    refused,
    rows_of,
    save_account,
    session_rows,
    set_language,
)

HOME = (
    "Kolekt: {points} pts\n1 Points & history\n2 Ask for pickup\n3 Skip next pickup\n4 Rewards\n"
    "5 Cash out\n6 Check a receipt\n7 Rate a pickup\n8 Bank account\n9 More"
)
REWARDS = (
    "Rewards, you have {points} pts:\n1 Airtime 1 pt/NGN\n2 Rice 1kg 200 pts\n3 Bar soap 150 pts\n0 Back"
)
AIRTIME = "Airtime to this phone: how many naira? 50 to 210\n0 Back"  # what 210 pts pay for
MORE = "Kolekt\n1 Language\n2 Terms\n3 Help\n4 My impact\n5 My zone\n6 Vote\n0 Back"
WRONG_CHOICE = "Choose one of the numbers."


@pytest.fixture
def hub(make_app: Callable[..., Flask], redis: Redis) -> Hub:
    return demo(make_app)


def redemptions(hub: Hub) -> list[tuple[object, ...]]:
    columns = (redemptions_t.c.reward_code, redemptions_t.c.units, redemptions_t.c.points)
    return [tuple(row) for row in rows_of(hub, select(*columns, redemptions_t.c.inbound_id))]


def members_with(hub: Hub, phone: str) -> list[Any]:
    return rows_of(hub, select(households_t.c.id).where(households_t.c.phone == phone))


# --- the menu, and what only reads ----------------------------------------------------------------


def test_dialling_shows_the_points_and_the_menu_and_changes_nothing(hub: Hub) -> None:
    before = snapshot(hub.runtime.engine)
    assert points_of(hub, ADA) == 210
    assert Dial(hub.app, ADA).open() == "CON " + HOME.format(points=210)
    assert snapshot(hub.runtime.engine) == before


def test_points_and_history_ends_with_the_last_three_movements(hub: Hub) -> None:
    dial = dialled(hub, ADA, "1")
    move = r"\+\d+ \d+ \w+ (\w+)"
    found = re.fullmatch(rf"END Kolekt: {move}, {move}, {move}\. Bal 210\.", dial.screens[-1])
    assert found and list(found.groups()) == [ref for ref, _, _ in latest_pickups(hub, ADA, 3)]
    (row,) = session_rows(hub, dial)
    assert (row.sender, row.recipient, row.body, row.command) == (ADA, "*384*2580#", "HIST", "History")
    assert rows_of(hub, select(outbox_t.c.id).where(outbox_t.c.to_phone == ADA)) == []  # no text


def test_pickup_then_skip_ask_for_the_next_collection_day(hub: Hub) -> None:
    pickup = dialled(hub, ADA, "2")
    ((day, kind),) = rows_of(hub, select(pickup_requests_t.c.collection_date, pickup_requests_t.c.kind))
    said = f"{day:%a} {day.day} {day:%b}"
    assert kind == "pickup"
    assert pickup.screens[-1] == f"END {en('pickup_ok', date=said, window='08:00-12:00')}"
    assert pickup.again() == pickup.screens[-1]  # sent again by the network: nothing more
    skip = dialled(hub, ADA, "3")
    assert (
        skip.screens[-1] == f"END OK, no pickup and no reminder for you on {said}. Text PICKUP to change it."
    )
    assert rows_of(hub, select(pickup_requests_t.c.collection_date, pickup_requests_t.c.kind)) == [
        (day, "skip")
    ]
    assert [row.command for row in session_rows(hub, pickup) + session_rows(hub, skip)] == ["Pickup", "Skip"]


def test_check_a_receipt_known_and_unknown(hub: Hub) -> None:
    ((ref, _, points),) = latest_pickups(hub, NGOZI)
    dial = dialled(hub, ADA, "6")
    assert dial.screens[-1] == "CON The receipt's code, e.g. 7F2K:\n0 Back"
    screen = dial.send(ref.lower())
    assert screen.startswith(f"END {ref} is in the Kolekt ledger: pickup of {points} pts, K***"), screen
    unknown = dialled(hub, ADA, "6", "ZZZ9")
    assert unknown.screens[-1] == "END ZZZ9 is not in the Kolekt ledger. Check the code."
    assert [row.body for row in session_rows(hub, dial) + session_rows(hub, unknown)] == [
        f"CHECK {ref}",
        "CHECK ZZZ9",
    ]


def test_terms_and_help_end_the_session_for_members_and_strangers(hub: Hub) -> None:
    terms = "END Kolekt: 1 pt = NGN 1. Each pickup's points come with a ref; wrong? Text NO ref in 48h."
    helped = (
        "END Kolekt USSD is free. Answer with a number; 0 goes back, 00 to the top. "
        "By SMS, text HELP to see the commands."
    )
    assert dialled(hub, ADA, "9").screens[-1] == "CON " + MORE
    assert dialled(hub, ADA, "9", "2").screens[-1].startswith(terms)
    assert dialled(hub, ADA, "9", "3").screens[-1] == helped
    assert dialled(hub, STRANGER, "2").screens[-1].startswith(terms)
    assert dialled(hub, STRANGER, "3").screens[-1] == helped
    assert members_with(hub, STRANGER) == []


def test_impact_and_zone_are_read_from_the_more_menu(hub: Hub) -> None:
    impact = dialled(hub, ADA, "9", "4").screens[-1]
    assert re.fullmatch(
        r"END Kolekt: since you joined, .+\. About [\d.,]+kg CO2e saved and [\d,]+ pts earned\. Thank you!",
        impact,
    ) or impact.startswith("END Kolekt: no pickups yet."), impact
    zone = dialled(hub, ADA, "9", "5").screens[-1]
    assert re.fullmatch(r"END Kolekt \w+: [\d.,]+kg recycled this month, no\. \d+ of \d+ zones.*", zone), zone
    assert len(impact) <= 182 and len(zone) <= 182
    assert dialled(hub, ADA, "9", "7").screens[-1].startswith("CON ")  # no such item: asked again


def open_vote(hub: Hub) -> None:
    zone = hub.runtime.settings.zone
    hub.read(
        lambda s: votes.open_vote(s, "Next reward?", ["Rice", "Soap", "Data 1GB"], 7, datetime.now(UTC), zone)
    )


def test_a_household_votes_from_the_more_menu(hub: Hub) -> None:
    assert dialled(hub, ADA, "9", "6").screens[-1] == (
        "END Kolekt: no vote is open just now. Text SUGGEST and your idea for a reward any time."
    )
    open_vote(hub)
    dial = dialled(hub, ADA, "9", "6")
    assert dial.screens[-1] == "CON Vote: Next reward?\n1 Rice\n2 Soap\n3 Data 1GB\n0 Back"
    refused(dial, "4", WRONG_CHOICE)
    assert dial.send("2").startswith("END Kolekt: thank you, your vote is 2 Soap. Until ")
    dialled(hub, ADA, "9", "6", "3")  # the last vote counts
    ballots = hub.read(lambda s: s.execute(select(ballots_t.c.choice)).scalars().all())
    assert ballots == [3]


# --- rewards --------------------------------------------------------------------------------------


def test_airtime_is_redeemed_once_and_the_points_fall_once(hub: Hub, redis: Redis) -> None:
    dial = Dial(hub.app, ADA)
    dial.open()
    assert dial.send("4") == "CON " + REWARDS.format(points=210)
    assert dial.send("1") == "CON " + AIRTIME
    assert dial.send("60") == "CON 60 x Airtime for 60 pts. You have 210.\n1 Yes, redeem\n0 Back"
    done = dial.send("1")
    assert done == "END Kolekt: Airtime is yours, 60 pts. We will text you when it is ready."
    (row,) = session_rows(hub, dial)
    assert (row.body, row.command) == ("REDEEM AIRTIME 60", "Redeem")
    assert redemptions(hub) == [("AIRTIME", 60, 60, row.id)] and points_of(hub, ADA) == 150
    assert Queue("high", connection=redis).count == 1  # its fulfilment
    assert dial.again() == done
    assert redemptions(hub) == [("AIRTIME", 60, 60, row.id)] and points_of(hub, ADA) == 150
    assert Queue("high", connection=redis).count == 1


def test_a_voucher_asks_how_many_and_refuses_more_than_the_points(hub: Hub) -> None:
    dial = dialled(hub, ADA, "4", "2")
    # At most 5 a time, but 210 pts pay for 1: the screen offers what the points pay for.
    assert dial.screens[-1] == "CON How many Rice 1kg? 1 to 1\n0 Back"
    refused(dial, "2", en("not_enough_points", reward="Rice 1kg", need=400, balance=210))
    assert redemptions(hub) == [] and points_of(hub, ADA) == 210
    # Points spent meanwhile, in another session: the last screen refuses, and nothing is taken.
    assert dialled(hub, ADA, "4", "1", "100", "1").screens[-1].startswith("END ")
    assert dial.send("1") == "CON 1 x Rice 1kg for 200 pts. You have 110.\n1 Yes, redeem\n0 Back"
    assert dial.send("1") == "END " + en("not_enough_points", reward="Rice 1kg", need=200, balance=110)
    assert [code for code, *_ in redemptions(hub)] == ["AIRTIME"] and points_of(hub, ADA) == 110
    credit(hub, ADA, 100)
    again = dialled(hub, ADA, "4", "2", "1", "1")
    assert again.screens[-1] == "END Kolekt: Rice 1kg is yours, 200 pts. We will text you when it is ready."
    (row,) = session_rows(hub, again)
    assert redemptions(hub)[-1] == ("RICE1", 1, 200, row.id) and points_of(hub, ADA) == 10


def test_a_reward_of_one_fixed_quantity_goes_straight_to_confirm(hub: Hub) -> None:
    now = datetime.now(UTC)
    hub.read(lambda s: add_reward(s, "MOP", "Mop", "goods", 100, now, min_units=1, max_units=1, stock=3))
    dial = dialled(hub, ADA, "4")
    assert "\n4 Mop 100 pts\n" in dial.screens[-1]
    assert dial.send("4") == "CON 1 x Mop for 100 pts. You have 210.\n1 Yes, redeem\n0 Back"
    assert dial.send("1") == "END Kolekt: Mop is yours, 100 pts. We will text you when it is ready."
    (row,) = session_rows(hub, dial)
    assert redemptions(hub) == [("MOP", 1, 100, row.id)] and points_of(hub, ADA) == 110
    assert rows_of(hub, select(rewards_t.c.stock).where(rewards_t.c.code == "MOP")) == [2]


def test_no_reward_in_stock_says_the_points_are_safe(hub: Hub) -> None:
    hub.read(lambda s: s.execute(update(rewards_t).values(stock=0)))
    dial = dialled(hub, ADA, "4")
    assert dial.screens[-1] == "CON No rewards in Kolekt yet. Your points are safe.\n0 Back"
    assert dial.send("0") == "CON " + HOME.format(points=210)


# --- cash-out and the bank account ----------------------------------------------------------------


def test_cash_out_without_a_saved_account_or_when_it_is_off(hub: Hub, make_app: Callable[..., Flask]) -> None:
    dial = dialled(hub, ADA, "5")
    assert dial.screens[-1] == "END " + en("bank_none")
    assert rows_of(hub, select(payouts_t.c.id)) == [] and session_rows(hub, dial) == []
    closed = demo(make_app, cash_out=False)
    save_account(closed, ADA)
    assert dialled(closed, ADA, "5").screens[-1] == "END " + en("cash_off")


@pytest.mark.parametrize("cooling_off_hours", [0, 24])
def test_cash_out_to_the_saved_account_holds_the_points_once(
    make_app: Callable[..., Flask], redis: Redis, cooling_off_hours: int
) -> None:
    hub = demo(make_app, payout_cooling_off_hours=cooling_off_hours)
    save_account(hub, ADA)
    dial = dialled(hub, ADA, "5")
    assert dial.screens[-1] == "CON Cash to GTBank ****6789: how many naira? 100 to 20,000\n0 Back"
    confirm = "CON Send NGN 150 to GTBank ****6789 for 150 pts? You have 210.\n1 Yes, send\n0 Back"
    assert dial.send("150") == confirm
    done = dial.send("1")
    columns = (payouts_t.c.status, payouts_t.c.points, payouts_t.c.amount_kobo, payouts_t.c.inbound_id)
    ((status, points, kobo, inbound_id, human_ref),) = rows_of(hub, select(*columns, payouts_t.c.human_ref))
    (row,) = session_rows(hub, dial)
    assert (status, points, kobo, inbound_id, row.body) == ("held", 150, 15_000, row.id, "REDEEM CASH 150")
    if cooling_off_hours:  # an account the staff saved waits, for the household's safety
        assert done.startswith("END NGN 150 goes to GTBank ****6789 from "), done
    else:
        assert done.startswith("END NGN 150 is on its way to GTBank ****6789: 150 pts held."), done
    assert done.endswith(str(human_ref)) and points_of(hub, ADA) == 60
    assert dial.again() == done
    assert len(rows_of(hub, select(payouts_t.c.id))) == 1 and points_of(hub, ADA) == 60


def test_bank_account_is_checked_by_its_bank_and_ten_digits(hub: Hub) -> None:
    dial = dialled(hub, ADA, "8")
    assert dial.screens[-1] == "CON Your bank, e.g. GTB, UBA or OPAY:\n0 Back"
    assert dial.send("GTB") == "CON GTBank: your 10-digit account number:\n0 Back"
    assert dial.send("0123456789") == "END " + en("bank_checking", bank="GTBank", masked="****6789")
    columns = (
        payout_accounts_t.c.household_id,
        payout_accounts_t.c.bank_code,
        payout_accounts_t.c.account_number,
    )
    saved = select(*columns, payout_accounts_t.c.status, payout_accounts_t.c.registered_by)
    assert rows_of(hub, saved) == [(member(hub, ADA).id, "058", "0123456789", "resolving", "household")]
    assert [row.body for row in session_rows(hub, dial)] == ["BANK GTB 0123456789"]


# --- rating, language -----------------------------------------------------------------------------


def test_rate_the_latest_pickup(hub: Hub) -> None:
    ((ref, day, _),) = latest_pickups(hub, ADA)
    local = day.astimezone(hub.runtime.settings.zone)
    dial = dialled(hub, ADA, "7")
    asked = rf"CON Pickup {ref} by Musa Ibrahim, 0?{local.day} {local:%b}\. How many stars, 1 to 5\?\n0 Back"
    assert re.fullmatch(asked, dial.screens[-1]), dial.screens[-1]
    assert dial.send("4") == f"END Thanks! You gave Musa 4 stars for {ref}."
    rated = select(collections_t.c.reference, ratings_t.c.stars).join(collections_t)
    assert rows_of(hub, rated) == [(ref, 4)]


def test_the_rate_screen_says_the_day_in_the_phones_language(hub: Hub) -> None:
    ((ref, day, _),) = latest_pickups(hub, ADA)
    set_language(hub, ADA, "YO")
    said = sms.short_date(day, hub.runtime.settings.zone, "YO")
    shown = dialled(hub, ADA, "7").screens[-1]
    assert shown == "CON " + sms.render(
        "ussd_rate", "YO", programme="Kolekt", ref=ref, collector="Musa Ibrahim", date=said
    )


def test_language_is_changed_and_the_next_session_speaks_it(hub: Hub) -> None:
    dial = dialled(hub, ADA, "9", "1")
    assert dial.screens[-1] == "CON Language:\n1 English\n2 Pidgin\n3 Yoruba\n4 Hausa\n5 Igbo\n0 Back"
    done = dial.send("2")
    assert done == "END " + sms.render("language_set", "PCM", programme="Kolekt", language="Pidgin")
    assert rows_of(hub, select(phones_t.c.language).where(phones_t.c.number == ADA)) == ["PCM"]
    home = Dial(hub.app, ADA).open()
    assert home == "CON " + sms.render("ussd_home", "PCM", programme="Kolekt", points=210)
    assert home != "CON " + HOME.format(points=210)


# --- strangers, the suspended, shops --------------------------------------------------------------


def test_a_stranger_joins_in_the_zone_they_choose(hub: Hub) -> None:
    dial = Dial(hub.app, STRANGER)
    welcome = "CON Welcome to Kolekt: points for bottles, sachets and cans, free.\n1 Join\n2 Terms\n3 Help"
    assert dial.open() == welcome
    assert dial.send("1") == "CON Your name, e.g. Ada Okafor:\n0 Back"
    assert dial.send("Bola  Ade") == "CON Your area:\n1 Sabo\n2 Yaba\n0 Back"
    done = dial.send("2")
    columns = (households_t.c.name, households_t.c.member_code, zones_t.c.name, households_t.c.joined_via)
    joined = select(*columns).join(zones_t).where(households_t.c.phone == STRANGER)
    ((name, code, zone, via),) = rows_of(hub, joined)
    assert (name, zone, via) == ("Bola Ade", "Yaba", "ussd")
    assert done.startswith(f"END Welcome to Kolekt, Bola! Your code is {code}. Pickups in Yaba: "), done
    texted = select(outbox_t.c.template, outbox_t.c.body).where(outbox_t.c.to_phone == STRANGER)
    assert rows_of(hub, texted) == [("welcome", body(done))]
    assert [row.command for row in session_rows(hub, dial)] == ["Join"]
    assert dial.again() == done
    assert len(members_with(hub, STRANGER)) == 1 and len(rows_of(hub, texted)) == 1
    # A member now, with no pickup yet to rate.
    assert Dial(hub.app, STRANGER).open() == "CON " + HOME.format(points=0)
    rate = dialled(hub, STRANGER, "7").screens[-1]
    assert rate == "END No pickup to rate yet. Kolekt will text you a receipt at each pickup."


def test_a_suspended_household_is_told_so_and_nothing_else(hub: Hub) -> None:
    hub.read(lambda s: set_household_status(s, member(hub, ADA).id, "suspended", "test"))
    before = snapshot(hub.runtime.engine)
    dial = Dial(hub.app, ADA)
    assert dial.open() == "END " + en("account_suspended")
    assert dial.send("4") == "END " + en("account_suspended")
    assert snapshot(hub.runtime.engine) == before


def test_a_partner_shop_is_told_ussd_is_for_households_and_collectors(hub: Hub) -> None:
    said = "END Kolekt USSD is for households and collectors. Text HELP for your commands."
    assert Dial(hub.app, SHOP).open() == said


# --- back, top, and wrong answers -----------------------------------------------------------------


def test_back_and_top_return_to_the_screens_before(hub: Hub) -> None:
    save_account(hub, ADA)
    dial = Dial(hub.app, ADA)
    home = dial.open()
    assert dial.send("0") == home  # back on the menu: the menu
    rewards, airtime = dial.send("4"), dial.send("1")
    dial.send("60")
    assert (dial.send("0"), dial.send("0")) == (airtime, rewards)
    assert dial.send("1", "70") == "CON 70 x Airtime for 70 pts. You have 210.\n1 Yes, redeem\n0 Back"
    assert dial.send("00") == home
    more = dial.send("9")
    assert more == "CON " + MORE
    dial.send("1")
    assert (dial.send("0"), dial.send("0")) == (more, home)
    bank = dial.send("8")
    dial.send("GTB")
    assert (dial.send("0"), dial.send("00")) == (bank, home)
    cash = dial.send("5")
    dial.send("150")
    assert (dial.send("0"), dial.send("00")) == (cash, home)
    dial.send("7")
    assert dial.send("0") == home
    # What the session does at its end is what its last screens gathered.
    dial.send("4", "1", "80", "1")
    assert [(code, units) for code, units, _, _ in redemptions(hub)] == [("AIRTIME", 80)]
    stranger = Dial(hub.app, STRANGER)
    welcome = stranger.open()
    name = stranger.send("1")
    stranger.send("Bola Ade")
    assert (stranger.send("0"), stranger.send("0")) == (name, welcome)
    assert members_with(hub, STRANGER) == []


def wrong_cases() -> list[tuple[str, list[str], list[tuple[str, str]]]]:
    """(who dials, the answers to the screen, [(a wrong answer, the line that says so)])."""
    choice, number = WRONG_CHOICE, "Type a whole number."
    name = en("missing_name", command="JOIN")
    bad_number = en("bank_bad_number")
    return [
        (ADA, [], [("x", choice), ("10", choice), ("a" * 81, "Too long: at most 80 letters.")]),
        (ADA, ["9", "00"], [("", choice)]),  # the menu again, and an empty answer
        (ADA, ["9"], [("x", choice), ("7", choice), ("", choice)]),
        (ADA, ["9", "1"], [("x", choice), ("6", choice), ("", choice)]),
        (ADA, ["4"], [("x", choice), ("4", choice), ("", choice)]),
        (
            ADA,
            ["4", "1"],
            [
                ("abc", number),
                ("", number),
                ("1.5", number),
                ("10", en("below_minimum", reward="Airtime", min=50, item="AIRTIME")),
                ("6000", en("above_maximum", reward="Airtime", max=5000)),
            ],
        ),
        (ADA, ["4", "2"], [("6", en("above_maximum", reward="Rice 1kg", max=5)), ("x", number)]),
        (ADA, ["4", "1", "60"], [("2", choice), ("x", choice), ("", choice)]),
        (
            ADA,
            ["5"],
            [
                ("abc", number),
                ("", number),
                ("50", en("cash_min", min="100")),
                ("30000", en("cash_max", max="20,000")),
            ],
        ),
        (ADA, ["5", "150"], [("2", choice), ("", choice)]),
        (
            ADA,
            ["6"],
            [
                ("zz", en("bad_ref", ref="ZZ")),
                ("", en("bad_ref", ref="")),
                ("AB-CD", en("bad_ref", ref="AB-CD")),
            ],
        ),
        (ADA, ["7"], [(answer, en("bad_rating", ref="{ref}")) for answer in ("6", "x", "")]),
        (ADA, ["8"], [("XYZ", en("bank_unknown", word="XYZ")), ("", en("bank_unknown", word=""))]),
        (ADA, ["8", "GTB"], [("123", bad_number), ("", bad_number), ("abcdefghij", bad_number)]),
        (STRANGER, [], [("4", choice), ("x", choice), ("", choice)]),
        (STRANGER, ["1"], [("A", name), ("", name), ("12", name)]),
        (STRANGER, ["1", "Bola"], [("3", choice), ("x", choice), ("", choice)]),
    ]


def test_a_wrong_answer_is_said_above_the_same_screen_and_changes_nothing(hub: Hub) -> None:
    save_account(hub, ADA)
    ((latest, _, _),) = latest_pickups(hub, ADA)
    before = snapshot(hub.runtime.engine)
    for who, way, wrongs in wrong_cases():
        dial = dialled(hub, who, *way)
        screen = dial.screens[-1]
        for answer, error in wrongs:
            refused(dial, answer, error.replace("{ref}", latest), screen)
    assert snapshot(hub.runtime.engine) == before


def test_a_digit_int_cannot_read_is_a_wrong_choice(hub: Hub) -> None:
    refused(dialled(hub, ADA), "\u00b2", WRONG_CHOICE)


# --- every screen in every language ---------------------------------------------------------------


@pytest.mark.parametrize("language", sms.LANGUAGES)
def test_every_household_screen_in_the_phones_language(
    make_app: Callable[..., Flask], redis: Redis, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    """A programme name of the longest width a screen allows (12) and seven-digit points: the menu
    with a wrong answer does not fit, so the "try again" line shows too."""
    hub = demo(make_app, programme_name="Kolekt Lagos")
    credit(hub, ADA, 1_000_000)
    save_account(hub, ADA)
    for phone in (ADA, STRANGER, SHOP):
        set_language(hub, phone, language)
    renders = Renders(monkeypatch)
    dials: list[Dial] = []

    def dial(phone: str, *answers: str) -> Dial:
        dials.append(dialled(hub, phone, *answers))
        return dials[-1]

    dial(ADA, "x", "a" * 81, "4", "1", "abc", "0", "2", "1", "0", "0", "0", "4", "1", "50", "1")
    dial(ADA, "5", "100", "0", "00", "6", "0", "7", "0", "8", "GTB", "00", "9", "1", "0", "2")
    dial(ADA, "9", "3")
    open_vote(hub)
    dial(ADA, "9", "6", "1")
    dial(ADA, "9", "1", str(sms.LANGUAGES.index(language) + 1))
    done = dial(ADA, "2")
    forget_sessions(hub)
    done.again()
    with monkeypatch.context() as failing:

        def down(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the database is down")

        failing.setattr(engine, "insert_ignoring_conflict", down)
        dial(ADA, "1")
    dial(STRANGER, "1", "Bola Ade", "2")
    dial(STRANGER, "7")
    dial(SHOP)
    hub.read(lambda s: s.execute(update(rewards_t).values(stock=0)))
    dial(ADA, "4")

    screens = [screen for made in dials for screen in made.screens]
    assert renders.check(screens, language) == HOUSEHOLD_SCREENS
