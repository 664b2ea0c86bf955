"""The overview's twelve weeks (``service.reads.trends``), on planted pickups, redemptions and
reminders over more than twelve weeks: weeks are Lagos weeks (a pickup at 00:30 on a Monday in
Lagos is still Sunday in UTC, and belongs to the new week), an empty week is there with zeros,
and the reminder-to-pickup conversion joins each reminded household to its own pickups."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.models import collections_t, outbox_t, redemptions_t, reminders_t
from service.reads import trends
from service.unit_of_work import UnitOfWork
from service.usecases import redemptions
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup
from service.usecases.rewards import add_reward
from service.web.dashboard.base import kg
from sms.commands import Line
from tests.e2e.hub import Hub
from tests.usecases.conftest import World

LAGOS = ZoneInfo("Africa/Lagos")
# A Wednesday, 10:00 in Lagos: the current week began on Monday 23 November.
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=LAGOS)
FIRST_MONDAY = date(2026, 9, 7)  # eleven weeks before 23 November
BOLA = "+2348059876543"
DASH = "\N{EN DASH}"


def lagos(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LAGOS)  # type: ignore[misc]


def week_of(moment: datetime) -> int:
    """The index of the Lagos week a moment falls in (0: the week of FIRST_MONDAY), worked out
    by the calendar rather than by the code under test."""
    return (moment.astimezone(LAGOS).date() - FIRST_MONDAY).days // 7


class Planted:
    """What a test writes, and the figures each week should show from it."""

    def __init__(self, session: Session, world: World, uow: Callable[..., UnitOfWork]) -> None:
        self.session = session
        self.world = world
        self.uow = uow
        self.keys = count()
        self.grams: dict[int, int] = {}
        self.pickups: dict[int, int] = {}
        self.households: dict[int, set[int]] = {}

    def pickup(self, member: Member, at: datetime, grams: int, *, stands: bool = True) -> int:
        logged = log_pickup(
            self.session,
            collector=self.world.collector,
            household=member,
            lines=(Line("PET", grams),),
            occurred_at=at,
            received_at=at,
            channel="app",
            dedupe_key=f"test:{next(self.keys)}",
        )
        if not stands:  # undone by its collector: not collected after all
            self.session.execute(
                update(collections_t)
                .where(collections_t.c.id == logged.collection_id)
                .values(status="undone")
            )
        elif 0 <= week_of(at) < trends.WEEKS:
            week = week_of(at)
            self.grams[week] = self.grams.get(week, 0) + grams
            self.pickups[week] = self.pickups.get(week, 0) + 1
            self.households.setdefault(week, set()).add(member.id)
        return int(logged.collection_id)

    def text(self, member: Member, status: str, *, retry_of: int | None = None) -> int:
        row = self.session.execute(
            outbox_t.insert().returning(outbox_t.c.id),
            {
                "to_phone": member.phone,
                "body": "Kolekt: collection Tue 8-12",
                "language": "en",
                "segments": 1,
                "encoding": "GSM-7",
                "kind": "reminder",
                "template": "reminder_eve",
                "status": status,
                "attempts": 1,
                "retry_of": retry_of,
                "created_at": NOW,
                "next_attempt_at": NOW,
            },
        )
        return int(row.scalar_one())

    def remind(self, member: Member, day: date, kind: str = "eve", status: str = "delivered") -> int:
        outbox_id = self.text(member, status)
        self.session.execute(
            reminders_t.insert(),
            {
                "zone_id": self.world.zone.id,
                "collection_date": day,
                "kind": kind,
                "household_id": member.id,
                "outbox_id": outbox_id,
                "created_at": NOW,
            },
        )
        return outbox_id


@pytest.fixture
def bola(session: Session, world: World) -> Member:
    ensure_phone(session, BOLA, NOW)
    return register_household(session, BOLA, "Bola Ade", "3 Ojuelegba Rd", "sms", NOW, zone_id=world.zone.id)


@pytest.fixture
def planted(session: Session, world: World, uow: Callable[..., UnitOfWork]) -> Planted:
    return Planted(session, world, uow)


def test_twelve_lagos_weeks_the_current_one_partial(session: Session) -> None:
    weeks = trends.trends(session, NOW, LAGOS)
    assert [w.first for w in weeks] == [FIRST_MONDAY + timedelta(weeks=n) for n in range(12)]
    assert [w.partial for w in weeks] == [False] * 11 + [True]
    # Monday 00:00 in Lagos is 23:00 on Sunday in UTC.
    assert weeks[-1].bounds.start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)
    assert weeks[0].bounds.end == weeks[1].bounds.start
    assert all(
        (w.pickups, w.grams, w.active_households, w.points_issued, w.points_redeemed, w.reminded) == (0,) * 6
        for w in weeks
    )
    assert weeks[0].conversion_percent is None


def test_kg_households_and_points_by_lagos_week(
    session: Session, world: World, bola: Member, planted: Planted
) -> None:
    ada = world.ada
    # Thirteen weeks of Friday pickups by Ada, but none in the week of 5 October.
    for week in range(-1, 11):
        if week != 4:
            planted.pickup(ada, lagos(2026, 9, 11, 10, 0) + timedelta(weeks=week), 1000 + 100 * week)
    planted.pickup(ada, lagos(2026, 9, 6, 23, 30), 700)  # Sunday night before the first week: out
    planted.pickup(ada, lagos(2026, 9, 7, 0, 15), 2000)  # Sunday 23:15 in UTC, Monday in Lagos: week 0
    planted.pickup(ada, lagos(2026, 11, 17, 9, 0), 1200)  # Ada again in the week of 16 November
    planted.pickup(ada, lagos(2026, 11, 22, 23, 30), 1500)  # Sunday 23:30 in Lagos: week 10
    planted.pickup(bola, lagos(2026, 11, 23, 0, 30), 3000)  # Sunday 23:30 in UTC, Monday in Lagos: week 11
    planted.pickup(bola, lagos(2026, 9, 22, 9, 0), 900, stands=False)  # undone: not counted
    work = planted.uow(lagos(2026, 11, 10, 12, 0))
    add_reward(session, "SOAP", "Bar soap", "goods", 5, work.now)
    redemptions.redeem(work, ada, "SOAP", 2)  # 10 points in the week of 9 November
    redemptions.redeem(planted.uow(lagos(2026, 11, 16, 0, 20)), ada, "SOAP", 1)  # Sunday in UTC: week 10
    refunded = redemptions.redeem(planted.uow(lagos(2026, 11, 24, 8, 0)), ada, "SOAP", 3)
    session.execute(update(redemptions_t).where(redemptions_t.c.id == refunded).values(status="refunded"))

    weeks = trends.trends(session, NOW, LAGOS)

    assert [w.grams for w in weeks] == [planted.grams.get(n, 0) for n in range(12)]
    assert [w.pickups for w in weeks] == [planted.pickups.get(n, 0) for n in range(12)]
    assert [w.active_households for w in weeks] == [len(planted.households.get(n, ())) for n in range(12)]
    assert [w.points_issued for w in weeks] == [planted.grams.get(n, 0) // 100 for n in range(12)]  # 10 a kg
    assert [w.points_redeemed for w in weeks] == [0] * 9 + [10, 5, 0]
    # The boundaries, spelt out.
    assert weeks[0].grams == 2000 + 1000 and weeks[0].pickups == 2
    assert (weeks[4].pickups, weeks[4].grams, weeks[4].active_households, weeks[4].points_issued) == (
        0,
        0,
        0,
        0,
    )
    assert weeks[2].grams == 1200  # Bola's undone pickup is not there
    assert (weeks[10].grams, weeks[10].pickups, weeks[10].active_households) == (2000 + 1200 + 1500, 3, 1)
    assert (weeks[11].grams, weeks[11].active_households, weeks[11].points_issued) == (3000, 1, 30)


def test_reminded_households_and_those_who_then_had_a_pickup(
    session: Session, world: World, bola: Member, planted: Planted
) -> None:
    ada = world.ada
    # Week 0: reminded for Tuesday 8 September; her pickups are on the Monday and the Friday.
    planted.remind(ada, date(2026, 9, 8))
    planted.pickup(ada, lagos(2026, 9, 7, 0, 15), 2000)
    planted.pickup(ada, lagos(2026, 9, 11, 10, 0), 1000)
    planted.remind(ada, date(2026, 9, 4))  # before the twelve weeks
    # Week 2: Bola's pickup that day was undone.
    planted.remind(bola, date(2026, 9, 22))
    planted.pickup(bola, lagos(2026, 9, 22, 9, 0), 900, stands=False)
    # Week 8: Ada's reminder failed and an operator's retry was delivered; Bola's is still queued;
    # a cancelled day's notice is no reminder.
    failed = planted.remind(ada, date(2026, 11, 3), status="failed")
    planted.text(ada, "delivered", retry_of=failed)
    planted.remind(bola, date(2026, 11, 3), status="queued")
    planted.remind(bola, date(2026, 11, 6), kind="cancelled")
    # Week 9: Bola picked up on Wednesday 23:30 after Tuesday's reminder (in time), and on Sunday
    # 00:30 after Friday's (Saturday 23:30 in UTC, but two days later in Lagos: too late). Ada's
    # Friday reminder failed, not retried: she was not reminded.
    planted.remind(bola, date(2026, 11, 10), status="sent")
    planted.pickup(bola, lagos(2026, 11, 11, 23, 30), 800)
    planted.remind(bola, date(2026, 11, 13))
    planted.pickup(bola, lagos(2026, 11, 15, 0, 30), 600)
    planted.remind(ada, date(2026, 11, 13), status="failed")
    planted.pickup(ada, lagos(2026, 11, 13, 9, 0), 1000)
    # Week 10: Ada reminded the evening before and the morning of Tuesday (one household, one
    # day), and for Friday; she picked up both days.
    planted.remind(ada, date(2026, 11, 17))
    planted.remind(ada, date(2026, 11, 17), kind="morning")
    planted.pickup(ada, lagos(2026, 11, 17, 9, 0), 1200)
    planted.remind(ada, date(2026, 11, 20))
    planted.pickup(ada, lagos(2026, 11, 20, 10, 0), 1500)
    # Week 11 (today is Wednesday): reminded for yesterday, no pickup yet; Friday's is not counted.
    planted.remind(ada, date(2026, 11, 24))
    planted.remind(bola, date(2026, 11, 27), status="sent")

    weeks = trends.trends(session, NOW, LAGOS)

    assert [(w.reminded, w.converted) for w in weeks] == [
        (1, 0),
        (0, 0),
        (1, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (0, 0),
        (1, 0),
        (2, 1),
        (2, 2),
        (1, 0),
    ]
    assert [w.conversion_percent for w in weeks] == [0, None, 0, None, None, None, None, None, 0, 50, 100, 0]


def test_a_percent_is_rounded_half_up() -> None:
    bounds = trends.weeks(NOW, LAGOS, 1)[0]
    assert trends.Week(bounds, False, reminded=3, converted=2).conversion_percent == 67
    assert trends.Week(bounds, False, reminded=8, converted=1).conversion_percent == 13  # 12.5
    assert trends.Week(bounds, False, reminded=3, converted=0).conversion_percent == 0


@pytest.fixture
def hub(make_app: Callable[..., Flask], redis: object) -> Hub:
    return Hub(make_app())


def test_the_overview_draws_the_twelve_weeks_with_their_numbers(hub: Hub) -> None:
    hub.seed()  # two weeks of pickups, up to yesterday
    weeks = hub.read(lambda s: trends.trends(s, datetime.now(UTC), hub.runtime.settings.zone))
    credited = hub.read(
        lambda s: s.execute(
            select(func.sum(collections_t.c.grams)).where(collections_t.c.status == "credited")
        ).scalar_one()
    )
    assert sum(w.grams for w in weeks) == credited > 0  # the demo's fortnight, all in the twelve weeks

    page = hub.signed_in("auditor").get("/dashboard/")
    assert page.status_code == 200
    section = page.text.split('<section id="trends"')[1].split("</section>")[0]
    assert section.count('<svg class="spark"') == 5  # kg, households, issued, redeemed, reminded
    kg_chart = section.split('data-trend="grams"')[1].split("</svg>")[0]
    assert (
        kg_chart.count('class="bar') == 12 and 'height="48.0" rx="1" class="bar' in kg_chart
    )  # the top week
    for w in weeks:  # each bar names its week
        assert f"<title>{w.first.strftime('%-d %b')} {DASH} " in section
    rows = re.findall(r"<tr[^>]*>\s*<th scope=\"row\">(.*?)</th>(.*?)</tr>", section, re.S)
    assert [label.split(f" {DASH} ")[0] for label, _ in rows] == [
        w.first.strftime("%-d %b") for w in reversed(weeks)
    ]
    assert rows[0][0].endswith("(so far)") and not any(label.endswith("(so far)") for label, _ in rows[1:])
    for (_, cells), w in zip(rows, reversed(weeks), strict=True):
        numbers = re.findall(r'<td class="num">([^<]*)</td>', cells)
        assert numbers[:6] == [
            kg(w.grams),
            f"{w.pickups:,}",
            f"{w.active_households:,}",
            f"{w.points_issued:,}",
            "0",
            "0",
        ]
