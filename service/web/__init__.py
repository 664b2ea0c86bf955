"""The web: what a browser or an app reaches over HTTP, besides the SMS webhooks.

- ``public``: the programme's home page with the published ledger head, and health;
- ``dashboard``: the operators' pages;
- ``api``: the JSON API (``/api/v1``);
- ``collector_app``: the offline-first collector app (``/app``);
- ``base``: what they share: the app's runtime, the request's read-only session, a change's unit
  of work, errors, rate limits, compression.

Templates and static files live beside them (``templates/``, ``static/``).
"""
