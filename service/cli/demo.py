"""Demo data for the embedded run and the README's walk-through: a programme a person can text.

Two zones, two collectors, three households (their phones are the simulator's), the default
materials with rates, three rewards, a partner shop, and two weeks of pickups logged through the
same ``log_pickup`` every real pickup takes. Seeding twice changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import open_programme_accounts
from service.unit_of_work import Gathered, UnitOfWork
from service.usecases.catalogue import rates_in_force, set_rate
from service.usecases.households import member_by_phone, register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup
from service.usecases.rewards import add_reward, get_reward
from service.usecases.roles import add_collector, add_partner, collector_by_phone, partner_by_phone
from service.usecases.users import DEMO_PASSWORD as DEMO_USERS_PASSWORD
from service.usecases.zones import add_zone, zone_by_name
from sms.commands import Line

ZONES = (("Yaba", "tue,fri", "08:00-12:00"), ("Sabo", "wed,sat", "09:00-13:00"))
COLLECTORS = (("+2348030000001", "Musa Ibrahim", "Yaba"), ("+2348030000002", "Kemi Adeyemi", "Sabo"))
# The simulator's phones: "BAL" there shows real demo points.
HOUSEHOLDS = (
    ("+2348031234567", "Ada Okafor", "12 Adeniyi St, Yaba", "Yaba"),
    ("+2348052345678", "Tunde Bakare", "4 Herbert Macaulay Way, Yaba", "Yaba"),
    ("+2348063456789", "Ngozi Eze", "31 Commercial Ave, Sabo", "Sabo"),
)
# Points and commission per kg, in force from the start of the demo year.
RATES = {"PET": (10, 2), "SACHET": (8, 1), "ALU": (30, 5), "HDPE": (12, 2), "PAPER": (4, 1), "GLASS": (2, 1)}
LAGOS = ZoneInfo("Africa/Lagos")
RATES_FROM = datetime(2026, 1, 1, tzinfo=LAGOS)
REWARDS: tuple[tuple[str, str, str, int, dict[str, int]], ...] = (
    ("AIRTIME", "Airtime", "airtime", 1, {"min_units": 50, "max_units": 5000}),
    ("RICE1", "Rice 1kg", "voucher", 200, {}),
    ("SOAP", "Bar soap", "goods", 150, {"stock": 200}),
)
PARTNER = ("+2348040000001", "Mama Nkechi Store")
DAYS = 14


def seed_demo(session: Session, *, now: datetime | None = None) -> int:
    """Add whatever of the demo is missing; returns how many demo pickups were new."""
    now = now or datetime.now(UTC)
    open_programme_accounts(session)
    zones = {
        name: zone_by_name(session, name) or add_zone(session, name, days, window, now)
        for name, days, window in ZONES
    }
    collectors = [
        collector_by_phone(session, phone) or add_collector(session, phone, name, zones[zone].id, now)
        for phone, name, zone in COLLECTORS
    ]
    if not rates_in_force(session, RATES, now):
        for material, (points, commission) in RATES.items():
            set_rate(session, material, points, commission, RATES_FROM, "demo", now)
    for code, name, kind, price, limits in REWARDS:
        if get_reward(session, code) is None:
            add_reward(session, code, name, kind, price, now, **limits)
    if partner_by_phone(session, PARTNER[0]) is None:
        add_partner(session, *PARTNER, now)
    members = []
    for phone, name, address, zone in HOUSEHOLDS:
        ensure_phone(session, phone, now)
        members.append(
            member_by_phone(session, phone)
            or register_household(session, phone, name, address, "demo", now, zone_id=zones[zone].id)
        )
    new = 0
    for day in range(DAYS):
        member = members[day % len(members)]
        collector = collectors[0] if member.zone_id == zones["Yaba"].id else collectors[1]
        occurred = (now - timedelta(days=DAYS - day)).replace(hour=9, minute=30, second=0, microsecond=0)
        weights = (
            ("PET", 2000 + 500 * (day % 4)),
            ("SACHET", 1500 + 250 * (day % 5)),
            ("ALU", 200 * (day % 3)),
        )
        logged = log_pickup(
            session,
            collector=collector,
            household=member,
            lines=tuple(Line(material, grams) for material, grams in weights if grams),
            occurred_at=occurred,
            received_at=occurred,
            channel="demo",
            dedupe_key=f"demo:{day}",
        )
        new += not logged.duplicate
    return new


# Dashboard users of the demo, all with one password (the embedded run's README says so). A real
# programme adds its own with `flask --app wsgi users add`; these exist only where seed-demo ran.
DEMO_PASSWORD = DEMO_USERS_PASSWORD
# The demo collectors' PIN for the collector app (/app): theirs only where seed-demo ran.
DEMO_PIN = "2580"
DEMO_USERS = (
    ("admin@demo.kolekt", "admin"),
    ("operator@demo.kolekt", "operator"),
    ("checker@demo.kolekt", "operator"),
    ("auditor@demo.kolekt", "auditor"),
)


def _collectors_with_pin(session: Session) -> set[int]:
    from service.models import collectors_t

    return set(
        session.execute(select(collectors_t.c.id).where(collectors_t.c.pin_hash.is_not(None))).scalars()
    )


def seed_dashboard_demo(session: Session, *, now: datetime | None = None) -> int:
    """The demo's dashboard users, its collectors' app PIN and, for the queue, one household's
    dispute; returns the users added (none the second time)."""
    from service.models import collections_t, disputes_t
    from service.usecases.disputes import open_dispute
    from service.usecases.pickups import pickup_by_reference
    from service.usecases.tokens import set_pin
    from service.usecases.users import add_user, user_by_email

    now = now or datetime.now(UTC)
    added = 0
    for phone, _name, _zone in COLLECTORS:
        collector = collector_by_phone(session, phone)
        if collector is not None and collector.id not in _collectors_with_pin(session):
            set_pin(session, collector.id, DEMO_PIN, now, by="demo")
    for email, role in DEMO_USERS:
        if user_by_email(session, email) is None:
            add_user(session, email, DEMO_PASSWORD, role, now)
            added += 1
    if not session.execute(select(disputes_t.c.id).limit(1)).first():
        newest = session.execute(
            select(collections_t.c.reference)
            .where(collections_t.c.status == "credited", collections_t.c.channel == "demo")
            .order_by(collections_t.c.id.desc())
            .limit(1)
        ).scalar()
        pickup = pickup_by_reference(session, newest) if newest else None
        if pickup is not None:
            open_dispute(session, pickup, "the bag was heavier than that", now, None)
    _showcase(session, now)
    return added


def _showcase(session: Session, now: datetime) -> None:
    """What else a newcomer should find on the dashboard: a weigh-in the scale disagrees with
    (flagged), an adjustment waiting for a second operator, and texts sent and delivered."""
    from service.models import adjustments_t, outbox_t, weigh_ins_t
    from service.outbox import Outbox
    from service.usecases import adjustments, weighins
    from service.usecases.users import user_by_email

    operator = user_by_email(session, "operator@demo.kolekt")
    collector = collector_by_phone(session, COLLECTORS[0][0])
    if operator is None or collector is None:
        return
    if not session.execute(select(weigh_ins_t.c.id).limit(1)).first():
        rows = weighins.comparison(
            session,
            LAGOS,
            collector_id=collector.id,
            first_day=(now - timedelta(days=DAYS)).astimezone(LAGOS).date(),
            last_day=now.astimezone(LAGOS).date(),
            gap_percent=10,
        )
        logged = next((row for row in rows if row.logged and row.weighed is None), None)
        if logged is not None:  # the scale says 30% less than was logged
            weighins.record_weigh_in(
                session,
                collector.id,
                logged.day,
                logged.material_code,
                logged.logged * 7 // 10,
                "demo: the scale read less than the logs",
                operator.id,
                now,
                local_zone=LAGOS,
            )
    ada = member_by_phone(session, HOUSEHOLDS[0][0])
    if ada is not None and not session.execute(select(adjustments_t.c.id).limit(1)).first():
        adjustments.propose(
            session, operator.id, ada.member_code, "25", "demo: bonus for the street clean-up", now
        )
    if not session.execute(select(outbox_t.c.id).where(outbox_t.c.status == "delivered").limit(1)).first():
        outbox = Outbox(session, now, "Kolekt")
        for phone, name, _address, _zone in HOUSEHOLDS:
            member = member_by_phone(session, phone)
            if member is not None:
                outbox.text(phone, "welcome_no_zone", "EN", name=name.split()[0], code=member.member_code)
        for number, message_id in enumerate(outbox.written):
            session.execute(
                outbox_t.update()
                .where(outbox_t.c.id == message_id)
                .values(
                    status="delivered" if number else "sent",
                    provider="console",
                    provider_message_id=f"demo-{message_id}",
                    attempts=1,
                    sent_at=now,
                    final_at=now if number else None,
                )
            )


DEMO_BROADCAST = (
    "Kolekt: collection in Yaba moves to Saturday this week only, 8am-12pm. "
    "Keep your bags dry. Questions? Text HELP."
)


def seed_demo_broadcast(uow: UnitOfWork) -> None:
    """A broadcast to Yaba waiting for a second operator (checker@demo.kolekt approves it), so that
    Broadcasts shows both its steps; once."""
    from service.models import broadcasts_t
    from service.usecases import broadcasts
    from service.usecases.users import user_by_email

    operator = user_by_email(uow.session, "operator@demo.kolekt")
    yaba = zone_by_name(uow.session, "Yaba")
    if operator is None or yaba is None or uow.session.execute(select(broadcasts_t.c.id).limit(1)).first():
        return
    settings = uow.settings.with_changes(broadcast_approval_above=0)  # every one waits, here
    draft = broadcasts.compose(
        uow.session, settings, audience="zone", zone=str(yaba.id), texts={"EN": DEMO_BROADCAST}
    )
    broadcasts.submit(
        UnitOfWork(uow.session, settings, Gathered(), uow.now), draft, operator.id, uuid.uuid4().hex
    )
