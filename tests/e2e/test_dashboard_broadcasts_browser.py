"""Broadcasts in Chromium, click by click, on a laptop (1280 px) and a phone (390 px): an operator
texts a zone after a preview; a broadcast to everyone, too big to go at once, is proposed by one
operator and approved by another in a second browser. No sideways scrolling, no console error or
CSP violation; each step leaves a screenshot (see browser.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

from service.models import broadcasts_t, outbox_t
from tests.e2e.browser import Site, live_site, overflow
from tests.e2e.hub import Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
ADA, TUNDE, NGOZI = "+2348031234567", "+2348052345678", "+2348063456789"
TEXT = "Kolekt: Yaba collection moves to Saturday 5 Dec, 8-12. Put your bags out by 8."


@pytest.fixture
def site(
    make_app: Callable[..., Flask], redis: Redis, browser: Browser, request: pytest.FixtureRequest
) -> Iterator[Site]:
    """The seeded demo served live (Ada and Tunde in Yaba, Ngozi in Sabo); a broadcast to more
    than 2 households waits for a second operator."""
    hub = Hub(make_app(broadcast_approval_above=2))
    hub.seed()
    with live_site(hub, browser, request.node.name) as made:
        yield made


def open_broadcasts(page: Page) -> None:
    """Through the menu, as a person does: on a phone it may fold into a "Menu" to open first."""
    banner = page.get_by_role("banner")
    menu = banner.locator("summary:visible", has_text="Menu")
    if menu.count():
        menu.click()
    banner.get_by_role("link", name="Broadcasts", exact=True).filter(visible=True).click()
    page.wait_for_url("**/dashboard/broadcasts")


def flash(page: Page) -> Any:
    return page.locator("p.flash[role=status]")


def texts(site: Site) -> dict[str, str]:
    return dict(
        site.hub.read(
            lambda s: s.execute(
                select(outbox_t.c.to_phone, outbox_t.c.body).where(outbox_t.c.kind == "broadcast")
            ).all()
        )
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_an_operator_texts_a_zone_after_a_preview(site: Site, width: str) -> None:
    from playwright.sync_api import expect

    page, _ = site.signed_in("operator", **WIDTHS[width])
    open_broadcasts(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Broadcasts")
    assert overflow(page) <= 0
    site.shot(page, f"{width} compose")

    page.get_by_role("radio", name="A zone").check()
    page.get_by_role("combobox").select_option(label="Yaba")  # the only one: "Zone"
    page.get_by_label("English text").fill(TEXT.replace("Put", "\u201cPut").replace("8.", "8.\u201d"))
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("alert")).to_contain_text("at character 56")
    expect(page.get_by_role("button", name="Use the suggested text")).to_be_visible()
    assert overflow(page) <= 0
    site.shot(page, f"{width} smart quotes refused")
    # The browser logs the refusal's 422 as a failed load: expected here, and only here.
    assert [problem.split(": ", 1)[1] for problem in site.problems] == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]
    site.problems.clear()
    page.get_by_role("button", name="Use the suggested text").click()
    expect(page.get_by_label("English text")).to_have_value(TEXT.replace("Put", '"Put').replace("8.", '8."'))
    page.get_by_label("English text").fill(TEXT)
    page.get_by_role("button", name="Preview").click()

    expect(page.locator("#preview-recipients")).to_have_text("2")
    expect(page.locator("#preview-segments")).to_have_text("2")
    expect(page.locator("#preview-cost")).to_have_text("NGN 8.00")
    expect(page.get_by_text("Left out: 0 opted out (STOP), 0 suspended.")).to_be_visible()
    assert overflow(page) <= 0
    site.shot(page, f"{width} preview")
    assert texts(site) == {}

    page.get_by_role("button", name="Send to 2 households").click()
    expect(flash(page)).to_contain_text("sent to 2 households")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Broadcast")
    expect(page.locator("#audience")).to_have_text("Zone Yaba")
    expect(page.locator("#delivery")).to_contain_text("queued")
    assert overflow(page) <= 0
    site.shot(page, f"{width} sent")
    assert texts(site) == {ADA: TEXT, TUNDE: TEXT}

    page.get_by_role("link", name="← Broadcasts").click()
    expect(page.locator("#broadcasts tbody tr").first).to_contain_text("Zone Yaba")
    assert overflow(page) <= 0
    site.shot(page, f"{width} list")
    assert site.problems == []


@pytest.mark.parametrize("width", WIDTHS)
def test_one_operator_proposes_a_big_broadcast_and_another_approves_it(site: Site, width: str) -> None:
    from playwright.sync_api import expect

    maker, _ = site.signed_in("operator", **WIDTHS[width])
    checker, checker_email = site.signed_in("operator", **WIDTHS[width])

    open_broadcasts(maker)
    maker.get_by_role("radio", name="Everyone").check()
    maker.get_by_label("English text").fill(TEXT)
    maker.get_by_text("Other languages (optional)").click()
    maker.get_by_label("Pidgin text").fill("Kolekt: Yaba collection don move go Saturday 5 Dec.")
    maker.get_by_role("button", name="Preview").click()
    expect(maker.locator("#preview-recipients")).to_have_text("3")
    expect(maker.locator("#preview")).to_contain_text("another operator must approve it")
    assert overflow(maker) <= 0
    site.shot(maker, f"{width} big preview")
    maker.get_by_role("button", name="Propose to 3 households").click()
    expect(flash(maker)).to_contain_text("another operator must approve it before it is sent")
    expect(maker.locator("#status")).to_have_text("proposed")
    expect(maker.get_by_role("button", name="Approve and send")).to_have_count(0)
    expect(maker.get_by_role("button", name="Cancel it")).to_be_visible()
    assert overflow(maker) <= 0
    site.shot(maker, f"{width} proposed, as its maker")
    assert texts(site) == {}
    (broadcast_id,) = site.hub.read(lambda s: s.execute(select(broadcasts_t.c.id)).scalars().all())

    open_broadcasts(checker)
    waiting = checker.locator("#waiting")
    expect(waiting).to_contain_text("Everyone")
    waiting.get_by_role("link", name=str(broadcast_id), exact=True).click()
    expect(checker.locator("#preview-total")).to_contain_text("3 households, 3 segments, NGN 12.00")
    expect(checker.get_by_role("button", name="Cancel it")).to_have_count(0)
    assert overflow(checker) <= 0
    site.shot(checker, f"{width} waiting, as the checker")
    checker.get_by_role("button", name="Approve and send").click()
    expect(flash(checker)).to_contain_text(f"Broadcast {broadcast_id} approved and sent to 3 households")
    expect(checker.locator("#status")).to_have_text("sent")
    assert overflow(checker) <= 0
    site.shot(checker, f"{width} approved and sent")
    sent = texts(site)
    assert set(sent) == {ADA, TUNDE, NGOZI} and sent[ADA] == TEXT

    maker.reload()
    expect(maker.locator("#status")).to_have_text("sent")
    expect(maker.locator("#approved-by")).to_contain_text(checker_email)
    expect(maker.get_by_role("button", name="Approve and send")).to_have_count(0)
    assert re.search(r"queued", maker.locator("#delivery").inner_text())
    site.shot(maker, f"{width} sent, as its maker")
    assert site.problems == []
