"""The operators' commands for reminders and collection days, run as an operator runs them:
``flask --app wsgi reminders preview|run`` and ``zones remind|change|changes``, each in a
process of its own. Every refusal exits non-zero with a one-line reason and changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

import sms
from service.db import make_session_factory, transaction
from service.models import Phone, PickupRequest
from service.settings import Settings
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.zones import add_zone
from tests.conftest import run_cli
from tests.e2e.conftest import columns, ok, snapshot

LAGOS = ZoneInfo("Africa/Lagos")


def weekday_ahead(weekday: int, at_least: int = 2) -> date:
    """The first ``weekday`` (Monday 0) at least ``at_least`` days after today in Lagos."""
    day = datetime.now(LAGOS).date() + timedelta(days=at_least)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


TUESDAY = weekday_ahead(1)
FRIDAY = weekday_ahead(4, (TUESDAY - datetime.now(LAGOS).date()).days + 1)
WEDNESDAY = TUESDAY + timedelta(days=1)


def a_street(engine: Engine) -> None:
    """Yaba (Tue, Fri 08:00-12:00) and three households: one texts SKIP for Tuesday, one in Pidgin."""
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as session:
        yaba = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        for number, name in ((1, "Ada Okafor"), (2, "Tunde Bakare"), (3, "Ngozi Eze")):
            ensure_phone(session, f"+234803100000{number}", now)
            register_household(session, f"+234803100000{number}", name, None, "test", now, zone_id=yaba.id)
        session.get(Phone, "+2348031000002").language = "PCM"  # type: ignore[union-attr]
        session.add(
            PickupRequest(
                household_id=3, collection_date=TUESDAY, zone_id=yaba.id, kind="skip", created_at=now
            )
        )


def test_an_operator_previews_and_runs_a_days_reminders(settings: Settings, engine: Engine) -> None:
    a_street(engine)
    assert ok(settings, "zones", "remind", "Yaba", "--evening", "17:30", "--morning", "6:45") == [
        "zone Yaba: reminders 17:30 the day before, 06:45 on the day"
    ]
    shown = ok(settings, "reminders", "preview", "--date", TUESDAY.isoformat())
    assert shown[0] == f"Yaba {TUESDAY:%a %Y-%m-%d} (eve): SKIP: 1, gets it: 2"
    label = f"{TUESDAY:%a} {TUESDAY.day} {TUESDAY:%b}"
    assert shown[1] == (
        f"  [EN] Kolekt: Yaba collection is {label}, 08:00-12:00. Put your bags out. "
        "Text PICKUP to be on the route or SKIP to miss it."
    )
    # In Pidgin, its day in Pidgin too.
    assert shown[2].startswith(f"  [PCM] Kolekt: Yaba collection na {sms.Day(TUESDAY).say('PCM')},")
    assert columns(shown[3:]) == [
        ["member", "phone", "lang", "gets"],
        ["K0001E", "+2348031000001", "EN", "gets it"],
        ["K0002J", "+2348031000002", "PCM", "gets it"],
        ["K0003N", "+2348031000003", "EN", "SKIP"],
    ]
    before = snapshot(engine)
    assert ok(settings, "reminders", "preview", "--date", TUESDAY.isoformat(), "--kind", "morning")
    assert snapshot(engine) == before  # a preview changes nothing

    assert ok(settings, "reminders", "run", "--date", TUESDAY.isoformat()) == [
        f"Yaba {TUESDAY:%a %Y-%m-%d} (eve): 2 reminders written and queued"
    ]
    assert ok(settings, "reminders", "run", "--date", TUESDAY.isoformat(), "--zone", "yaba") == [
        f"Yaba {TUESDAY:%a %Y-%m-%d} (eve): 0 reminders written and queued"
    ]
    shown = ok(settings, "reminders", "preview", "--date", TUESDAY.isoformat())
    assert shown[0] == f"Yaba {TUESDAY:%a %Y-%m-%d} (eve): SKIP: 1, has it already: 2"


def test_an_operator_moves_a_day_and_households_are_told(settings: Settings, engine: Engine) -> None:
    a_street(engine)
    thursday = FRIDAY - timedelta(days=1)
    assert ok(
        settings,
        "zones",
        "change",
        "Yaba",
        "--date",
        FRIDAY.isoformat(),
        "--move-to",
        (FRIDAY - timedelta(days=1)).isoformat(),
        "--reason",
        "Public holiday",
    ) == [f"Yaba {FRIDAY:%a %Y-%m-%d} moved to {thursday:%a %Y-%m-%d}; households are texted by the worker"]
    assert ok(settings, "zones", "change", "Yaba", "--date", TUESDAY.isoformat(), "--reason", "Sallah") == [
        f"Yaba {TUESDAY:%a %Y-%m-%d} cancelled; households are texted by the worker"
    ]
    assert columns(ok(settings, "zones", "changes")) == [
        ["zone", "day", "now", "reason"],
        ["Yaba", f"{TUESDAY:%a %Y-%m-%d}", "cancelled", "Sallah"],
        ["Yaba", f"{FRIDAY:%a %Y-%m-%d}", f"{FRIDAY - timedelta(days=1):%a %Y-%m-%d}", "Public holiday"],
    ]
    assert ok(settings, "reminders", "preview", "--date", TUESDAY.isoformat()) == [
        f"no zone collects on {TUESDAY:%a %Y-%m-%d}"
    ]


REFUSALS: list[tuple[tuple[str, ...], str]] = [
    (("reminders", "preview", "--date", "1st December"), "is not a date like 2026-12-01"),
    (("reminders", "run", "--date", "2020-01-07"), "has passed"),
    (("reminders", "run", "--date", WEDNESDAY.isoformat()), "no zone has an evening reminder for"),
    (
        ("reminders", "run", "--date", TUESDAY.isoformat(), "--kind", "morning"),
        "no zone has a morning reminder",
    ),
    (("reminders", "run", "--date", TUESDAY.isoformat(), "--zone", "Ikoyi"), "no zone called 'Ikoyi'"),
    (("zones", "remind", "Yaba", "--evening", "25:00"), "a time of day looks like 18:00"),
    (("zones", "remind", "Yaba", "--morning", "12:30"), "must come before the window ends"),
    (("zones", "remind", "Yaba", "--morning", "07:00", "--no-morning"), "not both"),
    (("zones", "remind", "Ikoyi", "--evening", "18:00"), "no zone called"),
    (
        ("zones", "change", "Yaba", "--date", WEDNESDAY.isoformat(), "--reason", "x"),
        "is not a collection day",
    ),
    (("zones", "change", "Yaba", "--date", "2020-01-07", "--reason", "x"), "has passed"),
    (
        (
            "zones",
            "change",
            "Yaba",
            "--date",
            TUESDAY.isoformat(),
            "--move-to",
            FRIDAY.isoformat(),
            "--reason",
            "x",
        ),
        "is a collection day in Yaba already",
    ),
    (("zones", "change", "Yaba", "--date", TUESDAY.isoformat(), "--reason", "  "), "give a reason"),
    (("zones", "change", "Yaba", "--date", TUESDAY.isoformat(), "--reason", "x" * 61), "give a reason"),
    (
        ("zones", "change", "Yaba", "--date", TUESDAY.isoformat(), "--move-to", "soon", "--reason", "x"),
        "not a date",
    ),
]


def test_every_refusal_exits_non_zero_says_why_and_changes_nothing(
    settings: Settings, engine: Engine, subtests: pytest.Subtests
) -> None:
    a_street(engine)
    before = snapshot(engine)
    for arguments, reason in REFUSALS:
        with subtests.test(command=" ".join(arguments)):
            result = run_cli(settings, *arguments)
            assert result.returncode != 0 and result.stdout == ""
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
            assert reason in result.stderr
            assert snapshot(engine) == before


def test_a_day_changed_twice_is_refused(settings: Settings, engine: Engine) -> None:
    a_street(engine)
    ok(settings, "zones", "change", "Yaba", "--date", TUESDAY.isoformat(), "--reason", "Sallah")
    before = snapshot(engine)
    result = run_cli(settings, "zones", "change", "Yaba", "--date", TUESDAY.isoformat(), "--reason", "again")
    assert result.returncode == 1 and "is already cancelled" in result.stderr
    assert snapshot(engine) == before
