"""The overview: this week's and this month's figures, the last twelve weeks' trends, the
ledger's last verification, and a warning when background work (sweeps, sealing, reminders) has
fallen behind."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

import ledger
from service.reads import insights, trends
from service.reads.needs_action import needs_action
from service.usecases import job_runs, reports
from service.web.base import db_session
from service.web.dashboard.base import ANYONE, blueprint, now, requires, settings


@blueprint.get("/")
@requires(*ANYONE)
def overview() -> ResponseReturnValue:
    session = db_session()
    cost = settings().sms_segment_cost_kobo
    zone = settings().zone
    figures = [insights.figures(session, period) for period in insights.periods(now(), zone)]
    return render_template(
        "dashboard/overview.html",
        figures=figures,
        weeks=trends.trends(session, now(), zone),
        outstanding=insights.points_outstanding(session),
        check=reports.last_check(session),
        head=ledger.head(session),
        segment_cost_kobo=cost,
        late=job_runs.late(session, now()),
        actions=needs_action(session, now(), zone, settings().weigh_gap_percent),
    )
