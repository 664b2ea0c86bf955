"""Kolekt's Flask service: app factory, models, use cases, webhooks, API, dashboard, jobs, CLI."""

from .app import create_app

__all__ = ["create_app"]
