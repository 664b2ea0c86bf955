"""Phone numbers: every number Kolekt has heard from or texts has a row, with its language and
whether it opted out. Opt-outs belong to the number, not to a household: anyone may text STOP,
and a number that did is never sent anything again until it texts START."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from service.db import insert_ignoring_conflict, upsert
from service.models import phones_t
from service.outbox import opt_out


def ensure_phone(session: Session, number: str, now: datetime) -> None:
    """The phone's row (language, opt-out), created if Kolekt has not met the number before."""
    insert_ignoring_conflict(
        session,
        phones_t,
        {"number": number, "language": "EN", "created_at": now, "updated_at": now},
        conflict=("number",),
        returning=phones_t.c.number,
    )


def touch(session: Session, number: str, now: datetime) -> str:
    """The phone's row, created or touched, and locked until the commit (one number's texts are
    handled one at a time); its language."""
    row = upsert(
        session,
        phones_t,
        {"number": number, "language": "EN", "created_at": now, "updated_at": now},
        conflict=("number",),
        update={"updated_at": now},
        returning=(phones_t.c.language,),
    )
    language: str = row.language
    return language


def set_language(session: Session, number: str, language: str, now: datetime) -> None:
    session.execute(
        phones_t.update().where(phones_t.c.number == number).values(language=language, updated_at=now)
    )


def stop(session: Session, number: str, now: datetime) -> bool:
    """The number opts out of every text; False if it had already (nothing changes)."""
    return opt_out(session, number, now)


def start(session: Session, number: str, now: datetime) -> None:
    """The number opts back in (if it had opted out)."""
    session.execute(
        phones_t.update()
        .where(phones_t.c.number == number, phones_t.c.opted_out_at.is_not(None))
        .values(opted_out_at=None, updated_at=now)
    )
