"""The application factory: the only place the pieces are put together."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .runtime import Runtime
from .settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(SECRET_KEY=settings.secret_key, TESTING=settings.testing, JSON_SORT_KEYS=False)
    app.extensions["kolekt.runtime"] = Runtime(settings)
    # Behind one proxy (a platform router or nginx) the URL people used is rebuilt from its headers.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)  # type: ignore[method-assign]

    from . import cli, simulator, web, webhooks

    app.register_blueprint(web.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(simulator.blueprint)
    web.register_errors(app)
    cli.register(app)
    return app
