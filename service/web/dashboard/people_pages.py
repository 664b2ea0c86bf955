"""Households and collectors: search, a household's page (details, statement with a running balance,
pickups, texts, disputes) and a collector's (pickups, kg, ratings, commission, weigh-ins, and the
collector app: a new PIN, signing the app out on every phone, its sign-ins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from service.accounts import member_account
from service.models import collectors_t
from service.reads import holds, people
from service.reads.disputes import dispute_rows
from service.timetable import local_day
from service.usecases import tokens, weighins
from service.usecases.roles import Collector, get_collector
from service.usecases.tokens import PIN_ACTION, SIGN_OUT_ACTION, collector_subject, pin_set_at
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    OPERATORS,
    audit,
    before_arg,
    blueprint,
    now,
    refused,
    requires,
    settings,
    user,
)

STATEMENT_PAGE = 50


@blueprint.get("/households")
@requires(*ANYONE)
def households() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()[:80]
    found = people.search_households(db_session(), query, settings().phone_region)
    return render_template("dashboard/households.html", q=query, households=found, limit=people.SEARCH_LIMIT)


@blueprint.get("/households/<int:household_id>")
@requires(*ANYONE)
def household(household_id: int) -> ResponseReturnValue:
    return render_template("dashboard/household.html", **household_page(household_id))


def household_page(household_id: int) -> dict[str, Any]:
    """What a household's page shows (404 for an unknown household)."""
    session = db_session()
    found = people.household(session, household_id)
    if found is None:
        abort(404, description=f"there is no household {household_id}")
    before = before_arg()
    lines = (
        people.statement(session, member_account(found.member_code), before=before, limit=STATEMENT_PAGE)
        if found.member_code
        else []
    )
    return dict(
        h=found,
        account=member_account(found.member_code) if found.member_code else None,
        lines=lines,
        before=before,
        size=STATEMENT_PAGE,
        pickups=people.pickups(session, household_id=household_id),
        messages=people.messages(session, found.phone),
        disputes=dispute_rows(session, open_ones=None, household_id=household_id),
    )


@blueprint.get("/collectors")
@requires(*ANYONE)
def collectors() -> ResponseReturnValue:
    return render_template(
        "dashboard/collectors.html", collectors=people.collectors(db_session(), now(), settings().zone)
    )


def collector_page(collector_id: int) -> dict[str, Any]:
    """What a collector's page shows (404 for an unknown collector)."""
    session = db_session()
    zone = settings().zone
    found = people.collector(session, collector_id, now(), zone)
    if found is None:
        abort(404, description=f"there is no collector {collector_id}")
    today = local_day(now(), zone)
    return dict(
        c=found,
        pin_set_at=pin_set_at(session, collector_id),
        app_tokens=tokens.collector_tokens(session, collector_id),
        pickups=people.pickups(session, collector_id=collector_id),
        weighed=weighins.comparison(
            session,
            zone,
            collector_id=collector_id,
            first_day=today - timedelta(days=people.KG_DAYS - 1),
            last_day=today,
            gap_percent=settings().weigh_gap_percent,
        ),
        gap_percent=settings().weigh_gap_percent,
        scorecard=holds.scorecard(session, collector_id, now(), zone),
        home_address=session.execute(
            select(collectors_t.c.home_address).where(collectors_t.c.id == collector_id)
        ).scalar(),
    )


@blueprint.get("/collectors/<int:collector_id>")
@requires(*ANYONE)
def collector(collector_id: int) -> ResponseReturnValue:
    return render_template("dashboard/collector.html", **collector_page(collector_id))


def _known_collector(collector_id: int) -> Collector:
    found = get_collector(db_session(), collector_id)
    if found is None:
        abort(404, description=f"there is no collector {collector_id}")
    return found


def _by() -> str:
    """Who ended a collector's app sign-ins, as ``api_tokens.revoked_by`` keeps it."""
    return f"user:{user().id} {user().email}"


def _ended(count: int) -> str:
    return f"{count} app sign-in{'s' if count != 1 else ''} ended"


@blueprint.post("/collectors/<int:collector_id>/pin")
@requires(*OPERATORS)
def set_collector_pin(collector_id: int) -> ResponseReturnValue:
    """A PIN the operator reads out to the collector, typed twice (the field hides it)."""
    found = _known_collector(collector_id)
    pin, again = request.form.get("pin", "").strip(), request.form.get("pin_again", "").strip()
    try:
        if pin != again:
            raise tokens.PinError("The two PINs are not the same. Type the new PIN twice.")
        with unit_of_work() as uow:
            ended = tokens.set_pin(uow.session, collector_id, pin, uow.now, by=_by())
            audit(uow, PIN_ACTION, collector_subject(collector_id), {"by": "dashboard", "signed_out": ended})
    except tokens.PinError as error:
        return refused("dashboard/collector.html", str(error), **collector_page(collector_id))
    flash(f"New app PIN set for {found.name}; {_ended(ended)}.", "ok")
    return redirect(url_for("dashboard.collector", collector_id=collector_id, _anchor="app"), 303)


@blueprint.post("/collectors/<int:collector_id>/sign-out-app")
@requires(*OPERATORS)
def sign_collector_app_out(collector_id: int) -> ResponseReturnValue:
    """A lost or shared phone: every app sign-in of this collector ends; the PIN stays."""
    found = _known_collector(collector_id)
    with unit_of_work() as uow:
        ended = tokens.revoke_collector_tokens(uow.session, collector_id, uow.now, by=_by())
        audit(uow, SIGN_OUT_ACTION, collector_subject(collector_id), {"by": "dashboard", "signed_out": ended})
    flash(f"The app is signed out on every phone of {found.name}; {_ended(ended)}.", "ok")
    return redirect(url_for("dashboard.collector", collector_id=collector_id, _anchor="app"), 303)
