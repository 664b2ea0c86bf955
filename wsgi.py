"""The WSGI entry point (gunicorn wsgi:app; flask --app wsgi ...): the one app built at import."""

import sys

from service import create_app
from service.providers import logs

app = create_app()
# gunicorn serves each process's requests on threads (gthread): the engine and the session
# factories are made here, once, before any thread asks for them (none connects yet).
_runtime = app.extensions["kolekt.runtime"]
_runtime.sessions, _runtime.readers  # noqa: B018 - made for their side effect

if "gunicorn" in sys.modules:
    # Served, not a `flask --app wsgi` command (whose output is for the person who typed it): the
    # process logs as LOG_LEVEL and LOG_FORMAT say, and reports its errors to SENTRY_DSN if set.
    logs.configure(_runtime.settings.log_level, _runtime.settings.log_format)
    logs.start_error_reports(_runtime.settings.sentry_dsn, _runtime.settings.sentry_environment)
