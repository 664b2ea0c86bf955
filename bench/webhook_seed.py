"""Set-up and checks for bench/webhook.py: the programme each phase needs, and what the phases wrote.

Seeded (not timed): the demo (its rates and its Airtime reward), then one zone per collector, and
households spread over those zones with points in the ledger, so a collector LOGs only households
of its own zone and every household can BAL and REDEEM. Phones are kept apart by prefix, so no
JOIN or NEW number is ever a member's, a collector's or the demo's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

import sms
from bench.ledger import advance_sequence, open_with_points, recreate_database, tidy
from bench.webhook_floor import create_table, texts_t
from service.cli.demo import seed_demo
from service.db import make_engine, make_session_factory, transaction
from service.migrate import upgrade
from service.models import collections_t, households_t, inbound_t, outbox_t, phones_t, redemptions_t
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone


def household_phone(index: int) -> str:
    return f"+234813{index:07d}"


def join_phone(index: int) -> str:
    return f"+234814{index:07d}"


def new_phone(index: int) -> str:
    return f"+234815{index:07d}"


def warm_phone(index: int) -> str:
    return f"+234816{index:07d}"


def collector_phone(index: int) -> str:
    return f"+23480398{index:05d}"


@dataclass
class Seeded:
    households: list[str]  # phones; household i is in collector i % len(collectors)'s zone
    collectors: list[str]  # phones; collector c in zone "Bench c"


def seed(url: str, households: int, collectors: int, points: int) -> Seeded:
    if households < collectors:
        raise SystemExit("--households must be at least --collectors (each zone needs households)")
    recreate_database(url)
    upgrade(url)
    engine = make_engine(url)
    create_table(engine)
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as session:
        seed_demo(session, now=now)
        zones = [add_zone(session, f"Bench {c}", "tue,fri", "08:00-12:00", now).id for c in range(collectors)]
        phones = [collector_phone(c) for c in range(collectors)]
        for c, phone in enumerate(phones):
            add_collector(session, phone, f"Bench Collector {c}", zones[c], now)
        first = int(session.execute(select(func.max(households_t.c.id))).scalar() or 0) + 1
        homes = [household_phone(i) for i in range(households)]
        codes = [sms.member_code(first + i) for i in range(households)]
        dated = {"created_at": now, "updated_at": now}
        session.execute(phones_t.insert(), [{"number": phone, "language": "EN", **dated} for phone in homes])
        alike = {"address": "Bench St", "joined_via": "bench", "created_at": now, "status": "active"}
        session.execute(
            households_t.insert(),
            [
                {"id": first + i, "member_code": codes[i], "phone": homes[i], "name": f"Household {i}"}
                | {"zone_id": zones[i % collectors], **alike}
                for i in range(households)
            ],
        )
        open_with_points(session, codes, points, now)
    advance_sequence(engine, url)
    engine.dispose()
    tidy(url)
    return Seeded(homes, phones)


def counts(url: str) -> dict[str, Any]:
    """What the phases write: a stored text each (acted on), households, pickups, redemptions,
    the floor's rows; and the replies written, by template (a refusal would show there)."""
    queries = {
        "inbound": select(func.count()).select_from(inbound_t),
        "inbound_not_processed": select(func.count()).where(inbound_t.c.status != "processed"),
        "households": select(func.count()).select_from(households_t),
        "pickups": select(func.count()).select_from(collections_t),
        "redemptions": select(func.count()).select_from(redemptions_t),
        "floor_rows": select(func.count()).select_from(texts_t),
    }
    engine = make_engine(url)
    with engine.connect() as connection:
        found: dict[str, Any] = {name: int(connection.execute(q).scalar_one()) for name, q in queries.items()}
        rows = connection.execute(
            select(outbox_t.c.template, func.count())
            .where(outbox_t.c.inbound_id.is_not(None))
            .group_by(outbox_t.c.template)
        )
        found["replies"] = {template: int(n) for template, n in rows}
        found["sent"] = int(
            connection.execute(select(func.count()).where(outbox_t.c.sent_at.is_not(None))).scalar_one()
        )
    engine.dispose()
    return found


def compare(
    before: dict[str, Any], after: dict[str, Any], texts: dict[str, int], floor: int
) -> dict[str, Any]:
    """The phases' effects against what they should have made; ``texts`` is the app's texts by phase."""
    made = {key: after[key] - before[key] for key in after if isinstance(after[key], int) and key != "sent"}
    expected = {
        "inbound": sum(texts.values()),
        "inbound_not_processed": 0,
        "households": texts.get("JOIN", 0) + texts.get("NEW", 0),
        "pickups": texts.get("LOG", 0),
        "redemptions": texts.get("REDEEM", 0),
        "floor_rows": floor,
    }
    replies = {
        template: n - before["replies"].get(template, 0)
        for template, n in after["replies"].items()
        if n != before["replies"].get(template, 0)
    }
    return {"made": made, "expected": expected, "right": made == expected, "replies": replies}
