"""The operators' dashboard under ``/dashboard``: server-rendered pages, htmx for small updates.

One module per area, each adding its views to ``base.blueprint``; what they share (sign-in state,
roles, CSRF, rate limits, security headers, the audit entry of a change) is ``base``.
"""

from __future__ import annotations

from flask import Flask

from service.settings import Settings
from service.web.dashboard import (  # noqa: F401 - each area adds its views to the blueprint
    adjustments_pages,
    audit_pages,
    auth,
    broadcasts_pages,
    csv_pages,
    disputes_pages,
    holds_pages,
    ledger_pages,
    messages_pages,
    overview,
    payouts_pages,
    people_admin_pages,
    people_pages,
    programme_pages,
    templates_pages,
    users_pages,
    weighins_pages,
)
from service.web.dashboard.base import blueprint, configure, exempt_from_csrf, page_error

__all__ = ["exempt_from_csrf", "init_app", "page_error"]


def init_app(app: Flask, settings: Settings) -> None:
    configure(app, settings)
    app.register_blueprint(blueprint)
