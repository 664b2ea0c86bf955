"""``flask --app wsgi disputes ...``: the operators' decisions on households' NOs.

Upholding reverses the pickup; rejecting keeps it; either way the household and the collector
are texted (the texts go once the decision is committed). A decision that cannot be made (no
such dispute, decided already, the points spent) prints ``Error: <why>`` and changes nothing.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from service.cli.common import fail, print_table, runtime, unit_of_work
from service.reads.disputes import open_disputes
from service.usecases.disputes import DisputeError, reject, uphold


@click.group("disputes", cls=AppGroup, help="Households' disputes (NO ref): list, uphold, reject.")
def disputes_group() -> None:
    pass


@disputes_group.command("list", help="The open disputes, oldest first.")
def disputes_list() -> None:
    zone = runtime().settings.zone
    with unit_of_work() as uow:
        rows = [
            (
                d.id,
                d.reference,
                d.member_code,
                d.points,
                f"{d.opened_at.astimezone(zone):%Y-%m-%d %H:%M}",
                d.reason or "",
            )
            for d in open_disputes(uow.session)
        ]
    print_table(("id", "ref", "member", "pts", "opened", "reason"), rows, "no open disputes")


def _decide(decision: str, dispute_id: int, operator: str, reason: str = "") -> str:
    try:
        with unit_of_work() as uow:
            if decision == "uphold":
                points = uphold(uow, dispute_id, operator)
                return f"dispute {dispute_id} upheld: pickup reversed (-{points} pts); both parties texted"
            reject(uow, dispute_id, operator, reason)
            return f"dispute {dispute_id} rejected; both parties texted"
    except DisputeError as error:
        fail(str(error))


@disputes_group.command("uphold", help="Reverse the disputed pickup and tell both parties.")
@click.argument("dispute_id", type=click.IntRange(1))
@click.option("--by", "operator", required=True, help="Who decides (name or email), for the record.")
def disputes_uphold(dispute_id: int, operator: str) -> None:
    click.echo(_decide("uphold", dispute_id, operator))


@disputes_group.command("reject", help="Keep the pickup; the household is told the reason.")
@click.argument("dispute_id", type=click.IntRange(1))
@click.option("--reason", required=True, help="Why, in a few words: the household gets it by SMS.")
@click.option("--by", "operator", required=True, help="Who decides (name or email), for the record.")
def disputes_reject(dispute_id: int, reason: str, operator: str) -> None:
    click.echo(_decide("reject", dispute_id, operator, reason))


DISPUTES_GROUPS = (disputes_group,)
