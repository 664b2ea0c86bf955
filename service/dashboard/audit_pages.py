"""The audit log: every change made from the dashboard, newest first (read-only, for everyone)."""

from __future__ import annotations

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue

from .. import audit
from ..web import db_session
from . import ANYONE, blueprint, keep, requires

PAGE = 50


@blueprint.get("/audit")
@requires(*ANYONE)
def audit_log() -> ResponseReturnValue:
    before_text = request.args.get("before", "")
    if before_text and not before_text.isdigit():
        abort(422, description="before must be an entry number")
    action = request.args.get("action", "").strip()[:40]
    session = db_session()
    rows = audit.entries(session, before=int(before_text) if before_text else None, action=action or None)
    return render_template(
        "dashboard/audit.html",
        rows=rows,
        actions=audit.actions(session),
        args=keep({"action": action}),
        size=PAGE,
        before=before_text,
    )
