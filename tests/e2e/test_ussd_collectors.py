"""A collector's USSD menu end to end: Musa (Yaba) dials the demo programme through Africa's
Talking's callback (tests/ussd_helpers.py ``Dial``), logs pickups material by material, reads
today's totals and the route a page at a time, and registers a household at its door; each
wrong answer is said above the same screen and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.models import collection_lines_t, collections_t, households_t, outbox_t, pickup_requests_t
from service.usecases.households import register_household, set_household_status
from service.usecases.phones import ensure_phone
from service.usecases.roles import change_collector_status, collector_by_phone
from service.usecases.zones import zone_by_name
from sms import ussd
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub
from tests.ussd_helpers import (
    ADA,
    COLLECTOR_SCREENS,
    HOUSEHOLD_SCREENS,
    MUSA,
    NGOZI,
    TUNDE,
    Dial,
    Renders,
    body,
    demo,
    dialled,
    en,
    member,
    points_of,
    refused,
    rows_of,
    session_rows,
    set_language,
    sms_text,
)

HOME = "CON Kolekt collector\n1 Log a pickup\n2 Today\n3 Route\n4 Register household"
MATERIALS = "1 ALU\n2 GLASS\n3 HDPE\n4 PAPER\n5 PET\n6 SACHET"
NEW_PHONE = "+2348091113333"
# Long addresses: five stops take two screens of the route.
ADDRESSES = (
    "7 Very Long Street Name Close, Off Herbert Macaulay Way",
    "9 Another Long Street Name Road, Behind the Market",
    "11 Yet Another Long Crescent, Near the Old Bus Stop",
)


@pytest.fixture
def hub(make_app: Callable[..., Flask], redis: Redis) -> Hub:
    return demo(make_app)


def collections(hub: Hub) -> list[tuple[object, ...]]:
    """(member code, channel, grams, points, inbound id) of every pickup not the demo's."""
    columns = (
        households_t.c.member_code,
        collections_t.c.channel,
        collections_t.c.grams,
        collections_t.c.points,
    )
    found = (
        select(*columns, collections_t.c.inbound_id)
        .join(households_t)
        .where(collections_t.c.channel != "demo")
    )
    return [tuple(row) for row in rows_of(hub, found.order_by(collections_t.c.id))]


def texts(hub: Hub, phone: str) -> list[tuple[str, str]]:
    found = select(outbox_t.c.template, outbox_t.c.body).where(outbox_t.c.to_phone == phone)
    return [tuple(row) for row in rows_of(hub, found.order_by(outbox_t.c.id))]


def next_day(hub: Hub) -> str:
    """The next collection day asked for, as a screen writes it: "Fri 4 Dec"."""
    (day,) = set(rows_of(hub, select(pickup_requests_t.c.collection_date)))
    return f"{day:%a} {day.day} {day:%b}"


def five_stops(hub: Hub) -> list[str]:
    """Ada, Tunde and three neighbours with long addresses ask for a pickup (by USSD); their codes."""

    def add(session: Session) -> None:
        now = datetime.now(UTC)
        yaba = zone_by_name(session, "Yaba")
        assert yaba is not None
        for number, address in enumerate(ADDRESSES):
            phone = f"+23480911100{number:02d}"
            ensure_phone(session, phone, now)
            register_household(session, phone, f"Neighbour {number}", address, "demo", now, zone_id=yaba.id)

    hub.read(add)
    phones = [ADA, TUNDE, *(f"+23480911100{number:02d}" for number in range(len(ADDRESSES)))]
    for phone in phones:
        assert dialled(hub, phone, "2").screens[-1].startswith("END OK, pickup asked for ")
    return [member(hub, phone).member_code for phone in phones]


# --- logging a pickup -----------------------------------------------------------------------------


def test_a_pickup_of_two_materials_is_logged_once_and_the_household_credited_once(hub: Hub) -> None:
    dial = Dial(hub.app, MUSA)
    assert dial.open() == HOME
    assert dial.send("1") == "CON Member code or phone:\n0 Back"
    assert dial.send("K0001E") == f"CON K0001E\n{MATERIALS}\n0 Back"
    assert dial.send("5") == "CON PET for K0001E: kg, e.g. 4.5\n0 Back"
    assert dial.send("4.5") == "CON K0001E: PET 4.5kg = 45 pts\n1 Confirm\n2 Add material\n0 Back"
    assert dial.send("2") == f"CON K0001E PET 4.5kg\n{MATERIALS}\n9 Done\n0 Back"
    assert dial.send("1") == "CON ALU for K0001E: kg, e.g. 4.5\n0 Back"
    summary = "CON K0001E: PET 4.5kg ALU 1.2kg = 81 pts\n1 Confirm\n2 Add material\n0 Back"
    assert dial.send("1,2") == summary
    assert dial.send("2", "9") == summary  # back to the materials, and Done
    done = dial.send("1")
    (row,) = session_rows(hub, dial)
    assert (row.sender, row.body, row.command) == (MUSA, "LOG K0001E PET 4.5kg ALU 1.2kg", "Log")
    assert collections(hub) == [("K0001E", "ussd", 5700, 81, row.id)]
    ((ref, collection_id),) = rows_of(
        hub, select(collections_t.c.reference, collections_t.c.id).where(collections_t.c.channel == "ussd")
    )
    assert done == f"END OK {ref}: K0001E PET 4.5kg ALU 1.2kg = 81 pts."
    lines = select(collection_lines_t.c.material_code, collection_lines_t.c.grams).where(
        collection_lines_t.c.collection_id == collection_id
    )
    assert sorted(rows_of(hub, lines)) == [("ALU", 1200), ("PET", 4500)]
    assert points_of(hub, ADA) == 210 + 81
    ((template, receipt),) = texts(hub, ADA)
    assert template == "receipt" and receipt.startswith("Kolekt: +81 pts from Musa") and receipt.endswith(ref)
    assert texts(hub, MUSA) == []  # the screen was his answer
    assert dial.again() == done
    # The same pickup texted as a LOG a moment later is the same one.
    (duplicate,) = sms_text(hub, MUSA, "LOG K0001E PET 4.5 ALU 1.2")
    assert duplicate.startswith(f"Already logged as {ref} on "), duplicate
    assert collections(hub) == [("K0001E", "ussd", 5700, 81, row.id)] and points_of(hub, ADA) == 291
    assert len(texts(hub, ADA)) == 1
    today = dialled(hub, MUSA, "2").screens[-1]
    assert today == "END " + en("today", count=1, kg="5.7", points=81, commission=15)


def test_a_household_is_found_by_its_phone(hub: Hub) -> None:
    dial = dialled(hub, MUSA, "1", "0805 234 5678")
    assert dial.screens[-1] == f"CON K0002J\n{MATERIALS}\n0 Back"
    assert dial.send("6", "2") == "CON K0002J: SACHET 2kg = 16 pts\n1 Confirm\n2 Add material\n0 Back"
    assert dial.send("1").startswith("END OK ")
    (row,) = session_rows(hub, dial)
    assert collections(hub) == [("K0002J", "ussd", 2000, 16, row.id)]


def test_a_member_the_collector_may_not_log_for_is_refused(hub: Hub) -> None:
    hub.read(lambda s: set_household_status(s, member(hub, TUNDE).id, "suspended", "test"))
    ngozi = member(hub, NGOZI).member_code
    dial = dialled(hub, MUSA, "1")
    screen = dial.screens[-1]
    before = snapshot(hub.runtime.engine)
    for answer, error in (
        ("K0001A", "No member K0001A. Check the code."),
        (ngozi, en("not_your_household", code=ngozi)),
        ("08063456789", en("not_your_household", code=ngozi)),
        ("08099999999", en("unknown_member_phone", phone="+2348099999999")),
        ("K0002J", "Member K0002J is suspended. Nothing was logged. Call the hub."),
        ("xyz", en("bad_member_code", code="xyz")),
        ("", en("bad_member_code", code="")),
    ):
        refused(dial, answer, error, screen)
    assert snapshot(hub.runtime.engine) == before


def test_a_weight_log_would_refuse_is_refused(hub: Hub) -> None:
    dial = dialled(hub, MUSA, "1", "K0001E", "5")
    screen = dial.screens[-1]
    before = snapshot(hub.runtime.engine)
    for answer, error in (
        ("abc", "Type the kg, e.g. 4.5"),
        ("", "Type the kg, e.g. 4.5"),
        ("4.12345", "Weight 4.12345: use at most 3 decimals, e.g. 4.5"),
        ("9999", "9999 is over 200 kg for one line. Check the weight."),
        ("200.5", "200.5 is over 200 kg for one line. Check the weight."),
        ("0.0", "Weight 0.0 is not valid. Send kg, e.g. 4.5"),
    ):
        refused(dial, answer, error, screen)
    assert snapshot(hub.runtime.engine) == before
    assert dial.send("200") == "CON K0001E: PET 200kg = 2000 pts\n1 Confirm\n2 Add material\n0 Back"


def test_the_kg_screen_takes_a_weight_not_more_materials(hub: Hub) -> None:
    dial = dialled(hub, MUSA, "1", "K0001E", "5")
    shown = dial.send("4.5 ALU 2")
    assert shown.startswith("CON ") and body(shown).endswith("\nPET for K0001E: kg, e.g. 4.5\n0 Back"), shown


def test_the_same_material_twice_stays_within_the_limit_of_one_line(hub: Hub) -> None:
    dial = dialled(hub, MUSA, "1", "K0001E", "5", "150", "2", "5")
    shown = dial.send("154.5")
    assert shown.startswith("CON ") and body(shown).endswith("\nPET for K0001E: kg, e.g. 4.5\n0 Back"), shown
    dial.send("1")
    assert collections(hub) == []


# --- today, the route -----------------------------------------------------------------------------


def test_today_with_nothing_logged_yet(hub: Hub) -> None:
    dial = dialled(hub, MUSA, "2")
    assert dial.screens[-1] == "END " + en("today", count=0, kg="0", points=0, commission=0)
    assert [row.command for row in session_rows(hub, dial)] == ["Today"]


def test_an_empty_route_says_so(hub: Hub) -> None:
    dialled(hub, ADA, "3")  # a SKIP is no stop
    assert dialled(hub, MUSA, "3").screens[-1] == f"END No pickup requests yet for {next_day(hub)} in Yaba."


def test_the_route_pages_with_9_and_goes_back_with_0(hub: Hub) -> None:
    codes = five_stops(hub)
    day = next_day(hub)
    before = snapshot(hub.runtime.engine)
    dial = dialled(hub, MUSA, "3")
    pages = [dial.screens[-1]]
    assert pages[0].startswith(f"CON Route {day} 1/3: K0001E 12 Adeniyi St, Yaba; K0002J 4 Herbert ")
    while pages[-1].endswith("\n9 Next\n0 Back"):
        pages.append(dial.send("9"))
    assert [page.split(":")[0] for page in pages] == [f"CON Route {day} {n}/3" for n in (1, 2, 3)]
    assert pages[-1].endswith("\n0 Back") and "9 Next" not in pages[-1]
    assert all("".join(pages).count(code) == 1 for code in codes), pages
    assert (dial.send("0"), dial.send("0"), dial.send("0")) == (pages[1], pages[0], HOME)
    assert snapshot(hub.runtime.engine) == before


def test_9_on_the_last_page_of_the_route_is_a_wrong_choice(hub: Hub) -> None:
    five_stops(hub)
    dial = dialled(hub, MUSA, "3", "9", "9")
    assert "9 Next" not in dial.screens[-1]
    refused(dial, "9", "Choose one of the numbers.")


# --- registering ----------------------------------------------------------------------------------


def test_a_household_is_registered_at_its_door(hub: Hub) -> None:
    dial = dialled(hub, MUSA, "4")
    assert dial.screens[-1] == "CON The new household's phone:\n0 Back"
    refused(dial, "12", "Phone number 12 is not valid, e.g. NEW 08031234567 Ada Okafor")
    assert dial.send("0809 111 3333") == f"CON Name for {NEW_PHONE}:\n0 Back"
    confirm = f"CON Register Chi Obi, {NEW_PHONE}? We will text them a welcome.\n1 Yes\n0 Back"
    assert dial.send("Chi  Obi") == confirm
    done = dial.send("1")
    columns = (households_t.c.name, households_t.c.member_code, households_t.c.joined_via)
    ((name, code, via),) = rows_of(hub, select(*columns).where(households_t.c.phone == NEW_PHONE))
    assert (name, via) == (
        "Chi Obi",
        "collector",
    ) and done == f"END OK: Chi is {code}. We texted them a welcome."
    ((template, _),) = texts(hub, NEW_PHONE)
    assert template == "welcome"
    assert [row.body for row in session_rows(hub, dial)] == [f"NEW {NEW_PHONE} Chi Obi"]
    assert dial.again() == done and len(texts(hub, NEW_PHONE)) == 1


def test_a_suspended_collector_is_told_so(hub: Hub) -> None:
    musa = hub.read(lambda s: collector_by_phone(s, MUSA))
    hub.read(lambda s: change_collector_status(s, musa.id, "suspended", "test"))
    assert Dial(hub.app, MUSA).open() == "END " + en("collector_suspended")


# --- back, top and wrong answers on every screen --------------------------------------------------


def test_back_and_top_return_to_the_screens_before(hub: Hub) -> None:
    dial = Dial(hub.app, MUSA)
    assert dial.open() == HOME and dial.send("0") == HOME
    finding, materials, kg = dial.send("1"), dial.send("K0001E"), dial.send("5")
    dial.send("4.5")
    assert (dial.send("0"), dial.send("0"), dial.send("0")) == (kg, materials, finding)
    dial.send("K0001E", "3", "2")
    assert dial.send("00") == HOME
    phone = dial.send("4")
    dial.send("08091113333")
    assert (dial.send("0"), dial.send("00")) == (phone, HOME)
    # What the session does at its end is what its last screens gathered.
    assert dial.send("1", "K0001E", "4", "3", "1").startswith("END OK ")
    assert collections(hub) == [("K0001E", "ussd", 3000, 12, session_rows(hub, dial)[0].id)]


def test_a_wrong_answer_is_said_above_the_same_screen_and_changes_nothing(hub: Hub) -> None:
    choice = "Choose one of the numbers."
    before = snapshot(hub.runtime.engine)
    for way, wrongs in (
        ([], [("5", choice), ("x", choice), ("a" * 81, "Too long: at most 80 letters.")]),
        (["1", "00"], [("", choice)]),
        (["1", "K0001E"], [("7", choice), ("x", choice), ("", choice), ("9", "Add a material first.")]),
        (["1", "K0001E", "5", "4.5"], [("3", choice), ("", choice), ("x", choice)]),
        (["1", "K0001E", "5", "4.5", "2"], [("8", choice), ("", choice)]),
        (["4"], [("", en("bad_phone", phone="")), ("abc", en("bad_phone", phone="abc"))]),
        (["4", "08091113333"], [(answer, en("missing_name", command="NEW")) for answer in ("A", "", "12")]),
        (["4", "08091113333", "Chi Obi"], [("2", choice), ("", choice), ("x", choice)]),
    ):
        dial = dialled(hub, MUSA, *way)
        screen = dial.screens[-1]
        for answer, error in wrongs:
            refused(dial, answer, error, screen)
    assert snapshot(hub.runtime.engine) == before


def test_wrong_answers_on_the_route(hub: Hub) -> None:
    five_stops(hub)
    before = snapshot(hub.runtime.engine)
    dial = dialled(hub, MUSA, "3")
    screen = dial.screens[-1]
    for answer in ("5", "x", ""):
        refused(dial, answer, "Choose one of the numbers.", screen)
    assert snapshot(hub.runtime.engine) == before


# --- every screen in every language ---------------------------------------------------------------


def test_the_two_menus_together_show_every_screen() -> None:
    assert set(ussd.SCREENS) == HOUSEHOLD_SCREENS | COLLECTOR_SCREENS


@pytest.mark.parametrize("language", sms.LANGUAGES)
def test_every_collector_screen_in_the_phones_language(
    make_app: Callable[..., Flask], redis: Redis, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    hub = demo(make_app, programme_name="Kolekt Lagos")
    five_stops(hub)
    set_language(hub, MUSA, language)
    renders = Renders(monkeypatch)
    dials = [
        dialled(hub, MUSA, "x", "a" * 81, "1", "K0001E", "9", "5", "abc", "4.5", "2", "00", "4"),
        dialled(hub, MUSA, "3", "9", "9"),  # the route's three pages
        dialled(hub, MUSA, "4", "08091113333", "Chi Obi", "1"),
        dialled(hub, MUSA, "1", "K0001E", "5", "4.5", "1"),
    ]
    screens = [screen for dial in dials for screen in dial.screens]
    assert renders.check(screens, language) == COLLECTOR_SCREENS
