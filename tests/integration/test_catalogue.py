"""The programme's reference data on the real store (SQLite or PostgreSQL): zones, materials and
their words, versioned rates the database will not let anyone edit, and collectors.

Every refusal is checked for what it leaves behind as well as for what it says: nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import ledger
import sms
from service.models import collectors_t, material_words_t, materials_t, phones_t, rates_t, zones_t
from service.usecases import CatalogueError
from service.usecases.catalogue import (
    add_material,
    add_words,
    current_rates,
    forget_vocabulary,
    material_words,
    rates_in_force,
    set_rate,
    vocabulary,
)
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.roles import add_collector, collector_by_phone, set_collector_status
from service.usecases.zones import add_zone, get_zone, zone_by_name, zones
from sms.commands import Log

LAGOS = ZoneInfo("Africa/Lagos")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
COLLECTOR_PHONE = "+2348030000001"
MEMBER_PHONE = "+2348031234567"


@pytest.fixture(autouse=True)
def fresh_vocabulary() -> Iterator[None]:
    """The vocabulary is cached per process: words from a rolled-back test must not leak."""
    forget_vocabulary()
    yield
    forget_vocabulary()


def count(session: Session, table: Table) -> int:
    return session.execute(select(func.count()).select_from(table)).scalar_one()


# --- zones -------------------------------------------------------------------------------------------


def test_a_zone_is_added_once_whatever_case_it_is_typed_in(session: Session) -> None:
    zone = add_zone(session, "  Yaba   East ", "Fri,tue", "8:00-12:00", NOW)
    assert (zone.name, zone.days, zone.window_start, zone.window_end) == (
        "Yaba East",
        (1, 4),
        time(8),
        time(12),
    )
    assert get_zone(session, zone.id) == zone
    assert zone_by_name(session, "yaba  EAST") == zone
    assert zone in zones(session)
    stored = session.execute(
        select(zones_t.c.days, zones_t.c.window_start).where(zones_t.c.id == zone.id)
    ).one()
    assert tuple(stored) == ("tue,fri", "08:00")

    with pytest.raises(CatalogueError, match="already a zone called"):
        add_zone(session, "YABA EAST", "mon", "09:00-10:00", NOW)
    assert count(session, zones_t) == len(zones(session))
    assert [z.name for z in zones(session)].count("Yaba East") == 1


@pytest.mark.parametrize(
    ("name", "days", "window", "reason"),
    [
        ("  ", "tue", "08:00-12:00", "a zone needs a name"),
        ("x" * 41, "tue", "08:00-12:00", "a zone needs a name"),
        ("Sabo", "mon-fri", "08:00-12:00", "days must be weekdays"),
        ("Sabo", "", "08:00-12:00", "days must be weekdays"),
        ("Sabo", "tue", "12:00-08:00", "must end after it starts"),
        ("Sabo", "tue", "8-12", "must look like"),
    ],
)
def test_a_refused_zone_writes_nothing(
    session: Session, name: str, days: str, window: str, reason: str
) -> None:
    before = count(session, zones_t)
    with pytest.raises(CatalogueError, match=reason):
        add_zone(session, name, days, window, NOW)
    assert count(session, zones_t) == before
    assert zone_by_name(session, name) is None


# --- materials and their words -----------------------------------------------------------------------


def words_of(session: Session, code: str) -> set[str]:
    return {word for word, material in material_words(session).items() if material == code}


def test_a_material_is_added_with_its_code_and_synonyms_as_words(session: Session) -> None:
    add_material(session, " zinc ", " Zincs ", ["zincs", "Zinc   can", "ZINCS"], NOW)
    name = session.execute(select(materials_t.c.name).where(materials_t.c.code == "ZINC")).scalar_one()
    assert name == "Zincs"
    assert words_of(session, "ZINC") == {"ZINC", "ZINCS", "ZINC CAN"}
    # More words later: only the new ones are reported, repeats and known ones are no error.
    assert add_words(session, "zinc", ["zincny", "ZINCS", "Zincny"]) == ["ZINCNY"]
    assert words_of(session, "ZINC") == {"ZINC", "ZINCS", "ZINC CAN", "ZINCNY"}

    with pytest.raises(CatalogueError, match="exists already"):
        add_material(session, "ZINC", "Zincs again", [], NOW)


@pytest.mark.parametrize(
    ("code", "synonyms", "reason"),
    [
        ("STEEL", ["steel can", "cans"], "CANS already means ALU"),  # a synonym taken
        ("CAN", [], "CAN already means ALU"),  # the code itself taken as a word
        ("STEEL", ["steel2"], "a word is letters only"),
        ("STEEL", ["one two three"], "a word is letters only"),
        ("S", [], "a material code is 2 to 12 letters"),
        ("STEEL9", [], "a material code is 2 to 12 letters"),
    ],
)
def test_a_refused_material_writes_nothing(
    session: Session, code: str, synonyms: list[str], reason: str
) -> None:
    materials, words = count(session, materials_t), count(session, material_words_t)
    with pytest.raises(CatalogueError, match=reason):
        add_material(session, code, "Steel", synonyms, NOW)
    assert (count(session, materials_t), count(session, material_words_t)) == (materials, words)


def test_a_word_meaning_another_material_is_refused_and_none_of_the_others_is_added(
    session: Session,
) -> None:
    before = material_words(session)
    with pytest.raises(CatalogueError, match="BOTTLES already means PET"):
        add_words(session, "ALU", ["zinc", "bottles"])
    assert material_words(session) == before
    with pytest.raises(CatalogueError, match="no material XYZ"):
        add_words(session, "xyz", ["zinc"])
    assert material_words(session) == before


def test_the_vocabulary_sees_a_new_word_at_once(session: Session) -> None:
    log = f"LOG {sms.member_code(7)} ZINCS 2"
    refused = sms.parse(log, "collector", vocabulary(session, "NG"))
    assert isinstance(refused, sms.ParseError) and refused.reason == "unknown_material"

    add_material(session, "ZINC", "Zincs", ["zincs"], NOW)
    parsed = sms.parse(log, "collector", vocabulary(session, "NG"))
    assert isinstance(parsed, Log)
    assert [(line.material, line.grams) for line in parsed.lines] == [("ZINC", 2000)]

    # A word written behind the catalogue's back waits for the cache; forgetting it shows the word.
    session.execute(insert(material_words_t), {"word": "ZINCNIES", "material_code": "ZINC"})
    assert "ZINCNIES" not in vocabulary(session, "NG").materials
    forget_vocabulary()
    assert vocabulary(session, "NG").materials["ZINCNIES"] == "ZINC"


# --- rates -------------------------------------------------------------------------------------------

FIRST = datetime(2026, 1, 1, tzinfo=LAGOS)  # 2025-12-31 23:00 UTC
SECOND = datetime(2027, 1, 1, tzinfo=LAGOS)
TICK = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("at", "points"),
    [
        (FIRST - TICK, None),
        (FIRST, 10),
        (FIRST.astimezone(UTC), 10),
        (FIRST + timedelta(days=200), 10),
        (SECOND - TICK, 10),
        (SECOND, 12),
        (SECOND + timedelta(days=3650), 12),
    ],
)
def test_the_rate_in_force_is_the_latest_version_from_before_that_moment(
    session: Session, at: datetime, points: int | None
) -> None:
    first = set_rate(session, "pet", 10, 2, FIRST, "test", NOW)
    second = set_rate(session, "PET", 12, 3, SECOND, "test", NOW)
    assert (first.material_code, first.effective_from) == ("PET", FIRST)
    found = rates_in_force(session, ["PET", "ALU", "PET"], at)
    assert "ALU" not in found  # no rate yet: left out
    if points is None:
        assert found == {}
    else:
        assert found["PET"].points_per_kg == points
        assert found["PET"].id == (first.id if points == 10 else second.id)
        assert found["PET"].commission_per_kg == (2 if points == 10 else 3)
    # Both versions stay: a change is a new row.
    assert count(session, rates_t) == 2


def test_current_rates_are_those_in_force_now(session: Session) -> None:
    set_rate(session, "PET", 10, 2, FIRST, "test", NOW)
    set_rate(session, "PET", 12, 3, SECOND, "test", NOW)
    set_rate(session, "ALU", 40, 4, FIRST, "test", NOW)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert {code: rate.points_per_kg for code, rate in current_rates(session, now).items()} == {
        "ALU": 40,
        "PET": 10,
    }


@pytest.mark.parametrize(
    ("material", "points", "commission", "start", "reason"),
    [
        ("NOPE", 10, 0, FIRST, "no material NOPE"),
        ("PET", -1, 0, FIRST, "points per kg must be a whole number"),
        ("PET", 1.5, 0, FIRST, "points per kg must be a whole number"),
        ("PET", True, 0, FIRST, "points per kg must be a whole number"),
        ("PET", 1_000_001, 0, FIRST, "points per kg must be a whole number"),
        ("PET", 10, -2, FIRST, "commission per kg must be a whole number"),
        ("PET", 10, 0, datetime(2026, 1, 1), "needs a time zone"),
    ],
)
def test_a_refused_rate_writes_nothing(
    session: Session, material: str, points: object, commission: int, start: datetime, reason: str
) -> None:
    with pytest.raises(CatalogueError, match=reason):
        set_rate(session, material, points, commission, start, "test", NOW)  # type: ignore[arg-type]
    assert count(session, rates_t) == 0


def test_a_second_rate_from_the_same_moment_is_refused_and_the_first_stays(session: Session) -> None:
    first = set_rate(session, "PET", 10, 2, FIRST, "test", NOW)
    with pytest.raises(CatalogueError, match="PET already has a rate from"):
        set_rate(session, "PET", 11, 2, FIRST.astimezone(UTC), "test", NOW)
    # The refusal rolled back to its savepoint: the transaction goes on.
    assert rates_in_force(session, ["PET"], FIRST)["PET"] == first
    assert count(session, rates_t) == 1


@pytest.mark.parametrize(
    "change",
    [
        update(rates_t).where(rates_t.c.material_code == "PET").values(points_per_kg=99),
        update(rates_t).where(rates_t.c.material_code == "PET").values(effective_from=SECOND),
        delete(rates_t).where(rates_t.c.material_code == "PET"),
    ],
    ids=["update-points", "update-time", "delete"],
)
def test_the_database_refuses_to_edit_or_delete_a_rate(session: Session, change: object) -> None:
    rate = set_rate(session, "PET", 10, 2, FIRST, "test", NOW)
    with pytest.raises(DBAPIError, match="rates_append_only"), session.begin_nested():
        session.execute(change)  # type: ignore[call-overload]
    row = session.execute(select(rates_t).where(rates_t.c.id == rate.id)).one()
    assert (row.points_per_kg, row.commission_per_kg, row.effective_from) == (10, 2, FIRST)


# --- collectors --------------------------------------------------------------------------------------


def test_a_collector_gets_their_phone_row_and_a_ledger_account(session: Session) -> None:
    zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", NOW)
    collector = add_collector(session, COLLECTOR_PHONE, " Tunde   Bakare ", zone.id, NOW, commission_per_kg=3)
    assert collector._replace(id=0) == (0, COLLECTOR_PHONE, "Tunde Bakare", zone.id, 3, "active")
    assert collector_by_phone(session, COLLECTOR_PHONE) == collector
    account = ledger.get_account(session, f"collector:{collector.id}")
    assert (account.kind, account.no_overdraft) == ("collector", False)
    assert ledger.balances(session, [account.code])[account.code] == ledger.Balance(0, 0)
    phone = session.execute(select(phones_t.c.language).where(phones_t.c.number == COLLECTOR_PHONE))
    assert phone.scalar_one() == "EN"


def test_one_phone_one_role(session: Session) -> None:
    ensure_phone(session, MEMBER_PHONE, NOW)
    register_household(session, MEMBER_PHONE, "Ada Okafor", None, "sms", NOW)
    add_collector(session, COLLECTOR_PHONE, "Tunde", None, NOW)
    collectors = count(session, collectors_t)
    for phone, reason in (
        (MEMBER_PHONE, "is a member household's phone"),
        (COLLECTOR_PHONE, "is already a collector"),
    ):
        with pytest.raises(CatalogueError, match=reason):
            add_collector(session, phone, "Someone", None, NOW)
    for name, commission, reason in (
        ("  ", None, "needs a name"),
        ("x" * 81, None, "needs a name"),
        ("Bola", -1, "commission per kg must be"),
    ):
        with pytest.raises(CatalogueError, match=reason):
            add_collector(session, "+2348030000002", name, None, NOW, commission_per_kg=commission)
    assert count(session, collectors_t) == collectors
    assert collector_by_phone(session, MEMBER_PHONE) is None
    assert collector_by_phone(session, "+2348030000002") is None


def test_a_collector_is_suspended_and_activated_by_phone(session: Session) -> None:
    collector = add_collector(session, COLLECTOR_PHONE, "Tunde", None, NOW)
    assert set_collector_status(session, COLLECTOR_PHONE, "suspended").status == "suspended"
    assert collector_by_phone(session, COLLECTOR_PHONE) == collector._replace(status="suspended")
    assert set_collector_status(session, COLLECTOR_PHONE, "active") == collector
    with pytest.raises(CatalogueError, match="status must be one of active, suspended"):
        set_collector_status(session, COLLECTOR_PHONE, "fired")
    with pytest.raises(CatalogueError, match="no collector with phone"):
        set_collector_status(session, MEMBER_PHONE, "suspended")
    assert collector_by_phone(session, COLLECTOR_PHONE) == collector


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        (["bal"], "BAL is a command word"),
        (["KG"], "KG is a command word or a unit"),
        (["stop"], "STOP is a command word"),
        (["pure help"], "HELP is a command word"),
        (["owo"], "OWO is a command word"),  # Yoruba's word for BAL
    ],
)
def test_a_material_word_that_people_type_as_a_command_is_refused(
    session: Session, words: list[str], reason: str
) -> None:
    before = material_words(session)
    with pytest.raises(CatalogueError, match=reason):
        add_words(session, "PET", words)
    assert material_words(session) == before


def test_the_default_words_of_every_language_are_there_and_none_is_a_command() -> None:
    assert set(sms.grammar.DEFAULT_MATERIALS).isdisjoint(sms.reserved_words())
    for word in ("KWALBA", "LEDA", "AGOLO", "NAILON", "TIN"):
        assert word in sms.grammar.DEFAULT_MATERIALS


def test_the_migration_gives_a_programme_the_local_material_words(session: Session) -> None:
    words = material_words(session)
    assert (words["KWALBA"], words["ORA"], words["NAILON"], words["TIN"]) == (
        "PET",
        "SACHET",
        "SACHET",
        "ALU",
    )
