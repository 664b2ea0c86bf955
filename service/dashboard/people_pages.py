"""Households and collectors: search, a household's page (details, statement with a running balance,
pickups, texts, disputes) and a collector's (pickups, kg, ratings, commission, weigh-ins)."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from .. import people, weighins
from ..disputes import dispute_rows
from ..programme import member_account
from ..timetable import local_day
from ..web import db_session
from . import ANYONE, before_arg, blueprint, now, requires, settings

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
    return render_template(
        "dashboard/household.html",
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


@blueprint.get("/collectors/<int:collector_id>")
@requires(*ANYONE)
def collector(collector_id: int) -> ResponseReturnValue:
    session = db_session()
    zone = settings().zone
    found = people.collector(session, collector_id, now(), zone)
    if found is None:
        abort(404, description=f"there is no collector {collector_id}")
    today = local_day(now(), zone)
    return render_template(
        "dashboard/collector.html",
        c=found,
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
    )
