"""A say in the rewards (issue 23): an operator opens a vote, a question with two or three
options, for a number of days (``flask --app wsgi votes``). Households text VOTE to read it and
VOTE and a number to vote, once each: a later VOTE changes theirs until the vote closes. The
result is on the open books. One vote is open at a time.

The question and options are written into texts: short (one segment with the programme's name
in any of the five languages) and in the GSM-7 alphabet, accents folded away.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import sms
from service.db import upsert
from service.models import ballots_t, votes_t
from service.timetable import local_day
from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError, Refused
from service.usecases.households import Member

MAX_QUESTION = 40
MAX_OPTION = 12
MAX_DAYS = 60
RESULTS_SHOWN = 5  # the latest closed votes on the open books


class VoteInfo(NamedTuple):
    id: int
    question: str
    options: tuple[str, ...]
    opened_at: datetime
    closes_at: datetime  # the first moment it is closed (the day after its last day, 00:00)
    closed_at: datetime | None  # closed early by an operator, or when the next one opened

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.closes_at

    def ended_at(self) -> datetime:
        return self.closed_at or self.closes_at

    def listing(self) -> str:
        """``1 Rice, 2 Soap, 3 Data``: how a text lists the options."""
        return ", ".join(f"{number} {option}" for number, option in enumerate(self.options, 1))

    def choices(self) -> str:
        """``1 or 2``, ``1, 2 or 3``."""
        numbers = [str(number) for number in range(1, len(self.options) + 1)]
        return f"{', '.join(numbers[:-1])} or {numbers[-1]}"

    def last_date(self, local: tzinfo) -> date:
        """The last day it was (or is) open: the one before ``ended_at`` when it ran its course."""
        return (self.ended_at() - timedelta(seconds=1)).astimezone(local).date()

    def last_day(self, local: tzinfo) -> str:
        return f"{(self.closes_at - timedelta(seconds=1)).astimezone(local):%d/%m}"


class Result(NamedTuple):
    vote: VoteInfo
    counts: tuple[int, ...]  # ballots for each option, in order

    @property
    def total(self) -> int:
        return sum(self.counts)


def _info(row: Any) -> VoteInfo:
    options = tuple(option for option in (row.option_1, row.option_2, row.option_3) if option)
    return VoteInfo(row.id, row.question, options, row.opened_at, row.closes_at, row.closed_at)


def _words(text: str, most: int, what: str) -> str:
    cleaned = sms.to_gsm7(" ".join(text.split()))
    if not cleaned:
        raise CatalogueError(f"the {what} is empty")
    # [ ] { } ~ | ^ and the euro sign take two of a text's 160 places.
    if sms.segments(cleaned).units > most:
        raise CatalogueError(f"the {what} is at most {most} characters (it goes in one text): {cleaned!r}")
    return cleaned


def open_vote(
    session: Session, question: str, options: list[str], days: int, now: datetime, local: tzinfo
) -> VoteInfo:
    """A new vote, open from now to the end of the ``days``-th day. ``CatalogueError``: words too
    long or too few options, or another vote still open."""
    asked = _words(question, MAX_QUESTION, "question")
    choices = [_words(option, MAX_OPTION, "option") for option in options]
    if not 2 <= len(choices) <= 3:
        raise CatalogueError(f"a vote has 2 or 3 options, not {len(choices)}")
    if len({choice.lower() for choice in choices}) != len(choices):
        raise CatalogueError("the options must differ")
    if not 1 <= days <= MAX_DAYS:
        raise CatalogueError(f"a vote is open from 1 to {MAX_DAYS} days, not {days}")
    running = current(session)
    if running is not None and running.is_open(now):
        raise CatalogueError(
            f"vote {running.id} is open until {running.last_day(local)}; close it first (votes close)"
        )
    if running is not None:  # ended on its day: it stops being the current one
        _close(session, running.id, running.closes_at)
    closes_at = datetime.combine(local_day(now, local) + timedelta(days=days + 1), time(), local)
    try:
        with session.begin_nested():
            row = _insert(session, asked, choices, now, closes_at)
    except IntegrityError:
        raise CatalogueError("another vote was opened a moment ago: see votes list") from None
    return _info(row)


def _insert(session: Session, asked: str, choices: list[str], now: datetime, closes_at: datetime) -> Any:
    return session.execute(
        votes_t.insert().returning(*votes_t.c),
        {
            "question": asked,
            "option_1": choices[0],
            "option_2": choices[1],
            "option_3": choices[2] if len(choices) == 3 else None,
            "opened_at": now,
            "closes_at": closes_at,
            "is_open": True,
        },
    ).one()


def close_vote(session: Session, now: datetime) -> VoteInfo:
    """Close the current vote now (or as it closed on its day). ``CatalogueError`` if none."""
    running = current(session)
    if running is None:
        raise CatalogueError("no vote is open")
    _close(session, running.id, min(now, running.closes_at))
    return running._replace(closed_at=min(now, running.closes_at))


def _close(session: Session, vote_id: int, at: datetime) -> None:
    session.execute(update(votes_t).where(votes_t.c.id == vote_id).values(closed_at=at, is_open=None))


def current(session: Session, *, share: bool = False) -> VoteInfo | None:
    """The latest vote, until an operator closes it or opens the next (it may have ended).
    ``share``: held against a close until the caller commits (a ballot being cast)."""
    query = select(votes_t).where(votes_t.c.is_open.is_(True))
    row = session.execute(query.with_for_update(read=True) if share else query).first()
    return None if row is None else _info(row)


def open_now(uow: UnitOfWork, household: Member | None, *, share: bool = False) -> VoteInfo:
    """VOTE alone: the vote open now. ``Refused``: a stranger, or no vote open."""
    if household is None:
        raise Refused("not_member")
    vote = current(uow.session, share=share)
    if vote is None or not vote.is_open(uow.now):
        raise Refused("vote_none")
    return vote


def cast(uow: UnitOfWork, household: Member | None, said: str) -> tuple[VoteInfo, int]:
    """VOTE and a number: the household's ballot, cast or changed. ``Refused``: a stranger, a
    suspended household, no vote open, or no such option (``vote_choice``, with the options)."""
    vote = open_now(uow, household, share=True)
    assert household is not None
    if household.status != "active":
        raise Refused("account_suspended")
    if not (said.isdigit() and 1 <= int(said) <= len(vote.options)):
        raise Refused("vote_choice", numbers=vote.choices(), vote_options=vote.listing())
    choice = int(said)
    upsert(
        uow.session,
        ballots_t,
        {"vote_id": vote.id, "household_id": household.id, "choice": choice, "cast_at": uow.now},
        conflict=("vote_id", "household_id"),
        update={"choice": choice, "cast_at": uow.now},
        returning=(ballots_t.c.id,),
    )
    return vote, choice


def result(session: Session, vote: VoteInfo) -> Result:
    counts: dict[int, int] = dict(
        session.execute(
            select(ballots_t.c.choice, func.count())
            .where(ballots_t.c.vote_id == vote.id)
            .group_by(ballots_t.c.choice)
        ).all()
    )
    return Result(vote, tuple(int(counts.get(number, 0)) for number in range(1, len(vote.options) + 1)))


def results(session: Session, *, limit: int = RESULTS_SHOWN) -> list[Result]:
    """The latest votes, newest first, with their ballots counted."""
    rows = session.execute(select(votes_t).order_by(votes_t.c.id.desc()).limit(limit)).all()
    return [result(session, _info(row)) for row in rows]
