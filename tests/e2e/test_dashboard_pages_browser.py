"""Every page of the dashboard, for every role, on a laptop (1280 px) and on a phone (390 px).

The pages are found as a person finds them: the areas the menu lists for the role, then, from
each area, one page of every kind it links to (a household's page, a collector's, a transfer's,
a programme's templates...). So an area added to the menu later is covered without a change here.
Each page: it opens (200), has its h1, does not scroll sideways, on a phone shows no table cell
past the screen's edge and marks its area as the current one in the menu, and logs no console
error or CSP violation. Every page leaves a screenshot (see browser.py). Then dashboard.js on
its own: how it labels the cells that the phone's cards show.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from service.models import households_t, outbox_t, reminders_t
from tests.e2e.browser import ROOT, Site, live_site
from tests.e2e.hub import Hub, open_dispute, propose_adjustment
from tests.e2e.test_dashboard_browser import PHONE, PHONE_WIDTH, cells_beyond, menu_areas, overflow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LAPTOP_WIDTH = 1280
WIDTHS: dict[int, dict[str, Any]] = {
    LAPTOP_WIDTH: {"viewport": {"width": LAPTOP_WIDTH, "height": 900}},
    PHONE_WIDTH: PHONE,
}
# Pages every role must reach from the menu's areas (as a path with its numbers as N).
MUST_FIND = {"/dashboard/households/N", "/dashboard/collectors/N", "/dashboard/ledger/N"}


@pytest.fixture
def site(hub: Hub, redis: Redis, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Site]:
    """The demo with something in every queue: a sealed ledger, an open dispute, a proposed
    adjustment (Redis emptied first: see test_dashboard_browser.py)."""
    hub.seed()
    hub.read(ledger.seal_all)
    open_dispute(hub)
    propose_adjustment(hub, hub.add_user("operator"))
    hub.read(texts)
    with live_site(hub, browser, request.node.name) as made:
        yield made


def texts(session: Session) -> None:
    """Yesterday's reminders to the demo's households, one delivered and one failed (a Retry
    button on the Messages page), with their reminder rows (the overview's conversion)."""
    now = datetime.now(UTC)
    households = session.execute(
        select(households_t.c.id, households_t.c.phone, households_t.c.zone_id)
    ).all()
    for (household_id, phone, zone_id), status in zip(households, ("delivered", "failed"), strict=False):
        outbox_id = session.execute(
            outbox_t.insert().returning(outbox_t.c.id),
            {
                "to_phone": phone,
                "body": "Kolekt: we collect in your street tomorrow, 08:00-12:00. Put your bags out.",
                "language": "en",
                "segments": 1,
                "encoding": "GSM-7",
                "kind": "reminder",
                "template": "reminder_eve",
                "status": status,
                "attempts": 1,
                "last_error": "30003 unreachable" if status == "failed" else None,
                "created_at": now,
                "next_attempt_at": now,
            },
        ).scalar_one()
        session.execute(
            reminders_t.insert(),
            {
                "zone_id": zone_id,
                "collection_date": (now - timedelta(days=1)).date(),
                "kind": "eve",
                "household_id": household_id,
                "outbox_id": outbox_id,
                "created_at": now,
            },
        )


def shape(path: str) -> str:
    """A page's kind: its path with each number as N (/dashboard/households/3 -> .../N)."""
    return re.sub(r"/\d+(?=/|$)", "/N", path)


def paths_of(page: Page, links: str) -> list[str]:
    """The same-site paths (no query) of the links a selector finds, in page order."""
    found = []
    for href in page.locator(links).evaluate_all("links => links.map(link => link.href)"):
        parts = urlsplit(href)
        if parts.netloc == urlsplit(page.url).netloc and parts.path not in found:
            found.append(parts.path)
    return found


def discover(page: Page) -> tuple[list[str], list[str]]:
    """The menu's areas for the signed-in role, and one page of each other kind they link to:
    dashboard pages only, not downloads (CSV) or forms' targets."""
    page.goto("/dashboard/")
    areas = paths_of(page, "header nav ul.areas a")
    assert areas and areas[0] == "/dashboard/", areas
    kinds = {shape(path) for path in areas}
    more = []
    for area in areas:
        page.goto(area)
        for path in paths_of(page, "main a[href^='/dashboard/']:not([download])"):
            if re.search(r"\.\w+$", path) or path.startswith("/dashboard/sign-") or shape(path) in kinds:
                continue
            kinds.add(shape(path))
            more.append(path)
    assert kinds >= MUST_FIND, f"not linked from any area: {MUST_FIND - kinds}"
    return areas, more


@pytest.mark.parametrize("role", ["admin", "operator", "auditor"])
def test_every_page_reads_for_every_role_on_a_laptop_and_on_a_phone(site: Site, role: str) -> None:
    from playwright.sync_api import expect

    first, _ = site.signed_in(role, **WIDTHS[LAPTOP_WIDTH])
    # The menu lists the areas the role may use (Users only for an admin, once it is there).
    expect(first.locator("header nav ul.areas a")).to_have_text(menu_areas(site, role))
    areas, more = discover(first)
    assert site.problems == []
    visited = 0
    for width, options in WIDTHS.items():
        page = first if width == LAPTOP_WIDTH else site.signed_in(role, **options)[0]
        for path in areas + more:
            response = page.goto(path)
            assert response is not None and response.status == 200, (path, response and response.status)
            heading = page.get_by_role("heading", level=1)
            expect(heading.first).to_be_visible()
            where = f"{role} at {width} px, {path}"
            assert overflow(page) <= 0, f"{where}: scrolls sideways"
            if width == PHONE_WIDTH:
                assert cells_beyond(page, width) == [], f"{where}: table cells past the screen's edge"
                expect(page.locator("header nav ul.areas")).to_be_hidden()
                expect(
                    page.get_by_role("banner").get_by_role("button", name="Menu", exact=True)
                ).to_be_visible()
            if path in areas:  # its area is the current one, in the row and in the Menu alike
                current = page.locator("header nav a[aria-current=page]")
                expect(current).to_have_count(2)
                assert paths_of(page, "header nav a[aria-current=page]") == [path], where
            site.shot(page, f"{role} {width} {heading.first.inner_text()[:40]}")
            assert site.problems == [], where
            visited += 1
    assert visited == 2 * len(areas + more)


GRID = """
<div class="table-wrap"><table class="striped" id="grid">
  <thead>
    <tr><th rowspan="2">Day</th><th colspan="2">kg</th><th></th></tr>
    <tr><th>logged</th><th>weighed</th></tr>
  </thead>
  <tbody>
    <tr><th scope="row">Mon</th><td>2</td><td>1.5</td><td>flag</td></tr>
    <tr><td colspan="4">Nothing on Tuesday.</td></tr>
  </tbody>
</table></div>
<div class="table-wrap"><table class="striped keep-table" id="kept">
  <thead><tr><th>Lang</th></tr></thead><tbody><tr><td>EN</td></tr></tbody>
</table></div>
<main></main>
"""


def test_cells_are_labelled_from_the_header_grid_and_again_after_a_swap(browser: Browser) -> None:
    """dashboard.js on its own: headers spanning columns and rows, an unlabelled column, a row
    of one cell across the table, a table that keeps its header, and a table an htmx swap puts
    in later."""
    page = browser.new_page(viewport={"width": PHONE_WIDTH, "height": 844})
    try:
        page.set_content(GRID)
        page.add_script_tag(path=str(ROOT / "service" / "web" / "static" / "dashboard.js"))

        def labels(table: str) -> list[list[str | None]]:
            found: list[list[str | None]] = page.eval_on_selector_all(
                f"{table} tbody tr",
                "rows => rows.map(row => Array.from(row.cells, cell => cell.getAttribute('data-label')))",
            )
            return found

        assert labels("#grid") == [["Day", "kg · logged", "kg · weighed", None], [None]]
        assert page.get_attribute("#grid tbody th", "role") == "rowheader"
        assert page.get_attribute("#grid tbody td", "role") == "cell"
        assert labels("#kept") == [[None]] and page.get_attribute("#kept", "role") is None

        page.eval_on_selector(
            "main",
            """main => {
                main.innerHTML = '<div class="table-wrap"><table class="striped" id="swapped">'
                    + '<thead><tr><th>Code</th><th>Status</th></tr></thead>'
                    + '<tbody><tr><td>K12X</td><td>active</td></tr></tbody></table></div>';
                main.dispatchEvent(new CustomEvent("htmx:afterSwap", {bubbles: true}));
            }""",
        )
        assert labels("#swapped") == [["Code", "Status"]]
    finally:
        page.close()
