"""``flask --app wsgi suggestions ...``: the households' ideas for rewards (SUGGEST), read and
grouped under topics by the hub."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from service.cli.common import print_table, unit_of_work
from service.usecases import suggestions


@click.group("suggestions", cls=AppGroup, help="The households' ideas for rewards (SUGGEST).")
def suggestions_group() -> None:
    pass


@suggestions_group.command(
    "list", help="The ideas, newest first; --topic T for one topic, --new for those under none."
)
@click.option("--topic", help="Only the ideas under this topic.")
@click.option("--new", "without_topic", is_flag=True, help="Only the ideas under no topic yet.")
def suggestions_list(topic: str | None, without_topic: bool) -> None:
    with unit_of_work() as uow:
        found = suggestions.ideas(uow.session, topic=topic, without_topic=without_topic)
        local = uow.settings.zone
    rows = [
        (idea.id, f"{idea.created_at.astimezone(local):%Y-%m-%d %H:%M}", idea.member_code, idea.zone or "-",
         idea.topic or "-", idea.text)
        for idea in found
    ]  # fmt: skip
    print_table(("id", "when", "member", "zone", "topic", "idea"), rows, "no suggestions yet")


@suggestions_group.command("topic", help="Put ideas under a topic, e.g.: suggestions topic 'rice' 12 15 19")
@click.argument("topic")
@click.argument("ids", nargs=-1, type=int, required=True)
def suggestions_topic(topic: str, ids: tuple[int, ...]) -> None:
    with unit_of_work() as uow:
        count = suggestions.put_under(uow.session, topic, list(ids))
        tally = dict(suggestions.topics(uow.session))
    name = " ".join(topic.split()).lower()
    click.echo(f"{count} idea{'s' if count != 1 else ''} under '{name}' ({tally[name]} in all)")


@suggestions_group.command("topics", help="Each topic with how many ideas are under it, the most first.")
def suggestions_topics() -> None:
    with unit_of_work() as uow:
        rows = suggestions.topics(uow.session)
    print_table(("topic", "ideas"), rows, "no topics yet")


SUGGESTIONS_GROUPS = (suggestions_group,)
