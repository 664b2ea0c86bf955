"""The dashboard in a real browser: the app served over HTTP in a thread, Debian's Chromium driven
by Playwright (its Python package and bundled driver; no browser download).

Without ``/usr/bin/chromium`` or the ``playwright`` package the browser tests skip, unless
KOLEKT_REQUIRE_BROWSER=1 (CI) makes their absence a failure.

The session cookie stays ``Secure`` and ``__Host-``-prefixed as in production: Chromium counts
http://127.0.0.1 as a secure context, so it keeps such a cookie over plain HTTP there.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.e2e.hub import PASSWORD, Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 15_000

# Chromium logs a CSP violation to the console itself; the event says which directive, plainly.
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
"""


def require_browser() -> None:
    """Chromium and Playwright are here, or a skip (a failure under KOLEKT_REQUIRE_BROWSER=1)."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing: `apt-get install chromium`"
    elif importlib.util.find_spec("playwright") is None:
        missing = "the playwright package is missing: `pip install -r requirements.txt`"
    if missing is None:
        return
    if os.environ.get("KOLEKT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{missing} (KOLEKT_REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
    pytest.skip(missing)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright's bundled driver."""
    require_browser()
    from playwright.sync_api import sync_playwright

    # As root, Chromium refuses to start with its sandbox (a container's CI runs as root).
    arguments = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=arguments)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """The app on a free local port in a background thread: yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="kolekt-live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def screenshots_dir() -> Path:
    """Where screenshots go: $KOLEKT_SCREENSHOTS, else instance/screenshots/ (gitignored)."""
    return Path(os.environ.get("KOLEKT_SCREENSHOTS") or ROOT / "instance" / "screenshots")


class Site:
    """The seeded dashboard served live, with the browser contexts (people) a test opens on it.

    Every page's console errors, uncaught exceptions and CSP violations land in ``problems``.
    """

    def __init__(self, hub: Hub, base_url: str, browser: Browser, shots: Path) -> None:
        self.hub = hub
        self.base_url = base_url
        self.browser = browser
        self.shots = shots
        self.problems: list[str] = []
        self._contexts: list[BrowserContext] = []
        self._taken = 0

    def page(self, **options: Any) -> Page:
        """A new page in a browser context of its own (its own cookies: another person)."""
        context = self.browser.new_context(base_url=self.base_url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(REPORT_CSP)
        self._contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: uncaught {error}"))
        return page

    def another_page(self, page: Page) -> Page:
        """A second tab beside ``page``: the same browser context (cookies, storage), watched
        for problems as every page is."""
        tab = page.context.new_page()
        tab.on("console", lambda message: self._console(tab, message))
        tab.on("pageerror", lambda error: self.problems.append(f"{tab.url}: uncaught {error}"))
        return tab

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # The browser asks for /favicon.ico by itself; the dashboard has none (a 404, no harm).
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        self.problems.append(f"{page.url}: {message.text}")

    def sign_in(self, page: Page, email: str, password: str = PASSWORD) -> None:
        """Through the sign-in form, as a person does."""
        page.goto("/dashboard/sign-in")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    def signed_in(self, role: str, **options: Any) -> tuple[Page, str]:
        """A new user of ``role`` signed in on a page of their own; the page and their email."""
        email = self.hub.add_user(role)
        page = self.page(**options)
        self.sign_in(page, email)
        page.wait_for_url("**/dashboard/")
        return page, email

    def shot(self, page: Page, name: str) -> Path:
        """A full-page PNG of what the page shows now, numbered in the order taken."""
        self._taken += 1
        path = self.shots / f"{self._taken:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@contextmanager
def live_site(hub: Hub, browser: Browser, test_name: str) -> Iterator[Site]:
    """The hub's app served live for one test, its screenshots in a folder of the test's own
    (emptied first); every browser context it opened closed at the end."""
    shots = screenshots_dir() / test_name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    with serve(hub.app) as base_url:
        made = Site(hub, base_url, browser, shots)
        try:
            yield made
        finally:
            made.close()


def overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the screen (0: no sideways scrolling).

    Waits for the load event first: a page measured before its stylesheets arrive is laid out
    without them (tables at full width), which is what a busy CI machine sometimes caught.
    """
    page.wait_for_load_state()
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))
