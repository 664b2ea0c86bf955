"""Payouts in Chromium, click by click, on a laptop (1280 px) and a phone (390 px): the list with
its float and today's totals, a failed payout sent again, a reconciliation; and a household's
cash-out account saved from its page (the bank chosen, the number typed, "Check the name", then
"Save"). No sideways scrolling, no console error, no CSP violation; a screenshot at each step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis
from sqlalchemy import select, update

from service.models import payout_accounts_t, payouts_t
from tests.e2e.browser import Site, live_site
from tests.e2e.hub import Hub
from tests.e2e.test_dashboard_browser import PHONE, cells_beyond, overflow
from tests.e2e.test_dashboard_payouts import (
    ADA,
    CONSOLE_NAME,
    NUBAN,
    TUNDE,
    cash_out,
    failed_payout,
    member,
    ready,
    settle,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
WIDTHS = {"desktop": (DESKTOP, 1280), "phone": (PHONE, 390)}


@pytest.fixture
def site(hub: Hub, redis: Redis, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Site]:
    with live_site(hub, browser, request.node.name) as made:
        yield made


def fits(page: Any, width: int) -> None:
    assert overflow(page) <= 0, f"{page.url} scrolls sideways at {width}px"
    assert cells_beyond(page, width) == [], f"{page.url}: table cells past the screen's edge"


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_an_operator_sends_a_failed_payout_again_and_reconciles(site: Site, screen: str) -> None:
    from playwright.sync_api import expect

    options, width = WIDTHS[screen]
    hub = site.hub
    ready(hub, ADA, TUNDE)
    paid = cash_out(hub, TUNDE, 250)
    settle(hub, paid, "success")
    failed = failed_payout(hub, ADA, 500)
    hub.read(lambda s: s.execute(update(payouts_t).values(float_kobo=3_000_000)))  # NGN 30,000: low
    page, _ = site.signed_in("operator", **options)

    if screen == "phone":
        page.get_by_role("button", name="Menu", exact=True).tap()
    page.get_by_role("banner").get_by_role("link", name="Payouts", exact=True).click()
    expect(page.get_by_role("heading", name="Payouts", level=1)).to_be_visible()
    expect(page.locator('[data-figure="float"]')).to_have_text("NGN 30,000")
    expect(page.locator('[data-figure="float-low"]')).to_contain_text("Under NGN 50,000")
    row = page.locator(f"#payout-{failed.payout_id}")
    expect(row).to_contain_text("Could not credit account")
    expect(row).to_contain_text("GTBank ****6789")
    fits(page, width)
    site.shot(page, f"{screen} payouts")

    page.get_by_role("link", name="Failed", exact=True).click()
    expect(page).to_have_url(f"{site.base_url}/dashboard/payouts?status=failed")
    expect(page.locator("#payouts tbody tr")).to_have_count(1)
    row.get_by_role("button", name="Send again").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text(
        f"Payout {failed.payout_id} is sent again as payout"
    )
    again = hub.read(
        lambda s: s.execute(
            select(payouts_t.c.id).where(payouts_t.c.retry_of == failed.payout_id)
        ).scalar_one()
    )
    expect(page.locator(f"#payout-{again}")).to_contain_text("held")
    expect(page.locator(f"#payout-{failed.payout_id}")).to_contain_text(f"sent again as {again}")
    fits(page, width)
    site.shot(page, f"{screen} payout sent again")

    page.get_by_role("button", name="Check with Paystack").click()
    expect(page.get_by_role("heading", name="Checked with Paystack")).to_be_visible()
    expect(page.locator('[data-figure="checked"]')).to_have_text("3")
    fits(page, width)
    site.shot(page, f"{screen} payouts reconciled")
    assert site.problems == []


@pytest.mark.parametrize("screen", list(WIDTHS))
def test_an_operator_saves_a_households_cash_out_account(site: Site, screen: str) -> None:
    from playwright.sync_api import expect

    options, width = WIDTHS[screen]
    hub = site.hub
    hub.seed()
    ada = member(hub, ADA)
    page, _ = site.signed_in("operator", **options)
    page.goto(f"/dashboard/households/{ada.id}")
    section = page.locator("#cash-out")
    expect(section).to_contain_text("None saved")
    fits(page, width)
    site.shot(page, f"{screen} household without a cash-out account")

    section.get_by_label("Bank").select_option(label="Guaranty Trust Bank")
    section.get_by_label("Account number").fill("012345678")  # one digit short
    section.get_by_role("button", name="Check the name").click()
    expect(page.locator("#payout-error")).to_have_text("An account number (NUBAN) is 10 digits.")
    expect(page.locator("#cash-out").get_by_label("Account number")).to_have_value("012345678")
    fits(page, width)
    site.shot(page, f"{screen} cash-out account refused")
    site.problems.clear()  # the browser logs the refusal's 422 as a failed load: expected

    section = page.locator("#cash-out")
    section.get_by_label("Account number").fill(NUBAN)
    section.get_by_role("button", name="Check the name").click()
    expect(page.locator('[data-figure="resolved-name"]')).to_have_text(CONSOLE_NAME)
    fits(page, width)
    site.shot(page, f"{screen} cash-out account name checked")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("p.flash[role=status]")).to_contain_text(f"Saved: {CONSOLE_NAME}, GTBank ****6789.")
    expect(page.locator('[data-figure="payout-account"]')).to_have_text("GTBank ****6789")
    fits(page, width)
    site.shot(page, f"{screen} cash-out account saved")
    saved = hub.read(
        lambda s: s.execute(
            select(payout_accounts_t.c.status, payout_accounts_t.c.account_name).where(
                payout_accounts_t.c.household_id == ada.id
            )
        ).all()
    )
    assert [tuple(row) for row in saved] == [("active", CONSOLE_NAME)]
    assert site.problems == []
