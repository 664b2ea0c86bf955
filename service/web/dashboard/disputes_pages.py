"""The disputes queue: uphold (the pickup is reversed) or reject with a reason; both the
household and the collector are texted either way."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service.reads.disputes import dispute_rows
from service.usecases.disputes import DisputeError, reject, uphold
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    OPERATORS,
    audit,
    blueprint,
    refused,
    requires,
    user,
)


def _context() -> dict[str, object]:
    session = db_session()
    return {
        "queue": dispute_rows(session, open_ones=True),
        "decided": dispute_rows(session, open_ones=False, limit=30),
    }


@blueprint.get("/disputes")
@requires(*ANYONE)
def disputes() -> ResponseReturnValue:
    return render_template("dashboard/disputes.html", **_context())


@blueprint.post("/disputes/<int:dispute_id>/uphold")
@requires(*OPERATORS)
def uphold_dispute(dispute_id: int) -> ResponseReturnValue:
    try:
        with unit_of_work() as uow:
            points = uphold(uow, dispute_id, user().email)
            audit(uow, "dispute.uphold", f"dispute:{dispute_id}", {"points_reversed": points})
    except DisputeError as error:
        return refused("dashboard/disputes.html", str(error), **_context())
    flash(f"Dispute {dispute_id} upheld: the pickup is reversed (-{points} pts). Both were texted.", "ok")
    return redirect(url_for("dashboard.disputes"), 303)


@blueprint.post("/disputes/<int:dispute_id>/reject")
@requires(*OPERATORS)
def reject_dispute(dispute_id: int) -> ResponseReturnValue:
    reason = " ".join(request.form.get("reason", "").split())[:160]
    try:
        with unit_of_work() as uow:
            reject(uow, dispute_id, user().email, reason)
            audit(uow, "dispute.reject", f"dispute:{dispute_id}", {"reason": reason})
    except DisputeError as error:
        return refused("dashboard/disputes.html", str(error), **_context())
    flash(f"Dispute {dispute_id} rejected: the pickup stands. Both were texted.", "ok")
    return redirect(url_for("dashboard.disputes"), 303)
