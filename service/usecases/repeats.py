"""A pickup that arrives again: the phone resent the LOG text, the app synced twice, or the same
#seq came by SMS and then by the app. ``find_repeat`` finds the pickup it repeats, in one query,
and ``same_pickup`` tells whether it really is the same one (``service.usecases.pickups``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, bindparam, case, or_, select
from sqlalchemy.orm import Session

import sms
from service.models import collection_lines_t, collections_t
from service.usecases.households import Member

# A LOG text repeated by the same collector within this time is the same pickup resent.
REPEAT_WINDOW = timedelta(hours=6)


class Logged(NamedTuple):
    """A pickup in the books; ``duplicate`` when it was there already (nothing was credited)."""

    collection_id: int
    reference: str
    points: int
    commission: int
    occurred_at: datetime
    duplicate: bool
    household_id: int
    channel: str
    grams: int
    held: bool = False  # credited as held for review (service.usecases.holds)


def text_key(member: Member, lines: Sequence[sms.Line]) -> str:
    """What makes two LOG texts the same pickup: the member and the weights, however typed."""
    canonical = (
        member.member_code
        + ";"
        + ";".join(f"{line.material}={line.grams}" for line in sorted(lines, key=lambda line: line.material))
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


_collections = collections_t.c
_BY_KEY = _collections.dedupe_key == bindparam("key")
_BY_SEQ = and_(_collections.collector_id == bindparam("collector_id"), _collections.seq == bindparam("seq"))
_BY_TEXT = and_(
    _collections.collector_id == bindparam("collector_id"),
    _collections.received_at >= bindparam("since"),
    _collections.text_key == bindparam("text_key"),
)
# The three ways a pickup may repeat another, in one query, the first of them first: the same
# dedupe key, else the collector's same #seq, else the same text resent.
_REPEAT = (
    select(
        _collections.id,
        _collections.reference,
        _collections.points,
        _collections.commission,
        _collections.occurred_at,
        _collections.household_id,
        _collections.channel,
        _collections.grams,
    )
    .where(or_(_BY_KEY, _BY_SEQ, _BY_TEXT))
    .order_by(case((_BY_KEY, 0), (_BY_SEQ, 1), else_=2), _collections.id)
    .limit(1)
)


def find_repeat(
    session: Session,
    collector_id: int,
    dedupe_key: str,
    repeat_key: str | None,
    received_at: datetime,
    seq: int | None = None,
) -> Logged | None:
    """The pickup this one repeats: the same dedupe key; the collector's same #seq, whichever
    way it came (a LOG text handed to SMS by the app, then the app's sync); or the same text
    resent within ``REPEAT_WINDOW`` (a NULL #seq or text key matches nothing)."""
    row = session.execute(
        _REPEAT,
        {
            "key": dedupe_key,
            "collector_id": collector_id,
            "seq": seq,
            "since": received_at - REPEAT_WINDOW,
            "text_key": repeat_key,
        },
    ).first()
    if row is None:
        return None
    return Logged(
        row.id,
        row.reference,
        row.points,
        row.commission,
        row.occurred_at,
        True,
        row.household_id,
        row.channel,
        row.grams,
    )


def _material_totals(pairs: Sequence[tuple[str, int]]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for material, grams in pairs:
        totals[material] = totals.get(material, 0) + grams
    return totals


def same_pickup(session: Session, logged: Logged, household: Member, lines: Sequence[sms.Line]) -> bool:
    """Whether the pickup found (by its dedupe key, its #seq or its text) is this one: the same
    household and the same weight of each material (another mix of the same total is another
    pickup)."""
    if logged.household_id != household.id:
        return False
    stored = session.execute(
        select(collection_lines_t.c.material_code, collection_lines_t.c.grams).where(
            collection_lines_t.c.collection_id == logged.collection_id
        )
    ).all()
    return _material_totals([(row.material_code, row.grams) for row in stored]) == _material_totals(
        [(line.material, line.grams) for line in lines]
    )
