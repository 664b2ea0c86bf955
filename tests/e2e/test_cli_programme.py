"""The operators' commands for the programme's reference data, run as an operator runs them:
``flask --app wsgi zones|materials|rates|collectors|members ...`` in a process of its own.

Every refusal must exit non-zero with a one-line reason and leave every table as it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

import ledger
from service.accounts import member_account
from service.db import make_session_factory, transaction
from service.models import collectors_t, households_t, outbox_t, suggestions_t
from service.settings import Settings
from service.usecases.catalogue import set_rate
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from tests.conftest import run_cli
from tests.e2e.conftest import columns, ok, snapshot

TUNDE = "+2348030000001"
ADA = "+2348031234567"
NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)


# --- the happy path of every command -------------------------------------------------------------------


def test_an_operator_sets_up_a_programme_from_the_command_line(settings: Settings, engine: Engine) -> None:
    assert ok(settings, "zones", "list") == ["no zones yet"]
    assert ok(settings, "zones", "add", "Yaba", "--days", "fri,tue", "--window", "8:00-12:00") == [
        "zone Yaba: Tue, Fri 8-12"
    ]
    assert ok(settings, "zones", "add", "Sabo", "--days", "sat", "--window", "07:30-11:15") == [
        "zone Sabo: Sat 7:30-11:15"
    ]
    listed = columns(ok(settings, "zones", "list"))
    # The next collection day depends on today: its weekday is what can be checked.
    assert [row[:3] for row in listed] == [
        ["zone", "days", "window"],
        ["Sabo", "sat", "07:30-11:15"],
        ["Yaba", "tue,fri", "08:00-12:00"],
    ]
    assert listed[1][3] == "18:00" and listed[2][3] == "18:00"  # the evening reminders
    assert listed[1][4].startswith("Sat ") and listed[2][4][:4] in {"Tue ", "Fri "}

    # materials and their words
    assert ok(
        settings, "materials", "add", "zinc", "--name", "Zinc", "--word", "zincs", "--word", "zinc can"
    ) == ["material ZINC: ZINC, ZINC CAN, ZINCS"]
    assert ok(settings, "materials", "words", "PET", "flask", "Flasks") == ["PET: added FLASK, FLASKS"]

    # rates: versions, the commission carried over when not given, a time with its own offset
    assert ok(settings, "rates", "set", "PET", "10", "--commission", "2", "--from", "2026-01-01") == [
        "PET: 10 pts/kg, commission 2/kg, from 2026-01-01 00:00"
    ]
    assert ok(settings, "rates", "set", "pet", "12", "--from", "2099-01-01") == [
        "PET: 12 pts/kg, commission 2/kg, from 2099-01-01 00:00"
    ]
    assert ok(settings, "rates", "set", "ZINC", "30", "--from", "2026-03-01T08:00:00+00:00") == [
        "ZINC: 30 pts/kg, commission 0/kg, from 2026-03-01 09:00"  # shown in Lagos time
    ]
    assert ok(settings, "rates", "set", "ALU", "25")[0].startswith("ALU: 25 pts/kg, commission 0/kg, from ")
    assert columns(ok(settings, "rates", "list", "--at", "2026-06-01")) == [
        ["material", "pts/kg", "commission/kg", "since"],
        ["PET", "10", "2", "2026-01-01 00:00"],
        ["ZINC", "30", "0", "2026-03-01 09:00"],
    ]
    assert [row[:3] for row in columns(ok(settings, "rates", "list"))] == [
        ["material", "pts/kg", "commission/kg"],
        ["ALU", "25", "0"],
        ["PET", "10", "2"],
        ["ZINC", "30", "0"],
    ]
    assert [row[:2] for row in columns(ok(settings, "rates", "list", "--at", "2099-01-01T00:00"))][2] == [
        "PET",
        "12",
    ]
    assert ok(settings, "rates", "list", "--at", "2025-12-31T23:59") == [
        "no rate in force at 2025-12-31 23:59"
    ]
    history = columns(ok(settings, "rates", "history", "PET"))
    assert [row[:3] for row in history] == [
        ["from", "pts/kg", "commission/kg"],
        ["2026-01-01 00:00", "10", "2"],
        ["2099-01-01 00:00", "12", "2"],
    ]
    assert history[1][-1] == "in force" and history[2][-1] == "planned"
    assert history[1][3].startswith("cli")
    materials = {row[0]: row[1:] for row in columns(ok(settings, "materials", "list"))}
    assert materials["PET"] == [
        "PET bottles",
        "10",
        "2",
        "PET, BOTTLE, BOTTLES, FLASK, FLASKS, IGO, KARAMA, KWALBA, PLASTIC, PLASTICS",
    ]
    assert materials["ZINC"] == ["Zinc", "30", "0", "ZINC, ZINC CAN, ZINCS"]
    assert materials["GLASS"] == ["Glass", "-", "-", "GLASS, GILAASI, GILASHI, IKO, JAR, JARS"]

    # collectors
    first = ok(settings, "collectors", "add", "--phone", "0803 000 0001", "--name", "Tunde", "--zone", "yaba")
    assert re.fullmatch(r"collector \d+: Tunde, \+2348030000001, zone Yaba", first[0])
    collector_ids = [first[0].split()[1].rstrip(":")]
    second = ok(
        settings,
        "collectors",
        "add",
        "--phone",
        "+2348030000002",
        "--name",
        "Kemi  Ade",
        "--zone",
        "Sabo",
        "--commission",
        "4",
    )
    assert re.fullmatch(r"collector \d+: Kemi Ade, \+2348030000002, zone Sabo, commission 4/kg", second[0])
    collector_ids.append(second[0].split()[1].rstrip(":"))
    listed_collectors = columns(ok(settings, "collectors", "list"))
    assert [row[0] for row in listed_collectors[1:]] == collector_ids
    assert [row[1:] for row in listed_collectors] == [
        ["name", "phone", "zone", "commission/kg", "status"],
        ["Tunde", TUNDE, "Yaba", "rates", "active"],
        ["Kemi Ade", "+2348030000002", "Sabo", "4", "active"],
    ]
    assert ok(settings, "collectors", "suspend", "--phone", "08030000001")[0].endswith(
        f"Tunde, {TUNDE}, suspended"
    )
    assert columns(ok(settings, "collectors", "list"))[1][-1] == "suspended"
    assert ok(settings, "collectors", "activate", "--phone", TUNDE)[0].endswith(f"Tunde, {TUNDE}, active")
    assert ok(settings, "collectors", "home", "--phone", TUNDE, "--address", " 7  Bode St ")[0].endswith(
        "Tunde, home: 7 Bode St"
    )
    assert ok(settings, "collectors", "home", "--phone", TUNDE, "--address", "")[0].endswith(
        "home: not known"
    )

    # members
    added = ok(
        settings,
        "members",
        "add",
        "--phone",
        "08031234567",
        "--name",
        " Ada  Okafor ",
        "--zone",
        "YABA",
        "--address",
        "12 Adeniyi St",
    )
    found = re.fullmatch(
        r"member (K\d+[A-Z]): Ada Okafor, \+2348031234567, zone Yaba; welcomed by text", added[0]
    )
    assert found is not None, added
    code = found.group(1)
    ok(settings, "members", "add", "--phone", "08052345678", "--name", "Bola", "--zone", "Sabo")
    members = columns(ok(settings, "members", "list"))
    assert [row[1:] for row in members] == [
        ["name", "phone", "zone", "status"],
        ["Ada Okafor", ADA, "Yaba", "active"],
        ["Bola", "+2348052345678", "Sabo", "active"],
    ]
    assert members[1][0] == code
    assert [row[1] for row in columns(ok(settings, "members", "list", "--zone", "sabo"))] == ["name", "Bola"]

    # what the commands wrote is what the rest of Kolekt reads
    with transaction(make_session_factory(engine)) as session:
        row = session.execute(select(households_t).where(households_t.c.member_code == code)).one()
        assert (row.phone, row.name, row.address, row.joined_via) == (
            ADA,
            "Ada Okafor",
            "12 Adeniyi St",
            "operator",
        )
        assert ledger.get_account(session, member_account(code)).no_overdraft
        welcomed = (
            session.execute(select(outbox_t.c.template).where(outbox_t.c.to_phone == ADA)).scalars().all()
        )
        assert welcomed == ["welcome"]  # told its member code, as at the door or from the dashboard
        collector_accounts = [ledger.get_account(session, f"collector:{n}").kind for n in collector_ids]
        statuses = session.execute(select(collectors_t.c.status).order_by(collectors_t.c.id)).scalars().all()
    assert collector_accounts == ["collector", "collector"]
    assert statuses == ["active", "active"]  # Tunde, suspended and activated again


# --- refusals ---------------------------------------------------------------------------------------


def a_programme(engine: Engine) -> None:
    """Yaba, its collector Tunde, its member Ada, and PET at 10 points from 2026 on."""
    with transaction(make_session_factory(engine)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", NEW_YEAR)
        add_collector(session, TUNDE, "Tunde", zone.id, NEW_YEAR)
        ensure_phone(session, ADA, NEW_YEAR)
        register_household(session, ADA, "Ada Okafor", None, "sms", NEW_YEAR, zone_id=zone.id)
        set_rate(session, "PET", 10, 2, datetime(2025, 12, 31, 23, 0, tzinfo=UTC), "test", NEW_YEAR)


NEW_PHONE = "08031112222"
ADD_ZONE = ("zones", "add", "Ikeja")
ADD_COLLECTOR = ("collectors", "add", "--name", "Kemi")
ADD_MEMBER = ("members", "add", "--name", "Bola")
SET_RATE = ("rates", "set", "PET")

# (arguments, the exit status: 2 for a value that is not a phone number at all, as `sms simulate`
# does, 1 for anything the programme refuses; what stderr says)
REFUSALS = [
    # zones
    (
        ("zones", "add", "yaba", "--days", "tue", "--window", "08:00-12:00"),
        1,
        "there is already a zone called yaba",
    ),
    ((*ADD_ZONE, "--days", "mon-fri", "--window", "08:00-12:00"), 1, "days must be weekdays like tue,fri"),
    ((*ADD_ZONE, "--days", "tue", "--window", "12:00-08:00"), 1, "the window must end after it starts"),
    ((*ADD_ZONE, "--days", "tue", "--window", "8-12"), 1, "the window must look like 08:00-12:00"),
    # collectors
    ((*ADD_COLLECTOR, "--phone", "abc", "--zone", "Yaba"), 2, "--phone 'abc' is not a phone number"),
    ((*ADD_COLLECTOR, "--phone", NEW_PHONE, "--zone", "Ikeja"), 1, "no zone called 'Ikeja'"),
    ((*ADD_COLLECTOR, "--phone", "08030000001", "--zone", "Yaba"), 1, f"{TUNDE} is already a collector"),
    ((*ADD_COLLECTOR, "--phone", ADA, "--zone", "Yaba"), 1, "is a member household's phone"),
    (
        (*ADD_COLLECTOR, "--phone", NEW_PHONE, "--zone", "Yaba", "--commission", "-1"),
        1,
        "commission per kg must be",
    ),
    ((*ADD_COLLECTOR, "--phone", NEW_PHONE, "--zone", "Yaba", "--commission", "1.5"), 1, "a whole number"),
    (("collectors", "suspend", "--phone", NEW_PHONE), 1, "no collector with phone +2348031112222"),
    (
        ("collectors", "home", "--phone", NEW_PHONE, "--address", "1 Road"),
        1,
        "no collector with phone +2348031112222",
    ),
    (("collectors", "home", "--phone", TUNDE, "--address", "x" * 161), 1, "161 characters; 160 at most"),
    # members
    ((*ADD_MEMBER, "--phone", "0803 123 4567", "--zone", "Yaba"), 1, f"{ADA} is already member K"),
    ((*ADD_MEMBER, "--phone", TUNDE, "--zone", "Yaba"), 1, f"{TUNDE} is a collector's phone"),
    ((*ADD_MEMBER, "--phone", NEW_PHONE, "--zone", "Ikeja"), 1, "no zone called 'Ikeja'"),
    ((*ADD_MEMBER, "--phone", "0803", "--zone", "Yaba"), 2, "--phone '0803' is not a phone number"),
    (("members", "add", "--name", "  ", "--phone", NEW_PHONE, "--zone", "Yaba"), 1, "needs a name"),
    (("members", "list", "--zone", "Ikeja"), 1, "no zone called 'Ikeja'"),
    # rates
    ((*SET_RATE, "-5"), 1, "points per kg must be a whole number from 0 to"),
    ((*SET_RATE, "1.5"), 1, "points per kg must be a whole number (not '1.5')"),
    ((*SET_RATE, "10", "--commission", "-1"), 1, "commission per kg must be a whole number from 0 to"),
    (("rates", "set", "NOPE", "10"), 1, "no material NOPE"),
    ((*SET_RATE, "10", "--from", "tomorrow"), 1, "--from 'tomorrow' is not a date"),
    ((*SET_RATE, "10", "--from", "2026-02-30"), 1, "--from '2026-02-30' is not a date"),
    ((*SET_RATE, "11", "--from", "2026-01-01"), 1, "PET already has a rate from"),
    (("rates", "list", "--at", "someday"), 1, "--at 'someday' is not a date"),
    (("rates", "history", "NOPE"), 1, "no material NOPE"),
    # materials
    (("materials", "add", "PET", "--name", "Bottles"), 1, "material PET exists already"),
    (
        ("materials", "add", "STEEL", "--name", "Steel", "--word", "steel can", "--word", "cans"),
        1,
        "CANS already means ALU",
    ),
    (("materials", "add", "STEEL", "--name", "Steel", "--word", "a b c"), 1, "a word is letters only"),
    (("materials", "words", "NOPE", "zinc"), 1, "no material NOPE"),
    (("materials", "words", "ALU", "zinc", "bottles"), 1, "BOTTLES already means PET"),
    (("materials", "impact", "NOPE", "--co2e-g-per-kg", "5"), 1, "no material NOPE"),
    (("materials", "impact", "HDPE", "--items-per-kg", "4"), 1, "give both the items a kg and what an item"),
    (("materials", "impact", "PET", "--co2e-g-per-kg", "0"), 1, "grams of CO2e a kg must be between 1"),
    (
        ("materials", "impact", "PET", "--items-per-kg", "100001"),
        1,
        "items a kg must be between 1 and 100,000",
    ),
    (("materials", "impact", "PET", "--unit", "box"), 1, "an item is one of bottle, can, sachet, not 'box'"),
    # suggestions
    (("suggestions", "topic", "rice", "999"), 1, "no suggestion 999"),
    (("suggestions", "topic", "x" * 41, "1"), 1, "a topic is 1 to 40 characters"),
    # votes
    (("votes", "open", "Next reward?", "Rice"), 1, "a vote has 2 or 3 options, not 1"),
    (("votes", "open", "Next reward?", "Rice", "Soap", "--days", "90"), 1, "from 1 to 60 days, not 90"),
    (("votes", "close"), 1, "no vote is open"),
    # scales
    (("scales", "add", "HUB 1", "--name", "Platform"), 1, "up to 20 letters, digits or dashes"),
    (
        ("scales", "calibrate", "HUB-9", "--on", "2026-11-01", "--by", "W&M", "--certificate", "C1"),
        1,
        "no scale",
    ),
    (
        ("scales", "calibrate", "HUB-9", "--on", "soon", "--by", "W&M", "--certificate", "C1"),
        2,
        "--on must be a day",
    ),
]


def test_the_impact_factors_are_listed_and_set_keeping_what_is_not_given(settings: Settings) -> None:
    listed = columns(ok(settings, "materials", "impact"))
    assert listed[0] == ["code", "items/kg", "item", "CO2e g/kg"]
    assert ["PET", "50", "bottle", "1150"] in listed and ["HDPE", "-", "-", "880"] in listed
    assert columns(ok(settings, "materials", "impact", "pet", "--co2e-g-per-kg", "1200"))[1:] == [
        ["PET", "50", "bottle", "1200"]
    ]
    assert columns(ok(settings, "materials", "impact", "HDPE", "--items-per-kg", "4", "--unit", "bottle"))[
        1:
    ] == [["HDPE", "4", "bottle", "880"]]
    assert columns(ok(settings, "materials", "impact", "SACHET", "--unit", "none"))[1:] == [
        ["SACHET", "-", "-", "1030"]
    ]


def test_the_hub_reads_the_suggestions_and_groups_them(settings: Settings, engine: Engine) -> None:
    a_programme(engine)
    assert ok(settings, "suggestions", "list") == ["no suggestions yet"]
    with transaction(make_session_factory(engine)) as session:
        ada = session.execute(select(households_t.c.id).where(households_t.c.phone == ADA)).scalar_one()
        for minute, idea in enumerate(("Rice please", "school books")):
            session.execute(
                suggestions_t.insert(),
                {"household_id": ada, "text": idea, "created_at": NEW_YEAR + timedelta(minutes=minute)},
            )
    listed = columns(ok(settings, "suggestions", "list"))
    assert [row[0] for row in listed] == ["id", "2", "1"] and listed[1][-1] == "school books"
    assert listed[2][2:] == ["K0001E", "Yaba", "-", "Rice please"]
    assert ok(settings, "suggestions", "topic", "Rice", "1") == ["1 idea under 'rice' (1 in all)"]
    assert columns(ok(settings, "suggestions", "topics")) == [["topic", "ideas"], ["rice", "1"]]
    assert [row[0] for row in columns(ok(settings, "suggestions", "list", "--new"))] == ["id", "2"]
    assert [row[0] for row in columns(ok(settings, "suggestions", "list", "--topic", "rice"))] == ["id", "1"]


def test_every_refusal_exits_non_zero_says_why_and_changes_nothing(
    settings: Settings, engine: Engine, subtests: pytest.Subtests
) -> None:
    a_programme(engine)
    before = snapshot(engine)
    for arguments, status, reason in REFUSALS:
        with subtests.test(command=" ".join(arguments)):
            result = run_cli(settings, *arguments)
            assert (result.returncode, result.stdout) == (status, "")
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
            assert reason in result.stderr
            assert snapshot(engine) == before


def test_the_commands_on_a_database_without_the_schema_say_to_upgrade(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    empty = make_settings(f"sqlite:///{tmp_path / 'empty.db'}")
    for arguments in (("zones", "list"), ("rates", "set", "PET", "10")):
        result = run_cli(empty, *arguments)
        assert result.returncode == 1
        assert result.stderr == (
            "Error: the database is not ready (OperationalError); run: flask --app wsgi db upgrade\n"
        )


def test_the_hub_opens_a_vote_lists_it_and_closes_it(settings: Settings) -> None:
    assert ok(settings, "votes", "list") == ["no votes yet"]
    opened = ok(settings, "votes", "open", "Next reward?", "Rice", "Soap", "Data 1GB", "--days", "3")
    assert opened[0].startswith("vote 1 open until the end of ") and opened[0].endswith(
        ": Next reward? 1 Rice, 2 Soap, 3 Data 1GB"
    )
    assert opened[2].startswith(
        "  Kolekt vote: Next reward? 1 Rice, 2 Soap, 3 Data 1GB. Text VOTE and a number by"
    )
    refused = run_cli(settings, "votes", "open", "Another?", "Beans", "Garri")
    assert refused.returncode == 1 and "vote 1 is open until" in refused.stderr + refused.stdout
    listed = columns(ok(settings, "votes", "list"))
    assert listed[0] == ["id", "status", "opened", "last day", "question", "votes"]
    assert listed[1][:2] == ["1", "open"] and listed[1][-2:] == ["Next reward?", "Rice 0, Soap 0, Data 1GB 0"]
    assert ok(settings, "votes", "close") == ["vote 1 closed: Rice 0, Soap 0, Data 1GB 0"]
    assert columns(ok(settings, "votes", "list"))[1][:2] == ["1", "closed"]


def test_the_hub_sees_what_the_next_expiry_takes(settings: Settings) -> None:
    assert ok(settings, "ledger", "expiring") == ["points do not expire (POINTS_EXPIRE_MONTHS is 0)"]
    told = ok(settings.with_changes(points_expire_months=120), "ledger", "expiring")
    assert re.fullmatch(
        r"\d{4}-\d{2}-01: 0 points of 0 households expire unless spent "
        r"\(earned before \d{4}-\d{2}-01; 120 months\)",
        told[0],
    ), told
    assert told[1] == "warned 30 days before: 0, warned 7 days before: 0"


def test_the_hub_keeps_its_scales_and_their_calibrations(settings: Settings) -> None:
    assert ok(settings, "scales", "list") == ["no scales yet"]
    assert ok(settings, "scales", "add", "hub-1", "--name", "Platform 300kg", "--location", "Yaba hub") == [
        "scale HUB-1 added: Platform 300kg; record its calibration with scales calibrate"
    ]
    listed = columns(ok(settings, "scales", "list"))
    assert listed == [
        ["code", "name", "location", "calibrated", "until", "holds", "certificate"],
        ["HUB-1", "Platform 300kg", "Yaba hub", "never", "-", "NO", "-"],
    ]
    day = datetime.now(UTC).date() - timedelta(days=2)
    done = ok(settings, "scales", "calibrate", "HUB-1", "--on", day.isoformat(), "--by", "Lagos W&M",
              "--certificate", "LWM-2026-9", "--valid-days", "30")  # fmt: skip
    until = (day + timedelta(days=29)).isoformat()
    assert done == [f"scale HUB-1 calibrated on {day.isoformat()}, holds until {until}"]
    assert columns(ok(settings, "scales", "list"))[1] == [
        "HUB-1", "Platform 300kg", "Yaba hub", day.isoformat(), until, "yes", "LWM-2026-9"
    ]  # fmt: skip


def test_the_hub_reads_the_signals_and_their_thresholds(settings: Settings) -> None:
    assert ok(settings, "signals", "recent") == ["no signals in the last 7 days"]
    assert columns(ok(settings, "signals", "thresholds")) == [
        ["signal", "measure", "threshold", "from"],
        ["heavy", "a pickup's kg / the household's usual", "4.0", "starting point"],
        ["big_day", "a collector's day / the usual collector's day", "2.5", "starting point"],
        ["too_fast", "seconds between two households", "60.0", "starting point"],
        ["usual_day", "the median collector's day, kg", "-", "last 28 days"],
    ]
