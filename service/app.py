"""The application factory: the only place the pieces are put together."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .db import make_engine, make_session_factory
from .settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir), instance_relative_config=False)
    app.config.update(SECRET_KEY=settings.secret_key, TESTING=settings.testing)
    app.extensions["kolekt.settings"] = settings
    engine = make_engine(settings.database_url)
    app.extensions["kolekt.engine"] = engine
    app.extensions["kolekt.sessions"] = make_session_factory(engine)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    from . import cli, web

    app.register_blueprint(web.blueprint)
    cli.register(app)
    return app
