"""Households and collectors managed at the hub: add one, change its name (and a household's
address, language and phone), move it to another zone, suspend it or make it active again.

Admins and operators change; auditors read the same pages without the forms (403 on a POST).
Each change is one use case (``service.usecases.households``, ``service.usecases.roles``, as the
CLI and the SMS commands use them) and its audit entry, with the values before and after, in the
same unit of work; a refusal is the page again with the reason (422), nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

import sms
from service.accounts import member_account
from service.reads import people
from service.usecases import CatalogueError, roles
from service.usecases import households as members
from service.usecases.tokens import collector_subject
from service.usecases.zones import zones
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import OPERATORS, audit, blueprint, now, refused, requires, settings
from service.web.dashboard.people_pages import collector_page, household_page
from sms.templates import LANGUAGE_NAMES

HOUSEHOLDS_PAGE = "dashboard/households.html"
HOUSEHOLD_PAGE = "dashboard/household.html"
COLLECTORS_PAGE = "dashboard/collectors.html"
COLLECTOR_PAGE = "dashboard/collector.html"

# The languages a household may be texted in, as the forms offer them.
LANGUAGE_CHOICES = tuple((code, LANGUAGE_NAMES.get(code, code)) for code in sms.LANGUAGES)


@blueprint.context_processor
def _choices() -> dict[str, Any]:
    """The forms' choices; the zones are read only by a page that shows a form."""
    return {"zone_choices": lambda: zones(db_session()), "language_choices": LANGUAGE_CHOICES}


# --- reading the forms ---------------------------------------------------------------------------


def _form(*names: str) -> dict[str, str]:
    return {name: request.form.get(name, "").strip()[:200] for name in names}


def _phone(typed: str) -> str:
    """A number as typed at the hub (0803 123 4567, +234..., 234...) in E.164."""
    phone = sms.normalise_phone(typed, settings().phone_region) if typed else None
    if phone is None:
        raise CatalogueError(
            f"{typed[:20]!r} is not a phone number (e.g. 08031234567 or +2348031234567)"
            if typed
            else "give the phone number"
        )
    return phone


def _zone_id(text: str) -> int | None:
    """The zone chosen (the use case refuses one that does not exist)."""
    return int(text) if text.isdigit() and len(text) < 10 else None


def _zone_name(session: Session, zone_id: int | None) -> str | None:
    return next((zone.name for zone in zones(session) if zone.id == zone_id), None)


def _changed(before: Mapping[str, Any], after: Mapping[str, Any], *fields: str) -> dict[str, list[Any]]:
    """What an audit entry keeps of a change: each field that changed, as [before, after]."""
    return {field: [before[field], after[field]] for field in fields if before[field] != after[field]}


# --- households ------------------------------------------------------------------------------------


def _called(household: members.Household) -> str:
    return f"{household.member_code} {household.name}" if household.member_code else household.name


def _household_subject(household: members.Household) -> str:
    return member_account(household.member_code) if household.member_code else f"household:{household.id}"


def _known_household(household_id: int) -> members.Household:
    found = members.get_household(db_session(), household_id)
    if found is None:
        abort(404, description=f"there is no household {household_id}")
    return found


def _households_refused(error: CatalogueError, form: Mapping[str, str]) -> ResponseReturnValue:
    found = people.search_households(db_session(), "", settings().phone_region)
    return refused(
        HOUSEHOLDS_PAGE,
        str(error),
        q="",
        households=found,
        limit=people.SEARCH_LIMIT,
        form=form,
        failed="add",
    )


def _household_refused(
    household_id: int, error: CatalogueError, failed: str, form: Mapping[str, str]
) -> ResponseReturnValue:
    return refused(HOUSEHOLD_PAGE, str(error), form=form, failed=failed, **household_page(household_id))


def _to_household(household_id: int, message: str) -> ResponseReturnValue:
    flash(message, "ok")
    return redirect(url_for("dashboard.household", household_id=household_id), 303)


@blueprint.post("/households")
@requires(*OPERATORS)
def add_household() -> ResponseReturnValue:
    """A household registered at the hub: its member code and its welcome text, as at the door."""
    form = _form("name", "phone", "zone", "language", "address")
    try:
        phone = _phone(form["phone"])
        with unit_of_work() as uow:
            member = members.register_at_hub(
                uow,
                phone,
                form["name"],
                _zone_id(form["zone"]),
                form["address"],
                language=form["language"] or None,
            )
            added = members.get_household(uow.session, member.id)
            assert added is not None
            audit(
                uow,
                "household.add",
                _household_subject(added),
                {
                    "member_code": added.member_code,
                    "name": added.name,
                    "phone": added.phone,
                    "zone": _zone_name(uow.session, added.zone_id),
                    "language": added.language,
                    "address": added.address,
                },
            )
    except CatalogueError as error:
        return _households_refused(error, form)
    return _to_household(
        member.id, f"{member.name} is member {member.member_code}; their welcome text is on its way."
    )


@blueprint.post("/households/<int:household_id>/edit")
@requires(*OPERATORS)
def edit_household(household_id: int) -> ResponseReturnValue:
    _known_household(household_id)
    form = _form("name", "address", "language")
    try:
        with unit_of_work() as uow:
            done = members.edit_household(
                uow.session, household_id, form["name"], form["address"], form["language"], uow.now
            )
            audit(
                uow,
                "household.edit",
                _household_subject(done.after),
                _changed(done.before._asdict(), done.after._asdict(), "name", "address", "language"),
            )
    except CatalogueError as error:
        return _household_refused(household_id, error, "edit", form)
    return _to_household(household_id, f"{_called(done.after)}: name, address and language saved.")


@blueprint.post("/households/<int:household_id>/zone")
@requires(*OPERATORS)
def move_household(household_id: int) -> ResponseReturnValue:
    _known_household(household_id)
    form = _form("zone")
    try:
        with unit_of_work() as uow:
            moved = members.move_household(uow, household_id, _zone_id(form["zone"]))
            was, now_in = (
                _zone_name(uow.session, moved.before.zone_id),
                _zone_name(uow.session, moved.after.zone_id),
            )
            audit(
                uow,
                "household.move",
                _household_subject(moved.after),
                {"zone": [was, now_in], "requests_dropped": moved.dropped},
            )
    except CatalogueError as error:
        return _household_refused(household_id, error, "zone", form)
    dropped = (
        f" {moved.dropped} pickup request{'s' if moved.dropped != 1 else ''} for {was} dropped."
        if moved.dropped
        else ""
    )
    return _to_household(household_id, f"{_called(moved.after)} moved to {now_in}.{dropped}")


@blueprint.post("/households/<int:household_id>/phone")
@requires(*OPERATORS)
def change_household_phone(household_id: int) -> ResponseReturnValue:
    _known_household(household_id)
    form = _form("phone")
    try:
        phone = _phone(form["phone"])
        with unit_of_work() as uow:
            done = members.change_household_phone(uow.session, household_id, phone, uow.now)
            audit(
                uow, "household.phone", _household_subject(done.after), {"phone": [done.before.phone, phone]}
            )
    except CatalogueError as error:
        return _household_refused(household_id, error, "phone", form)
    return _to_household(household_id, f"{_called(done.after)}'s phone is now {phone}.")


@blueprint.post("/households/<int:household_id>/status")
@requires(*OPERATORS)
def household_status(household_id: int) -> ResponseReturnValue:
    _known_household(household_id)
    form = _form("status", "reason")
    try:
        with unit_of_work() as uow:
            done = members.set_household_status(uow.session, household_id, form["status"], form["reason"])
            audit(
                uow,
                "household.suspend" if done.after.status == "suspended" else "household.reinstate",
                _household_subject(done.after),
                {
                    "status": [done.before.status, done.after.status],
                    "reason": " ".join(form["reason"].split()),
                },
            )
    except CatalogueError as error:
        return _household_refused(household_id, error, "status", form)
    return _to_household(household_id, f"{_called(done.after)} is {done.after.status}.")


# --- collectors ------------------------------------------------------------------------------------


def _known_collector(collector_id: int) -> roles.Collector:
    found = roles.get_collector(db_session(), collector_id)
    if found is None:
        abort(404, description=f"there is no collector {collector_id}")
    return found


def _collector_refused(
    collector_id: int, error: CatalogueError, failed: str, form: Mapping[str, str]
) -> ResponseReturnValue:
    return refused(COLLECTOR_PAGE, str(error), form=form, failed=failed, **collector_page(collector_id))


def _to_collector(collector_id: int, message: str) -> ResponseReturnValue:
    flash(message, "ok")
    return redirect(url_for("dashboard.collector", collector_id=collector_id), 303)


@blueprint.post("/collectors")
@requires(*OPERATORS)
def add_collector() -> ResponseReturnValue:
    """A collector: their phone gets the collector commands, their commission an account."""
    form = _form("name", "phone", "zone")
    try:
        phone = _phone(form["phone"])
        zone_id = _zone_id(form["zone"])
        if zone_id is None:
            raise CatalogueError("choose one of the zones")
        with unit_of_work() as uow:
            added = roles.add_collector(uow.session, phone, form["name"], zone_id, uow.now)
            zone_name = _zone_name(uow.session, added.zone_id)
            audit(
                uow,
                "collector.add",
                collector_subject(added.id),
                {"name": added.name, "phone": added.phone, "zone": zone_name},
            )
    except CatalogueError as error:
        found = people.collectors(db_session(), now(), settings().zone)
        return refused(COLLECTORS_PAGE, str(error), collectors=found, form=form, failed="add")
    return _to_collector(
        added.id,
        f"{added.name} is a collector in {zone_name}: set their app PIN, or they text PIN from their phone.",
    )


@blueprint.post("/collectors/<int:collector_id>/edit")
@requires(*OPERATORS)
def edit_collector(collector_id: int) -> ResponseReturnValue:
    _known_collector(collector_id)
    form = _form("name")
    try:
        with unit_of_work() as uow:
            done = roles.edit_collector(uow.session, collector_id, form["name"])
            audit(
                uow,
                "collector.edit",
                collector_subject(collector_id),
                {"name": [done.before.name, done.after.name]},
            )
    except CatalogueError as error:
        return _collector_refused(collector_id, error, "edit", form)
    return _to_collector(collector_id, f"Collector {collector_id} is now called {done.after.name}.")


@blueprint.post("/collectors/<int:collector_id>/zone")
@requires(*OPERATORS)
def move_collector(collector_id: int) -> ResponseReturnValue:
    _known_collector(collector_id)
    form = _form("zone")
    try:
        with unit_of_work() as uow:
            done = roles.move_collector(uow.session, collector_id, _zone_id(form["zone"]))
            was, now_in = (
                _zone_name(uow.session, done.before.zone_id),
                _zone_name(uow.session, done.after.zone_id),
            )
            audit(uow, "collector.move", collector_subject(collector_id), {"zone": [was, now_in]})
    except CatalogueError as error:
        return _collector_refused(collector_id, error, "zone", form)
    return _to_collector(collector_id, f"{done.after.name} now covers {now_in}.")


@blueprint.post("/collectors/<int:collector_id>/home")
@requires(*OPERATORS)
def collector_home(collector_id: int) -> ResponseReturnValue:
    """Where the collector lives: a household at that address is their own (its pickups held)."""
    _known_collector(collector_id)
    form = _form("home_address")
    try:
        with unit_of_work() as uow:
            before, after = roles.set_home_address(uow.session, collector_id, form["home_address"])
            audit(uow, "collector.home", collector_subject(collector_id), {"home_address": [before, after]})
    except CatalogueError as error:
        return _collector_refused(collector_id, error, "home", form)
    return _to_collector(collector_id, f"Home address {'saved' if after else 'cleared'}.")


@blueprint.post("/collectors/<int:collector_id>/status")
@requires(*OPERATORS)
def collector_status(collector_id: int) -> ResponseReturnValue:
    _known_collector(collector_id)
    form = _form("status", "reason")
    try:
        with unit_of_work() as uow:
            done = roles.change_collector_status(uow.session, collector_id, form["status"], form["reason"])
            audit(
                uow,
                "collector.suspend" if done.after.status == "suspended" else "collector.reinstate",
                collector_subject(collector_id),
                {
                    "status": [done.before.status, done.after.status],
                    "reason": " ".join(form["reason"].split()),
                },
            )
    except CatalogueError as error:
        return _collector_refused(collector_id, error, "status", form)
    return _to_collector(collector_id, f"{done.after.name} is {done.after.status}.")
