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


TWILIO = {
    "SECRET_KEY": "s",
    "SMS_GATEWAY": "twilio",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "PUBLIC_BASE_URL": "https://kolekt.example.org/",
}
AFRICASTALKING = {
    "SECRET_KEY": "s",
    "SMS_GATEWAY": "africastalking",
    "AFRICASTALKING_USERNAME": "sandbox",
    "AFRICASTALKING_API_KEY": "key",
    "AFRICASTALKING_CALLBACK_SECRET": "long-random",
}


def test_sms_defaults_are_the_console_gateway_in_nigeria() -> None:
    settings = Settings.from_env({"SECRET_KEY": "s"})
    assert (settings.sms_gateway, settings.phone_region, settings.kobo_per_point) == ("console", "NG", 100)
    assert settings.public_base_url == "" and settings.twilio_api_base_url == "https://api.twilio.com"


def test_a_gateway_gets_its_settings() -> None:
    twilio = Settings.from_env({**TWILIO, "TWILIO_API_BASE_URL": "http://127.0.0.1:4010/"})
    assert (twilio.sms_gateway, twilio.twilio_from_number) == ("twilio", "+15005550006")
    assert twilio.public_base_url == "https://kolekt.example.org"  # no trailing slash
    assert twilio.twilio_api_base_url == "http://127.0.0.1:4010"
    africastalking = Settings.from_env({**AFRICASTALKING, "SMS_GATEWAY": " AfricasTalking "})
    assert africastalking.sms_gateway == "africastalking"
    assert africastalking.africastalking_api_base_url == "https://api.africastalking.com"


def test_the_gateways_wait_as_long_as_the_setting_says() -> None:
    from service.providers.sms import gateway_for

    assert Settings.from_env(TWILIO).sms_gateway_timeout_seconds == 10
    for environ in (TWILIO, AFRICASTALKING):
        gateway = gateway_for(Settings.from_env({**environ, "SMS_GATEWAY_TIMEOUT_SECONDS": "4"}))
        try:
            assert gateway.config.timeout_seconds == 4  # type: ignore[attr-defined]
        finally:
            gateway.close()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SMS_GATEWAY": "nexmo"}, "SMS_GATEWAY must be one of console, twilio, africastalking"),
        ({**TWILIO, "TWILIO_AUTH_TOKEN": ""}, "needs TWILIO_AUTH_TOKEN"),
        ({**TWILIO, "PUBLIC_BASE_URL": ""}, "needs PUBLIC_BASE_URL"),
        ({**TWILIO, "TWILIO_FROM_NUMBER": ""}, "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"),
        ({**TWILIO, "PUBLIC_BASE_URL": "kolekt.example.org"}, "PUBLIC_BASE_URL must be an http"),
        ({**AFRICASTALKING, "AFRICASTALKING_CALLBACK_SECRET": ""}, "AFRICASTALKING_CALLBACK_SECRET"),
        ({**AFRICASTALKING, "AFRICASTALKING_API_BASE_URL": "ftp://x"}, "AFRICASTALKING_API_BASE_URL"),
        ({"PHONE_REGION": "XX"}, "PHONE_REGION"),
        ({"KOBO_PER_POINT": "0"}, "KOBO_PER_POINT"),
        ({"KOBO_PER_POINT": "1.5"}, "KOBO_PER_POINT"),
        ({"SMS_GATEWAY_TIMEOUT_SECONDS": "0"}, "SMS_GATEWAY_TIMEOUT_SECONDS must be a whole number from 1"),
        ({"SMS_GATEWAY_TIMEOUT_SECONDS": "2.5"}, "SMS_GATEWAY_TIMEOUT_SECONDS"),
    ],
)
def test_bad_sms_settings_stop_start_up_naming_the_setting(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"SECRET_KEY": "s", **environ})
