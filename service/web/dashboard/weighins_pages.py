"""Hub weigh-ins: record what a collector delivered per material, and compare it with the kg they
logged (flagged when the gap is over ``settings.weigh_gap_percent``)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service.timetable import local_day
from service.usecases import weighins
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    OPERATORS,
    audit,
    blueprint,
    keep,
    kg,
    now,
    refused,
    requires,
    settings,
    user,
)

DEFAULT_DAYS = 7
FORM_FIELDS = ("collector", "day", "material", "kg", "note", "scale")


def _day_arg(name: str, label: str, default: date) -> date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise weighins.WeighInError(f"{label} must be a date like 2026-11-24, not {text[:20]!r}") from None


def _context(form: dict[str, str] | None = None) -> dict[str, Any]:
    """The comparison as the query asks for it (the last week by default), the form's choices."""
    session = db_session()
    today = local_day(now(), settings().zone)
    args = keep({name: request.args.get(name, "").strip() for name in ("from", "to", "collector")})
    rows: list[weighins.Comparison] = []
    error = None
    try:
        last = _day_arg("to", "To", today)
        first = _day_arg("from", "From", last - timedelta(days=DEFAULT_DAYS - 1))
        who = args.get("collector", "")
        if who and not who.isdigit():
            raise weighins.WeighInError(f"{who[:20]!r} is not a collector")
        rows = weighins.comparison(
            session,
            settings().zone,
            collector_id=int(who) if who else None,
            first_day=first,
            last_day=last,
            gap_percent=settings().weigh_gap_percent,
        )
    except weighins.WeighInError as wrong:
        error = str(wrong)
        first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    return {
        "rows": rows,
        "args": args,
        "filter_error": error,
        "first": first,
        "last": last,
        "gap_percent": settings().weigh_gap_percent,
        "form": form or {"day": today.isoformat()},
        "today": today,
        "default_days": DEFAULT_DAYS,
        **weighins.form_choices(session),
    }


@blueprint.get("/weigh-ins")
@requires(*ANYONE)
def weigh_ins() -> ResponseReturnValue:
    context = _context()
    return render_template("dashboard/weigh_ins.html", **context), (422 if context["filter_error"] else 200)


@blueprint.post("/weigh-ins")
@requires(*OPERATORS)
def record_weigh_in() -> ResponseReturnValue:
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    try:
        if not form["collector"].isdigit():
            raise weighins.WeighInError("choose the collector")
        if not form["material"]:
            raise weighins.WeighInError("choose the material")
        day = weighins.day_of(form["day"]) if form["day"] else local_day(now(), settings().zone)
        grams = weighins.grams_of(form["kg"])
        with unit_of_work() as uow:
            weigh_in_id = weighins.record_weigh_in(
                uow.session,
                int(form["collector"]),
                day,
                form["material"],
                grams,
                form["note"],
                user().id,
                now(),
                local_zone=settings().zone,
                scale_code=form["scale"] or None,
            )
            details: dict[str, Any] = {
                "collector": int(form["collector"]),
                "day": day.isoformat(),
                "material": form["material"].upper(),
                "grams": grams,
                "note": form["note"][: weighins.NOTE_LENGTH],
            }
            if form["scale"]:
                details["scale"] = form["scale"].upper()
            audit(uow, "weigh_in.record", f"weigh_in:{weigh_in_id}", details)
    except weighins.WeighInError as error:
        return refused("dashboard/weigh_ins.html", str(error), **_context(form))
    flash(f"Weigh-in recorded: {kg(grams)} kg of {form['material'].upper()} on {day.isoformat()}.", "ok")
    shown: dict[str, Any] = {"collector": form["collector"]}
    if day < local_day(now(), settings().zone) - timedelta(days=DEFAULT_DAYS - 1):
        shown["from"] = day.isoformat()  # an older day: the page shows from then on
    return redirect(url_for("dashboard.weigh_ins", **shown), 303)
