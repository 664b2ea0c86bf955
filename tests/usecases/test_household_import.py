"""Households imported from a CSV, against the database: the dry run reads it and writes nothing;
the write registers each good row as the CLI and a collector do (member code, account, the
phone's language, the welcome text in it) and leaves out a row whose number was taken since."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import member_account
from service.models import households_t, outbox_t, phones_t
from service.unit_of_work import UnitOfWork
from service.usecases import household_import as hi
from service.usecases.households import member_by_phone, register_household
from service.usecases.phones import ensure_phone, stop
from service.usecases.roles import add_partner
from service.usecases.zones import add_zone
from tests.usecases.conftest import ADA, MONDAY, TUNDE, World, texts

Uow = Callable[..., UnitOfWork]
BOLA, CHI, DAYO = "+2348052223333", "+2348061112222", "+2348059998888"
FILE = (
    "name;phone;zone;language;address\n"
    "Bola Ade;0805 222 3333;yaba;yoruba;3 Herbert Macaulay Way\n"
    "Chi Obi;+234 806 111 2222;Yaba;;\n"
    "Ada again;0803 123 4567;Yaba;;\n"  # Ada's
    "Tunde;0803 000 0001;Yaba;;\n"  # the collector's
    "Nobody;12;Ikeja;Klingon;\n"
)


def counts(session: Session) -> tuple[int, int, int]:
    return (
        session.execute(select(func.count()).select_from(households_t)).scalar_one(),
        session.execute(select(func.count()).select_from(outbox_t)).scalar_one(),
        session.execute(select(func.count()).select_from(phones_t)).scalar_one(),
    )


def rows() -> tuple[hi.RawRow, ...]:
    reading = hi.read_csv(FILE.encode())
    assert reading.problem is None
    return reading.rows


def test_the_dry_run_says_each_rows_result_and_writes_nothing(world: World, session: Session) -> None:
    before = counts(session)
    results = hi.dry_run(session, rows(), "NG")
    assert counts(session) == before
    assert [(result.row.line, result.ok) for result in results] == [
        (2, True),
        (3, True),
        (4, False),
        (5, False),
        (6, False),
    ]
    assert results[0].household == hi.NewHousehold(
        "Bola Ade", BOLA, world.zone.id, "Yaba", "YO", "3 Herbert Macaulay Way"
    )
    assert results[2].errors == (
        f"{ADA} is already the number of household {world.ada.member_code} (Ada Okafor)",
    )
    assert results[3].errors == (f"{TUNDE} is already the number of collector Tunde Bakare",)
    assert len(results[4].errors) == 3


def test_a_partner_shops_number_and_an_opted_out_one(world: World, session: Session) -> None:
    add_partner(session, CHI, "Mama Nkechi Store", MONDAY)
    ensure_phone(session, DAYO, MONDAY)
    stop(session, DAYO, MONDAY)
    results = hi.dry_run(
        session,
        [hi.RawRow(2, "Chi", "08061112222", "Yaba"), hi.RawRow(3, "Dayo", "08059998888", "Yaba")],
        "NG",
    )
    assert results[0].errors == (f"{CHI} is already the number of partner shop Mama Nkechi Store",)
    assert results[1].ok and results[1].note is not None


def test_the_write_registers_the_good_rows_with_their_codes_accounts_and_welcome(
    world: World, uow: Uow, session: Session
) -> None:
    work = uow()
    done = hi.import_households(work, rows(), "NG")
    assert [row.line for row, _ in done.added] == [2, 3]
    assert [result.row.line for result in done.left_out] == [4, 5, 6]
    bola, chi = (member for _, member in done.added)
    assert member_by_phone(session, BOLA) == bola
    assert (bola.name, bola.zone_id, bola.address, bola.member_code) == (
        "Bola Ade",
        world.zone.id,
        "3 Herbert Macaulay Way",
        sms.member_code(bola.id),
    )
    joined = session.execute(
        select(households_t.c.joined_via).where(households_t.c.id == bola.id)
    ).scalar_one()
    assert joined == "import"
    assert ledger.balance(session, member_account(bola.member_code)).credit_balance == 0
    languages = dict(
        session.execute(
            select(phones_t.c.number, phones_t.c.language).where(phones_t.c.number.in_([BOLA, CHI]))
        ).all()
    )
    assert languages == {BOLA: "YO", CHI: "EN"}
    zone = world.zone
    assert texts(work) == [
        (
            BOLA,
            sms.render(
                "welcome",
                "YO",
                programme="Kolekt",
                name="Bola",
                code=bola.member_code,
                zone="Yaba",
                days=zone.weekdays(),
            ),
        ),
        (
            CHI,
            sms.render(
                "welcome",
                "EN",
                programme="Kolekt",
                name="Chi",
                code=chi.member_code,
                zone="Yaba",
                days=zone.weekdays(),
            ),
        ),
    ]
    values = {
        "programme": "Kolekt",
        "name": "Bola",
        "code": bola.member_code,
        "zone": "Yaba",
        "days": zone.weekdays(),
    }
    assert sms.render("welcome", "YO", **values) != sms.render("welcome", "EN", **values)  # in Yoruba indeed


def test_a_number_taken_since_the_dry_run_is_left_out_at_the_write(
    world: World, uow: Uow, session: Session
) -> None:
    good = [result.row for result in hi.dry_run(session, rows(), "NG") if result.ok]
    ensure_phone(session, BOLA, MONDAY)
    register_household(session, BOLA, "Bola (by SMS)", None, "sms", MONDAY, zone_id=world.zone.id)
    done = hi.import_households(uow(), good, "NG")
    assert [row.line for row, _ in done.added] == [3]
    [left] = done.left_out
    assert left.row.line == 2 and left.errors[0].startswith(f"{BOLA} is already the number of household")
    assert member_by_phone(session, BOLA).name == "Bola (by SMS)"  # type: ignore[union-attr]


def test_writing_the_same_rows_twice_adds_them_once(world: World, uow: Uow, session: Session) -> None:
    good = [result.row for result in hi.dry_run(session, rows(), "NG") if result.ok]
    assert len(hi.import_households(uow(), good, "NG").added) == 2
    before = counts(session)
    again = hi.import_households(uow(), good, "NG")
    assert (again.added, len(again.left_out)) == ((), 2)
    assert counts(session) == before


def test_a_zone_is_matched_whatever_its_case(world: World, session: Session) -> None:
    add_zone(session, "Surulere East", "mon", "08:00-12:00", MONDAY)
    [result] = hi.dry_run(session, [hi.RawRow(2, "Chi", "08061112222", "surulere EAST")], "NG")
    assert result.household is not None and result.household.zone == "Surulere East"
