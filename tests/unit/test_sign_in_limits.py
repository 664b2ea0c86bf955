"""What a failed sign-in counts against, and the device cookies (``service.usecases.sign_in_limits``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.usecases.sign_in_limits import (
    API,
    DASHBOARD,
    DEVICE_DAYS,
    Attempt,
    Refusal,
    counted_against,
    device_cookie,
    trusted_device,
)

SECRET = "test-secret"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
EMAIL = "ada@hub.example"


def test_a_device_cookie_is_good_for_its_name_in_its_area_only() -> None:
    cookie = device_cookie(SECRET, "dashboard", EMAIL, NOW)
    nonce = trusted_device(SECRET, "dashboard", EMAIL, cookie, NOW + timedelta(days=1))
    assert nonce is not None and nonce in cookie
    assert trusted_device(SECRET, "dashboard", "tunde@hub.example", cookie, NOW) is None
    assert trusted_device(SECRET, "api", EMAIL, cookie, NOW) is None
    assert trusted_device("another-secret", "dashboard", EMAIL, cookie, NOW) is None
    # Each sign-in gets a new nonce: two devices are counted apart.
    other = device_cookie(SECRET, "dashboard", EMAIL, NOW)
    assert trusted_device(SECRET, "dashboard", EMAIL, other, NOW) not in (None, nonce)


def test_a_device_cookie_ends_after_its_days_and_is_not_good_before_it_was_issued() -> None:
    cookie = device_cookie(SECRET, "api", "+2348030000001", NOW)
    assert (
        trusted_device(SECRET, "api", "+2348030000001", cookie, NOW + timedelta(days=DEVICE_DAYS)) is not None
    )
    later = NOW + timedelta(days=DEVICE_DAYS, seconds=1)
    assert trusted_device(SECRET, "api", "+2348030000001", cookie, later) is None
    assert trusted_device(SECRET, "api", "+2348030000001", cookie, NOW - timedelta(hours=1)) is None


def test_a_changed_or_made_up_device_cookie_is_not_trusted() -> None:
    issued, nonce, signature = device_cookie(SECRET, "dashboard", EMAIL, NOW).split(".")
    changed = [
        f"{int(issued) + 1}.{nonce}.{signature}",
        f"{issued}.{nonce}x.{signature}",
        f"{issued}.{nonce}.{signature[:-1]}0"
        if signature[-1] != "0"
        else f"{issued}.{nonce}.{signature[:-1]}1",
        f"{issued}.{nonce}.{'0' * 64}",
        f"{issued}.{nonce}",
        f"{issued}..{signature}",
        f"x{issued}.{nonce}.{signature}",
        "",
        "garbage",
        "1.2.3.4",
        f"{issued}.{nonce}.{signature}" + "0" * 200,
    ]
    for cookie in changed:
        assert trusted_device(SECRET, "dashboard", EMAIL, cookie, NOW) is None, cookie
    assert trusted_device(SECRET, "dashboard", EMAIL, None, NOW) is None
    assert trusted_device(SECRET, "dashboard", "", f"{issued}.{nonce}.{signature}", NOW) is None


def test_an_untrusted_attempt_counts_against_its_address_and_the_name() -> None:
    counted = counted_against(API, Attempt(name="+2348030000001", address="192.0.2.1", device=None))
    kinds = [(key.split(":")[1], str(item)) for item, key in counted]
    assert kinds == [
        ("address", "30 per 1 hour"),
        ("name", "5 per 15 minute"),
        ("name", "20 per 1 day"),
    ]
    # What is counted is hashed: no phone, email, address or nonce in the counters.
    assert all("2348030000001" not in key and "192.0.2.1" not in key for _, key in counted)


def test_an_attempt_with_a_device_cookie_counts_against_its_address_and_that_device_not_the_name() -> None:
    counted = counted_against(DASHBOARD, Attempt(name=EMAIL, address="192.0.2.1", device="nonce1"))
    assert [key.split(":")[:2] for _, key in counted] == [
        ["dashboard", "address"],
        ["dashboard", "address"],
        ["dashboard", "device"],
    ]
    untrusted = counted_against(DASHBOARD, Attempt(name=EMAIL, address="192.0.2.1", device=None))
    assert {key for _, key in untrusted if ":name:" in key}.isdisjoint(key for _, key in counted)
    # Another device is counted apart; the same address is the same count in either case.
    other = counted_against(DASHBOARD, Attempt(name=EMAIL, address="192.0.2.1", device="nonce2"))
    assert counted[2][1] != other[2][1] and counted[0][1] == other[0][1] == untrusted[0][1]


def test_the_areas_are_counted_apart() -> None:
    attempt = Attempt(name=EMAIL, address="192.0.2.1", device=None)
    assert {key for _, key in counted_against(API, attempt)}.isdisjoint(
        key for _, key in counted_against(DASHBOARD, attempt)
    )


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (899, "15 minutes"),
        (7200, "2 hours"),
        (80000, "23 hours"),
    ],
)
def test_a_refusal_says_how_long_to_wait(seconds: int, words: str) -> None:
    assert Refusal(seconds).wait() == words
