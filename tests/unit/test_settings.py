from pathlib import Path

import pytest

from service.settings import Settings, SettingsError


def test_defaults_put_everything_under_instance(tmp_path: Path) -> None:
    settings = Settings.from_env({"KOLEKT_INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'kolekt.db'}"
    assert settings.redis_url == ""
    assert settings.embedded_redis_path == tmp_path / "redis.db"
    assert settings.programme_name == "Kolekt"
    assert settings.timezone == "Africa/Lagos"
    assert settings.secret_key == (tmp_path / "secret_key").read_text().strip()
    # The development secret is kept, so a restart keeps sessions.
    assert Settings.from_env({"KOLEKT_INSTANCE_DIR": str(tmp_path)}).secret_key == settings.secret_key


def test_postgres_urls_get_the_psycopg_driver() -> None:
    for given in ("postgres://u@h/db", "postgresql://u@h/db"):
        settings = Settings.from_env({"DATABASE_URL": given, "SECRET_KEY": "s"})
        assert settings.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
        ("TIMEZONE", "Lagos/Nowhere", "TIMEZONE"),
        ("REDIS_URL", "http://x", "REDIS_URL"),
    ],
)
def test_bad_settings_say_which(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value, "SECRET_KEY": "s"})


def test_explicit_values_win() -> None:
    settings = Settings.from_env(
        {"SECRET_KEY": "k", "PROGRAMME_NAME": "Wecyclers", "TIMEZONE": "UTC", "REDIS_URL": "redis://h:6379/1"}
    )
    assert (settings.secret_key, settings.programme_name, settings.timezone, settings.redis_url) == (
        "k",
        "Wecyclers",
        "UTC",
        "redis://h:6379/1",
    )
    assert settings.zone.key == "UTC"
