"""VOTE (``service.usecases.votes``): an operator opens a vote of 2 or 3 options for some days;
households vote once each, the last vote counting until it closes; one vote open at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.models import ballots_t, households_t
from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError, Refused, votes
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from tests.usecases.conftest import MONDAY, World

Uow = Callable[..., UnitOfWork]


def open_one(uow: UnitOfWork, *options: str, days: int = 7) -> votes.VoteInfo:
    return votes.open_vote(
        uow.session,
        "Next reward?",
        list(options or ("Rice", "Soap", "Data 1GB")),
        days,
        uow.now,
        uow.settings.zone,
    )


def refusal(call: Callable[[], object]) -> tuple[str, dict[str, object]]:
    with pytest.raises(Refused) as refused:
        call()
    return refused.value.template, refused.value.values


@pytest.mark.parametrize(
    ("question", "options", "days", "why"),
    [
        ("Next reward?", ["Rice"], 7, "a vote has 2 or 3 options, not 1"),
        ("Next reward?", ["Rice", "Soap", "Data", "Beans"], 7, "a vote has 2 or 3 options, not 4"),
        ("Next reward?", ["Rice", "rice"], 7, "the options must differ"),
        ("Next reward?", ["Rice", "Semovita 10kg bag"], 7, "the option is at most 12 characters"),
        ("Which of these rewards would you like us to add?", ["A", "B"], 7, "the question is at most 40"),
        ("  ", ["A", "B"], 7, "the question is empty"),
        ("Next reward?", ["A", "B"], 0, "a vote is open from 1 to 60 days, not 0"),
        ("Next reward?", ["A", "B"], 61, "a vote is open from 1 to 60 days, not 61"),
    ],
)
def test_a_vote_the_texts_cannot_carry_is_refused(
    uow: Uow, session: Session, question: str, options: list[str], days: int, why: str
) -> None:
    work = uow()
    with pytest.raises(CatalogueError, match=why):
        votes.open_vote(session, question, options, days, work.now, work.settings.zone)
    assert votes.current(session) is None


def test_words_are_kept_in_the_sms_alphabet(uow: Uow, session: Session) -> None:
    work = uow()
    vote = votes.open_vote(session, "Ọṣẹ or rice?", ["Ọṣẹ", "Rice"], 3, work.now, work.settings.zone)
    assert (vote.question, vote.options) == ("Ose or rice?", ("Ose", "Rice"))
    # Monday 23 November, 3 days: open to the end of Thursday 26 November in Lagos.
    assert vote.last_day(work.settings.zone) == "26/11"
    assert vote.closes_at == datetime(2026, 11, 26, 23, tzinfo=UTC)


def test_households_vote_once_each_and_the_last_vote_counts(world: World, uow: Uow, session: Session) -> None:
    vote = open_one(uow())
    ensure_phone(session, "+2348035550000", MONDAY)
    bola = register_household(session, "+2348035550000", "Bola Ade", "3 Ojo St", "sms", MONDAY)
    assert votes.open_now(uow(), world.ada) == vote
    assert votes.cast(uow(), world.ada, "2") == (vote, 2)
    assert votes.cast(uow(MONDAY + timedelta(hours=1)), world.ada, "3") == (vote, 3)  # changed
    votes.cast(uow(), bola, "3")
    assert votes.result(session, vote).counts == (0, 0, 2)
    assert session.execute(select(func.count()).select_from(ballots_t)).scalar_one() == 2
    assert refusal(lambda: votes.cast(uow(), world.ada, "4")) == (
        "vote_choice",
        {"numbers": "1, 2 or 3", "vote_options": "1 Rice, 2 Soap, 3 Data 1GB"},
    )
    assert refusal(lambda: votes.cast(uow(), world.ada, "rice"))[0] == "vote_choice"
    assert votes.result(session, vote).counts == (0, 0, 2)  # a refusal changed nothing


def test_strangers_suspended_households_and_closed_votes_are_answered(
    world: World, uow: Uow, session: Session
) -> None:
    assert refusal(lambda: votes.open_now(uow(), world.ada)) == ("vote_none", {})  # none yet
    vote = open_one(uow(), "Rice", "Soap", days=2)
    assert refusal(lambda: votes.cast(uow(), None, "1")) == ("not_member", {})
    session.execute(update(households_t).where(households_t.c.id == world.ada.id).values(status="suspended"))
    assert refusal(lambda: votes.cast(uow(), world.ada._replace(status="suspended"), "1")) == (
        "account_suspended",
        {},
    )
    # Two options: VOTE 3 is not one of them.
    assert refusal(lambda: votes.cast(uow(), world.ada, "3"))[1] == {
        "numbers": "1 or 2",
        "vote_options": "1 Rice, 2 Soap",
    }
    ended = vote.closes_at
    assert refusal(lambda: votes.cast(uow(ended), world.ada, "1")) == ("vote_none", {})
    assert votes.cast(uow(ended - timedelta(seconds=1)), world.ada, "1") == (vote, 1)  # its last second


def test_one_vote_open_at_a_time_and_closing_keeps_its_result(
    world: World, uow: Uow, session: Session
) -> None:
    first = open_one(uow(), "Rice", "Soap", days=2)
    with pytest.raises(CatalogueError, match=f"vote {first.id} is open until 25/11; close it first"):
        open_one(uow(), "Beans", "Garri")
    votes.cast(uow(), world.ada, "1")
    closed = votes.close_vote(session, MONDAY + timedelta(hours=2))
    assert closed.closed_at == MONDAY + timedelta(hours=2) and not closed.is_open(MONDAY + timedelta(hours=3))
    with pytest.raises(CatalogueError, match="no vote is open"):
        votes.close_vote(session, MONDAY + timedelta(hours=3))
    second = open_one(uow(MONDAY + timedelta(days=1)), "Beans", "Garri")
    # A vote that ended on its day is closed when the next one opens.
    third = open_one(uow(second.closes_at + timedelta(hours=1)), "Yam", "Oil")
    listed = votes.results(session)
    assert [result.vote.id for result in listed] == [third.id, second.id, first.id]
    assert listed[1].vote.closed_at == second.closes_at
    assert listed[2].counts == (1, 0)


def test_characters_that_take_two_places_in_a_text_count_twice(uow: Uow, session: Session) -> None:
    work = uow()
    with pytest.raises(CatalogueError, match="the question is at most 40"):
        votes.open_vote(session, "[" * 21, ["A", "B"], 3, work.now, work.settings.zone)  # 42 places
    with pytest.raises(CatalogueError, match="the option is at most 12"):
        votes.open_vote(session, "Next?", ["{rice}" * 2, "B"], 3, work.now, work.settings.zone)
    assert (
        votes.open_vote(session, "[" * 20, ["A", "B"], 3, work.now, work.settings.zone).question == "[" * 20
    )


def test_two_votes_opened_at_once_one_is_told_the_other_won(
    uow: Uow, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_one(uow(), "Rice", "Soap")
    monkeypatch.setattr(votes, "current", lambda _session, **_: None)  # as if both looked at once
    with pytest.raises(CatalogueError, match="another vote was opened a moment ago"):
        open_one(uow(), "Beans", "Garri")
    monkeypatch.undo()
    assert votes.current(session) == first  # the first stands, nothing else was written
