"""A LOG's trips to the database (issue 22): the repeat found in one query whichever way it
repeats, the rates of all its materials in one query, the named household and its language in
one, the collector read and locked in one; and the statements a LOG sends, counted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

import sms
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, phones, pickups, repeats
from service.usecases.catalogue import rates_in_force, set_rate
from service.usecases.households import member_and_language
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, inbound, texts

Uow = Callable[..., UnitOfWork]
PET_2 = (sms.Line("PET", 2000),)


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def log(uow: UnitOfWork, world: World, *, seq: int | None) -> pickups.Logged:
    origin = inbound(uow.session, TUNDE, "LOG ...", uow.now)
    named = sms.Member(code=world.ada.member_code, phone=None)
    return pickups.log_by_text(uow, world.collector.id, named, PET_2, seq=seq, inbound_id=origin)[1]


def test_a_log_sends_a_few_statements_whatever_it_does(world: World, uow: Uow, statements: list[str]) -> None:
    work = uow()
    origin = inbound(work.session, TUNDE, "LOG ...", work.now)
    statements.clear()
    named = sms.Member(code=world.ada.member_code, phone=None)
    pickups.log_by_text(work, world.collector.id, named, PET_2, seq=5, inbound_id=origin)
    # The collector (read and locked), the household with its language, the repeat, the rates,
    # the collection and its lines, its reference, the balance and the receipt. The ledger's
    # posting (straight to the driver on PostgreSQL, its careful path on SQLite) is its own.
    ours = [sql for sql in statements if "ledger_transfers" not in sql]
    assert len(ours) <= 9, "\n".join(ours)
    locks = 1 if work.session.get_bind().dialect.name == "postgresql" else 0  # SQLite: none to take
    assert sum("FOR UPDATE" in sql for sql in statements) == locks
    assert not any(sql.lstrip().startswith("SELECT phones.language") for sql in statements)


def test_the_repeat_is_found_by_its_key_before_its_seq_before_its_text(
    world: World, uow: Uow, session: Session
) -> None:
    by_text = log(uow(), world, seq=None)  # no #seq: found again by its text
    by_seq = log(uow(MONDAY + timedelta(minutes=1)), world, seq=8)
    key = repeats.text_key(world.ada, PET_2)
    found = repeats.find_repeat(session, world.collector.id, "sms:nothing", key, MONDAY, seq=8)
    assert found is not None and found.reference == by_seq.reference  # the #seq before the text
    found = repeats.find_repeat(session, world.collector.id, "sms:nothing", key, MONDAY, seq=None)
    assert found is not None and found.reference == by_text.reference and found.duplicate
    dedupe_key = f"sms:{world.collector.id}:#8"
    found = repeats.find_repeat(session, world.collector.id, dedupe_key, key, MONDAY, seq=99)
    assert found is not None and found.reference == by_seq.reference  # the key first


def test_no_seq_and_no_text_key_match_nothing_not_every_pickup_without_one(
    world: World, uow: Uow, session: Session
) -> None:
    log(uow(), world, seq=None)  # a pickup whose #seq is NULL
    assert repeats.find_repeat(session, world.collector.id, "sms:other", None, MONDAY, seq=None) is None
    # nor a text resent after the window
    key = repeats.text_key(world.ada, PET_2)
    later = MONDAY + repeats.REPEAT_WINDOW + timedelta(minutes=1)
    assert repeats.find_repeat(session, world.collector.id, "sms:other", key, later, seq=None) is None


def test_the_rates_of_every_material_in_one_query(session: Session, statements: list[str]) -> None:
    jan, dec = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    set_rate(session, "PET", 10, 2, jan, "test", jan)
    set_rate(session, "PET", 12, 3, MONDAY - timedelta(days=1), "test", jan)
    set_rate(session, "PET", 99, 9, dec, "test", jan)  # not in force yet on Monday
    set_rate(session, "ALU", 40, 5, jan, "test", jan)
    statements.clear()
    found = rates_in_force(session, ["PET", "ALU", "SACHET", "PET"], MONDAY)
    assert len(statements) == 1
    # in the order asked (a list of rates reads in the materials' order); SACHET has no rate yet
    assert [(code, r.points_per_kg, r.commission_per_kg) for code, r in found.items()] == [
        ("PET", 12, 3),
        ("ALU", 40, 5),
    ]
    assert list(rates_in_force(session, ["ALU", "PET"], MONDAY)) == ["ALU", "PET"]
    assert rates_in_force(session, ["PET"], dec)["PET"].points_per_kg == 99
    assert rates_in_force(session, [], MONDAY) == {}


def test_a_member_and_its_language_by_code_or_phone(world: World, session: Session) -> None:
    phones.set_language(session, ADA, "YO", MONDAY)
    assert member_and_language(session, code=world.ada.member_code) == (world.ada, "YO")
    assert member_and_language(session, phone=ADA) == (world.ada, "YO")
    assert member_and_language(session, code="K-NONE") is None
    assert member_and_language(session, phone="+2348099999999") is None


def test_the_receipt_is_in_the_households_language(world: World, uow: Uow, session: Session) -> None:
    phones.set_language(session, ADA, "YO", MONDAY)
    work = uow()
    logged = log(work, world, seq=3)
    ((to, body),) = texts(work)
    assert to == ADA and logged.reference in body
    assert body == sms.render(
        "receipt",
        "YO",
        programme="Kolekt",
        points=logged.points,
        collector="Tunde",
        lines=sms.describe_lines(PET_2),
        balance=logged.points,
        ref=logged.reference,
    )


def test_an_unknown_household_is_refused_before_anything_is_written(
    world: World, uow: Uow, session: Session
) -> None:
    work = uow()
    origin = inbound(work.session, TUNDE, "LOG ...", work.now)
    nobody = sms.Member(code=None, phone="+2348099999999")
    with pytest.raises(Refused) as refused:
        pickups.log_by_text(work, world.collector.id, nobody, PET_2, seq=1, inbound_id=origin)
    assert refused.value.template == "unknown_member_phone"
    assert texts(work) == []
