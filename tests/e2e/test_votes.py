"""VOTE end to end: signed webhooks in, replies out, in the household's language; the vote's
count while open and its result once closed on the open books, never who voted for what."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask

from service.db import transaction
from service.runtime import Runtime
from service.usecases import votes
from tests.e2e import test_field_flows as flows
from tests.e2e.helpers import sessions
from tests.e2e.test_field_flows import ADA, BOLA, STRANGER, only_reply, say

app = flows.app  # the programme the field flows use


def runtime_of(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions["kolekt.runtime"]
    return runtime


def open_vote(app: Flask, *options: str, days: int = 7) -> votes.VoteInfo:
    local = runtime_of(app).settings.zone
    with transaction(sessions(app)) as session:
        return votes.open_vote(session, "Which reward next?", list(options), days, datetime.now(UTC), local)


def test_households_read_the_vote_and_vote_in_their_language(app: Flask) -> None:
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    assert only_reply(app, ADA, "VOTE") == (
        "Kolekt: no vote is open just now. Text SUGGEST and your idea for a reward any time."
    )
    vote = open_vote(app, "Rice", "Soap", "Data 1GB")
    day = vote.last_day(runtime_of(app).settings.zone)
    assert only_reply(app, STRANGER, "VOTE 1").startswith("You are not in Kolekt yet.")
    assert only_reply(app, ADA, "vote") == (
        f"Kolekt vote: Which reward next? 1 Rice, 2 Soap, 3 Data 1GB. Text VOTE and a number by {day}."
    )
    assert only_reply(app, ADA, "VOTE 2") == (
        f"Kolekt: thank you, your vote is 2 Soap. Until {day} you can change it: text VOTE and another "
        "number."
    )
    assert only_reply(app, ADA, "Vote 3.").startswith("Kolekt: thank you, your vote is 3 Data 1GB.")
    assert only_reply(app, ADA, "VOTE 7") == "Kolekt: text VOTE 1, 2 or 3: 1 Rice, 2 Soap, 3 Data 1GB."
    say(app, BOLA, "DARAPO Bola Ade")  # joins in Yoruba
    assert only_reply(app, BOLA, "VOTE 1").startswith("Kolekt: e se, ibo re ni 1 Rice.")
    with transaction(sessions(app)) as session:
        assert votes.result(session, vote).counts == (1, 0, 1)


def test_the_open_books_show_how_many_voted_then_the_result(app: Flask) -> None:
    client = app.test_client()
    assert "No vote yet." in client.get("/open").get_data(as_text=True)
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    say(app, BOLA, "JOIN Bola Ade, Yaba")
    open_vote(app, "Rice", "Soap")
    say(app, ADA, "VOTE 2")
    say(app, BOLA, "VOTE 2")
    (shown,) = client.get("/open.json").get_json()["votes"]
    assert shown["open"] is True and shown["votes"] == 2 and "result" not in shown  # not while open
    assert "2 households voted so far" in client.get("/open").get_data(as_text=True)
    with transaction(sessions(app)) as session:
        votes.close_vote(session, datetime.now(UTC))
    (shown,) = client.get("/open.json").get_json()["votes"]
    assert shown["open"] is False and shown["result"] == {"Rice": 0, "Soap": 2}
    page = client.get("/open").get_data(as_text=True)
    assert '2 Soap</td><td class="n">2</td>' in page and "100%" in page
    assert "Ada" not in page and "Bola" not in page
    assert only_reply(app, ADA, "VOTE 1").startswith("Kolekt: no vote is open just now.")
