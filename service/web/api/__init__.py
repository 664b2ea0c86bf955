"""The JSON API under ``/api/v1``: the collector app's, and any integration's.

- Bodies in and out are marshmallow schemas (``schemas``); flask-smorest reads requests with them
  and generates the OpenAPI document from them (``/api/v1/openapi.json``, read at
  ``/api/v1/docs``).
- ``account``: signing in and out, who the token speaks for, and operators' say over collectors'
  PINs and app sign-ins; ``field``: households, materials, sync, pickups and totals;
  ``payout_account``: a household's cash-out account, checked with Paystack and saved.
- What every endpoint shares (tokens, roles, errors, limits, headers) is ``base``.
"""

from __future__ import annotations

from flask import Flask

from service.settings import Settings
from service.web.api import account, field, payout_account
from service.web.api.base import PREFIX, Api, challenge, docs, headers

# In the order the OpenAPI document lists them.
BLUEPRINTS = (
    account.auth,
    field.households,
    payout_account.cash_out,
    field.catalogue,
    field.syncing,
    field.pickups,
    account.collectors,
)


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        API_TITLE=f"{settings.programme_name} API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "The collector app's API, and any integration's. Sign in at "
                "POST /api/v1/auth/token and send Authorization: Bearer <token>. Errors: "
                '{"error": {"code", "message", "fields"}}.'
            },
            "security": [{"bearer": []}],
        },
    )
    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    app.extensions["kolekt.api"] = api
    app.add_url_rule(f"{PREFIX}/docs", "api_docs", docs)
    app.after_request(headers)
    app.after_request(challenge)
