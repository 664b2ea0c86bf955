"""The programme's settings: zones (collection days, reminder times, a day cancelled or moved),
materials and the words people type for them, rates (a new version from now or later, never an
edit), the rewards catalogue, and every SMS template previewed with its segment count.

Anyone signed in reads them; only an admin changes them (every action's endpoint starts with
``programme_``). Each change writes its audit entry in its own transaction.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from service.providers.fulfilment import KINDS
from service.timetable import local_day
from service.usecases import CatalogueError
from service.usecases.catalogue import (
    add_material,
    add_words,
    current_rates,
    forget_vocabulary,
    material_words,
    materials,
    new_rate_version,
    rate_versions,
)
from service.usecases.day_changes import REASON_WIDTH, change_day, change_timetable
from service.usecases.rewards import (
    add_reward,
    all_rewards,
    get_reward,
    price_label,
    set_active,
    set_price,
    set_stock,
)
from service.usecases.zones import (
    WEEKDAYS,
    Zone,
    add_zone,
    day_changes_from,
    get_zone,
    next_day_of,
    set_reminder_times,
    zones,
)
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ADMINS,
    ANYONE,
    audit,
    blueprint,
    now,
    refused,
    requires,
    settings,
    user,
)

PAGE = "dashboard/programme.html"


# --- reading the forms ---------------------------------------------------------------------------


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "").strip()[:200] for name in names}


def _whole(text: str, label: str) -> int:
    """A whole number as typed; its range is the use case's to check."""
    if not re.fullmatch(r"[+-]?\d{1,12}", text):
        raise CatalogueError(f"{label} must be a whole number (not {text[:20]!r})")
    return int(text)


def _date(text: str, label: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CatalogueError(f"{label} must be a date like 2026-12-25 (not {text[:20]!r})") from None


def _local_moment(text: str) -> datetime:
    """``2026-12-01T08:00`` (or a date: the start of that day) in the programme's time zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CatalogueError(
            f"the effective time must look like 2026-12-01 08:00 (not {text[:20]!r})"
        ) from None
    return moment.replace(tzinfo=settings().zone)


def _zone(session: Session, text: str) -> Zone:
    found = get_zone(session, int(text)) if text.isdigit() else None
    if found is None:
        raise CatalogueError("choose one of the zones")
    return found


def _words(text: str) -> list[str]:
    """Words as typed in one box: separated by commas or lines (a word may be two words)."""
    return [word.strip() for word in re.split(r"[,\n]", text) if word.strip()]


# --- the page --------------------------------------------------------------------------------------


def _context(form: Mapping[str, Any] | None = None, failed: str = "") -> dict[str, Any]:
    """What the page shows; ``form`` and ``failed`` (the action refused) put the typed values back."""
    session = db_session()
    moment, local = now(), settings().zone
    found = zones(session)
    next_days: dict[int, date | None] = {}
    for zone in found:
        try:
            next_days[zone.id] = next_day_of(session, zone, moment, local)
        except LookupError:  # every day of the next 60 is cancelled
            next_days[zone.id] = None
    words: dict[str, list[str]] = {}
    for word, code in sorted(material_words(session).items()):
        words.setdefault(code, []).append(word)
    return {
        "zones": found,
        "next_days": next_days,
        "zone_names": {zone.id: zone.name for zone in found},
        "weekdays": WEEKDAYS,
        "changes": day_changes_from(session, local_day(moment, local)),
        "materials": materials(session),
        "words": words,
        "rates": current_rates(session, moment),
        "versions": rate_versions(session),
        "rewards": all_rewards(session),
        "price_label": price_label,
        "kinds": KINDS,
        "moment": moment,
        "today": local_day(moment, local),
        "reason_width": REASON_WIDTH,
        "form": form or {},
        "failed": failed,
    }


@blueprint.get("/programme")
@requires(*ANYONE)
def programme() -> ResponseReturnValue:
    return render_template(PAGE, **_context())


def _done(message: str, anchor: str) -> ResponseReturnValue:
    flash(message, "ok")
    return redirect(url_for("dashboard.programme", _anchor=anchor), 303)


# --- zones -----------------------------------------------------------------------------------------


@blueprint.post("/programme/zones")
@requires(*ADMINS)
def programme_add_zone() -> ResponseReturnValue:
    form: dict[str, Any] = _form("name", "start", "end")
    form["days"] = [day for day in request.form.getlist("days") if day][:7]
    try:
        if not form["days"]:
            raise CatalogueError("tick the zone's collection days")
        with unit_of_work() as uow:
            zone = add_zone(
                uow.session, form["name"], ",".join(form["days"]), f"{form['start']}-{form['end']}", uow.now
            )
            audit(
                uow, "programme.add_zone", f"zone:{zone.id}", {"name": zone.name, "schedule": zone.describe()}
            )
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "add_zone"))
    return _done(f"Zone {zone.name} added: {zone.describe()}.", f"zone-{zone.id}")


@blueprint.post("/programme/zones/reminders")
@requires(*ADMINS)
def programme_zone_reminders() -> ResponseReturnValue:
    form = _form("zone", "evening", "morning")
    try:
        with unit_of_work() as uow:
            before = _zone(uow.session, form["zone"])
            zone = set_reminder_times(
                uow.session,
                before,
                evening=form["evening"] or None,
                morning=form["morning"] or None,
                no_morning=not form["morning"],
            )
            audit(
                uow,
                "programme.zone_reminders",
                f"zone:{zone.id}",
                {
                    "evening": f"{zone.remind_at:%H:%M}",
                    "morning": f"{zone.morning_at:%H:%M}" if zone.morning_at else None,
                    "was": [f"{before.remind_at:%H:%M}", before.morning_at and f"{before.morning_at:%H:%M}"],
                },
            )
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "zone_reminders"))
    morning = f"{zone.morning_at:%H:%M} on the day" if zone.morning_at else "none on the day"
    return _done(
        f"{zone.name}: reminders {zone.remind_at:%H:%M} the day before, {morning}.", f"zone-{zone.id}"
    )


@blueprint.post("/programme/zones/timetable")
@requires(*ADMINS)
def programme_zone_timetable() -> ResponseReturnValue:
    form: dict[str, Any] = _form("zone", "start", "end")
    form["days"] = [day for day in request.form.getlist("days") if day][:7]
    try:
        with unit_of_work() as uow:
            before = _zone(uow.session, form["zone"])
            retimed = change_timetable(uow, before, ",".join(form["days"]), f"{form['start']}-{form['end']}")
            audit(
                uow,
                "programme.zone_timetable",
                f"zone:{before.id}",
                {
                    "was": before.describe(),
                    "now": retimed.zone.describe(),
                    "households_texted": retimed.texted,
                    "requests_moved": retimed.moved,
                },
            )
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "zone_timetable"))
    return _done(
        f"{retimed.zone.name} is now {retimed.zone.describe()}: {retimed.texted} households texted, "
        f"{retimed.moved} requests moved to a collection day.",
        f"zone-{before.id}",
    )


@blueprint.post("/programme/zones/day-changes")
@requires(*ADMINS)
def programme_change_day() -> ResponseReturnValue:
    form = _form("zone", "day", "moved_to", "reason")
    try:
        day = _date(form["day"], "the day")
        moved_to = _date(form["moved_to"], "the new day") if form["moved_to"] else None
        with unit_of_work() as uow:
            zone = _zone(uow.session, form["zone"])
            changed = change_day(uow, zone, day, moved_to, form["reason"], actor=user().email)
            audit(
                uow,
                "programme.change_day",
                f"zone:{zone.id}",
                {
                    "day": day.isoformat(),
                    "moved_to": moved_to and moved_to.isoformat(),
                    "reason": changed.reason,
                },
            )
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "change_day"))
    what = f"moved to {changed.moved_to:%a %d %b}" if changed.moved_to else "cancelled"
    return _done(f"{zone.name} {day:%a %d %b} {what}; the zone's households are being texted.", "changes")


# --- materials and rates -----------------------------------------------------------------------------


@blueprint.post("/programme/materials")
@requires(*ADMINS)
def programme_add_material() -> ResponseReturnValue:
    form = _form("code", "name", "words")
    try:
        with unit_of_work() as uow:
            add_material(uow.session, form["code"], form["name"], _words(form["words"]), now())
            code = form["code"].upper()
            known = sorted(word for word, material in material_words(uow.session).items() if material == code)
            audit(uow, "programme.add_material", f"material:{code}", {"name": form["name"], "words": known})
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "add_material"))
    forget_vocabulary()
    return _done(f"Material {code} added; people may type {', '.join(known)}. Set its rate next.", "rates")


@blueprint.post("/programme/materials/words")
@requires(*ADMINS)
def programme_add_words() -> ResponseReturnValue:
    form = _form("material", "words")
    try:
        words = _words(form["words"])
        if not words:
            raise CatalogueError("type one or more words, separated by commas")
        with unit_of_work() as uow:
            added = add_words(uow.session, form["material"], words)
            code = form["material"].upper()
            audit(uow, "programme.add_words", f"material:{code}", {"added": added})
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "add_words"))
    forget_vocabulary()
    said = f"{code}: added {', '.join(added)}." if added else f"{code} knew every one of those words already."
    return _done(said, "materials")


@blueprint.post("/programme/rates")
@requires(*ADMINS)
def programme_set_rate() -> ResponseReturnValue:
    form = _form("material", "points", "commission", "effective_from")
    try:
        points = _whole(form["points"], "points per kg")
        commission = _whole(form["commission"], "commission per kg") if form["commission"] else None
        effective_from = _local_moment(form["effective_from"]) if form["effective_from"] else None
        with unit_of_work() as uow:
            rate = new_rate_version(
                uow.session, form["material"], points, commission, effective_from, user().email, now()
            )
            audit(
                uow,
                "programme.set_rate",
                f"material:{rate.material_code}",
                {
                    "rate": rate.id,
                    "points_per_kg": rate.points_per_kg,
                    "commission_per_kg": rate.commission_per_kg,
                    "effective_from": rate.effective_from.astimezone(UTC).isoformat(),
                },
            )
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "set_rate"))
    since = rate.effective_from.astimezone(settings().zone)
    return _done(
        f"{rate.material_code}: {rate.points_per_kg} pts/kg, commission {rate.commission_per_kg}/kg,"
        f" from {since:%Y-%m-%d %H:%M} ({settings().timezone}).",
        "rates",
    )


# --- rewards ---------------------------------------------------------------------------------------


def _stock(text: str) -> int | None:
    return None if text.lower() in ("", "unlimited") else _whole(text, "the stock")


@blueprint.post("/programme/rewards")
@requires(*ADMINS)
def programme_add_reward() -> ResponseReturnValue:
    form = _form("code", "name", "kind", "price", "min_units", "max_units", "stock")
    try:
        price = _whole(form["price"], "the price")
        low = _whole(form["min_units"], "the least units") if form["min_units"] else None
        high = _whole(form["max_units"], "the most units") if form["max_units"] else None
        stock = _stock(form["stock"])
        with unit_of_work() as uow:
            number = add_reward(
                uow.session,
                form["code"],
                form["name"],
                form["kind"],
                price,
                now(),
                min_units=low,
                max_units=high,
                stock=stock,
            )
            reward = get_reward(uow.session, form["code"])
            assert reward is not None
            audit(uow, "programme.add_reward", f"reward:{reward.code}", reward._asdict())
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "add_reward"))
    return _done(f"Reward {reward.code} is number {number}: {reward.name}, {price_label(reward)}.", "rewards")


@blueprint.post("/programme/rewards/update")
@requires(*ADMINS)
def programme_update_reward() -> ResponseReturnValue:
    form = _form("reward", "price", "stock", "offered")
    try:
        price = _whole(form["price"], "the price") if form["price"] else None
        stock = _stock(form["stock"]) if form["stock"] else None
        if form["offered"] not in ("", "yes", "no"):
            raise CatalogueError("offered must be yes or no")
        if price is None and not form["stock"] and not form["offered"]:
            raise CatalogueError("give a new price, a new stock, or whether it is offered")
        with unit_of_work() as uow:
            reward = get_reward(uow.session, form["reward"])
            if reward is None:
                raise CatalogueError("choose one of the rewards")
            before = reward
            if price is not None:
                reward = set_price(uow.session, reward.code, price)
            if form["stock"]:
                reward = set_stock(uow.session, reward.code, stock)
            if form["offered"]:
                reward = set_active(uow.session, reward.code, form["offered"] == "yes")
            changed = {
                field: [getattr(before, field), getattr(reward, field)]
                for field in ("price", "stock", "active")
                if getattr(before, field) != getattr(reward, field)
            }
            audit(uow, "programme.update_reward", f"reward:{reward.code}", changed)
    except CatalogueError as error:
        return refused(PAGE, str(error), **_context(form, "update_reward"))
    stock_text = "unlimited" if reward.stock is None else reward.stock
    offered = "offered" if reward.active else "not offered"
    return _done(f"{reward.code}: {price_label(reward)}, stock {stock_text}, {offered}.", "rewards")
