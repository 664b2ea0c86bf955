"""``flask --app wsgi reminders ...`` and the zones' reminder times and one-off day changes.

``reminders preview`` shows who would get what for a collection day and changes nothing;
``reminders run`` writes that day's reminders now (what the scheduler does at the evening
hour), idempotent: households that have theirs already get nothing more.
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from service.cli.common import fail, operator, print_table, runtime, unit_of_work, utc_now, zone_named
from service.cli.programme import zones_group
from service.jobs.reminders import run_reminders
from service.timetable import DAY_KINDS, Run, collection_days, local_day
from service.usecases.day_changes import change_day
from service.usecases.reminders import preview
from service.usecases.zones import day_changes_from, set_reminder_times, zone_changes, zones


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} {text!r} is not a date like 2026-12-01", 2)


# --- zones: reminder times and changed days ---------------------------------------------------------


@zones_group.command(
    "remind",
    help="When a zone's reminders go: zones remind Yaba --evening 18:00 [--morning 07:00 | --no-morning]",
)
@click.argument("name")
@click.option("--evening", help="Local time of the reminder the day before a collection day, e.g. 18:00.")
@click.option("--morning", help="Local time of a reminder on the morning of it, e.g. 07:00.")
@click.option("--no-morning", is_flag=True, help="No morning reminder.")
def zones_remind(name: str, evening: str | None, morning: str | None, no_morning: bool) -> None:
    if morning and no_morning:
        fail("give --morning or --no-morning, not both", 2)
    with unit_of_work() as uow:
        zone = set_reminder_times(
            uow.session,
            zone_named(uow.session, name),
            evening=evening,
            morning=morning,
            no_morning=no_morning,
        )
    morning_text = f", {zone.morning_at:%H:%M} on the day" if zone.morning_at else ", none on the day"
    click.echo(f"zone {zone.name}: reminders {zone.remind_at:%H:%M} the day before{morning_text}")


@zones_group.command(
    "change",
    help="Cancel or move one collection day; the zone's households are texted within a minute. "
    'E.g.: zones change Yaba --date 2026-12-25 --move-to 2026-12-24 --reason "Christmas"',
)
@click.argument("name")
@click.option("--date", "day", required=True, help="The collection day that changes, e.g. 2026-12-25.")
@click.option("--move-to", help="The day it moves to; without it, the day is cancelled.")
@click.option("--reason", required=True, help="Why, in a few words: households are told it.")
def zones_change(name: str, day: str, move_to: str | None, reason: str) -> None:
    with unit_of_work() as uow:
        zone = zone_named(uow.session, name)
        change = change_day(
            uow,
            zone,
            _date(day, "--date"),
            _date(move_to, "--move-to") if move_to else None,
            reason,
            actor=operator(),
        )
    what = f"moved to {change.moved_to:%a %Y-%m-%d}" if change.moved_to else "cancelled"
    click.echo(f"{zone.name} {change.day:%a %Y-%m-%d} {what}; households are texted by the worker")


@zones_group.command("changes", help="The cancelled and moved collection days from today on.")
def zones_changes() -> None:
    with unit_of_work() as uow:
        names = {zone.id: zone.name for zone in zones(uow.session)}
        rows = [
            (
                names[c.zone_id],
                f"{c.day:%a %Y-%m-%d}",
                f"{c.moved_to:%a %Y-%m-%d}" if c.moved_to else "cancelled",
                c.reason,
            )
            for c in day_changes_from(uow.session, local_day(uow.now, uow.settings.zone))
        ]
    print_table(("zone", "day", "now", "reason"), rows, "no changed days")


# --- reminders ---------------------------------------------------------------------------------------


@click.group("reminders", cls=AppGroup, help="Collection-day reminders: preview or run them for a day.")
def reminders_group() -> None:
    pass


_KIND = click.Choice(DAY_KINDS)


@reminders_group.command(
    "preview", help="Who would get which reminder for a collection day (changes nothing)."
)
@click.option("--date", "day", required=True, help="The collection day, e.g. 2026-12-01.")
@click.option(
    "--kind", type=_KIND, default="eve", show_default=True, help="eve: the day before; morning: on the day."
)
@click.option(
    "--limit",
    type=click.IntRange(0, 100_000),
    default=50,
    show_default=True,
    help="Households listed per zone.",
)
def reminders_preview(day: str, kind: str, limit: int) -> None:
    settings = runtime().settings
    wanted = _date(day, "--date")
    with unit_of_work() as uow:
        found = preview(uow.session, settings, wanted, [kind])
    if not found:
        click.echo(f"no zone collects on {wanted:%a %Y-%m-%d}")
        return
    for shown in found:
        counts = (
            ", ".join(f"{fate}: {count}" for fate, count in sorted(shown.counts.items())) or "no households"
        )
        click.echo(f"{shown.zone.name} {wanted:%a %Y-%m-%d} ({kind}): {counts}")
        if shown.text is None:
            click.echo("  nothing to send: the day was changed")
        for language, body in shown.bodies.items():
            click.echo(f"  [{language}] {body}")
        print_table(
            ("  member", "phone", "lang", "gets"),
            [
                (f"  {code}", phone, language, fate)
                for code, phone, language, fate in shown.households[:limit]
            ],
            "  (no households)",
        )
        if len(shown.households) > limit:
            click.echo(f"  ... and {len(shown.households) - limit} more (--limit)")


@reminders_group.command(
    "run", help="Write a collection day's reminders now and queue them for sending (safe to repeat)."
)
@click.option("--date", "day", required=True, help="The collection day, e.g. 2026-12-01.")
@click.option("--kind", type=_KIND, default="eve", show_default=True)
@click.option("--zone", "zone_name", help="Only this zone (default: every zone collecting that day).")
def reminders_run(day: str, kind: str, zone_name: str | None) -> None:
    wanted = _date(day, "--date")
    now = utc_now()
    if wanted < local_day(now, runtime().settings.zone):
        fail(f"{wanted} has passed")
    with unit_of_work() as uow:
        chosen = [zone_named(uow.session, zone_name)] if zone_name else zones(uow.session)
        runs = []
        for zone in chosen:
            collects = bool(
                collection_days(zone.days, wanted, wanted, zone_changes(uow.session, zone.id, wanted))
            )
            if collects and (kind == "eve" or zone.morning_at is not None):
                runs.append((zone, Run(zone.id, wanted, kind)))
    if not runs:
        which = {"eve": "an evening", "morning": "a morning"}[kind]
        fail(f"no zone{' ' + zone_name if zone_name else ''} has {which} reminder for {wanted:%a %Y-%m-%d}")
    for zone, run in runs:
        written = run_reminders(run, now)
        click.echo(f"{zone.name} {wanted:%a %Y-%m-%d} ({kind}): {written} reminders written and queued")


SCHEDULE_GROUPS = (reminders_group,)
