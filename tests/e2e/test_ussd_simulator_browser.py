"""The simulator's USSD phone in Chromium, on a laptop and on a phone: dial, answer screen by screen
to the END, hang up and dial again, another number; a bad number said plainly. No console error, no
CSP violation, no sideways scrolling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis
from sqlalchemy import select

from service.models import InboundMessage
from tests.e2e.browser import Site, live_site, overflow
from tests.e2e.hub import Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
ADA = "+2348031234567"  # K0001E, 210 pts
MUSA = "+2348030000001"  # a collector


@pytest.fixture
def site(hub: Hub, redis: Redis, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Site]:
    hub.seed()
    with live_site(hub, browser, request.node.name) as made:
        yield made


@pytest.mark.parametrize("options", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_household_dials_answers_to_the_end_and_hangs_up(site: Site, options: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page = site.page(**options)
    page.goto("/simulator")
    ussd = page.get_by_role("region", name="USSD")
    screen = ussd.locator("#ussd-screen")
    answer = ussd.get_by_label("Answer")
    send = ussd.get_by_role("button", name="Send")
    expect(screen).to_have_text("Dial *384*2580# to start.")
    expect(answer).to_be_disabled()
    assert overflow(page) <= 0

    ussd.get_by_label("This phone's number").fill("0803 123 4567")
    ussd.get_by_role("button", name="Dial *384*2580#").click()
    expect(screen).to_contain_text("Kolekt: 210 pts")
    expect(screen).to_have_attribute("data-state", "con")
    expect(ussd.locator("#ussd-status")).to_contain_text("CON")
    assert overflow(page) <= 0
    site.shot(page, "home")

    answer.fill("4")
    send.click()
    expect(screen).to_contain_text("Rewards, you have 210 pts:")
    answer.fill("0")
    answer.press("Enter")
    expect(screen).to_contain_text("Kolekt: 210 pts")
    answer.fill("1")
    send.click()
    expect(screen).to_have_attribute("data-state", "end")
    expect(screen).to_contain_text("Bal 210.")
    expect(ussd.locator("#ussd-status")).to_contain_text("END")
    expect(answer).to_be_disabled()
    site.shot(page, "end")
    sent = select(InboundMessage.command).where(InboundMessage.sender == ADA)
    assert site.hub.read(lambda s: list(s.execute(sent).scalars())) == ["History"]
    # The SMS phone beside it shows what this number sent, by whichever channel.
    expect(page.locator("#messages")).to_contain_text("HIST")

    ussd.get_by_role("button", name="Hang up").click()
    expect(screen).to_have_attribute("data-state", "idle")
    expect(screen).to_contain_text("Hung up")
    ussd.get_by_role("button", name="Dial *384*2580#").click()
    expect(screen).to_contain_text("Kolekt: 210 pts")

    ussd.get_by_label("This phone's number").fill(MUSA)
    ussd.get_by_label("This phone's number").dispatch_event("change")
    expect(screen).to_have_attribute("data-state", "idle")
    ussd.get_by_role("button", name="Dial *384*2580#").click()
    expect(screen).to_contain_text("Kolekt collector")

    ussd.get_by_label("This phone's number").fill("not a phone")
    ussd.get_by_role("button", name="Dial *384*2580#").click()
    expect(ussd.get_by_role("alert")).to_contain_text("is not a phone number")
    assert overflow(page) <= 0
    # Chromium logs the refused request itself; nothing else went wrong.
    assert [problem.split(": ", 1)[1] for problem in site.problems] == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]
