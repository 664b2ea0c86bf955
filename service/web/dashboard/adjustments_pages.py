"""Manual adjustments, maker-checker: propose here; a different operator approves (the transfer
is posted then) or rejects; the proposer may withdraw."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from service.usecases import adjustments as use
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


def _context(**form: str) -> dict[str, object]:
    session = db_session()
    return {
        "waiting": use.adjustments(session, status="proposed"),
        "recent": [a for a in use.adjustments(session, limit=50) if a.status != "proposed"],
        "form": form,
    }


@blueprint.get("/adjustments")
@requires(*ANYONE)
def adjustments() -> ResponseReturnValue:
    return render_template(
        "dashboard/adjustments.html", **_context(account=request.args.get("account", "")[:64])
    )


@blueprint.post("/adjustments")
@requires(*OPERATORS)
def propose_adjustment() -> ResponseReturnValue:
    form = {name: request.form.get(name, "") for name in ("account", "amount", "reason")}
    try:
        with unit_of_work() as uow:
            adjustment_id = use.propose(
                uow.session, user().id, form["account"], form["amount"], form["reason"], uow.now
            )
            proposal = use.get_adjustment(uow.session, adjustment_id)
            assert proposal is not None
            audit(
                uow,
                "adjustment.propose",
                f"adjustment:{adjustment_id}",
                {"account": proposal.account_code, "amount": proposal.amount, "reason": proposal.reason},
            )
    except use.AdjustmentError as error:
        return refused("dashboard/adjustments.html", str(error), **_context(**form))
    flash(f"Adjustment {adjustment_id} proposed: another operator must approve it.", "ok")
    return redirect(url_for("dashboard.adjustments"), 303)


@blueprint.post("/adjustments/<int:adjustment_id>/approve")
@requires(*OPERATORS)
def approve_adjustment(adjustment_id: int) -> ResponseReturnValue:
    try:
        with unit_of_work() as uow:
            posted = use.approve(uow, adjustment_id, user().id)
            audit(uow, "adjustment.approve", f"adjustment:{adjustment_id}", {"transfer": posted.id})
    except use.AdjustmentError as error:
        return refused("dashboard/adjustments.html", str(error), **_context())
    flash(f"Adjustment {adjustment_id} approved and posted as transfer {posted.id}.", "ok")
    return redirect(url_for("dashboard.adjustments"), 303)


@blueprint.post("/adjustments/<int:adjustment_id>/reject")
@requires(*OPERATORS)
def reject_adjustment(adjustment_id: int) -> ResponseReturnValue:
    note = request.form.get("note", "")
    try:
        with unit_of_work() as uow:
            use.reject(uow.session, adjustment_id, user().id, note, uow.now)
            audit(uow, "adjustment.reject", f"adjustment:{adjustment_id}", {"note": note[:160]})
    except use.AdjustmentError as error:
        return refused("dashboard/adjustments.html", str(error), **_context())
    flash(f"Adjustment {adjustment_id} rejected.", "ok")
    return redirect(url_for("dashboard.adjustments"), 303)


@blueprint.post("/adjustments/<int:adjustment_id>/withdraw")
@requires(*OPERATORS)
def withdraw_adjustment(adjustment_id: int) -> ResponseReturnValue:
    try:
        with unit_of_work() as uow:
            use.withdraw(uow.session, adjustment_id, user().id, uow.now)
            audit(uow, "adjustment.withdraw", f"adjustment:{adjustment_id}")
    except use.AdjustmentError as error:
        return refused("dashboard/adjustments.html", str(error), **_context())
    flash(f"Adjustment {adjustment_id} withdrawn.", "ok")
    return redirect(url_for("dashboard.adjustments"), 303)
