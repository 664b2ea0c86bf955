"""The audit log: every change made from the dashboard, newest first (read-only, for everyone)."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from service.reads.names import account_names
from service.usecases import audit
from service.web.base import db_session
from service.web.dashboard.base import ANYONE, before_arg, blueprint, keep, requires

PAGE = 50


@blueprint.get("/audit")
@requires(*ANYONE)
def audit_log() -> ResponseReturnValue:
    before = before_arg("an entry number")
    action = request.args.get("action", "").strip()[:40]
    session = db_session()
    rows = audit.entries(session, before=before, action=action or None)
    return render_template(
        "dashboard/audit.html",
        rows=rows,
        names=account_names(session, [row.subject for row in rows]),
        actions=audit.actions(session),
        args=keep({"action": action}),
        size=PAGE,
        before=before,
    )
