"""IMPACT's and ZONE's sums (``service.usecases.impact``): what counts (credited pickups, by when
they happened, in the programme's month), the items and CO2e a programme's factors make of them,
and a zone's rank and change."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

import sms
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, impact, pickups
from service.usecases.catalogue import set_rate
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from tests.usecases.conftest import MONDAY, TUNDE, World, inbound

Uow = Callable[..., UnitOfWork]
LAGOS = ZoneInfo("Africa/Lagos")
BOLA, KEMI = "+2348052223333", "+2348030000002"


def log(uow: UnitOfWork, collector_id: int, member: Member, *lines: sms.Line) -> pickups.Logged:
    origin = inbound(uow.session, TUNDE, "LOG ...", uow.now)
    named = sms.Member(code=member.member_code, phone=None)
    return pickups.log_by_text(uow, collector_id, named, lines, seq=None, inbound_id=origin)[1]


def test_a_stranger_has_no_impact(session: Session) -> None:
    with pytest.raises(Refused) as refused:
        impact.household_impact(session, None)
    assert refused.value.template == "not_member"


def test_impact_counts_credited_pickups_with_the_programmes_factors(
    world: World, uow: Uow, session: Session
) -> None:
    set_rate(session, "ALU", 30, 5, datetime(2026, 1, 1, tzinfo=UTC), "test", MONDAY)
    set_rate(session, "HDPE", 10, 1, datetime(2026, 1, 1, tzinfo=UTC), "test", MONDAY)
    assert impact.household_impact(session, world.ada) == impact.Impact((), 0, 0)
    log(uow(), world.collector.id, world.ada, sms.Line("PET", 4500), sms.Line("ALU", 1200))
    log(uow(MONDAY + timedelta(minutes=1)), world.collector.id, world.ada, sms.Line("HDPE", 3000))
    undone = log(uow(MONDAY + timedelta(minutes=2)), world.collector.id, world.ada, sms.Line("PET", 9000))
    pickups.undo(uow(MONDAY + timedelta(minutes=3)), world.collector.id, undone.reference)
    found = impact.household_impact(session, world.ada)
    # HDPE is not counted in items (no default); PET 4.5 x 50, ALU 1.2 x 67 = 80.4 -> 80.
    assert found.recycled == (
        sms.Recycled("PET", 4500, 225, "bottle"),
        sms.Recycled("HDPE", 3000, None, None),
        sms.Recycled("ALU", 1200, 80, "can"),
    )
    assert found.co2e_grams == 4500 * 1150 // 1000 + 3000 * 880 // 1000 + 1200 * 10060 // 1000
    assert found.points == 45 + 36 + 30


def test_the_list_drops_what_does_not_fit_and_says_how_many() -> None:
    many = [sms.Recycled(code, 99_999, 9_999, "bottle") for code in ("PET", "ALU", "SACHET", "HDPE", "GLASS")]
    said = sms.RecycledList(many).say("EN")
    assert said.endswith(" +3") and len(said) <= 62, said
    assert sms.RecycledList(many, width=5).say("EN") == "5"


def test_the_month_is_the_programmes_not_utcs() -> None:
    # 23:30 UTC on 30 November is 00:30 on 1 December in Lagos.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert impact.month_start(late, LAGOS) == datetime(2026, 12, 1, tzinfo=LAGOS)
    assert impact.month_start(late, LAGOS, 1) == datetime(2026, 11, 1, tzinfo=LAGOS)
    assert impact.month_start(datetime(2026, 1, 15, tzinfo=UTC), LAGOS, 1) == datetime(
        2025, 12, 1, tzinfo=LAGOS
    )


def test_a_zone_is_ranked_among_all_and_compared_with_last_month(
    world: World, uow: Uow, session: Session
) -> None:
    surulere = add_zone(session, "Surulere", "mon", "08:00-12:00", MONDAY)
    add_zone(session, "Ikeja", "wed", "08:00-12:00", MONDAY)  # no pickups: still a zone ranked
    kemi = add_collector(session, KEMI, "Kemi Ade", surulere.id, MONDAY)
    ensure_phone(session, BOLA, MONDAY)
    bola = register_household(session, BOLA, "Bola Bello", "4 Ojo Rd", "sms", MONDAY, zone_id=surulere.id)
    october = MONDAY - timedelta(days=30)  # 24 Oct: last month for 23 Nov
    log(uow(october), world.collector.id, world.ada, sms.Line("PET", 4000))
    log(uow(MONDAY), world.collector.id, world.ada, sms.Line("PET", 5000))
    log(uow(MONDAY), kemi.id, bola, sms.Line("PET", 7000))
    now = MONDAY + timedelta(hours=1)
    yaba = impact.zone_month(session, world.zone.id, now, LAGOS)
    assert yaba == impact.ZoneMonth("Yaba", 5000, 2, 3, 4000)
    assert impact.change_on(yaba.grams, yaba.last_month) == "+25%"
    assert impact.zone_month(session, surulere.id, now, LAGOS) == impact.ZoneMonth("Surulere", 7000, 1, 3, 0)
    assert impact.change_on(7000, 0) is None and impact.change_on(3000, 4000) == "-25%"
    assert impact.collector_month(session, world.collector.id, now, LAGOS) == impact.CollectorMonth(1, 5000)
