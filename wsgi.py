"""The WSGI entry point (gunicorn wsgi:app; flask --app wsgi ...): the one app built at import."""

from service import create_app

app = create_app()
