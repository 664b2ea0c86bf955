"""``flask --app wsgi sales ...``: batches sold to recyclers, each with its serial number, and the
chain of custody behind them as CSV or JSON (issue 24; docs/honest-weights.md)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

import sms
from service.cli.common import fail, operator, print_table, unit_of_work
from service.reads import custody
from service.timetable import local_day
from service.usecases import CatalogueError, audit, sales
from service.usecases.payouts import naira
from service.usecases.weighins import WeighInError, grams_of

FORMATS = ("csv", "json")


@click.group("sales", cls=AppGroup, help="Batches sold to recyclers, and the chain of custody behind them.")
def sales_group() -> None:
    pass


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(f"{option} must be a day like 2026-11-30, not {text.strip()[:20]!r}", 2)


def _ids(text: str) -> list[int]:
    parts = [part for part in re.split(r"[,\s]+", text.strip()) if part]
    if not parts or not all(part.isdigit() and len(part) <= 12 for part in parts):
        fail(f"--weigh-ins must be weigh-in ids like 12,13,20, not {text.strip()[:30]!r}", 2)
    return [int(part) for part in parts]


def _price(price_naira: str | None, price_kobo: str | None) -> int:
    if (price_naira is None) == (price_kobo is None):
        fail("give the price, once: --price-naira 150000 or --price-kobo 15000000", 2)
    if price_kobo is not None:
        if not re.fullmatch(r"\d{1,18}", price_kobo.strip()):
            fail(f"--price-kobo must be a whole number of kobo, not {price_kobo.strip()[:20]!r}", 2)
        return int(price_kobo)
    assert price_naira is not None
    try:
        return sales.kobo_of(price_naira)
    except CatalogueError as error:
        fail(str(error), 2)


def _grams(weight_kg: str | None) -> int | None:
    try:
        return None if weight_kg is None else grams_of(weight_kg)
    except WeighInError as error:
        fail(f"--weight-kg: {error}", 2)


def _sold(sale: sales.Sale) -> str:
    told = (
        f"batch {sale.serial}: {sale.material_code} {sms.kg(sale.grams)} kg to {sale.buyer} on "
        f"{sale.sold_on.isoformat()} for {naira(sale.price_kobo)} naira; {len(sale.weigh_in_ids)} "
        f"weigh-in{'s' if len(sale.weigh_in_ids) != 1 else ''}, {sms.kg(sale.weighed_grams)} kg weighed"
    )
    if sale.grams != sale.weighed_grams:
        gap = sale.gap_percent
        told += f" (sold {abs(gap):.1f}% {'less' if gap < 0 else 'more'} than weighed)"
    return told


@sales_group.command(
    "record",
    help="Record a batch sold, from its weigh-ins, e.g.: sales record --buyer 'GreenCycle Ltd' "
    "--material PET --weigh-ins 12,13,20 --price-naira 150000 (or --from 2026-11-01 --to 2026-11-30: "
    "every unsold weigh-in of the material in those days).",
)
@click.option("--buyer", required=True, help="Who bought it: the recycler's name.")
@click.option("--material", required=True, help="The material's code, e.g. PET.")
@click.option("--weigh-ins", "weigh_ins", default=None, help="The weigh-ins sold: their ids, e.g. 12,13,20.")
@click.option("--from", "from_text", default=None, help="Or: the unsold weigh-ins from this day, YYYY-MM-DD.")
@click.option("--to", "to_text", default=None, help="... to this day (included).")
@click.option("--price-naira", default=None, help="The price in naira, e.g. 150000 or 150,000.50.")
@click.option("--price-kobo", default=None, help="Or the price in kobo.")
@click.option("--sold-on", "sold_on_text", default=None, help="The day it was sold (default: today).")
@click.option("--weight-kg", default=None, help="The buyer's weight, when it differs from the weigh-ins'.")
@click.option("--note", default=None, help="E.g. the buyer's weighbridge ticket or invoice number.")
def sales_record(
    buyer: str,
    material: str,
    weigh_ins: str | None,
    from_text: str | None,
    to_text: str | None,
    price_naira: str | None,
    price_kobo: str | None,
    sold_on_text: str | None,
    weight_kg: str | None,
    note: str | None,
) -> None:
    first, last = _day(from_text, "--from"), _day(to_text, "--to")
    by_days = first is not None or last is not None
    if (weigh_ins is not None) == by_days or (by_days and None in (first, last)):
        fail("name the weigh-ins sold: --weigh-ins 12,13,20, or --from and --to for every unsold one", 2)
    ids = None if weigh_ins is None else _ids(weigh_ins)
    price, grams = _price(price_naira, price_kobo), _grams(weight_kg)
    sold_on = _day(sold_on_text, "--sold-on")
    try:
        with unit_of_work() as uow:
            today = local_day(uow.now, uow.settings.zone)
            if ids is None:
                assert first is not None and last is not None
                ids = sales.unsold_weigh_ins(uow.session, material, first, last)
                if not ids:
                    raise CatalogueError(
                        f"no unsold {material.strip().upper()} weigh-ins from {first.isoformat()} "
                        f"to {last.isoformat()}"
                    )
            sale = sales.record_sale(
                uow.session, buyer=buyer, material_code=material, weigh_in_ids=ids, price_kobo=price,
                sold_on=sold_on or today, today=today, recorded_by=operator(), now=uow.now,
                prefix=sales.serial_prefix(uow.settings.programme_name), grams=grams, note=note,
            )  # fmt: skip
            audit.record(
                uow.session,
                actor=operator(),
                action="cli.sales.record",
                subject=sale.serial,
                at=uow.now,
                details={"buyer": sale.buyer, "material": sale.material_code, "weigh_ins": list(ids),
                         "weighed_grams": sale.weighed_grams, "grams": sale.grams,
                         "price_kobo": sale.price_kobo, "sold_on": sale.sold_on, "note": sale.note},
            )  # fmt: skip
    except IntegrityError:  # another operator sold one of these weigh-ins in the meantime
        fail("one of these weigh-ins was sold meanwhile; see: flask --app wsgi sales list, and try again")
    click.echo(_sold(sale))


@sales_group.command("list", help="The batches sold, oldest first (--from/--to: the days they were sold).")
@click.option("--from", "from_text", default=None, help="Sold from this day, YYYY-MM-DD.")
@click.option("--to", "to_text", default=None, help="Sold to this day (included).")
def sales_list(from_text: str | None, to_text: str | None) -> None:
    first, last = _day(from_text, "--from"), _day(to_text, "--to")
    with unit_of_work() as uow:
        found = sales.sales(uow.session, first_day=first, last_day=last)
    rows = [
        (s.serial, s.sold_on.isoformat(), s.buyer, s.material_code, len(s.weigh_in_ids),
         sms.kg(s.weighed_grams), sms.kg(s.grams), naira(s.price_kobo))
        for s in found
    ]  # fmt: skip
    print_table(
        ("serial", "sold on", "buyer", "material", "weigh-ins", "kg weighed", "kg sold", "NGN"),
        rows,
        "no batches sold yet" if first is None and last is None else "no batches sold in those days",
    )


@sales_group.command(
    "export",
    help="The chain of custody of a batch (by its serial) or of the batches sold in some days (--from/--to; "
    "none: every batch), as CSV or JSON, with the ledger's head now.",
)
@click.argument("serial", required=False)
@click.option("--from", "from_text", default=None, help="Batches sold from this day, YYYY-MM-DD.")
@click.option("--to", "to_text", default=None, help="... to this day (included).")
@click.option("--format", "form", default="csv", show_default=True, help="csv or json.")
@click.option("--out", default=None, help="Write it to this file (default: standard output).")
def sales_export(
    serial: str | None, from_text: str | None, to_text: str | None, form: str, out: str | None
) -> None:
    first, last = _day(from_text, "--from"), _day(to_text, "--to")
    if serial is not None and (first is not None or last is not None):
        fail("give a batch's serial or the days it was sold in, not both", 2)
    if form.strip().lower() not in FORMATS:
        fail(f"--format is csv or json, not {form.strip()[:12]!r}", 2)
    with unit_of_work() as uow:
        found = sales.sales(uow.session, first_day=first, last_day=last, serial=serial)
        if not found:
            raise CatalogueError(
                f"there is no batch {serial.strip()[:24]!r} (see: flask --app wsgi sales list)"
                if serial is not None
                else "no batches sold in those days"
            )
        settings = uow.settings
        chain = custody.custody(
            uow.session, found, programme=settings.programme_name, country=settings.phone_region,
            secret=settings.secret_key, local=settings.zone, now=uow.now,
        )  # fmt: skip
    if form.strip().lower() == "json":
        text = json.dumps(custody.as_json(chain), indent=2, ensure_ascii=False) + "\n"
    else:
        text = custody.as_csv(chain)
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        Path(out).write_text(text, encoding="utf-8", newline="")
    except OSError as error:
        fail(f"cannot write {out}: {error.strerror or error}")
    weigh_ins = sum(len(batch.weigh_ins) for batch in chain.batches)
    pickups = sum(len(w.pickups) for batch in chain.batches for w in batch.weigh_ins)
    click.echo(
        f"{out}: {len(chain.batches)} batch{'es' if len(chain.batches) != 1 else ''}, {weigh_ins} weigh-ins, "
        f"{pickups} pickups; ledger head {chain.head.count} {chain.head.hash}"
    )


SALES_GROUPS = (sales_group,)
