"""The application factory, and the process's runtime: the only place the pieces are put together."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from service import cli
from service.channels import paystack, simulator, webhooks
from service.channels.ussd import endpoint as ussd_endpoint
from service.jobs.queue import RqQueue
from service.runtime import Runtime, use
from service.settings import Settings
from service.web import api, base, collector_app, dashboard, public

MAX_REQUEST_BYTES = 1024 * 1024


def make_runtime(settings: Settings) -> Runtime:
    """A runtime on these settings whose units of work enqueue on RQ (``service.jobs``)."""
    return Runtime(settings, queue=RqQueue)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_dir),
        template_folder="web/templates",
        static_folder="web/static",
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        JSON_SORT_KEYS=False,
        # No request Kolekt takes comes near this (a sync of 100 pickups is ~30 kB); a bigger one
        # is refused (413) before it is read.
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    # The process's one runtime: the views reach it through the app, the jobs and the CLI as
    # ``runtime.current()``.
    app.extensions["kolekt.runtime"] = use(make_runtime(settings))
    # Behind TRUSTED_PROXIES proxies (a platform's router, nginx) the client's address and the URL
    # people used are read from the X-Forwarded-* headers of that many hops; reached directly (0),
    # those headers are whatever the client wrote, and are not read.
    hops = settings.trusted_proxies
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]

    app.register_blueprint(public.blueprint)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(paystack.blueprint)
    app.register_blueprint(ussd_endpoint.blueprint)
    app.register_blueprint(simulator.blueprint)
    app.register_blueprint(collector_app.blueprint)
    # Webhooks (SMS, Paystack) prove themselves by the provider's signature; the simulator takes
    # JSON only, so a form posted from another site cannot reach it; the API's callers send a
    # bearer token, which a browser never adds by itself. Everything else posting needs a CSRF token.
    dashboard.exempt_from_csrf(
        webhooks.blueprint, paystack.blueprint, simulator.blueprint, ussd_endpoint.blueprint, *api.BLUEPRINTS
    )
    dashboard.init_app(app, settings)
    api.init_app(app, settings)
    base.init_app(app, settings, dashboard.page_error)
    cli.register(app)
    return app
