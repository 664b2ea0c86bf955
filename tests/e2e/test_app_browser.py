"""The collector app in Chromium on a phone-sized screen, against the real API: a collector
signs in, logs pickups with no connection (the page reloaded offline by its service worker),
and syncs them exactly once; a pickup handed to SMS and later synced is counted once; a refused
pickup is shown with its reason and deleted; a token the server ended keeps the queue.
No console error or CSP violation anywhere. Each step leaves a screenshot (see browser.py).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import member_account
from service.models import collections_t, households_t, outbox_t, phones_t
from service.usecases import tokens
from service.usecases.households import member_by_phone
from service.usecases.roles import collector_by_phone
from service.web.collector_app import EXTENSION, SHELL_DIR, load_shell
from sms.grammar import LANGUAGE_WORDS
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.browser import Site, live_site
from tests.e2e.helpers import twilio_text
from tests.e2e.hub import Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The demo's collector in Yaba, and the two Yaba households (see service/demo.py).
COLLECTOR = "+2348030000001"
COLLECTOR_TYPED = "0803 000 0001"
PIN = "4821"
ADA = "+2348031234567"
TUNDE = "+2348052345678"
SMS_NUMBER = "+2348000000000"
# A small Android phone.
PHONE_WIDTH = 360
PHONE = {"viewport": {"width": PHONE_WIDTH, "height": 740}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def site(
    make_app: Callable[..., Flask], redis: Redis, browser: Browser, request: pytest.FixtureRequest
) -> Iterator[Site]:
    """The seeded demo served live, with texts coming in through the signed Twilio webhook, a
    number for the SMS hand-off, and a PIN for the Yaba collector. Redis is emptied first (the
    sign-in limits count there)."""
    hub = Hub(make_app(**TWILIO_TEST_SETTINGS, sms_number=SMS_NUMBER))
    hub.seed()
    hub.read(lambda s: tokens.set_pin(s, collector_id(s), PIN, datetime.now(UTC), by="test"))
    with live_site(hub, browser, request.node.name) as made:
        yield made


class Network:
    """Every path the server is asked for from now on: what the phone fetched over the network
    (Chromium's offline mode does not cover a service worker's own fetches, so the server is
    the one to ask whether the shell really came from the cache)."""

    def __init__(self, app: Flask) -> None:
        self.paths: list[str] = []
        inner = app.wsgi_app

        def record(environ: dict[str, Any], start_response: Any) -> Any:
            self.paths.append(environ["PATH_INFO"])
            return inner(environ, start_response)

        app.wsgi_app = record  # type: ignore[method-assign]


@pytest.fixture
def network(site: Site) -> Network:
    return Network(site.hub.app)


def collector_id(session: Session) -> int:
    found = collector_by_phone(session, COLLECTOR)
    assert found is not None
    return found.id


def member_code(site: Site, phone: str) -> str:
    member = site.hub.read(lambda s: member_by_phone(s, phone))
    assert member is not None
    return str(member.member_code)


# --- what a collector does, tap by tap --------------------------------------------------------


def sign_in(site: Site, page: Page) -> None:
    """Through the sign-in screen; then wait until the households are on the phone and the
    service worker controls the page (the shell is cached for offline use)."""
    from playwright.sync_api import expect

    page.goto("/app/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Your phone number").fill(COLLECTOR_TYPED)
    page.get_by_label("PIN").fill(PIN)
    page.get_by_role("button", name="Sign in").click()
    expect(notice(page)).to_contain_text("Ready: 2 households and 6 materials on this phone.")
    eventually(page, "navigator.serviceWorker.controller !== null")
    expect(page.locator("#who")).to_have_text("Musa Ibrahim")


def eventually(page: Page, expression: str, timeout: float = 15) -> None:
    """Wait until ``expression`` (awaited) is true in the page. Not wait_for_function: that
    evaluates its text with eval, which the app's CSP forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"async () => Boolean(await ({expression}))"):
        assert time.monotonic() < deadline, f"still false after {timeout}s: {expression}"
        time.sleep(0.1)


def notice(page: Page) -> Any:
    return page.locator("#notice-text")


def tab(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Sections").get_by_role("button", name=re.compile(f"^{name}")).click()


def log_pickup(page: Page, find: str, weights: dict[str, str], shots: Site | None = None) -> None:
    """Find the household, tap each material, type its kg, review and confirm (with screenshots
    on the way when ``shots`` is given)."""
    from playwright.sync_api import expect

    tab(page, "Log")
    page.get_by_label("Household: code, phone or name").fill(find)
    page.get_by_role("list", name="Matching households").get_by_role("button").first.click()
    for material, kg in weights.items():
        page.get_by_role("button", name=re.compile(f"^{material}")).click()
        page.get_by_label(f"{material}, kg").fill(kg)
    if shots:
        shots.shot(page, "weights typed")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("heading", name="Confirm pickup")).to_be_visible()
    if shots:
        shots.shot(page, "confirm")
    page.get_by_role("button", name="Confirm pickup").click()
    expect(notice(page)).to_contain_text("Saved for")


def waiting_count(page: Page) -> Any:
    return page.locator("#waiting-count")


def go_online(page: Page) -> None:
    """Data comes back: the page's `online` event starts a sync by itself."""
    page.context.set_offline(False)


def app_collections(site: Site) -> list[Any]:
    return site.hub.read(
        lambda s: s.execute(
            select(
                collections_t.c.id, collections_t.c.reference, collections_t.c.seq, collections_t.c.channel
            )
            .where(collections_t.c.channel.in_(("app", "sms")))
            .order_by(collections_t.c.id)
        ).all()
    )


def credits_for(site: Site, collection_id: int) -> int:
    """How many times the ledger credited the household for this pickup."""
    posted = site.hub.read(lambda s: ledger.transfers_for(s, f"pickup:{collection_id}"))
    return sum(1 for t in posted if t.code == "pickup_credit" and t.reverses is None)


def balance(site: Site, phone: str) -> int:
    account = member_account(member_code(site, phone))
    found = site.hub.read(lambda s: ledger.balance(s, account))
    return int(found.credits - found.debits)


def import_store(page: Page, work: str) -> Any:
    """Run ``work`` (an async function body with ``store`` in scope) in the page, with the app's
    own storage module: the same module instance the app uses."""
    return page.evaluate(
        f"""async () => {{
            const base = document.querySelector('script[type=module]').src.replace(/app\\.js$/, "");
            const store = await import(base + "store.js");
            {work}
        }}"""
    )


# --- the scenarios ------------------------------------------------------------------------------


def test_three_pickups_offline_survive_a_reload_and_sync_exactly_once(site: Site, network: Network) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    site.shot(page, "signed in")
    # Chromium itself finds nothing missing for installing the app (manifest, icons, worker).
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    cdp.detach()
    # Playwright's browser contexts are incognito windows, where nothing is installed.
    assert [e["errorId"] for e in errors if e["errorId"] != "in-incognito"] == []
    ada, tunde = member_code(site, ADA), member_code(site, TUNDE)

    page.context.set_offline(True)
    expect(page.locator("#net")).to_have_text("Offline")
    network.paths.clear()
    log_pickup(page, ada.lower(), {"PET bottles": "4,5", "Aluminium cans": "1.2"}, shots=site)
    site.shot(page, "first pickup saved")
    log_pickup(page, "0805 234", {"Water sachets": "0.75"})  # Tunde, found by part of his phone
    log_pickup(page, "okafor", {"PET bottles": "12.005"})
    expect(waiting_count(page)).to_have_text("3")

    # Closed and opened again with no connection: the service worker serves the shell, and the
    # queue is still in IndexedDB.
    page.reload()
    expect(page.get_by_role("heading", name="Log a pickup")).to_be_visible()
    expect(waiting_count(page)).to_have_text("3")
    expect(page.locator("#net")).to_have_text("Offline")
    tab(page, "Queue")
    waiting = page.get_by_role("list", name=re.compile("Waiting to send"))
    expect(waiting.get_by_role("listitem")).to_have_count(3)
    expect(waiting).to_contain_text(f"Ada Okafor ({ada})")
    expect(waiting).to_contain_text("PET bottles 4.5 kg, Aluminium cans 1.2 kg · about 81 pts · #100001")
    expect(waiting).to_contain_text(f"Tunde Bakare ({tunde})")
    expect(waiting).to_contain_text("Water sachets 0.75 kg · about 6 pts · #100002")
    expect(waiting).to_contain_text("PET bottles 12.005 kg · about 120 pts · #100003")
    site.shot(page, "three waiting offline after a reload")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH  # nothing sideways
    assert app_collections(site) == []
    assert network.paths == [], "the phone reached the server while offline"

    go_online(page)
    expect(notice(page)).to_have_text("Synced: 3 recorded.")
    expect(waiting_count(page)).to_have_text("0")
    synced = app_collections(site)
    assert [(row.seq, row.channel) for row in synced] == [(100001, "app"), (100002, "app"), (100003, "app")]
    assert [credits_for(site, row.id) for row in synced] == [1, 1, 1]
    sent = page.get_by_role("list", name="Sent")
    for row in synced:
        expect(sent).to_contain_text(f"Receipt {row.reference}")
    expect(sent).to_contain_text(f"Receipt {synced[0].reference}: 81 points credited.")
    site.shot(page, "synced with receipts")

    # Sync again, twice: nothing is waiting, nothing is sent.
    for _ in range(2):
        page.get_by_role("button", name="Sync now").click()
        expect(notice(page)).to_have_text("Synced. Nothing was waiting.")
    # As if the answer had been lost on the way back: the same three go again, and the server
    # counts them once.
    import_store(
        page,
        """const ops = await store.ops();
           for (const op of ops) op.state = "queued";
           await store.putOps(ops);""",
    )
    page.reload()
    expect(notice(page)).to_have_text("Synced: 3 already recorded.")
    tab(page, "Queue")
    expect(page.get_by_role("list", name="Sent")).to_contain_text(
        f"Duplicate: already recorded as {synced[0].reference} (by app)."
    )
    assert app_collections(site) == synced
    assert [credits_for(site, row.id) for row in synced] == [1, 1, 1]
    site.shot(page, "sent again: duplicates")
    assert site.problems == []


def test_two_tabs_coming_online_together_send_the_queue_once(site: Site, network: Network) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    other = site.another_page(page)
    other.goto("/app/")
    expect(other.locator("#who")).to_have_text("Musa Ibrahim")
    page.context.set_offline(True)
    page.bring_to_front()  # a tab behind another is throttled: each tap would wait for it
    log_pickup(page, "Ada", {"PET bottles": "1"})
    log_pickup(page, "Tunde", {"PET bottles": "2"})
    other.reload()
    expect(waiting_count(other)).to_have_text("2")
    network.paths.clear()

    go_online(page)  # both tabs hear `online` and start a sync; one waits for the other
    expect(waiting_count(page)).to_have_text("0")
    expect(waiting_count(other)).to_have_text("0")
    assert network.paths.count("/api/v1/sync") == 1
    assert [row.seq for row in app_collections(site)] == [100001, 100002]
    assert site.problems == []


def test_a_pickup_handed_to_sms_then_synced_counts_once(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    ada = member_code(site, ADA)
    before = balance(site, ADA)

    page.context.set_offline(True)
    log_pickup(page, "Ada", {"PET bottles": "2", "Water sachets": "1,25"})
    tab(page, "Queue")
    page.get_by_role("button", name="Send by SMS").click()
    expect(page.get_by_role("heading", name="Send by SMS")).to_be_visible()
    link = page.get_by_role("link", name="Text it (1 of 1)")
    href = link.get_attribute("href")
    assert href is not None
    number, _, query = href.partition("?body=")
    text = unquote(query)
    assert (number, text) == (f"sms:{SMS_NUMBER}", f"LOG {ada} PET 2 SACHET 1.25 #100001")
    # The phone would open its SMS app; headless Chromium has none, so the test keeps the
    # browser on the page and lets the app see the tap.
    page.evaluate(
        """document.addEventListener("click", (event) => {
             if (event.target.closest('a[href^="sms:"]')) event.preventDefault();
           })"""
    )
    link.click()
    expect(page.locator("#sms-list")).to_contain_text("Sent by SMS")
    site.shot(page, "handed to SMS")

    # The text arrives at the hub through the gateway, from the collector's phone.
    twilio_text(site.hub.app.test_client(), text, sender=COLLECTOR)
    (by_sms,) = app_collections(site)
    assert (by_sms.seq, by_sms.channel) == (100001, "sms")
    assert balance(site, ADA) == before + 30

    tab(page, "Queue")
    expect(page.get_by_role("list", name=re.compile("Waiting to send"))).to_contain_text("Sent by SMS")
    go_online(page)
    expect(notice(page)).to_have_text("Synced: 1 already recorded.")
    expect(page.get_by_role("list", name="Sent")).to_contain_text(
        f"Duplicate: already recorded as {by_sms.reference} (by SMS). Nothing new was credited."
    )
    assert app_collections(site) == [by_sms]
    assert credits_for(site, by_sms.id) == 1
    assert balance(site, ADA) == before + 30
    site.shot(page, "synced: duplicate of the SMS")
    assert site.problems == []


def test_a_refused_pickup_shows_why_and_can_be_deleted(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    tunde = member_code(site, TUNDE)

    page.context.set_offline(True)
    log_pickup(page, "Tunde", {"PET bottles": "3"})
    log_pickup(page, "Tunde", {"Glass": "2"})
    # Meanwhile the hub suspends the household.
    site.hub.read(
        lambda s: s.execute(
            households_t.update().where(households_t.c.phone == TUNDE).values(status="suspended")
        )
    )
    go_online(page)
    expect(notice(page)).to_have_text("Synced: 2 need attention.")
    tab(page, "Queue")
    attention = page.get_by_role("list", name="Needs attention (2)")
    expect(attention.get_by_role("listitem")).to_have_count(2)
    expect(attention.get_by_role("listitem").first).to_contain_text(f"Tunde Bakare ({tunde})")
    expect(attention.get_by_role("listitem").first).to_contain_text(
        f"Member {tunde} is suspended. Nothing was logged. Call the hub."
    )
    expect(waiting_count(page)).to_have_text("0")
    site.shot(page, "refused: needs attention")

    # The first is deleted (a second tap confirms)...
    first = attention.get_by_role("listitem").filter(has_text="PET bottles 3 kg")
    first.get_by_role("button", name="Delete").click()
    first.get_by_role("button", name="Tap again to delete").click()
    expect(notice(page)).to_have_text("Deleted from this phone.")
    expect(page.get_by_role("list", name="Needs attention (1)")).not_to_contain_text("PET bottles")
    # ...the other was Ada's bag really: fixed and queued again, as it was logged, with a new #seq.
    page.get_by_role("list", name="Needs attention (1)").get_by_role("button", name="Fix").click()
    expect(page.get_by_text("Fixing a pickup that needs attention.")).to_be_visible()
    expect(page.get_by_label("Glass, kg")).to_have_value("2")
    page.get_by_role("button", name="Change").click()
    page.get_by_label("Household: code, phone or name").fill("Ada")
    page.get_by_role("list", name="Matching households").get_by_role("button").first.click()
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Confirm pickup").click()
    expect(notice(page)).to_have_text("Synced: 1 recorded.")
    expect(page.get_by_role("heading", name=re.compile("Needs attention"))).to_be_hidden()
    (fixed,) = app_collections(site)
    assert (fixed.seq, fixed.channel) == (100003, "app")
    assert (
        site.hub.read(
            lambda s: s.execute(
                select(collections_t.c.household_id).where(collections_t.c.id == fixed.id)
            ).scalar()
        )
        == site.hub.read(lambda s: member_by_phone(s, ADA)).id
    )
    tab(page, "Queue")
    expect(page.get_by_role("list", name="Sent")).to_contain_text(
        f"Receipt {fixed.reference}: 4 points credited."
    )
    assert import_store(page, 'return (await store.ops()).filter((op) => op.state !== "sent").length;') == 0
    # After a reload the suspended household is shown as such, and cannot be chosen.
    page.reload()
    page.get_by_label("Household: code, phone or name").fill("Tunde")
    expect(page.get_by_role("button", name=re.compile("Tunde Bakare \\(suspended"))).to_be_disabled()
    site.shot(page, "deleted; household suspended")
    assert site.problems == []


def test_a_token_the_server_ended_keeps_the_queue_until_the_collector_signs_in_again(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    page.context.set_offline(True)
    log_pickup(page, "Ada", {"Aluminium cans": "0.5"})
    # The hub gives the collector a new PIN (a lost phone): every token ends.
    site.hub.read(lambda s: tokens.set_pin(s, collector_id(s), "5937", datetime.now(UTC), by="test"))

    go_online(page)
    expect(notice(page)).to_have_text(
        "Sign in again to send the 1 waiting item. Everything stays on the phone."
    )
    expect(waiting_count(page)).to_have_text("1")
    expect(page.locator("#net")).to_have_text("Signed out")
    assert app_collections(site) == []
    # The browser logs the refused request (a 401): expected here, and only here.
    assert [p.split(": ", 1)[1] for p in site.problems] == [
        "Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)"
    ]
    site.problems.clear()
    site.shot(page, "signed out by the server, queue kept")

    page.locator("#notice").get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("1 item is waiting on this phone. Sign in to send them.")).to_be_visible()
    expect(page.get_by_label("Your phone number")).to_have_value(COLLECTOR_TYPED)
    page.get_by_label("PIN").fill("5937")
    page.get_by_role("button", name="Sign in").click()
    expect(waiting_count(page)).to_have_text("0")
    (row,) = app_collections(site)
    assert (row.seq, row.channel) == (100001, "app")  # numbered by the token it was logged under
    assert credits_for(site, row.id) == 1

    # Signing out with something waiting warns first, and keeps it.
    page.context.set_offline(True)
    log_pickup(page, "Ada", {"PET bottles": "1"})
    tab(page, "Account")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("alert")).to_have_text(
        "1 item is not sent yet. They stay on this phone and are sent after you sign in again."
    )
    page.get_by_role("button", name="Tap again to sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("1 item is waiting on this phone. Sign in to send them.")).to_be_visible()
    expect(waiting_count(page)).to_have_text("1")
    assert import_store(page, 'return (await store.ops()).filter((op) => op.state === "queued").length;') == 1
    site.shot(page, "signed out, one still queued")
    assert site.problems == []


def test_weights_and_texts_are_exact(site: Site) -> None:
    """The app's own helpers, in the browser that runs them: kg typed as text become integer
    grams with no float rounding, and the hand-off texts are as the contract spells them."""
    page = site.page(**PHONE)
    page.goto("/app/")
    results = page.evaluate(
        """async () => {
            const base = document.querySelector('script[type=module]').src.replace(/app\\.js$/, "");
            const t = await import(base + "text.js");
            const typed = ["4.5", "4,5", " 12 ", "0.001", "200", "200.001", "1.2345", "0", "", "abc",
                           "4.5kg", ".5", "0.1", "0.3", "1.005", "199.999", "4.5.1", "-1"];
            return {
              kg: Object.fromEntries(typed.map((text) => [text, t.parseKg(text)])),
              formatted: [4500, 4000, 1005, 1, 200000, 100, 750, 2250, 1750].map(t.formatKg),
              // Every weight a line may have, as the app writes it (offline too) and reads it back.
              everyKg: Array.from({length: t.MAX_GRAMS_PER_LINE}, (_, i) => t.formatKg(i + 1)),
              readBack: Array.from({length: t.MAX_GRAMS_PER_LINE}, (_, i) => i + 1)
                .filter((grams) => t.parseKg(t.formatKg(grams)).grams !== grams),
              points: [[4500, 10], [1200, 30], [50, 10], [49, 10]].map(([g, rate]) => t.pointsFor(g, rate)),
              log: t.logText({code: "K4821X", phone: "+2348031234567"},
                             [{material: "PET", grams: 4500}, {material: "ALU", grams: 1200}], 100017),
              logByPhone: t.logText({code: null, phone: "+2348031234567"},
                                    [{material: "PET", grams: 1000}], 100018),
              newText: t.newText("+234 803 123 4567", "Ada,  Okafor", "12 Adeniyi St"),
              newTexts: [
                ["Ada Okafor", null, "EN"], ["Musa Bello", "4 Ojo Rd", "HA"], ["Ngozi Eze", null, "IG"],
                ["Igbo Chukwu", null, "EN"], ["Hausa Lawal", null, null], ["Bekee Obi", null, "YO"],
              ].map(([name, address, language]) => t.newText("08031234567", name, address, language)),
              languageWords: t.LANGUAGE_WORDS,
              href: t.smsHref("+2348000000000", "LOG K4821X PET 4.5 #7"),
            };
        }"""
    )
    kg = results["kg"]
    assert {text: kg[text].get("grams") for text in kg if "grams" in kg[text]} == {
        "4.5": 4500,
        "4,5": 4500,
        " 12 ": 12000,
        "0.001": 1,
        "200": 200000,
        "4.5kg": 4500,
        ".5": 500,
        "0.1": 100,
        "0.3": 300,
        "1.005": 1005,
        "199.999": 199999,
    }
    assert kg["200.001"]["error"] == "At most 200 kg per line."
    assert kg["1.2345"]["error"] == "At most 3 decimals (grams)."
    assert kg["0"]["error"] == "The weight must be more than 0."
    assert all("error" in kg[text] for text in ("", "abc", "4.5.1", "-1"))
    assert results["formatted"] == ["4.5", "4", "1.005", "0.001", "200", "0.1", "0.75", "2.25", "1.75"]
    # The app writes each weight exactly as a text (sms.kg) and the dashboard do.
    assert results["everyKg"] == [sms.kg(grams) for grams in range(1, 200_001)]  # to text.js's limit
    assert results["readBack"] == []
    assert results["points"] == [45, 36, 1, 0]
    assert results["log"] == "LOG K4821X PET 4.5 ALU 1.2 #100017"
    assert results["logByPhone"] == "LOG 08031234567 PET 1 #100018"
    assert results["newText"] == "NEW 08031234567 Ada Okafor, 12 Adeniyi St"
    # The household's language after the phone when it is not English; English written out only
    # before a name the text would otherwise take for a language.
    assert results["newTexts"] == [
        "NEW 08031234567 Ada Okafor",
        "NEW 08031234567 HA Musa Bello, 4 Ojo Rd",
        "NEW 08031234567 IG Ngozi Eze",
        "NEW 08031234567 EN Igbo Chukwu",
        "NEW 08031234567 EN Hausa Lawal",
        "NEW 08031234567 YO Bekee Obi",
    ]
    assert sorted(results["languageWords"]) == sorted(LANGUAGE_WORDS)
    read = [sms.parse(text, "collector") for text in results["newTexts"]]
    assert [(getattr(r, "name", r), getattr(r, "language", None)) for r in read] == [
        ("Ada Okafor", None),
        ("Musa Bello", "HA"),
        ("Ngozi Eze", "IG"),
        ("Igbo Chukwu", "EN"),
        ("Hausa Lawal", "EN"),
        ("Bekee Obi", "YO"),
    ]
    assert results["href"] == "sms:+2348000000000?body=LOG%20K4821X%20PET%204.5%20%237"
    assert site.problems == []


def test_a_household_registered_at_the_door_offline(site: Site) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    page.context.set_offline(True)
    tab(page, "New household")
    page.get_by_label("Phone", exact=True).fill("0803 555 0101")
    page.get_by_label("Name", exact=True).fill("Bisi Adewale")
    page.get_by_label("Address (optional)").fill("7 Oyadiran Estate, Yaba")
    # The five languages households are texted in, English first (and chosen until changed).
    language = page.get_by_label("Language of their texts")
    expect(language).to_have_value("EN")
    expect(language.locator("option")).to_have_text([sms.LANGUAGE_NAMES[code] for code in sms.LANGUAGES])
    language.select_option(label="Hausa")
    page.get_by_role("button", name="Add household").click()
    expect(notice(page)).to_have_text("Bisi Adewale added. Now log their pickup.")
    # The new household is chosen already: tap the materials, type the kg.
    expect(page.locator("#chosen-name")).to_have_text("Bisi Adewale")
    page.get_by_role("button", name=re.compile("^PET bottles")).click()
    page.get_by_label("PET bottles, kg").fill("3.5")
    page.get_by_role("button", name="Review").click()
    page.get_by_role("button", name="Confirm pickup").click()
    expect(waiting_count(page)).to_have_text("2")
    # Found by name while still waiting to be sent.
    page.get_by_label("Household: code, phone or name").fill("bisi")
    expect(page.get_by_role("list", name="Matching households")).to_contain_text(
        "Bisi Adewale (new, not sent yet)"
    )
    # Kept with the queued item, through a reload with no connection.
    page.reload()
    tab(page, "Queue")
    waiting = page.get_by_role("list", name=re.compile("Waiting to send"))
    expect(waiting).to_contain_text("08035550101, Hausa, 7 Oyadiran Estate, Yaba")
    # Handed to SMS: the NEW first (with the language), then the LOG naming it by its phone.
    page.get_by_role("button", name="Send by SMS").click()
    texts = [
        unquote(href.partition("?body=")[2])
        for href in page.locator("#sms-list a").evaluate_all(
            "(links) => links.map((link) => link.getAttribute('href'))"
        )
    ]
    assert texts == [
        "NEW 08035550101 HA Bisi Adewale, 7 Oyadiran Estate, Yaba",
        "LOG 08035550101 PET 3.5 #100001",
    ]
    site.shot(page, "new household and its pickup, offline")

    go_online(page)
    expect(notice(page)).to_have_text("Synced: 2 recorded.")
    member = site.hub.read(lambda s: member_by_phone(s, "+2348035550101"))
    assert member is not None and member.name == "Bisi Adewale"
    # Its phone is Hausa: the welcome and the pickup's receipt went in Hausa.
    assert (
        site.hub.read(
            lambda s: s.execute(select(phones_t.c.language).where(phones_t.c.number == member.phone)).scalar()
        )
        == "HA"
    )
    texts = select(outbox_t.c.template, outbox_t.c.language).where(outbox_t.c.to_phone == member.phone)
    assert [tuple(t) for t in site.hub.read(lambda s: s.execute(texts.order_by(outbox_t.c.id)).all())] == [
        ("welcome", "HA"),
        ("receipt", "HA"),
    ]
    (row,) = app_collections(site)
    assert credits_for(site, row.id) == 1
    assert balance(site, "+2348035550101") == 35
    tab(page, "Queue")
    sent = page.get_by_role("list", name="Sent")
    expect(sent).to_contain_text(f"Registered: {member.member_code}")
    expect(sent).to_contain_text(f"Receipt {row.reference}: 35 points credited.")
    # Found by its new code from now on, with no connection too.
    page.context.set_offline(True)
    tab(page, "Log")
    page.get_by_label("Household: code, phone or name").fill(member.member_code)
    expect(page.get_by_role("list", name="Matching households")).to_contain_text("Bisi Adewale")
    site.shot(page, "new household synced")

    # A hub without a number for texts: the hand-off says so instead of offering links.
    log_pickup(page, member.member_code, {"Paper and carton": "10"})
    import_store(
        page,
        """const auth = await store.get("auth");
           auth.me.programme.sms_number = "";
           await store.set("auth", auth);""",
    )
    page.reload()
    tab(page, "Queue")
    page.get_by_role("button", name="Send by SMS").click()
    expect(page.get_by_text("The hub has not set a number for texts yet")).to_be_visible()
    expect(page.locator("#sms-list a")).to_have_count(0)
    assert site.problems == []


def test_a_refused_household_is_fixed_with_its_language_kept(site: Site) -> None:
    """A household typed with another collector's phone is refused; Fix brings back what was
    typed, its language too; with the right phone it is registered, and welcomed, in Yoruba."""
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    sign_in(site, page)
    page.context.set_offline(True)
    tab(page, "New household")
    page.get_by_label("Phone", exact=True).fill("0803 000 0002")  # Kemi's, a collector's
    page.get_by_label("Name", exact=True).fill("Femi Ola")
    page.get_by_label("Language of their texts").select_option("YO")
    page.get_by_role("button", name="Add household").click()
    expect(notice(page)).to_have_text("Femi Ola added. Now log their pickup.")
    go_online(page)
    expect(notice(page)).to_have_text("Synced: 1 needs attention.")
    tab(page, "Queue")
    attention = page.get_by_role("list", name="Needs attention (1)")
    expect(attention).to_contain_text("New household: Femi Ola")
    expect(attention).to_contain_text("08030000002, Yoruba")
    attention.get_by_role("button", name="Fix").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Femi Ola")
    expect(page.get_by_label("Language of their texts")).to_have_value("YO")
    page.get_by_label("Phone", exact=True).fill("0803 555 0202")
    page.get_by_role("button", name="Save and queue again").click()
    expect(notice(page)).to_have_text("Synced: 1 recorded.")
    phone = "+2348035550202"
    member = site.hub.read(lambda s: member_by_phone(s, phone))
    assert member is not None and member.name == "Femi Ola"
    assert (
        site.hub.read(
            lambda s: s.execute(select(phones_t.c.language).where(phones_t.c.number == phone)).scalar()
        )
        == "YO"
    )
    welcome = select(outbox_t.c.template, outbox_t.c.language).where(outbox_t.c.to_phone == phone)
    assert [tuple(t) for t in site.hub.read(lambda s: s.execute(welcome).all())] == [("welcome", "YO")]
    # A new household after it starts from English again.
    tab(page, "New household")
    expect(page.get_by_label("Language of their texts")).to_have_value("EN")
    assert site.problems == []


def test_a_new_shell_version_takes_over_and_drops_the_old_cache(
    site: Site, network: Network, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = site.page(**PHONE)
    page.goto("/app/")
    eventually(page, "navigator.serviceWorker.controller !== null")
    page.reload()  # now opened under the worker, as every later visit is
    old = load_shell().version
    assert page.evaluate("caches.keys()") == [f"kolekt-app-{old}"]

    # A deploy changes one file of the shell.
    changed = tmp_path / "shell"
    shutil.copytree(SHELL_DIR, changed)
    with (changed / "static" / "app.css").open("a") as css:
        css.write("\n/* a deploy */\n")
    site.hub.app.extensions[EXTENSION] = new = load_shell(changed)
    assert new.version != old

    page.evaluate("navigator.serviceWorker.getRegistration().then((registration) => registration.update())")
    expect(notice(page)).to_have_text("A new version of the app is ready.")
    eventually(page, f"caches.keys().then((names) => names.join() === 'kolekt-app-{new.version}')")
    page.locator("#notice").get_by_role("button", name="Reload").click()
    expect(page.locator('link[rel="stylesheet"]')).to_have_attribute(
        "href", f"/app/static/{new.version}/app.css"
    )
    page.context.set_offline(True)
    network.paths.clear()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator('link[rel="stylesheet"]')).to_have_attribute(
        "href", f"/app/static/{new.version}/app.css"
    )
    assert network.paths == []
    assert site.problems == []
