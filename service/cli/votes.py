"""``flask --app wsgi votes ...``: a vote on the rewards (VOTE 1|2|3), opened, closed and counted
by the hub. The result is on the open books (/open)."""

from __future__ import annotations

from datetime import datetime, tzinfo

import click
from flask.cli import AppGroup

import sms
from service.cli.common import print_table, unit_of_work
from service.usecases import votes


@click.group("votes", cls=AppGroup, help="Votes on the rewards: households text VOTE 1, 2 or 3.")
def votes_group() -> None:
    pass


@votes_group.command(
    "open",
    help=f"Open a vote, e.g.: votes open 'Next reward?' Rice Soap 'Data 1GB' --days 7. A question of "
    f"at most {votes.MAX_QUESTION} characters and 2 or 3 options of at most {votes.MAX_OPTION}.",
)
@click.argument("question")
@click.argument("options", nargs=-1, required=True)
@click.option("--days", default=7, show_default=True, help="Open until the end of this many days from today.")
def votes_open(question: str, options: tuple[str, ...], days: int) -> None:
    with unit_of_work() as uow:
        local = uow.settings.zone
        vote = votes.open_vote(uow.session, question, list(options), days, uow.now, local)
        programme = uow.settings.programme_name
    announce = sms.render(
        "vote_open",
        "EN",
        programme=programme,
        question=vote.question,
        vote_options=vote.listing(),
        date=vote.last_day(local),
    )
    click.echo(
        f"vote {vote.id} open until the end of {vote.last_day(local)}: {vote.question} {vote.listing()}"
    )
    click.echo("Households text VOTE to read it. To tell them all, send this as a broadcast (dashboard):")
    click.echo(f"  {announce}")


@votes_group.command("close", help="Close the open vote now; its result stays on the open books.")
def votes_close() -> None:
    with unit_of_work() as uow:
        vote = votes.close_vote(uow.session, uow.now)
        counted = votes.result(uow.session, vote)
    click.echo(f"vote {vote.id} closed: {_counts(counted)}")


@votes_group.command("list", help="The latest votes, newest first, with their votes counted.")
def votes_list() -> None:
    with unit_of_work() as uow:
        found = votes.results(uow.session)
        local, now = uow.settings.zone, uow.now
    rows = [_row(result, local, now) for result in found]
    print_table(("id", "status", "opened", "last day", "question", "votes"), rows, "no votes yet")


def _row(result: votes.Result, local: tzinfo, now: datetime) -> tuple[object, ...]:
    vote = result.vote
    status = "open" if vote.is_open(now) else "closed"
    opened = f"{vote.opened_at.astimezone(local):%Y-%m-%d}"
    return (vote.id, status, opened, vote.last_day(local), vote.question, _counts(result))


def _counts(result: votes.Result) -> str:
    return ", ".join(
        f"{option} {count}" for option, count in zip(result.vote.options, result.counts, strict=True)
    )


VOTES_GROUPS = (votes_group,)
