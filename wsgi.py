"""The WSGI entry point (gunicorn wsgi:app; flask --app wsgi ...): the one app built at import."""

from service import create_app

app = create_app()
# gunicorn serves each process's requests on threads (gthread): the engine and the session
# factories are made here, once, before any thread asks for them (none connects yet).
_runtime = app.extensions["kolekt.runtime"]
_runtime.sessions, _runtime.readers  # noqa: B018 - made for their side effect
