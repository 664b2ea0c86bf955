"""Kolekt's Flask service: app factory, models, use cases, webhooks, API, dashboard, jobs, CLI."""

from service.app import create_app

__all__ = ["create_app"]
