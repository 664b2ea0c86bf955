"""SUGGEST (``service.usecases.suggestions``): ideas kept for the hub, at most a few a household a
day, read without phones or names, and grouped under topics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import suggestions_t
from service.unit_of_work import UnitOfWork
from service.usecases import CatalogueError, Refused, suggestions
from tests.usecases.conftest import MONDAY, World

Uow = Callable[..., UnitOfWork]


def test_a_stranger_is_refused(uow: Uow) -> None:
    with pytest.raises(Refused) as refused:
        suggestions.suggest(uow(), None, "rice")
    assert refused.value.template == "not_member"


def test_three_ideas_a_day_then_thanks_without_keeping(world: World, uow: Uow, session: Session) -> None:
    for minutes, idea in enumerate(("rice", "school books", "soap")):
        suggestions.suggest(uow(MONDAY + timedelta(minutes=minutes)), world.ada, idea)
    with pytest.raises(Refused) as refused:
        suggestions.suggest(uow(MONDAY + timedelta(hours=1)), world.ada, "beans")
    assert (refused.value.template, refused.value.values) == ("suggest_limit", {"count": 3})
    suggestions.suggest(uow(MONDAY + timedelta(days=1)), world.ada, "beans")  # the next day
    kept = session.execute(select(suggestions_t.c.text).order_by(suggestions_t.c.id)).scalars().all()
    assert kept == ["rice", "school books", "soap", "beans"]


def test_the_hub_reads_and_groups_them(world: World, uow: Uow, session: Session) -> None:
    rice = suggestions.suggest(uow(), world.ada, "Rice please")
    more_rice = suggestions.suggest(uow(), world.ada, "a bag of rice")
    books = suggestions.suggest(uow(), world.ada, "school books")
    ideas = suggestions.ideas(session)
    assert [idea.id for idea in ideas] == [books, more_rice, rice]
    assert ideas[0].member_code == world.ada.member_code and ideas[0].zone == "Yaba"
    assert not any(hasattr(idea, "phone") or hasattr(idea, "name") for idea in ideas)
    assert suggestions.put_under(session, "  Rice  ", [rice, more_rice]) == 2
    assert suggestions.topics(session) == [("rice", 2)]
    assert [idea.id for idea in suggestions.ideas(session, topic="RICE")] == [more_rice, rice]
    assert [idea.id for idea in suggestions.ideas(session, without_topic=True)] == [books]
    with pytest.raises(CatalogueError, match="no suggestion 999"):
        suggestions.put_under(session, "food", [books, 999])
    with pytest.raises(CatalogueError, match="a topic is 1 to 40 characters"):
        suggestions.put_under(session, "x" * 41, [books])
    assert [idea.topic for idea in suggestions.ideas(session)] == [None, "rice", "rice"]  # unchanged
