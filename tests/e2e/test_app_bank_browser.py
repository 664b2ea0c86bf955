"""The collector app's cash-out account screen in Chromium on a small phone, against the real API:
at the door, a collector chooses the household, types its bank and account number, reads the name
the bank has to the household, and saves it (the household texted, audited, registered by the
collector). A wrong number is answered on the screen and saves nothing; with no connection the
screen says it needs data and asks nothing. No console error beyond the refusals' own 422s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from service.models import outbox_t
from service.providers.payouts import ConsolePayouts
from tests.e2e.browser import Site, overflow
from tests.e2e.test_app_browser import ADA, PHONE, collector_id, member_code, notice, sign_in, site, tab
from tests.payout_helpers import saved_accounts

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["site"]  # the fixture, from the app's browser tests

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NUBAN = "0123456789"
NAME = ConsolePayouts().resolve(NUBAN, "058")  # the console provider's name for it


def choose(page: Page, find: str) -> None:
    tab(page, "Log")
    page.get_by_label("Household: code, phone or name").fill(find)
    page.get_by_role("list", name="Matching households").get_by_role("button").first.click()


def accounts(site: Site) -> list[tuple[Any, ...]]:
    return list(site.hub.read(saved_accounts))


def texts_to(site: Site, phone: str) -> list[str]:
    return site.hub.read(
        lambda s: list(
            s.execute(select(outbox_t.c.template).where(outbox_t.c.to_phone == phone).order_by(outbox_t.c.id))
            .scalars()
            .all()
        )
    )


def test_a_collector_saves_a_households_bank_account_at_the_door(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    ada = member_code(site, ADA)
    choose(page, "Ada")
    page.get_by_role("button", name="Bank account").click()
    expect(page.get_by_role("heading", name="Cash-out account")).to_be_visible()
    expect(page.locator("#bank-household")).to_have_text("Ada Okafor")
    expect(page.locator("#bank-current")).to_have_text("No cash-out account saved yet.")
    bank = page.get_by_label("Bank")
    expect(bank.locator("option", has_text="GTBank (Guaranty Trust Bank)")).to_have_count(1)
    bank.select_option(label="GTBank (Guaranty Trust Bank)")

    # Nine digits: answered on the phone, nothing asked of the hub.
    page.get_by_label("Account number (10 digits)").fill("012 345 678")
    page.get_by_role("button", name="Check the name").click()
    expect(page.locator("#bank-error")).to_have_text("An account number is 10 digits.")
    # Ten digits the bank does not know: the hub's answer, on the screen.
    page.get_by_label("Account number (10 digits)").fill("1234560000")
    page.get_by_role("button", name="Check the name").click()
    expect(page.locator("#bank-error")).to_contain_text("GTBank has no account 1234560000")
    site.shot(page, "the bank does not know the number")
    assert accounts(site) == []

    page.get_by_label("Account number (10 digits)").fill("012-345-6789")
    page.get_by_role("button", name="Check the name").click()
    expect(page.locator("#bank-named-name")).to_have_text(NAME)
    expect(page.locator("#bank-named-account")).to_have_text("GTBank ****6789")
    expect(page.locator("#bank-named")).to_contain_text("cash-out to it waits 24 h")
    expect(page.locator("#bank-error")).to_be_hidden()
    assert overflow(page) <= 0
    site.shot(page, "the name to read out")
    assert accounts(site) == []  # checked, not saved

    # "Not theirs": back to the form, the number to type again; then the right one, saved.
    page.get_by_role("button", name="Not theirs").click()
    expect(page.get_by_label("Account number (10 digits)")).to_be_visible()
    expect(page.get_by_role("button", name="Save it")).to_be_hidden()
    page.get_by_role("button", name="Check the name").click()
    page.get_by_role("button", name="Save it").click()
    expect(notice(page)).to_contain_text("Saved: GTBank ****6789 for Ada Okafor. Their phone is told.")
    expect(notice(page)).to_contain_text("Cash-out to it from")
    # Back where the pickup was being logged, the household still chosen.
    expect(page.get_by_role("heading", name="Log a pickup")).to_be_visible()
    expect(page.locator("#chosen-name")).to_have_text("Ada Okafor")
    site.shot(page, "saved, back to the pickup")

    musa = site.hub.read(collector_id)
    assert accounts(site) == [("active", "058", NUBAN, NAME, f"collector:{musa}")]
    assert "bank_changed_notice" in texts_to(site, ADA)

    # Opened again, the screen says where cash-out goes now.
    page.get_by_role("button", name="Bank account").click()
    expect(page.locator("#bank-current")).to_have_text(
        f"Cash-out goes to GTBank ****6789 ({NAME}) now. A new one replaces it."
    )
    assert ada in page.locator("#bank-household-detail").inner_text()
    assert [p.split(": ", 1)[1] for p in site.problems] == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]


def test_with_no_connection_the_screen_says_it_needs_data_and_asks_nothing(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    choose(page, "Ada")
    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("Offline")
    page.get_by_role("button", name="Bank account").click()
    expect(page.locator("#bank-unavailable")).to_contain_text("Saving a bank account needs data")
    expect(page.get_by_role("button", name="Check the name")).to_be_disabled()
    expect(page.get_by_label("Account number (10 digits)")).to_be_disabled()
    site.shot(page, "offline: needs data")

    # Data comes back while the screen is open: the banks arrive, and it works.
    page.context.set_offline(False)
    expect(page.locator("#bank-unavailable")).to_be_hidden()
    expect(page.locator("#bank-current")).to_have_text("No cash-out account saved yet.")
    page.get_by_label("Bank").select_option(label="GTBank (Guaranty Trust Bank)")
    page.get_by_label("Account number (10 digits)").fill(NUBAN)
    page.get_by_role("button", name="Check the name").click()
    expect(page.locator("#bank-named-name")).to_have_text(NAME)
    page.get_by_role("button", name="Not theirs").click()
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_role("heading", name="Log a pickup")).to_be_visible()
    assert accounts(site) == []
    assert site.problems == []
