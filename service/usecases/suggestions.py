"""A say in the rewards (issue 23): households text SUGGEST and an idea; operators read them and
group them under topics (``flask --app wsgi suggestions``), ahead of a vote."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.models import households_t, suggestions_t, zones_t
from service.timetable import local_day
from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError, Refused
from service.usecases.households import Member

# Ideas a household may send a day (programme's days): more are thanked for, not kept.
DAILY_LIMIT = 3
MAX_TOPIC = 40


def suggest(uow: UnitOfWork, household: Member | None, text: str) -> int:
    """SUGGEST: the idea kept for the hub; its id. ``Refused``: a stranger, or the day's ideas
    already sent (``suggest_limit``)."""
    if household is None:
        raise Refused("not_member")
    session, local = uow.session, uow.settings.zone
    today = local_day(uow.now, local)
    start = datetime.combine(today, datetime.min.time(), local)
    sent = session.execute(
        select(func.count()).where(
            suggestions_t.c.household_id == household.id, suggestions_t.c.created_at >= start
        )
    ).scalar_one()
    if sent >= DAILY_LIMIT:
        raise Refused("suggest_limit", count=sent)
    return int(
        session.execute(
            suggestions_t.insert().returning(suggestions_t.c.id),
            {"household_id": household.id, "text": text[:160], "created_at": uow.now},
        ).scalar_one()
    )


class Idea(NamedTuple):
    """A suggestion as the hub reads it: no phone or name, the household's code and zone."""

    id: int
    created_at: datetime
    member_code: str
    zone: str | None
    text: str
    topic: str | None


def ideas(session: Session, *, topic: str | None = None, without_topic: bool = False) -> list[Idea]:
    """The suggestions, newest first: all, those under ``topic``, or those under none yet."""
    statement = (
        select(
            suggestions_t.c.id,
            suggestions_t.c.created_at,
            households_t.c.member_code,
            zones_t.c.name,
            suggestions_t.c.text,
            suggestions_t.c.topic,
        )
        .join(households_t, households_t.c.id == suggestions_t.c.household_id)
        .outerjoin(zones_t, zones_t.c.id == households_t.c.zone_id)
        .order_by(suggestions_t.c.id.desc())
    )
    if topic is not None:
        statement = statement.where(suggestions_t.c.topic == _topic(topic))
    elif without_topic:
        statement = statement.where(suggestions_t.c.topic.is_(None))
    return [Idea(*row) for row in session.execute(statement)]


def topics(session: Session) -> list[tuple[str, int]]:
    """Each topic with how many ideas are under it, the most first."""
    counted = func.count()
    rows = session.execute(
        select(suggestions_t.c.topic, counted)
        .where(suggestions_t.c.topic.is_not(None))
        .group_by(suggestions_t.c.topic)
        .order_by(counted.desc(), suggestions_t.c.topic)
    )
    return [(str(topic), int(count)) for topic, count in rows]


def _topic(text: str) -> str:
    topic = " ".join(text.split()).lower()
    if not topic or len(topic) > MAX_TOPIC:
        raise CatalogueError(f"a topic is 1 to {MAX_TOPIC} characters")
    return topic


def put_under(session: Session, topic: str, ids: list[int]) -> int:
    """Group suggestions ``ids`` under ``topic`` (lower case, spaces made single); how many.
    ``CatalogueError`` for an id that is no suggestion (nothing is changed then)."""
    topic = _topic(topic)
    known = set(session.execute(select(suggestions_t.c.id).where(suggestions_t.c.id.in_(ids))).scalars())
    missing = sorted(set(ids) - known)
    if missing:
        raise CatalogueError(f"no suggestion {', '.join(str(i) for i in missing)}")
    session.execute(update(suggestions_t).where(suggestions_t.c.id.in_(ids)).values(topic=topic))
    return len(known)
