"""``flask --app wsgi holds ...``: the held pickups (issue 24) from a terminal, as the dashboard's
Holds page has them: the queue with each pickup's signals, and a decision on one (approve, or
reject with a reason the household and the collector are texted). Each decision is in the audit
log, as any command is."""

from __future__ import annotations

import click
from flask.cli import AppGroup

import sms
from service.cli.common import fail, operator, print_table, unit_of_work
from service.reads.holds import hold_rows, waiting_count
from service.usecases import holds


@click.group("holds", cls=AppGroup, help="Held pickups: the queue, approve, reject with a reason.")
def holds_group() -> None:
    pass


@holds_group.command("list", help="The held pickups, oldest first (--decided: the latest decisions).")
@click.option("--decided", is_flag=True, help="The holds decided lately instead.")
def holds_list(decided: bool) -> None:
    with unit_of_work() as uow:
        rows = hold_rows(uow.session, waiting=not decided, limit=200)
        waiting = waiting_count(uow.session)
        local = uow.settings.zone
    if decided:
        shown = [
            (
                r.reference,
                r.member_code,
                r.collector,
                sms.kg(r.grams),
                r.points,
                r.status,
                r.decided_by or "-",
                f"{r.decided_at.astimezone(local):%Y-%m-%d %H:%M}" if r.decided_at else "-",
                r.reason or "",
            )
            for r in rows
        ]
        print_table(
            ("ref", "member", "collector", "kg", "pts", "decision", "by", "when", "reason"),
            shown,
            "no hold decided yet",
        )
        return
    waiting_rows = [
        (
            r.reference,
            f"{r.occurred_at.astimezone(local):%Y-%m-%d %H:%M}",
            r.member_code,
            r.collector,
            sms.kg(r.grams),
            r.points,
            r.release_on.isoformat(),
            "; ".join(f"{n}: {why}" for n, why in r.signals),
        )
        for r in rows
    ]
    print_table(
        ("ref", "when", "member", "collector", "kg", "pts", "released on", "signals"),
        waiting_rows,
        "no pickup is held",
    )
    if waiting > len(rows):
        click.echo(f"({waiting} held; the oldest {len(rows)} shown)")


@holds_group.command("approve", help="Credit a held pickup: its points to the household, commission on.")
@click.argument("reference")
def holds_approve(reference: str) -> None:
    try:
        with unit_of_work() as uow:
            held = holds.approve(uow, reference.strip().upper(), operator())
    except holds.HoldError as error:
        fail(str(error))
    click.echo(f"pickup {held.reference} approved: {held.points} pts to the household (texted)")


@holds_group.command("reject", help="Reject a held pickup: its points go back; both are texted the reason.")
@click.argument("reference")
@click.option("--reason", required=True, help="Why (at most 160 plain letters): the household is told it.")
def holds_reject(reference: str, reason: str) -> None:
    try:
        with unit_of_work() as uow:
            held = holds.reject(uow, reference.strip().upper(), operator(), reason)
    except holds.HoldError as error:
        fail(str(error))
    click.echo(
        f"pickup {held.reference} rejected: {held.points} pts went back (household and collector texted)"
    )


HOLDS_GROUPS = (holds_group,)
