"""Three months of a programme through ``log_pickup`` with holds on (issue 24's test): honest
collectors on their weekly rounds (now and then two neighbours a minute apart, or a household
with a bag 2 to 3 times its usual), new households registered at the door, and planted frauds:

- ``heavy``: a collector writes 3 to 5 times three households' usual kg, weeks 6 to 12;
- ``too_fast``: a collector logs five households 20 s apart at the end of a round, weeks 8 to 12;
- ``own``: a household at a collector's own address, and one whose cash-out account is in a
  collector's name, collected every week;
- ``ghost``: a collector registers two households a week that are never seen again;
- ``round``: a collector writes every weight up to the whole kilo from week 4.

The thresholds are learned every night, as the ``learn_signals`` job does. Each pickup is held or
not as it is logged; the figures are printed (``pytest -s``):

    .venv/bin/python -m pytest -q -s tests/usecases/test_holds_months.py

``heavy``, ``too_fast`` and ``own`` are held every time. ``ghost`` and ``round`` are habits: they
are held from the night the collector's habit shows (a ghost is known once its registration is 3
weeks old with no second pickup and no text), and every one of them is counted in the collector's
flagged habit on the scorecard. Honest pickups are held less than 2% of the time. Then every
hold is approved, rejected or released, and ``ledger verify`` passes.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from service.models import collections_t, collectors_t, holds_t, payout_accounts_t
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import holds, screening
from service.usecases.catalogue import set_rate
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup
from service.usecases.roles import Collector, add_collector
from service.usecases.zones import add_zone
from sms import Line
from tests.usecases.conftest import inbound

LAGOS = ZoneInfo("Africa/Lagos")
START = datetime(2026, 8, 31, 0, 0, tzinfo=UTC)  # a Monday
WEEKS = 13
COLLECTORS = 12
ROUTE = 36  # households each collector starts with
HEAVY, FAST, OWN, GHOST, ROUND = 0, 1, 4, 3, 6  # the collectors who cheat, by kind
OWN_BY_NAME = 5
CHEATS = {HEAVY, FAST, OWN, GHOST, ROUND, OWN_BY_NAME}
SCREENING = screening.Screening(LAGOS, 7)


@dataclass
class Logged:
    collection_id: int
    collector_index: int
    planted: str | None
    held: bool
    habit_known: bool  # for a habit (ghost, round): the collector's was flagged when it was logged


@dataclass
class Programme:
    session: Session
    settings: Settings
    rng: random.Random
    collectors: list[Collector] = field(default_factory=list)
    routes: dict[int, list[Member]] = field(default_factory=dict)
    usual: dict[int, float] = field(default_factory=dict)
    logged: list[Logged] = field(default_factory=list)
    flagged: set[tuple[int, str]] = field(default_factory=set)
    phones: int = 0

    def household(
        self, collector: Collector, at: datetime, *, address: str | None = None, by: bool
    ) -> Member:
        self.phones += 1
        phone = f"+23480{self.phones:08d}"
        ensure_phone(self.session, phone, at)
        member = register_household(
            self.session,
            phone,
            f"House {self.phones}",
            address or f"{self.phones} Road",
            "collector" if by else "sms",
            at,
            zone_id=collector.zone_id,
            registered_by=collector.id if by else None,
        )
        self.usual[member.id] = self.rng.lognormvariate(1.5, 0.4) * 1000  # about 4.5 kg
        return member

    def log(
        self, collector: Collector, member: Member, at: datetime, grams: int, planted: str | None
    ) -> None:
        logged = log_pickup(
            self.session,
            collector=collector,
            household=member,
            lines=[Line("PET", grams)],
            occurred_at=at,
            received_at=at,
            channel="app",
            dedupe_key=f"sim:{len(self.logged)}",
            screening=SCREENING,
        )
        habit = {"ghost": "ghost", "round": "round"}.get(planted or "")
        known = habit is not None and (collector.id, habit) in self.flagged
        self.logged.append(
            Logged(logged.collection_id, self.collectors.index(collector), planted, logged.held, known)
        )

    def learn(self, at: datetime) -> None:
        learned = screening.learn(self.session, at, self.settings)
        self.flagged = {(j.collector_id, j.name) for j in learned.flagged}


def simulate(session: Session, settings: Settings, seed: int) -> Programme:
    rng = random.Random(seed)
    programme = Programme(session, settings, rng)
    set_rate(session, "PET", 10, 2, datetime(2026, 1, 1, tzinfo=UTC), "test", START)
    for c in range(COLLECTORS):
        zone = add_zone(session, f"Zone {c}", "mon,tue,wed,thu,fri", "08:00-12:00", START)
        collector = add_collector(session, f"+23481{c:08d}", f"Collector {c} Adisa", zone.id, START)
        programme.collectors.append(collector)
        programme.routes[collector.id] = [
            programme.household(collector, START, by=False) for _ in range(ROUTE)
        ]
    own_collector = programme.collectors[OWN]
    session.execute(
        collectors_t.update()
        .where(collectors_t.c.id == own_collector.id)
        .values(home_address="7, Bode Street")
    )
    programme.routes[own_collector.id].append(
        programme.household(own_collector, START, address="7 Bode street", by=False)
    )
    named = programme.collectors[OWN_BY_NAME]
    theirs = programme.household(named, START, by=False)
    programme.routes[named.id].append(theirs)
    session.execute(
        payout_accounts_t.insert(),
        {
            "household_id": theirs.id,
            "bank_code": "058",
            "bank_name": "GTBank",
            "account_number": "0123456789",
            "account_name": "ADISA COLLECTOR 5",
            "status": "active",
            "registered_by": "household",
            "created_at": START,
        },
    )
    owners = {programme.routes[own_collector.id][-1].id, theirs.id}
    for day in range(7 * WEEKS):
        morning = START + timedelta(days=day, hours=7)  # 08:00 in Lagos
        programme.learn(START + timedelta(days=day))
        week = day // 7
        for index, collector in enumerate(programme.collectors):
            if day % 7 != index % 5:
                continue
            route = programme.routes[collector.id]
            moment = morning
            inflated = set(rng.sample(range(ROUTE), 3)) if index == HEAVY and week >= 6 else set()
            for position, member in enumerate(route):
                fast = index == FAST and week >= 8 and position >= len(route) - 5
                # Honest oddities: now and then two neighbours in one compound, a minute apart or
                # less, and a household that saved up (a party, a clear-out) for a bag 2-3 times its usual.
                neighbours = rng.random() < 0.01
                gap = 20 if fast else rng.uniform(20, 90) if neighbours else rng.uniform(240, 900)
                moment += timedelta(seconds=gap)
                bumper = rng.uniform(2, 3) if rng.random() < 0.005 else 1
                grams = max(300, round(programme.usual[member.id] * bumper * rng.gauss(1, 0.2), -2))
                planted = None
                if member.id in owners:
                    planted = "own"
                elif position in inflated:
                    grams, planted = programme.usual[member.id] * rng.uniform(3, 5), "heavy"
                elif fast:
                    planted = "too_fast"
                elif index == ROUND and week >= 4:
                    grams, planted = -(-grams // 1000) * 1000, "round"
                programme.log(collector, member, moment, int(grams), planted)
            # A new household at the door each week, on the round's way: most stay and text.
            new = programme.household(collector, moment, by=True)
            moment += timedelta(seconds=rng.uniform(240, 900))
            programme.log(collector, new, moment, int(round(programme.usual[new.id], -2)), None)
            if rng.random() < 0.9:
                route.append(new)
                if rng.random() < 0.6:
                    inbound(session, new.phone, "BAL", moment + timedelta(days=1))
            if index == GHOST:
                for _ in range(2):
                    ghost = programme.household(collector, moment, by=True)
                    moment += timedelta(seconds=rng.uniform(240, 900))
                    programme.log(
                        collector, ghost, moment, int(round(programme.usual[ghost.id], -2)), "ghost"
                    )
    return programme


@pytest.fixture
def held_settings(settings: Settings) -> Settings:
    return settings.with_changes(holds=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_frauds_are_held_and_honest_pickups_seldom(
    session: Session, held_settings: Settings, uow: Callable[..., UnitOfWork], seed: int, dialect: str
) -> None:
    if dialect == "postgresql" and seed != 1:
        pytest.skip("three seeds on SQLite, one on PostgreSQL (each is about a minute there)")
    programme = simulate(session, held_settings, seed)
    logged = programme.logged
    by_kind: Counter[str] = Counter(p.planted for p in logged if p.planted)
    held: Counter[str] = Counter(p.planted for p in logged if p.planted and p.held)
    known: Counter[str] = Counter(p.planted for p in logged if p.planted and p.habit_known)
    known_held: Counter[str] = Counter(p.planted for p in logged if p.planted and p.habit_known and p.held)
    # Honest collectors: those who plant nothing (a cheat's other pickups are not counted).
    honest = [p for p in logged if p.collector_index not in CHEATS]
    honest_held = sum(p.held for p in honest)
    planted = sum(by_kind.values())
    caught = sum(held.values())
    print(
        f"\nseed {seed}: planted {planted}, held {caught} ({caught / planted:.0%}); "
        + ", ".join(f"{kind} {held[kind]}/{by_kind[kind]}" for kind in sorted(by_kind))
        + f"; once the habit showed: ghost {known_held['ghost']}/{known['ghost']}, "
        f"round {known_held['round']}/{known['round']}; "
        f"honest {len(honest)}, held {honest_held} ({honest_held / len(honest):.2%})"
    )
    for kind in ("heavy", "too_fast", "own"):
        assert held[kind] == by_kind[kind] > 0, kind
    for habit in ("ghost", "round"):
        assert known[habit] > 0 and known_held[habit] == known[habit], habit
    # Every habit is flagged by the end, on the cheat and on nobody else.
    flagged_habits = {(c, name) for c, name in programme.flagged if name in ("ghost", "round")}
    assert flagged_habits == {
        (programme.collectors[GHOST].id, "ghost"),
        (programme.collectors[ROUND].id, "round"),
    }
    assert honest_held / len(honest) < 0.02
    decide_every_hold(session, uow, programme)


def decide_every_hold(session: Session, uow: Callable[..., UnitOfWork], programme: Programme) -> None:
    """Approve a third, reject a third, release the rest on their day: the books balance."""
    references = (
        session.execute(
            select(collections_t.c.reference)
            .join(holds_t, holds_t.c.collection_id == collections_t.c.id)
            .where(holds_t.c.status == "held")
            .order_by(collections_t.c.id)
        )
        .scalars()
        .all()
    )
    end = START + timedelta(weeks=WEEKS)
    for n, reference in enumerate(references):
        if n % 3 == 0:
            holds.approve(uow(end), reference, "ops@example.org")
        elif n % 3 == 1:
            holds.reject(uow(end), reference, "ops@example.org", "the scale says otherwise")
    later = end + timedelta(days=8)
    for reference in holds.due(session, later.astimezone(LAGOS).date(), limit=10_000):
        assert holds.release(uow(later), reference)
    assert holds.due(session, later.astimezone(LAGOS).date()) == []
    ledger.seal_all(session)
    report = ledger.verify(session)
    assert report.ok, report.problem
    from service.accounts import HOLDS

    assert ledger.balance(session, HOLDS).credit_balance == 0
