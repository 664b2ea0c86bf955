"""Hub weigh-ins on real stores: what is refused (and writes nothing), and the comparison of kg
logged for pickups against kg weighed at the hub, per local day, collector and material."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.accounts import open_programme_accounts
from service.models import weigh_ins_t
from service.usecases import users
from service.usecases.catalogue import set_rate
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup, pickup_by_reference, reverse_pickup
from service.usecases.roles import Collector, add_collector
from service.usecases.weighins import Comparison, WeighInError, comparison, grams_of, record_weigh_in
from sms.commands import Line

LAGOS = ZoneInfo("Africa/Lagos")  # UTC+1 all year
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 11:00 in Lagos
D0, D1, D2 = date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19)


class Programme(NamedTuple):
    ade: Collector
    bola: Collector
    member: Member
    user_id: int


@pytest.fixture
def programme(session: Session) -> Programme:
    open_programme_accounts(session)
    for material in ("PET", "SACHET"):
        set_rate(session, material, 10, 2, datetime(2026, 1, 1, tzinfo=UTC), "test", NOW)
    ade = add_collector(session, "+2348070000101", "Ade Able", None, NOW)
    bola = add_collector(session, "+2348070000102", "Bola Bee", None, NOW)
    ensure_phone(session, "+2348031110001", NOW)
    member = register_household(session, "+2348031110001", "Chi Obi", None, "test", NOW)
    user = users.add_user(session, "hub@weigh.example", "correct horse battery staple", "operator", NOW)
    return Programme(ade, bola, member, user.id)


def pickup(session: Session, p: Programme, collector: Collector, at: datetime, **grams: int) -> str:
    logged = log_pickup(
        session,
        collector=collector,
        household=p.member,
        lines=tuple(Line(material, weight) for material, weight in grams.items()),
        occurred_at=at,
        received_at=at,
        channel="demo",
        dedupe_key=f"test:{uuid.uuid4().hex}",
    )
    return logged.reference


def weigh(session: Session, p: Programme, collector: Collector, day: date, material: str, grams: int) -> int:
    return record_weigh_in(
        session, collector.id, day, material, grams, None, p.user_id, NOW, local_zone=LAGOS
    )


def weigh_ins(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(weigh_ins_t)).scalar_one())


# --- recording -------------------------------------------------------------------------------------


def test_a_weigh_in_is_recorded_with_its_note(session: Session, programme: Programme) -> None:
    weigh_in_id = record_weigh_in(
        session,
        programme.ade.id,
        D2,
        " sachet ",
        12_500,
        "  wet   sacks ",
        programme.user_id,
        NOW,
        local_zone=LAGOS,
    )
    row = session.execute(select(weigh_ins_t).where(weigh_ins_t.c.id == weigh_in_id)).one()
    assert (row.collector_id, row.day, row.material_code, row.grams, row.note) == (
        programme.ade.id,
        D2,
        "SACHET",
        12_500,
        "wet sacks",
    )
    assert (row.recorded_by, row.recorded_at) == (programme.user_id, NOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"collector_id": 999_999}, "no collector 999999"),
        ({"material_code": "GOLD"}, "no material 'GOLD'"),
        ({"grams": 0}, "more than 0 kg"),
        ({"grams": -500}, "more than 0 kg"),
        ({"grams": 2_000_001}, "at most 2,000 kg"),
        ({"day": date(2026, 11, 21)}, "2026-11-21 is in the future"),
        ({"day": date(2026, 9, 20)}, "more than 60 days ago"),
    ],
)
def test_refusals_write_nothing(
    session: Session, programme: Programme, change: dict[str, object], message: str
) -> None:
    values: dict[str, Any] = {
        "collector_id": programme.ade.id,
        "day": D2,
        "material_code": "PET",
        "grams": 1000,
    }
    values.update(change)
    with pytest.raises(WeighInError, match=message):
        record_weigh_in(
            session,
            values["collector_id"],
            values["day"],
            values["material_code"],
            values["grams"],
            None,
            programme.user_id,
            NOW,
            local_zone=LAGOS,
        )
    assert weigh_ins(session) == 0


def test_the_edges_that_are_allowed(session: Session, programme: Programme) -> None:
    weigh(session, programme, programme.ade, NOW.date() - timedelta(days=60), "PET", 2_000_000)
    # 23:30 UTC is already the next day in Lagos: that day is today there, not the future.
    late = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    record_weigh_in(
        session,
        programme.ade.id,
        date(2026, 11, 21),
        "PET",
        1,
        None,
        programme.user_id,
        late,
        local_zone=LAGOS,
    )
    with pytest.raises(WeighInError, match="future"):
        record_weigh_in(
            session, programme.ade.id, date(2026, 11, 21), "PET", 1, None, programme.user_id, late,
            local_zone=ZoneInfo("UTC"),
        )  # fmt: skip
    assert weigh_ins(session) == 2


@pytest.mark.parametrize(
    ("typed", "grams"),
    [
        ("12.5", 12_500),
        ("12,5", 12_500),
        (" 3 ", 3000),
        ("3kg", 3000),
        ("0.0005", 1),
        ("0.0004", 0),
        ("1.2345", 1235),
    ],
)
def test_kg_as_typed_become_grams_rounded_half_up(typed: str, grams: int) -> None:
    assert grams_of(typed) == grams


@pytest.mark.parametrize("typed", ["", "abc", "1.2.3", "nan", "inf", "12 5"])
def test_kg_that_are_not_a_number_are_refused(typed: str) -> None:
    with pytest.raises(WeighInError, match="kg must be a number"):
        grams_of(typed)


# --- the comparison --------------------------------------------------------------------------------


def at_utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def week(session: Session, programme: Programme) -> Programme:
    """Ade's and Bola's pickups around D1 and D2 (Lagos days), and the hub's weigh-ins."""
    p, ade = programme, programme.ade
    pickup(session, p, ade, at_utc(D0, 23, 30), PET=6000)  # 00:30 on D1 in Lagos: D1
    pickup(session, p, ade, at_utc(D1, 22, 30), PET=4000, SACHET=10_000)  # 23:30 on D1
    pickup(session, p, ade, at_utc(D1, 23, 0), SACHET=4000)  # midnight in Lagos: D2
    pickup(session, p, ade, at_utc(D0, 22, 59), PET=7000)  # 23:59 on D0: before the period
    for status in ("reversed", "undone"):
        reference = pickup(session, p, ade, at_utc(D1, 10), PET=3000)
        found = pickup_by_reference(session, reference)
        assert found is not None
        reverse_pickup(session, found, status=status, actor="test", now=NOW)
    pickup(session, p, p.bola, at_utc(D1, 9), PET=2500)  # another collector, same day and material
    weigh(session, p, ade, D1, "PET", 6000)
    weigh(session, p, ade, D1, "PET", 5000)  # two loads the same day: 11 kg against 10 logged
    weigh(session, p, ade, D1, "SACHET", 8999)  # 10.01% short of 10 kg
    weigh(session, p, ade, D2, "PET", 500)  # nothing PET logged on D2
    weigh(session, p, ade, D0, "PET", 7000)  # before the period
    return p


def table(rows: list[Comparison]) -> list[tuple[date, str, str, int, int | None, bool]]:
    return [(r.day, r.collector, r.material_code, r.logged, r.weighed, r.flagged) for r in rows]


def test_logged_against_weighed_per_local_day_collector_and_material(
    session: Session, week: Programme
) -> None:
    rows = comparison(session, LAGOS, first_day=D1, last_day=D2, gap_percent=10)
    assert table(rows) == [
        (D2, "Ade Able", "PET", 0, 500, True),
        (D2, "Ade Able", "SACHET", 4000, None, False),
        (D1, "Ade Able", "PET", 10_000, 11_000, False),  # exactly 10%: not over the threshold
        (D1, "Ade Able", "SACHET", 10_000, 8999, True),
        (D1, "Bola Bee", "PET", 2500, None, False),
    ]
    pet = rows[2]
    assert (pet.gap, pet.gap_percent) == (1000, 10.0)
    assert rows[3].gap == -1001
    assert rows[0].gap_percent is None  # nothing logged: no share to speak of


def test_one_collector_and_one_day(session: Session, week: Programme) -> None:
    rows = comparison(session, LAGOS, collector_id=week.bola.id, first_day=D1, last_day=D2, gap_percent=10)
    assert table(rows) == [(D1, "Bola Bee", "PET", 2500, None, False)]
    rows = comparison(session, LAGOS, collector_id=week.ade.id, first_day=D1, last_day=D1, gap_percent=10)
    assert [(r.material_code, r.logged) for r in rows] == [("PET", 10_000), ("SACHET", 10_000)]
    rows = comparison(session, LAGOS, collector_id=week.ade.id, first_day=D0, last_day=D0, gap_percent=10)
    assert table(rows) == [(D0, "Ade Able", "PET", 7000, 7000, False)]


def test_the_threshold_decides_what_is_flagged(session: Session, week: Programme) -> None:
    def flagged(percent: int) -> list[tuple[date, str]]:
        rows = comparison(
            session, LAGOS, collector_id=week.ade.id, first_day=D1, last_day=D2, gap_percent=percent
        )
        return [(r.day, r.material_code) for r in rows if r.flagged]

    assert flagged(9) == [(D2, "PET"), (D1, "PET"), (D1, "SACHET")]
    assert flagged(11) == [(D2, "PET")]  # weighed with nothing logged is always flagged
    assert flagged(100) == [(D2, "PET")]


def test_a_period_must_make_sense(session: Session, programme: Programme) -> None:
    with pytest.raises(WeighInError, match="To is before From"):
        comparison(session, LAGOS, first_day=D2, last_day=D1, gap_percent=10)
    with pytest.raises(WeighInError, match="at most 62 days"):
        comparison(session, LAGOS, first_day=D2 - timedelta(days=62), last_day=D2, gap_percent=10)
    assert comparison(session, LAGOS, first_day=D2 - timedelta(days=61), last_day=D2, gap_percent=10) == []
