"""The cash-out settings: who sends the money (PAYOUT_PROVIDER and Paystack's key and address) and
the limits; a bad value stops start-up with a message naming the setting."""

from __future__ import annotations

import pytest

from service.settings import Settings, SettingsError

KEY = "sk_test_" + "0123456789abcdef" * 2 + "01234567"


def settings(**environ: str) -> Settings:
    return Settings.from_env({"SECRET_KEY": "s", **environ})


def refusal(**environ: str) -> str:
    with pytest.raises(SettingsError) as caught:
        settings(**environ)
    return str(caught.value)


def test_without_settings_cash_out_is_on_with_the_console_and_the_designed_limits() -> None:
    chosen = settings()
    assert (chosen.payout_provider, chosen.paystack_secret_key, chosen.paystack_api_base_url) == (
        "console",
        "",
        "https://api.paystack.co",
    )
    assert (
        chosen.paystack_timeout_seconds,
        chosen.payout_min_naira,
        chosen.payout_max_naira,
        chosen.payout_daily_naira_per_household,
        chosen.payout_daily_naira,
        chosen.payout_cooling_off_hours,
        chosen.payout_float_low_naira,
        chosen.cash_out,
    ) == (30, 100, 20_000, 20_000, 500_000, 24, 50_000, True)
    # The dataclass's own defaults are the same (tests build Settings without the environment).
    plain = Settings(database_url="sqlite://", redis_url="", secret_key="s")
    assert [getattr(plain, name) for name in PAYOUT_FIELDS] == [
        getattr(chosen, name) for name in PAYOUT_FIELDS
    ]


PAYOUT_FIELDS = (
    "payout_provider",
    "paystack_secret_key",
    "paystack_api_base_url",
    "paystack_timeout_seconds",
    "payout_min_naira",
    "payout_max_naira",
    "payout_daily_naira_per_household",
    "payout_daily_naira",
    "payout_cooling_off_hours",
    "payout_float_low_naira",
    "cash_out",
)


def test_paystack_with_its_secret_key() -> None:
    chosen = settings(PAYOUT_PROVIDER=" Paystack ", PAYSTACK_SECRET_KEY=f" {KEY} ")
    assert (chosen.payout_provider, chosen.paystack_secret_key) == ("paystack", KEY)
    live = "sk_live_" + "f" * 40
    assert settings(PAYOUT_PROVIDER="paystack", PAYSTACK_SECRET_KEY=live).paystack_secret_key == live


def test_a_key_may_be_set_for_the_console_too() -> None:
    """Set ahead of switching over, or for checking webhooks in a test."""
    assert settings(PAYSTACK_SECRET_KEY=KEY).payout_provider == "console"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"PAYOUT_PROVIDER": "flutterwave"},
            "PAYOUT_PROVIDER must be one of console, paystack, not 'flutterwave'",
        ),
        ({"PAYOUT_PROVIDER": "paystack"}, "PAYOUT_PROVIDER=paystack needs PAYSTACK_SECRET_KEY"),
        ({"PAYOUT_PROVIDER": "paystack", "PAYSTACK_SECRET_KEY": "  "}, "needs PAYSTACK_SECRET_KEY"),
        ({"PAYSTACK_SECRET_KEY": "pk_test_" + "0" * 40}, "PAYSTACK_SECRET_KEY must be Paystack's secret key"),
        ({"PAYSTACK_SECRET_KEY": "0123456789abcdef"}, "PAYSTACK_SECRET_KEY must be Paystack's secret key"),
        ({"PAYSTACK_SECRET_KEY": "sk_test_ab cd"}, "PAYSTACK_SECRET_KEY must be Paystack's secret key"),
    ],
    ids=["unknown-provider", "paystack-without-key", "blank-key", "public-key", "not-a-key", "space-in-key"],
)
def test_a_provider_without_a_usable_key_stops_start_up(environ: dict[str, str], message: str) -> None:
    assert message in refusal(**environ)


@pytest.mark.parametrize(
    ("url", "read"),
    [
        ("https://api.paystack.co/", "https://api.paystack.co"),
        ("http://127.0.0.1:4010", "http://127.0.0.1:4010"),
        ("http://localhost:8000/", "http://localhost:8000"),
    ],
)
def test_the_api_address_is_https_or_this_machine(url: str, read: str) -> None:
    assert settings(PAYSTACK_API_BASE_URL=url).paystack_api_base_url == read


@pytest.mark.parametrize(
    "url", ["http://api.paystack.co", "ftp://api.paystack.co", "api.paystack.co", "https://"]
)
def test_the_secret_key_never_travels_in_clear(url: str) -> None:
    assert "PAYSTACK_API_BASE_URL must be an https:// URL (http:// only on this machine)" in refusal(
        PAYSTACK_API_BASE_URL=url
    )


# Each whole-number setting, a good value and its range (the message names both ends).
NUMBERS = [
    ("PAYSTACK_TIMEOUT_SECONDS", "paystack_timeout_seconds", "5", 1, 120),
    ("PAYOUT_MIN_NAIRA", "payout_min_naira", "500", 1, 10_000_000),
    ("PAYOUT_MAX_NAIRA", "payout_max_naira", "15000", 1, 10_000_000),
    ("PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD", "payout_daily_naira_per_household", "30000", 1, 10_000_000),
    ("PAYOUT_DAILY_NAIRA", "payout_daily_naira", "1000000", 1, 1_000_000_000),
    ("PAYOUT_COOLING_OFF_HOURS", "payout_cooling_off_hours", "0", 0, 720),
    ("PAYOUT_FLOAT_LOW_NAIRA", "payout_float_low_naira", "0", 0, 1_000_000_000),
]


@pytest.mark.parametrize(
    ("name", "attribute", "value", "lowest", "highest"), NUMBERS, ids=[n[0] for n in NUMBERS]
)
def test_each_limit_is_read(name: str, attribute: str, value: str, lowest: int, highest: int) -> None:
    assert getattr(settings(**{name: f" {value} "}), attribute) == int(value)


@pytest.mark.parametrize(
    ("name", "attribute", "value", "lowest", "highest"), NUMBERS, ids=[n[0] for n in NUMBERS]
)
@pytest.mark.parametrize("bad", ["-1", "ten", "2.5", "1e3", "above"])
def test_a_limit_that_is_not_a_whole_number_in_range_stops_start_up(
    name: str, attribute: str, value: str, lowest: int, highest: int, bad: str
) -> None:
    if bad == "above":
        bad = str(highest + 1)
    message = refusal(**{name: bad})
    assert message == f"{name} must be a whole number from {lowest} to {highest}, not {bad!r}"


@pytest.mark.parametrize(
    ("name", "below"),
    [
        ("PAYOUT_MIN_NAIRA", "0"),
        ("PAYSTACK_TIMEOUT_SECONDS", "0"),
        ("PAYOUT_DAILY_NAIRA", "0"),
    ],
)
def test_zero_is_refused_where_it_would_stop_payouts(name: str, below: str) -> None:
    assert refusal(**{name: below}).startswith(f"{name} must be a whole number from 1")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"PAYOUT_MIN_NAIRA": "5000", "PAYOUT_MAX_NAIRA": "1000"},
            "PAYOUT_MIN_NAIRA (5000) must not be above PAYOUT_MAX_NAIRA (1000)",
        ),
        (
            {"PAYOUT_MAX_NAIRA": "50000"},
            "PAYOUT_MAX_NAIRA (50000) must not be above PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD (20000)",
        ),
        (
            {"PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD": "600000", "PAYOUT_MAX_NAIRA": "20000"},
            "PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD (600000) must not be above PAYOUT_DAILY_NAIRA (500000)",
        ),
    ],
    ids=["min-above-max", "max-above-household-day", "household-day-above-programme-day"],
)
def test_limits_that_leave_amounts_unpayable_stop_start_up(environ: dict[str, str], message: str) -> None:
    assert refusal(**environ) == message


def test_limits_may_meet() -> None:
    chosen = settings(
        PAYOUT_MIN_NAIRA="1000",
        PAYOUT_MAX_NAIRA="1000",
        PAYOUT_DAILY_NAIRA_PER_HOUSEHOLD="1000",
        PAYOUT_DAILY_NAIRA="1000",
    )
    assert {chosen.payout_min_naira, chosen.payout_max_naira, chosen.payout_daily_naira} == {1000}


@pytest.mark.parametrize(
    ("value", "on"),
    [
        ("on", True),
        ("OFF", False),
        (" off ", False),
        ("1", True),
        ("0", False),
        ("yes", True),
        ("false", False),
    ],
)
def test_cash_out_is_on_or_off(value: str, on: bool) -> None:
    assert settings(CASH_OUT=value).cash_out is on


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_cash_out_must_be_on_or_off(value: str) -> None:
    assert refusal(CASH_OUT=value) == f"CASH_OUT must be on or off, not {value!r}"
