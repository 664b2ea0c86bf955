"""Kolekt's service: a recycling programme run over SMS, put together from the ledger and the SMS
language. ``docs/architecture.md`` shows its rooms; ``create_app`` builds it."""

from service.app import create_app

__all__ = ["create_app"]
