"""The holds queue (issue 24): pickups credited as held because their signals passed the
thresholds, each with its signals; approve (the points go on to the household, the commission to
the collector) or reject with a reason (both are texted). A hold nobody decides is released on
its day by the ``release_holds`` job."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service.reads.holds import hold_rows, waiting_count
from service.usecases.holds import HoldError, approve, reject
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import ANYONE, OPERATORS, audit, blueprint, refused, requires, user


def _context() -> dict[str, object]:
    session = db_session()
    return {
        "queue": hold_rows(session, waiting=True),
        "waiting": waiting_count(session),
        "decided": hold_rows(session, waiting=False, limit=30),
    }


@blueprint.get("/holds")
@requires(*ANYONE)
def holds() -> ResponseReturnValue:
    return render_template("dashboard/holds.html", **_context())


@blueprint.post("/holds/<string:reference>/approve")
@requires(*OPERATORS)
def approve_hold(reference: str) -> ResponseReturnValue:
    try:
        with unit_of_work() as uow:
            held = approve(uow, reference, user().email)
            audit(
                uow, "hold.approve", f"pickup:{held.collection_id}", {"ref": reference, "points": held.points}
            )
    except HoldError as error:
        return refused("dashboard/holds.html", str(error), **_context())
    flash(f"Pickup {reference} approved: {held.points} pts to the household. It was texted.", "ok")
    return redirect(url_for("dashboard.holds"), 303)


@blueprint.post("/holds/<string:reference>/reject")
@requires(*OPERATORS)
def reject_hold(reference: str) -> ResponseReturnValue:
    reason = " ".join(request.form.get("reason", "").split())
    try:
        with unit_of_work() as uow:
            held = reject(uow, reference, user().email, reason)
            audit(uow, "hold.reject", f"pickup:{held.collection_id}", {"ref": reference, "reason": reason})
    except HoldError as error:
        return refused("dashboard/holds.html", str(error), **_context())
    flash(
        f"Pickup {reference} rejected: its points went back. The household and the collector were texted.",
        "ok",
    )
    return redirect(url_for("dashboard.holds"), 303)
