"""``flask --app wsgi scales ...``: the hub's scales and their calibrations (issue 24). A weigh-in
names its scale on the dashboard; one on a scale out of calibration is flagged."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from service.cli.common import fail, print_table, unit_of_work
from service.timetable import local_day
from service.usecases import scales


@click.group("scales", cls=AppGroup, help="The hub's scales and their calibrations.")
def scales_group() -> None:
    pass


@scales_group.command(
    "add", help="Add a scale by the code written on it, e.g.: scales add HUB-1 --name 'Platform 300kg'"
)
@click.argument("code")
@click.option("--name", required=True, help="What it is, e.g. 'Platform scale 300kg'.")
@click.option("--location", default=None, help="Where it stands, e.g. 'Yaba hub'.")
def scales_add(code: str, name: str, location: str | None) -> None:
    with unit_of_work() as uow:
        added = scales.add_scale(uow.session, code, name, location, uow.now)
    click.echo(f"scale {added.code} added: {added.name}; record its calibration with scales calibrate")


@scales_group.command(
    "calibrate",
    help="Record a calibration, e.g.: scales calibrate HUB-1 --on 2026-11-30 "
    "--by 'Lagos Weights and Measures' --certificate LWM-2026-0113",
)
@click.argument("code")
@click.option("--on", "on_text", required=True, help="The day it was calibrated, YYYY-MM-DD.")
@click.option("--by", required=True, help="Who calibrated it.")
@click.option("--certificate", required=True, help="The certificate's reference.")
@click.option(
    "--valid-days", default=scales.DEFAULT_VALID_DAYS, show_default=True, type=int, help="How long it holds."
)
def scales_calibrate(code: str, on_text: str, by: str, certificate: str, valid_days: int) -> None:
    try:
        on = date.fromisoformat(on_text.strip())
    except ValueError:
        fail(f"--on must be a day like 2026-11-30, not {on_text[:20]!r}", 2)
    with unit_of_work() as uow:
        today = local_day(uow.now, uow.settings.zone)
        found = scales.calibrate(
            uow.session, code, on, by, certificate, today, valid_days=valid_days, now=uow.now
        )
    assert found.valid_until is not None
    click.echo(
        f"scale {found.code} calibrated on {on.isoformat()}, holds until {found.valid_until.isoformat()}"
    )


@scales_group.command("list", help="The scales, each with its latest calibration and whether it holds today.")
def scales_list() -> None:
    with unit_of_work() as uow:
        found = scales.scales(uow.session)
        today = local_day(uow.now, uow.settings.zone)
    rows = [
        (s.code, s.name, s.location or "-", s.calibrated_on.isoformat() if s.calibrated_on else "never",
         s.valid_until.isoformat() if s.valid_until else "-", "yes" if s.in_calibration(today) else "NO",
         s.certificate or "-")
        for s in found
    ]  # fmt: skip
    print_table(
        ("code", "name", "location", "calibrated", "until", "holds", "certificate"), rows, "no scales yet"
    )


SCALES_GROUPS = (scales_group,)
