"""``flask --app wsgi zones|materials|rates|collectors|members ...``: the operators' commands for
the programme's reference data.

Each command is one transaction: it either does all it says or, refused (an unknown zone, a bad
phone, a duplicate, ...), prints ``Error: <why>``, exits non-zero and changes nothing. Lists are
plain tables; times are shown in the programme's time zone (``TIMEZONE``).
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.cli.common import (
    fail,
    operator,
    phone_of,
    print_table,
    read_secret,
    runtime,
    unit_of_work,
    utc_now,
    zone_named,
)
from service.models import collectors_t, households_t, materials_t, rates_t, zones_t
from service.usecases import CatalogueError, audit, impact, tokens
from service.usecases.catalogue import (
    add_material,
    add_words,
    current_rates,
    material_words,
    rates_in_force,
    set_rate,
)
from service.usecases.households import register_at_hub
from service.usecases.roles import (
    Collector,
    add_collector,
    collector_by_phone,
    set_collector_status,
    set_home_address,
)
from service.usecases.tokens import PIN_ACTION, SIGN_OUT_ACTION, collector_subject
from service.usecases.zones import WEEKDAYS, add_zone, next_day_of, zones
from sms import UNITS

# --- what every command shares ---------------------------------------------------------------------


def _local_zone() -> ZoneInfo:
    return runtime().settings.zone


def _whole(text: str, label: str) -> int:
    """A whole number as typed; the range is the use case's to check (it knows the limits)."""
    if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
        raise CatalogueError(f"{label} must be a whole number (not {text!r})")
    return int(text)


def _moment(text: str, option: str) -> datetime:
    """``2026-12-01`` is the start of that day in the programme's time zone; a full ISO time keeps
    its own offset, or is read in the programme's time zone without one."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CatalogueError(
            f"{option} {text!r} is not a date (2026-12-01) or a time (2026-12-01T08:00)"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_local_zone())


def _shown(moment: datetime) -> str:
    return f"{moment.astimezone(_local_zone()):%Y-%m-%d %H:%M}"


def _material_code(session: Session, text: str) -> str:
    code = text.strip().upper()
    if not session.execute(select(materials_t.c.code).where(materials_t.c.code == code)).first():
        raise CatalogueError(f"no material {code} (see: flask --app wsgi materials list)")
    return code


# --- zones -------------------------------------------------------------------------------------------


@click.group("zones", cls=AppGroup, help="Zones and their collection days.")
def zones_group() -> None:
    pass


@zones_group.command("add", help="A new zone, e.g.: zones add Yaba --days tue,fri --window 08:00-12:00")
@click.argument("name")
@click.option("--days", required=True, help="Collection weekdays, e.g. tue,fri.")
@click.option("--window", required=True, help="Collection hours in local time, e.g. 08:00-12:00.")
def zones_add(name: str, days: str, window: str) -> None:
    with unit_of_work() as uow:
        zone = add_zone(uow.session, name, days, window, utc_now())
    click.echo(f"zone {zone.name}: {zone.describe()}")


@zones_group.command("list", help="Every zone with its days, hours and next collection day.")
def zones_list() -> None:
    now, local = utc_now(), _local_zone()
    with unit_of_work() as uow:
        rows = [
            (
                zone.name,
                ",".join(WEEKDAYS[day] for day in zone.days),
                zone.window,
                f"{zone.remind_at:%H:%M}" + (f", {zone.morning_at:%H:%M}" if zone.morning_at else ""),
                f"{next_day_of(uow.session, zone, now, local):%a %Y-%m-%d}",
            )
            for zone in zones(uow.session)
        ]
    print_table(("zone", "days", "window", "reminders", "next"), rows, "no zones yet")


# --- materials ---------------------------------------------------------------------------------------


@click.group("materials", cls=AppGroup, help="Materials and the words people type for them.")
def materials_group() -> None:
    pass


@materials_group.command("add", help="A new material, e.g.: materials add TIN --name Tins --word tins")
@click.argument("code")
@click.option("--name", required=True, help="What operators call it, e.g. 'PET bottles'.")
@click.option("--word", "words", multiple=True, help="A word people type for it (repeat for more).")
def materials_add(code: str, name: str, words: tuple[str, ...]) -> None:
    with unit_of_work() as uow:
        add_material(uow.session, code, name, words, utc_now())
        code = code.strip().upper()
        known = sorted(word for word, material in material_words(uow.session).items() if material == code)
    click.echo(f"material {code}: {', '.join(known)}")


@materials_group.command("words", help="More words for a material, e.g.: materials words PET flask flasks")
@click.argument("code")
@click.argument("words", nargs=-1, required=True)
def materials_words(code: str, words: tuple[str, ...]) -> None:
    with unit_of_work() as uow:
        added = add_words(uow.session, code, words)
    code = code.strip().upper()
    click.echo(f"{code}: added {', '.join(added)}" if added else f"{code}: nothing new, it knew every word")


@materials_group.command(
    "impact",
    help="What a kilo means in IMPACT's reply (docs/reasons-to-stay.md), e.g.: materials impact PET "
    "--items-per-kg 50 --unit bottle --co2e-g-per-kg 1150. Without a code: every material's.",
)
@click.argument("code", required=False)
@click.option("--items-per-kg", type=int, help="How many items a kilo is.")
@click.option("--unit", help=f"What an item is: {', '.join(UNITS)}, or none (items not counted).")
@click.option("--co2e-g-per-kg", type=int, help="Grams of CO2e a kilo recycled avoids.")
def materials_impact(
    code: str | None, items_per_kg: int | None, unit: str | None, co2e_g_per_kg: int | None
) -> None:
    with unit_of_work() as uow:
        known = {f.code: f for f in impact.factors(uow.session)}
        if code is not None:
            code = code.strip().upper()
            if code not in known:
                raise CatalogueError(f"no material {code}")
            # What is not given stays as it was; --unit none stops counting items.
            was = known[code]
            unit = unit and unit.strip().lower()
            counted = unit != "none"
            items = was.items_per_kg if items_per_kg is None else items_per_kg
            known[code] = impact.set_factors(
                uow.session,
                code,
                items_per_kg=items if counted else None,
                item_unit=(was.item_unit if unit is None else unit) if counted else None,
                co2e_g_per_kg=was.co2e_g_per_kg if co2e_g_per_kg is None else co2e_g_per_kg,
            )
        rows = [
            (f.code, f.items_per_kg or "-", f.item_unit or "-", f.co2e_g_per_kg or "-")
            for f in known.values()
            if code is None or f.code == code
        ]
    print_table(("code", "items/kg", "item", "CO2e g/kg"), rows, "no materials yet")


@materials_group.command("list", help="Every material: its words and the rate in force now.")
def materials_list() -> None:
    with unit_of_work() as uow:
        names = {
            code: name
            for code, name in uow.session.execute(
                select(materials_t.c.code, materials_t.c.name).order_by(materials_t.c.code)
            )
        }
        words = material_words(uow.session)
        rates = current_rates(uow.session, utc_now())
    rows = []
    for code, name in names.items():
        rate = rates.get(code)
        # The code first: it is the word a collector's LOG shows back.
        spoken = sorted((word for word, material in words.items() if material == code and word != code))
        rows.append(
            (
                code,
                name,
                "-" if rate is None else rate.points_per_kg,
                "-" if rate is None else rate.commission_per_kg,
                ", ".join([code, *spoken]),
            )
        )
    print_table(("code", "name", "pts/kg", "commission/kg", "words"), rows, "no materials yet")


# --- rates -------------------------------------------------------------------------------------------


@click.group("rates", cls=AppGroup, help="Points per kg: every change is a new version, never an edit.")
def rates_group() -> None:
    pass


# ignore_unknown_options: "-5" reaches the command as a number (and is refused as one), rather
# than being taken for an option nobody has.
@rates_group.command(
    "set",
    help="A material's points per kg from a moment on, e.g.: rates set PET 10 --from 2026-12-01",
    context_settings={"ignore_unknown_options": True},
)
@click.argument("material")
@click.argument("points")
@click.option(
    "--commission", help="The collector's commission per kg (default: the one in force then, or 0)."
)
@click.option(
    "--from",
    "start",
    help="A date (the start of that day, local time) or an ISO time; default now.",
)
def rates_set(material: str, points: str, commission: str | None, start: str | None) -> None:
    with unit_of_work() as uow:
        code = _material_code(uow.session, material)
        points_per_kg = _whole(points, "points per kg")
        effective_from = utc_now() if start is None else _moment(start, "--from")
        if commission is None:
            # A new points rate must not quietly take the collectors' commission away.
            before = rates_in_force(uow.session, [code], effective_from).get(code)
            commission_per_kg = 0 if before is None else before.commission_per_kg
        else:
            commission_per_kg = _whole(commission, "commission per kg")
        rate = set_rate(
            uow.session, code, points_per_kg, commission_per_kg, effective_from, operator(), utc_now()
        )
    click.echo(
        f"{rate.material_code}: {rate.points_per_kg} pts/kg, commission {rate.commission_per_kg}/kg,"
        f" from {_shown(rate.effective_from)}"
    )


@rates_group.command("list", help="The rates in force now, or --at a date or time.")
@click.option("--at", "at_text", help="A date (the start of that day, local time) or an ISO time.")
def rates_list(at_text: str | None) -> None:
    with unit_of_work() as uow:
        at = utc_now() if at_text is None else _moment(at_text, "--at")
        rates = current_rates(uow.session, at)
    rows = [
        (code, rate.points_per_kg, rate.commission_per_kg, _shown(rate.effective_from))
        for code, rate in rates.items()
    ]
    print_table(("material", "pts/kg", "commission/kg", "since"), rows, f"no rate in force at {_shown(at)}")


@rates_group.command("history", help="Every version of a material's rate, past and planned.")
@click.argument("material")
def rates_history(material: str) -> None:
    now = utc_now()
    with unit_of_work() as uow:
        code = _material_code(uow.session, material)
        versions = uow.session.execute(
            select(rates_t).where(rates_t.c.material_code == code).order_by(rates_t.c.effective_from)
        ).all()
        in_force = rates_in_force(uow.session, [code], now).get(code)
    in_force_id = None if in_force is None else in_force.id
    rows = [
        (
            _shown(row.effective_from),
            row.points_per_kg,
            row.commission_per_kg,
            row.created_by,
            "in force" if row.id == in_force_id else "planned" if row.effective_from > now else "",
        )
        for row in versions
    ]
    print_table(("from", "pts/kg", "commission/kg", "set by", "now"), rows, f"{code} has no rate yet")


# --- collectors --------------------------------------------------------------------------------------


@click.group("collectors", cls=AppGroup, help="Collectors: their phones get the collector commands.")
def collectors_group() -> None:
    pass


@collectors_group.command(
    "add", help="A new collector, e.g.: collectors add --phone 08030000001 --name Tunde --zone Yaba"
)
@click.option("--phone", required=True)
@click.option("--name", required=True)
@click.option("--zone", "zone_name", required=True, help="The zone they cover.")
@click.option("--commission", help="Commission per kg for this collector, instead of the rates'.")
def collectors_add(phone: str, name: str, zone_name: str, commission: str | None) -> None:
    number = phone_of(phone)
    with unit_of_work() as uow:
        zone = zone_named(uow.session, zone_name)
        per_kg = None if commission is None else _whole(commission, "commission per kg")
        collector = add_collector(uow.session, number, name, zone.id, utc_now(), commission_per_kg=per_kg)
    extra = "" if per_kg is None else f", commission {per_kg}/kg"
    click.echo(f"collector {collector.id}: {collector.name}, {collector.phone}, zone {zone.name}{extra}")


@collectors_group.command("list", help="Every collector with their zone and status.")
def collectors_list() -> None:
    with unit_of_work() as uow:
        rows = uow.session.execute(
            select(
                collectors_t.c.id,
                collectors_t.c.name,
                collectors_t.c.phone,
                zones_t.c.name,
                collectors_t.c.commission_per_kg,
                collectors_t.c.status,
            )
            .select_from(collectors_t.outerjoin(zones_t, zones_t.c.id == collectors_t.c.zone_id))
            .order_by(collectors_t.c.id)
        ).all()
    shown = [
        (id_, name, phone, zone or "-", "rates" if commission is None else commission, status)
        for id_, name, phone, zone, commission, status in rows
    ]
    print_table(("id", "name", "phone", "zone", "commission/kg", "status"), shown, "no collectors yet")


@collectors_group.command(
    "home", help='Where a collector lives: their pickups at that address are held, e.g. --address "7 Bode St"'
)
@click.option("--phone", required=True)
@click.option("--address", required=True, help='Their home address ("" when not known).')
def collectors_home(phone: str, address: str) -> None:
    number = phone_of(phone)
    with unit_of_work() as uow:
        collector = _collector_with_phone(uow.session, number)
        set_home_address(uow.session, collector.id, address)
    said = " ".join(address.split()) or "not known"
    click.echo(f"collector {collector.id}: {collector.name}, home: {said}")


def _set_status(phone: str, status: str) -> None:
    number = phone_of(phone)
    with unit_of_work() as uow:
        collector = set_collector_status(uow.session, number, status)
    click.echo(f"collector {collector.id}: {collector.name}, {collector.phone}, {status}")


@collectors_group.command("suspend", help="Stop a collector's LOGs being accepted.")
@click.option("--phone", required=True)
def collectors_suspend(phone: str) -> None:
    _set_status(phone, "suspended")


@collectors_group.command("activate", help="Accept a suspended collector's LOGs again.")
@click.option("--phone", required=True)
def collectors_activate(phone: str) -> None:
    _set_status(phone, "active")


def _collector_with_phone(session: Session, number: str) -> Collector:
    found = collector_by_phone(session, number)
    if found is None:
        raise CatalogueError(f"no collector with phone {number}")
    return found


def _audit_app_change(session: Session, action: str, collector: Collector, ended: int) -> None:
    audit.record(
        session,
        actor=operator(),
        action=action,
        subject=collector_subject(collector.id),
        at=utc_now(),
        details={"by": "cli", "phone": collector.phone, "signed_out": ended},
    )


def _ended(count: int) -> str:
    return f"{count} app sign-in{'s' if count != 1 else ''} ended"


@collectors_group.command(
    "pin",
    help="A new PIN for the collector app (ends every app sign-in of the collector). Asked twice at a "
    "terminal, or the first line of standard input: printf '%s\\n' \"$PIN\" | ... collectors pin --phone P",
)
@click.option("--phone", required=True)
def collectors_pin(phone: str) -> None:
    number = phone_of(phone)
    pin = read_secret("New app PIN", "PIN")
    try:
        with unit_of_work() as uow:
            collector = _collector_with_phone(uow.session, number)
            ended = tokens.set_pin(uow.session, collector.id, pin, utc_now(), by=operator())
            _audit_app_change(uow.session, PIN_ACTION, collector, ended)
    except tokens.PinError as error:
        fail(str(error))
    click.echo(f"collector {collector.id}: {collector.name}, {collector.phone}: new app PIN; {_ended(ended)}")


@collectors_group.command("signout", help="Sign the collector app out on every phone (the PIN stays).")
@click.option("--phone", required=True)
def collectors_signout(phone: str) -> None:
    number = phone_of(phone)
    with unit_of_work() as uow:
        collector = _collector_with_phone(uow.session, number)
        ended = tokens.revoke_collector_tokens(uow.session, collector.id, utc_now(), by=operator())
        _audit_app_change(uow.session, SIGN_OUT_ACTION, collector, ended)
    click.echo(f"collector {collector.id}: {collector.name}, {collector.phone}: {_ended(ended)}")


# --- members -----------------------------------------------------------------------------------------


@click.group("members", cls=AppGroup, help="Member households (registered at the hub).")
def members_group() -> None:
    pass


@members_group.command(
    "add", help="Register a household, e.g.: members add --phone 08031234567 --name 'Ada Okafor' --zone Yaba"
)
@click.option("--phone", required=True)
@click.option("--name", required=True)
@click.option("--zone", "zone_name", required=True, help="The zone it lives in.")
@click.option("--address", help="Where the collector finds it.")
@click.option(
    "--language", help="The language it is texted in: EN, PCM, YO, HA or IG (the phone's, else English)."
)
def members_add(phone: str, name: str, zone_name: str, address: str | None, language: str | None) -> None:
    """Registered as the dashboard registers one: its member code, and the welcome text."""
    number = phone_of(phone)
    with unit_of_work() as uow:
        zone = zone_named(uow.session, zone_name)
        member = register_at_hub(
            uow, number, name, zone.id, address, language=language, joined_via="operator"
        )
    click.echo(
        f"member {member.member_code}: {member.name}, {member.phone}, zone {zone.name}; welcomed by text"
    )


@members_group.command("list", help="Every member household, or those of one --zone.")
@click.option("--zone", "zone_name", help="Only this zone's households.")
def members_list(zone_name: str | None) -> None:
    with unit_of_work() as uow:
        query = (
            select(
                households_t.c.member_code,
                households_t.c.name,
                households_t.c.phone,
                zones_t.c.name,
                households_t.c.status,
            )
            .select_from(households_t.outerjoin(zones_t, zones_t.c.id == households_t.c.zone_id))
            .where(households_t.c.member_code.is_not(None))
            .order_by(households_t.c.id)
        )
        if zone_name is not None:
            query = query.where(households_t.c.zone_id == zone_named(uow.session, zone_name).id)
        rows = uow.session.execute(query).all()
    shown = [(code, name, phone, zone or "-", status) for code, name, phone, zone, status in rows]
    print_table(("code", "name", "phone", "zone", "status"), shown, "no members yet")


PROGRAMME_GROUPS = (zones_group, materials_group, rates_group, collectors_group, members_group)
