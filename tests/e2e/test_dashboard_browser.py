"""The dashboard in Chromium: what an operator does, click by click, on the seeded demo.

Sign-in and the ledger (filters, a transfer's proof, Verify ledger through htmx), the disputes
queue, maker-checker adjustments by two operators in two browsers, and every page on a phone
(its Menu, and its tables read as cards), all without a console error or a CSP violation. Each
step leaves a screenshot (see browser.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from service.accounts import member_account
from service.models import collections_t, disputes_t, households_t, ledger_checks_t
from service.usecases import adjustments, users
from service.web.dashboard.base import NAV
from tests.e2e.browser import Site, live_site, overflow
from tests.e2e.hub import Hub, open_dispute, propose_adjustment

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE_WIDTH = 390
PHONE = {"viewport": {"width": PHONE_WIDTH, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def site(hub: Hub, redis: Redis, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Site]:
    """The seeded demo served live. Redis is emptied first: every browser signs in from 127.0.0.1,
    and failed attempts counted there by an earlier run must not rate-limit this one."""
    hub.seed()
    with live_site(hub, browser, request.node.name) as made:
        yield made


def listed(page: Page) -> list[int]:
    """The transfer numbers in the ledger's table, top to bottom (once the page has loaded)."""
    page.wait_for_load_state()
    return [int(n) for n in page.locator("#transfers tbody tr td:first-child a").all_inner_texts()]


def flash(page: Page) -> str:
    return page.locator("p.flash[role=status]").inner_text()


def test_sign_in_then_filter_the_ledger_open_a_transfer_and_verify(site: Site) -> None:
    from playwright.sync_api import expect

    hub = site.hub
    hub.read(ledger.seal_all)  # what the sealer does every few seconds
    email = hub.add_user("operator")
    page = site.page()

    site.sign_in(page, email, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    # The browser logs the refusal's 401 as a failed load: expected here, and only here.
    assert [p.split(": ", 1)[1] for p in site.problems] == [
        "Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)"
    ]
    site.problems.clear()
    expect(page.get_by_label("Email")).to_have_value(email)
    site.shot(page, "sign-in refused")

    site.sign_in(page, email)
    expect(page).to_have_url(f"{site.base_url}/dashboard/")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text(email)
    # Production's cookie, kept over plain HTTP: Chromium treats 127.0.0.1 as a secure context.
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert set(cookies) == {"__Host-kolekt", "kolekt-device"}  # the session, and the device cookie
    for cookie in cookies.values():
        assert (cookie["secure"], cookie["httpOnly"]) == (True, True), cookie
    assert cookies["kolekt-device"]["sameSite"] == "Strict"
    site.shot(page, "overview")

    page.get_by_role("banner").get_by_role("link", name="Ledger", exact=True).click()
    expect(page.get_by_role("heading", name="Ledger", exact=True)).to_be_visible()
    everything = hub.read(lambda s: ledger.browse(s, ledger.TransferFilter(), limit=50))
    assert listed(page) == [t.id for t in everything]
    site.shot(page, "ledger")

    credit = next(t for t in everything if t.code == "pickup_credit")
    member_code = credit.credit.partition(":")[2]
    page.get_by_label("Account").fill(member_code.lower())  # as typed at the hub: any case
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(rf"account={member_code.lower()}"))
    touching = hub.read(lambda s: ledger.browse(s, ledger.TransferFilter(account=credit.credit), limit=50))
    assert listed(page) == [t.id for t in touching] and credit.id in listed(page)
    # The credited account by its household's name and code (the account's code is its title).
    cells = page.locator("#transfers tbody tr td:nth-child(5)")
    expect(cells).to_have_text([re.compile(rf"\({member_code}\)$")] * len(touching))
    expect(cells.first).to_have_attribute("title", credit.credit)
    site.shot(page, "ledger by account")

    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Code").select_option("commission")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_label("Code")).to_have_value("commission")
    expect(page.get_by_label("Account")).to_have_value("")
    commissions = hub.read(lambda s: ledger.browse(s, ledger.TransferFilter(code="commission"), limit=50))
    assert commissions and listed(page) == [t.id for t in commissions]
    assert credit.id not in listed(page)
    site.shot(page, "ledger by code")

    page.get_by_label("Account").fill(member_code)
    page.get_by_label("Code").select_option("pickup_credit")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_label("Account")).to_have_value(member_code)
    assert listed(page) == [t.id for t in touching if t.code == "pickup_credit"]

    page.locator("#transfers").get_by_role("link", name=str(credit.id), exact=True).click()
    expect(page.get_by_role("heading", name=f"Transfer {credit.id}")).to_be_visible()
    proof = hub.read(lambda s: ledger.proof(s, credit.id))
    section = page.locator("#proof")
    expect(section).to_contain_text("the stored hash matches the transfer as it stands")
    expect(section).to_contain_text(proof.hash)
    expect(section).to_contain_text(proof.previous_hash)
    site.shot(page, "transfer and its proof")

    page.get_by_role("link", name="← Ledger").click()
    page.get_by_role("button", name="Verify ledger").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("Ledger verified:")
    expect(page).to_have_url(f"{site.base_url}/dashboard/ledger")  # htmx swapped the page in place
    head = hub.read(ledger.head)
    assert f"{head.count:,} transfers, head {head.hash[:16]}" in flash(page)
    checks = hub.read(lambda s: s.execute(select(ledger_checks_t.c.trigger, ledger_checks_t.c.ok)).all())
    assert [tuple(c) for c in checks] == [("dashboard", True)]
    site.shot(page, "ledger verified")

    assert site.problems == []


def test_an_operator_upholds_one_dispute_and_rejects_another(site: Site) -> None:
    from playwright.sync_api import expect

    hub = site.hub
    upheld = open_dispute(hub, "they weighed less than I had")
    rejected = open_dispute(hub, "I was not at home that day")
    page, email = site.signed_in("operator")
    page.goto("/dashboard/disputes")
    expect(page.get_by_role("heading", name="Disputes")).to_contain_text("2 open")
    site.shot(page, "disputes queue")

    pickup = hub.read(lambda s: _pickup_of(s, upheld))
    page.locator(f"#dispute-{upheld}").get_by_role("button", name=re.compile(r"^Uphold")).click()
    expect(page.locator("p.flash[role=status]")).to_contain_text(f"Dispute {upheld} upheld")
    expect(page.locator(f"#dispute-{upheld}")).to_have_count(0)
    expect(page.get_by_role("heading", name="Disputes")).to_contain_text("1 open")
    assert hub.read(lambda s: _pickup_of(s, upheld)) == (pickup[0], "reversed")
    posted = hub.read(lambda s: ledger.transfers_for(s, f"pickup:{pickup[0]}"))
    originals = [t.id for t in posted if t.reverses is None]
    assert originals and sorted(t.reverses for t in posted if t.reverses) == originals
    site.shot(page, "dispute upheld")

    reason = "Scale checked at the hub: the weight stands"
    card = page.locator(f"#dispute-{rejected}")
    card.get_by_label("Reason for rejecting").fill(reason)
    card.get_by_role("button", name="Reject").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text(f"Dispute {rejected} rejected")
    expect(page.locator("article.dispute")).to_have_count(0)
    expect(page.get_by_text("No open disputes.")).to_be_visible()
    assert hub.read(lambda s: _pickup_of(s, rejected))[1] == "credited"
    decisions = hub.read(
        lambda s: s.execute(
            select(
                disputes_t.c.id, disputes_t.c.status, disputes_t.c.decided_by, disputes_t.c.decision_note
            ).order_by(disputes_t.c.id)
        ).all()
    )
    assert [tuple(d) for d in decisions] == [
        (upheld, "upheld", email, None),
        (rejected, "rejected", email, reason),
    ]
    decided = page.locator("table tbody")
    expect(decided).to_contain_text("upheld")
    expect(decided).to_contain_text(reason)
    site.shot(page, "dispute rejected")

    assert site.problems == []


def _pickup_of(session: Session, dispute_id: int) -> tuple[int, str]:
    """The disputed pickup's number and status."""
    row = session.execute(
        select(collections_t.c.id, collections_t.c.status)
        .join(disputes_t, disputes_t.c.collection_id == collections_t.c.id)
        .where(disputes_t.c.id == dispute_id)
    ).one()
    return int(row.id), str(row.status)


def test_two_operators_propose_and_approve_an_adjustment(site: Site) -> None:
    from playwright.sync_api import expect

    hub = site.hub
    member_code = hub.read(
        lambda s: s.execute(select(households_t.c.member_code).order_by(households_t.c.id)).scalars().first()
    )
    account = member_account(member_code)
    before = hub.read(lambda s: ledger.balance(s, account).credit_balance)
    maker, maker_email = site.signed_in("operator")
    checker, checker_email = site.signed_in("operator")

    maker.goto("/dashboard/adjustments")
    form = maker.locator("#propose")
    form.get_by_label("Account").fill(member_code)
    form.get_by_label("Points").fill("35")
    form.get_by_label("Reason").fill("scale at the hub read 3.5 kg more")
    form.get_by_role("button", name="Propose").click()
    expect(maker.locator("p.flash[role=status]")).to_contain_text(
        "proposed: another operator must approve it"
    )
    (proposal,) = hub.read(lambda s: adjustments.adjustments(s, status="proposed"))
    assert (proposal.account_code, proposal.amount, proposal.proposer) == (account, 35, maker_email)
    mine = maker.locator(f"#adjustment-{proposal.id}")
    expect(mine).to_contain_text(f"+35 pts to {account}")
    expect(mine.get_by_role("button", name="Approve and post")).to_have_count(0)
    expect(mine.get_by_role("button", name="Withdraw")).to_be_visible()
    site.shot(maker, "adjustment proposed, as its maker")

    checker.goto("/dashboard/adjustments")
    theirs = checker.locator(f"#adjustment-{proposal.id}")
    expect(theirs.get_by_role("button", name="Withdraw")).to_have_count(0)
    site.shot(checker, "adjustment waiting, as the checker")
    theirs.get_by_role("button", name="Approve and post").click()
    expect(checker.locator("p.flash[role=status]")).to_contain_text(f"Adjustment {proposal.id} approved")
    found = re.search(r"posted as transfer (\d+)", flash(checker))
    assert found, flash(checker)
    transfer_id = int(found.group(1))
    expect(checker.locator(f"#adjustment-{proposal.id}")).to_have_count(0)
    site.shot(checker, "adjustment approved")

    decided = hub.read(lambda s: adjustments.get_adjustment(s, proposal.id))
    checker_id = hub.read(lambda s: users.user_by_email(s, checker_email).id)
    assert (decided.status, decided.decided_by, decided.transfer_id) == ("approved", checker_id, transfer_id)
    assert hub.read(lambda s: ledger.balance(s, account).credit_balance) == before + 35

    checker.get_by_role("banner").get_by_role("link", name="Ledger", exact=True).click()
    checker.get_by_label("Account").fill(member_code)
    checker.get_by_label("Code").select_option("adjustment")
    checker.get_by_role("button", name="Filter").click()
    expect(checker.locator("#transfers tbody tr")).to_have_count(1)
    assert listed(checker) == [transfer_id]
    checker.locator("#transfers").get_by_role("link", name=str(transfer_id), exact=True).click()
    expect(checker.get_by_role("heading", name=f"Transfer {transfer_id}")).to_be_visible()
    expect(checker.locator("td.big")).to_have_text("35")
    site.shot(checker, "the adjustment in the ledger")

    maker.reload()
    expect(maker.get_by_text("None waiting.")).to_be_visible()
    expect(maker.locator("table tbody tr").first).to_contain_text("approved")
    assert site.problems == []


# The pages of the dashboard's core; the other areas' tests cover their own.
PAGES = (
    ("/dashboard/", "Overview"),
    ("/dashboard/ledger", "Ledger"),
    ("/dashboard/ledger/1", "Transfer 1"),
    ("/dashboard/disputes", "Disputes"),
    ("/dashboard/adjustments", "Adjustments"),
    ("/dashboard/audit", "Audit log"),
    ("/dashboard/households", "Households"),
    ("/dashboard/households/1", "Ada Okafor"),
    ("/dashboard/collectors", "Collectors"),
    ("/dashboard/collectors/1", "Musa Ibrahim"),
    ("/dashboard/weigh-ins", "Hub weigh-ins"),
    ("/dashboard/messages", "Messages"),
    ("/dashboard/programme", "Programme settings"),
    ("/dashboard/programme/templates", "Message templates"),
)


def cells_beyond(page: Page, width: int) -> list[str]:
    """The table cells shown (in ``main``) that reach past either edge of the screen."""
    found: list[str] = page.evaluate(
        """width => Array.from(document.querySelectorAll("main td, main th"))
            .filter(cell => { const box = cell.getBoundingClientRect();
                              return box.width > 0 && (box.left < -0.5 || box.right > width + 0.5); })
            .map(cell => `${cell.dataset.label || cell.tagName}: ${cell.textContent.trim().slice(0, 40)}`)""",
        width,
    )
    return found


def label_shown(cell: Locator) -> str:
    """The label a phone shows before a card's value (the cell's ::before), "" if none."""
    content = str(cell.evaluate("cell => getComputedStyle(cell, '::before').content"))
    return content[1:-1] if content.startswith('"') else ""


def card_labels(row: Locator, width: int) -> dict[str, str]:
    """A table row read as a card on a phone: each cell's shown label -> its text; every cell
    shown must be within the screen (an empty one is left out of the card)."""
    from playwright.sync_api import expect

    labels = {}
    for cell in row.locator("td, th").all():
        if not cell.inner_text().strip():
            expect(cell).to_be_hidden()
            continue
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, cell.inner_text()
        labels[label_shown(cell)] = cell.inner_text().strip()
    return labels


def menu_areas(site: Site, role: str) -> list[str]:
    """The areas the menu lists for a role: the registered ones of NAV that the role sees."""
    views = site.hub.app.view_functions
    return [label for endpoint, label, roles in NAV if endpoint in views and role in roles]


def test_every_page_reads_on_a_phone_without_console_errors_or_csp_violations(site: Site) -> None:
    from playwright.sync_api import expect

    hub = site.hub
    hub.read(ledger.seal_all)
    open_dispute(hub)
    propose_adjustment(hub, hub.add_user("operator"))
    page, email = site.signed_in("operator", **PHONE)
    width = PHONE_WIDTH

    for path, heading in PAGES:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        site.shot(page, f"phone {heading}")
        assert overflow(page) <= 0, f"{path} scrolls sideways on a phone"
        assert cells_beyond(page, width) == [], f"{path}: table cells past the screen's edge"

    # The menu: the brand and a Menu button; open, every area, who is signed in, and Sign out.
    page.goto("/dashboard/")
    banner = page.get_by_role("banner")
    expect(banner.get_by_role("link")).to_have_count(1)  # the brand only: the areas are folded away
    expect(banner.get_by_role("button", name="Sign out")).to_have_count(0)
    menu = banner.get_by_role("button", name="Menu", exact=True)
    box = menu.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width and box["y"] < 100  # beside the brand
    menu.tap()
    areas = menu_areas(site, "operator")
    assert len(areas) >= 10 and "Users" not in areas  # an operator does not manage users
    expect(banner.get_by_role("link")).to_have_text([re.compile("hub$"), *areas])
    for link in banner.get_by_role("link").all():
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, link.inner_text()
        assert box["height"] >= 40, f"{link.inner_text()}: too small to tap"
    expect(banner.get_by_role("link", name="Overview", exact=True)).to_have_attribute("aria-current", "page")
    expect(banner).to_contain_text(email)
    expect(banner.get_by_role("button", name="Sign out")).to_be_visible()
    assert overflow(page) <= 0
    site.shot(page, "phone menu open")
    page.keyboard.press("Escape")  # closes it again
    expect(banner.get_by_role("link")).to_have_count(1)
    menu.tap()
    banner.get_by_role("link", name="Ledger", exact=True).tap()
    expect(page).to_have_url(f"{site.base_url}/dashboard/ledger")
    expect(banner.get_by_role("link")).to_have_count(1)  # a new page: the menu is closed
    menu.tap()
    expect(banner.get_by_role("link", name="Ledger", exact=True)).to_have_attribute("aria-current", "page")
    menu.tap()

    # The ledger: a card a transfer, every cell labelled, none past the screen's edge.
    newest = listed(page)[0]
    assert cells_beyond(page, width) == []
    card = card_labels(page.locator("#transfers tbody tr").first, width)
    headers = ["No.", "Ref", "Recorded", "Debit", "Credit", "Points", "Code", "Reference", "Memo"]
    assert list(card) == [header for header in headers if header in card]  # in the columns' order
    assert {"No.", "Recorded", "Debit", "Credit", "Points", "Code"} <= set(card), card
    assert card["No."] == str(newest) and card["Points"].replace(",", "").isdigit()
    site.shot(page, "phone ledger cards")
    # Verify ledger swaps the page in through htmx: the new table is labelled too.
    page.get_by_role("button", name="Verify ledger").tap()
    expect(page.locator("p.flash[role=status]")).to_contain_text("Ledger verified:")
    assert card_labels(page.locator("#transfers tbody tr").first, width)["No."] == str(newest)
    page.locator("#transfers").get_by_role("link", name=str(newest), exact=True).tap()
    expect(page.get_by_role("heading", name=f"Transfer {newest}")).to_be_visible()
    assert overflow(page) <= 0 and cells_beyond(page, width) == []
    site.shot(page, "phone transfer from the ledger")

    # Households: Zone and Status on each card, not off to the right; a household's pickups
    # with their Points and Status.
    page.goto("/dashboard/households")
    card = card_labels(page.locator("#households tbody tr").first, width)
    assert {"Code", "Name", "Zone", "Status"} <= set(card), card
    assert card["Status"] == "active" and card["Zone"] in ("Yaba", "Sabo")
    page.locator("#households tbody tr").first.get_by_role("link").first.tap()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    card = card_labels(page.locator("#pickups tbody tr").first, width)
    assert {"Receipt", "Points", "Status"} <= set(card), card
    assert card["Points"].isdigit() and card["Status"]
    site.shot(page, "phone household cards")
    # A row of one cell across the table ("No household matches") spans its card, unlabelled.
    page.goto("/dashboard/households?q=nobody-by-this-name")
    only = page.locator("#households tbody td")
    expect(only).to_have_count(1)
    expect(only).to_contain_text("No household matches")
    assert label_shown(only) == ""
    row_box, cell_box = page.locator("#households tbody tr").bounding_box(), only.bounding_box()
    assert row_box is not None and cell_box is not None
    assert abs(cell_box["width"] - (row_box["width"] - 2)) <= 1  # all of the card, inside its border

    desktop, _ = site.signed_in("auditor", viewport={"width": 1280, "height": 900})
    for path, heading in PAGES:
        desktop.goto(path)
        expect(desktop.get_by_role("heading", level=1)).to_contain_text(heading)
        assert overflow(desktop) <= 0, f"{path} scrolls sideways on a laptop"
    # On a laptop the areas are a row and the tables are tables.
    expect(desktop.get_by_role("banner").get_by_role("button", name="Menu")).to_have_count(0)
    expect(desktop.get_by_role("banner").get_by_role("link")).to_have_count(
        1 + len(menu_areas(site, "auditor"))
    )
    desktop.goto("/dashboard/ledger")
    expect(desktop.get_by_role("columnheader", name="Memo")).to_be_visible()
    assert label_shown(desktop.locator("#transfers tbody td").first) == ""
    site.shot(desktop, "desktop ledger")

    assert site.problems == []


def test_the_public_pages_and_the_api_reference_read_at_every_width(site: Site) -> None:
    """The home page, the terms and the API's reference: no sideways scrolling on a laptop or a
    phone (the endpoint index was one row 2,659 px wide), no docstring markup (``next``)."""
    from playwright.sync_api import expect

    for options in ({"viewport": {"width": 1280, "height": 900}}, PHONE):
        page = site.page(**options)
        for path, heading in (("/", "Kolekt"), ("/terms", "terms"), ("/api/v1/docs", "Kolekt")):
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
            assert overflow(page) <= 0, (path, options)
        assert "``" not in page.locator("main").inner_text()
        index = page.get_by_role("region", name="Endpoints").get_by_role("listitem")
        first, second = index.nth(0).bounding_box(), index.nth(1).bounding_box()
        assert first is not None and second is not None and second["y"] > first["y"]  # a list, not a row
        site.shot(page, f"api reference {options.get('viewport', {}).get('width')}")
    assert site.problems == []
