"""Issue 17, findings 4 and 5: a #seq already on another pickup is refused, naming the original
and its household, by SMS as by the app; a collector logs, syncs and registers only for the
households of their own zone (unless the programme allows every zone), and no refusal tells them
anything of another zone's household."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import member_account
from service.models import collections_t
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, households, pickups, sync
from service.usecases.phones import ensure_phone
from service.usecases.zones import add_zone
from tests.usecases.conftest import MONDAY, TUNDE, World, inbound

Uow = Callable[..., UnitOfWork]
BOLA = "+2348052223333"
NGOZI = "+2348063456789"


def text_log(
    uow: UnitOfWork, world: World, member: households.Member, kg: str, seq: int | None
) -> pickups.Logged:
    grams = int(float(kg) * 1000)
    origin = inbound(uow.session, TUNDE, f"LOG {member.member_code} PET {kg} #{seq}", uow.now)
    named = sms.Member(code=member.member_code, phone=None)
    return pickups.log_by_text(
        uow, world.collector.id, named, (sms.Line("PET", grams),), seq=seq, inbound_id=origin
    )[1]


def points(session: Session, member: households.Member) -> int:
    return ledger.balance(session, member_account(member.member_code)).credit_balance


def pickups_logged(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(collections_t)).scalar_one())


@pytest.fixture
def bola(world: World, session: Session) -> households.Member:
    ensure_phone(session, BOLA, MONDAY)
    return households.register_household(
        session, BOLA, "Bola Ade", None, "sms", MONDAY, zone_id=world.zone.id
    )


@pytest.fixture
def ngozi(session: Session) -> households.Member:
    """A household of another zone (Sabo)."""
    sabo = add_zone(session, "Sabo", "wed,sat", "09:00-13:00", MONDAY)
    ensure_phone(session, NGOZI, MONDAY)
    return households.register_household(
        session, NGOZI, "Ngozi Eze", "4 Herbert Macaulay Way", "sms", MONDAY, zone_id=sabo.id
    )


def test_a_seq_already_on_another_households_pickup_is_refused_naming_both(
    world: World, uow: Uow, session: Session, bola: households.Member
) -> None:
    first = text_log(uow(), world, bola, "2", seq=7)
    with pytest.raises(Refused) as refused:
        text_log(uow(MONDAY + timedelta(minutes=5)), world, world.ada, "2", seq=7)
    assert refused.value.template == "seq_taken"
    assert refused.value.values == {
        "seq": "#7",
        "ref": first.reference,
        "member": bola.member_code,
        "code": world.ada.member_code,
    }
    reply = sms.render("seq_taken", "EN", **refused.value.values)
    assert reply == (
        f"#7 is already on {first.reference} ({bola.member_code}). Nothing logged for "
        f"{world.ada.member_code}. Send it again with a new # number."
    )
    assert sms.fits(reply)
    assert (points(session, bola), points(session, world.ada)) == (20, 0)
    assert pickups_logged(session) == 1


def test_a_seq_already_on_another_weight_for_the_same_household_is_refused(
    world: World, uow: Uow, session: Session
) -> None:
    text_log(uow(), world, world.ada, "2", seq=8)
    with pytest.raises(Refused) as refused:
        text_log(uow(), world, world.ada, "3", seq=8)
    assert refused.value.template == "seq_taken"
    assert points(session, world.ada) == 20


def test_the_same_seq_on_the_same_pickup_is_still_a_repeat(world: World, uow: Uow, session: Session) -> None:
    first = text_log(uow(), world, world.ada, "2", seq=9)
    again = text_log(uow(), world, world.ada, "2.000", seq=9)
    assert (again.duplicate, again.reference) == (True, first.reference)
    assert points(session, world.ada) == 20


def test_the_app_meets_the_same_refusal_for_a_seq_the_sms_took(
    world: World, uow: Uow, session: Session, bola: households.Member
) -> None:
    first = text_log(uow(), world, bola, "2", seq=100_001)
    operation = sync.NewPickup(
        client_id="5f0e4a9c-0000-4000-8000-000000000001",
        household=sync.HouseholdRef(code=world.ada.member_code),
        lines=(sms.Line("PET", 2000),),
        occurred_at=MONDAY,
        seq=100_001,
    )
    collector = world.collector
    with pytest.raises(Refused) as refused:
        sync.log_from_app(uow(), collector, operation)
    assert refused.value.template == "seq_taken"
    message = sync.reason_of(refused.value, uow().settings).message
    assert first.reference in message and bola.member_code in message and world.ada.member_code in message


def test_a_collector_cannot_log_for_another_zones_household_by_text(
    world: World, uow: Uow, session: Session, ngozi: households.Member
) -> None:
    with pytest.raises(Refused) as refused:
        text_log(uow(), world, ngozi, "2", seq=None)
    assert refused.value.template == "not_your_household"
    assert refused.value.values == {"code": ngozi.member_code}
    reply = sms.render("not_your_household", "EN", **refused.value.values)
    assert "Ngozi" not in reply and NGOZI not in reply and sms.fits(reply)
    assert points(session, ngozi) == 0 and pickups_logged(session) == 0


def test_nor_by_the_app(world: World, uow: Uow, session: Session, ngozi: households.Member) -> None:
    operation = sync.NewPickup(
        client_id="5f0e4a9c-0000-4000-8000-000000000002",
        household=sync.HouseholdRef(code=ngozi.member_code),
        lines=(sms.Line("PET", 2000),),
        occurred_at=MONDAY,
        seq=None,
    )
    with pytest.raises(Refused) as refused:
        sync.log_from_app(uow(), world.collector, operation)
    assert refused.value.template == "not_your_household"
    message = sync.reason_of(refused.value, uow().settings).message
    assert "Ngozi" not in message and NGOZI not in message and "Herbert" not in message
    assert points(session, ngozi) == 0


def test_a_programme_may_let_collectors_work_every_zone(
    world: World, uow: Uow, session: Session, ngozi: households.Member
) -> None:
    work = uow()
    object.__setattr__(work, "settings", work.settings.with_changes(collectors_any_zone=True))
    logged = text_log(work, world, ngozi, "2", seq=None)
    assert not logged.duplicate and points(session, ngozi) == 20


def test_a_household_no_zone_has_yet_is_anyones_to_collect_from(
    world: World, uow: Uow, session: Session
) -> None:
    ensure_phone(session, BOLA, MONDAY)
    placeless = households.register_household(session, BOLA, "Bola Ade", None, "sms", MONDAY)
    assert placeless.zone_id is None
    assert not text_log(uow(), world, placeless, "2", seq=None).duplicate
    assert points(session, placeless) == 20
    assert households.zone_allows(None, None) and not households.zone_allows(None, world.zone.id)
    assert households.zone_allows(1, 2, any_zone=True) and not households.zone_allows(1, 2)


def test_registering_another_zones_member_tells_nothing_of_it(
    world: World, uow: Uow, ngozi: households.Member
) -> None:
    with pytest.raises(Refused) as by_text:
        households.register_at_door(uow(), world.collector.id, NGOZI, "Someone", None)
    assert by_text.value.template == "member_elsewhere"
    assert by_text.value.values == {"phone": NGOZI}
    made = sync.NewHousehold("3b9c1f7e-0000-4000-8000-00000000000a", NGOZI, "Someone")
    with pytest.raises(Refused) as by_app:
        sync.register_from_app(uow(), made, world.zone.id, world.collector)
    assert by_app.value.template == "member_elsewhere"
    message = sync.reason_of(by_app.value, uow().settings).message
    assert "Ngozi" not in message and ngozi.member_code not in message
    # An operator (no collector) is told who it is.
    status, member = sync.register_from_app(uow(), made, None)
    assert (status, member.id) == (sync.EXISTING, ngozi.id)


def test_sms_seq_reply_fits_one_segment_with_the_longest_values() -> None:
    reply = sms.render("seq_taken", "EN", seq="#99999999", ref="ZZZZZZ", member="K99999X", code="K99999Y")
    assert sms.fits(reply) and sms.is_gsm7(reply)
