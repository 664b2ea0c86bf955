"""The sign-in limits against the ways around them (issue 17, findings 7 and 8):

- the client's address is read from X-Forwarded-For only behind ``TRUSTED_PROXIES`` proxies, so a
  client that writes its own header does not get a new address, and so new tries, each time;
- the limits hold while Redis is unreachable (counted in the database meanwhile);
- a flood of wrong passwords or PINs for someone's email or phone, from elsewhere, does not keep
  them out of a browser they signed in from before (its device cookie), and a forged device
  cookie, or another user's, does not help the flood.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from flask import Flask
from redis import Redis
from werkzeug.test import TestResponse

from service.models import sign_in_counts_t
from tests.e2e.api_helpers import KEMI, MUSA, PIN, Api, error_of
from tests.e2e.hub import Browser, Hub

WRONG = "not the password at all"
# What a browser's fetch from the collector app at /app says of itself.
FROM_THE_APP = {"Sec-Fetch-Site": "same-origin"}


def address() -> str:
    return f"198.51.{random.randrange(256)}.{random.randrange(1, 255)}"


def browser_at(hub: Hub, where: str) -> Browser:
    browser = hub.browser()
    browser.client.environ_base["REMOTE_ADDR"] = where
    return browser


def forwarded_sign_in(browser: Browser, email: str, forwarded_for: str) -> TestResponse:
    return browser.post(
        "/dashboard/sign-in",
        {"email": email, "password": WRONG},
        headers={"X-Forwarded-For": forwarded_for},
    )


def set_cookie(response: TestResponse, name: str) -> str:
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}=")]
    return cookie


def guess(n: int) -> str:
    return f"guess{n}.{random.randrange(10**9)}@hub.example"


# --- finding 7: X-Forwarded-For is read from trusted proxies only ------------------------------------


def test_rotating_x_forwarded_for_without_trusted_proxies_still_meets_the_address_limit(hub: Hub) -> None:
    browser = browser_at(hub, address())
    answers = [forwarded_sign_in(browser, guess(n), f"203.0.113.{n + 1}").status_code for n in range(11)]
    assert answers == [401] * 10 + [429]


def test_behind_one_trusted_proxy_the_address_it_saw_is_counted(make_app: Callable[..., Flask]) -> None:
    hub = Hub(make_app(trusted_proxies=1))
    proxy = browser_at(hub, "10.0.0.2")  # every request comes through the one proxy
    client = address()
    # What the client wrote itself comes first, and is not read: the proxy's own hop is.
    answers = [
        forwarded_sign_in(proxy, guess(n), f"203.0.113.{n + 1}, {client}").status_code for n in range(11)
    ]
    assert answers == [401] * 10 + [429]
    # Another client behind the same proxy is not held back by that one.
    assert forwarded_sign_in(proxy, guess(99), address()).status_code == 401


# --- finding 8: the limits hold without Redis --------------------------------------------------------


def test_without_redis_wrong_passwords_still_meet_the_limit(
    make_app: Callable[..., Flask], unreachable_redis: str
) -> None:
    hub = Hub(make_app(redis_url=unreachable_redis))
    email = hub.add_user("operator")
    answers = [browser_at(hub, address()).sign_in(email, WRONG).status_code for _ in range(12)]
    assert answers == [401] * 10 + [429, 429]
    refused = browser_at(hub, address()).sign_in(email)  # even the right password waits
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in refused.text
    assert hub.count(sign_in_counts_t) > 0  # counted in the database meanwhile
    # An operator at the hub still signs in.
    assert browser_at(hub, address()).sign_in(hub.add_user("operator")).status_code == 302


def test_without_redis_wrong_pins_still_meet_the_limit(
    make_app: Callable[..., Flask], unreachable_redis: str
) -> None:
    hub = Hub(make_app(redis_url=unreachable_redis))
    hub.seed()
    api = Api(hub)
    api.set_pin(MUSA)
    answers = [api.sign_in(MUSA, "9173").status_code for _ in range(8)]
    assert answers == [401] * 5 + [429] * 3
    response = api.sign_in(MUSA, PIN)
    error = error_of(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) > 0 and "try again" in error["message"]
    api.set_pin(KEMI)
    assert api.sign_in(KEMI).status_code == 201


# --- finding 8: a flood does not lock the user out of their own browser -----------------------------


def test_a_flood_of_wrong_passwords_does_not_keep_the_user_out_of_their_own_browser(hub: Hub) -> None:
    email = hub.add_user("operator")
    own = browser_at(hub, address())
    signed_in = own.sign_in(email)
    assert signed_in.status_code == 302
    cookie = set_cookie(signed_in, "kolekt-device")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/dashboard/sign-in", "Secure", "Max-Age="):
        assert flag in cookie, cookie
    own.post("/dashboard/sign-out")

    # Someone else, from everywhere, guesses at the password: the email is locked for them.
    answers = [browser_at(hub, address()).sign_in(email, WRONG).status_code for _ in range(11)]
    assert answers == [401] * 10 + [429]
    refused = browser_at(hub, address()).sign_in(email)
    assert refused.status_code == 429 and "Retry-After" in refused.headers

    # The user's own browser is not.
    assert own.sign_in(email).status_code == 302


def test_a_browsers_own_wrong_passwords_lock_that_browser_only(hub: Hub) -> None:
    email = hub.add_user("operator")
    own = browser_at(hub, address())
    assert own.sign_in(email).status_code == 302
    own.post("/dashboard/sign-out")
    answers = []
    for _ in range(11):
        own.client.environ_base["REMOTE_ADDR"] = address()  # not the address limit: the device's
        answers.append(own.sign_in(email, WRONG).status_code)
    assert answers == [401] * 10 + [429]
    assert own.sign_in(email).status_code == 429
    # Those failures were the device's, not the email's: another browser still signs in.
    assert browser_at(hub, address()).sign_in(email).status_code == 302


def test_a_forged_or_another_users_device_cookie_does_not_help(hub: Hub) -> None:
    victim, other = hub.add_user("operator"), hub.add_user("operator")
    theirs = browser_at(hub, address())
    assert theirs.sign_in(other).status_code == 302  # a valid device cookie, for another user
    theirs.post("/dashboard/sign-out")
    for _ in range(10):
        assert browser_at(hub, address()).sign_in(victim, WRONG).status_code == 401

    theirs.client.environ_base["REMOTE_ADDR"] = address()
    assert theirs.sign_in(victim).status_code == 429
    forged = browser_at(hub, address())
    forged.client.set_cookie(
        "kolekt-device",
        f"{int(time.time())}.made-up-nonce.{'0' * 64}",
        domain="hub.example",
        path="/dashboard/sign-in",
    )
    assert forged.sign_in(victim).status_code == 429
    # The other user's own browser is still theirs.
    assert theirs.sign_in(other).status_code == 302


def test_the_collector_apps_browser_keeps_signing_in_through_a_flood_of_wrong_pins(api: Api) -> None:
    api.set_pin(MUSA)
    signed_in = api.post("/auth/token", json={"phone": MUSA, "pin": PIN}, headers=FROM_THE_APP)
    assert signed_in.status_code == 201
    cookie = set_cookie(signed_in, "kolekt-app-device")
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/api/v1/auth/token"):
        assert flag in cookie, cookie

    attacker = Api(api.hub)  # another address, no cookie
    for phone in ("08030000001", MUSA, "234 803 000 0001", MUSA, MUSA):
        error_of(attacker.sign_in(phone, "9173"), 401)
    response = attacker.sign_in(MUSA, PIN)
    error_of(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) > 0

    assert api.sign_in(MUSA, PIN, label="Collector app").status_code == 201
    # A wrong PIN from the app's browser counts against its cookie, not against the phone.
    error_of(api.sign_in(MUSA, "9173"), 401)
    assert api.sign_in(MUSA, PIN).status_code == 201


def test_the_api_gives_a_device_cookie_to_the_apps_browser_only(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    hub = Hub(make_app(cookie_secure=False))
    hub.seed()
    api = Api(hub)
    api.set_pin(MUSA)
    # A program calling the API holds its token: no cookie.
    assert "Set-Cookie" not in api.sign_in(MUSA, PIN).headers
    # The app's browser gets one, Secure over https (and with COOKIE_SECURE=1, always).
    plain = api.post("/auth/token", json={"phone": MUSA, "pin": PIN}, headers=FROM_THE_APP)
    assert "Secure" not in set_cookie(plain, "kolekt-app-device")
    secure = api.client.post(
        "/api/v1/auth/token",
        json={"phone": MUSA, "pin": PIN},
        headers=FROM_THE_APP,
        base_url="https://kolekt.example",
    )
    assert secure.status_code == 201 and "Secure" in set_cookie(secure, "kolekt-app-device")
    # From another site's page: no cookie.
    other = api.post(
        "/auth/token", json={"phone": MUSA, "pin": PIN}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert other.status_code == 201 and "Set-Cookie" not in other.headers
