"""Importing households from a spreadsheet in Chromium, click by click, on a laptop and on a phone:
the file chosen, its dry run (good rows and errors side by side, nothing written), the import,
the new households listed; and an export downloaded. No console error, no CSP violation, no
sideways scrolling."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis

from service.models import households_t
from service.usecases.households import member_by_phone
from tests.e2e.browser import Site, live_site, overflow
from tests.e2e.hub import Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE_WIDTH = 390
PHONE = {"viewport": {"width": PHONE_WIDTH, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def site(hub: Hub, redis: Redis, browser: Browser, request: pytest.FixtureRequest) -> Iterator[Site]:
    hub.seed()
    with live_site(hub, browser, request.node.name) as made:
        yield made


def spreadsheet(first: str, second: str) -> bytes:
    """Two good rows and three bad ones, semicolon-separated as a French or German Excel saves."""
    return (
        "Name;Phone;Zone;Language;Address\n"
        f"Bola Ade;{first};Yaba;Yoruba;3 Herbert Macaulay Way, Yaba\n"
        f"Chi Obi;{second};sabo;;\n"
        "Ada again;0803 123 4567;Yaba;;\n"
        f"Dupe;{first};Sabo;;\n"
        "Efe;12345;Mars;;\n"
    ).encode()


@pytest.mark.parametrize(
    ("width", "options", "numbers"),
    [
        ("desktop", DESKTOP, ("0805 222 3333", "0806 111 2222")),
        ("phone", PHONE, ("0805 444 5555", "0806 777 8888")),
    ],
)
def test_an_operator_checks_a_spreadsheet_then_imports_it(
    site: Site, width: str, options: dict[str, Any], numbers: tuple[str, str]
) -> None:
    from playwright.sync_api import expect

    hub = site.hub
    page, _ = site.signed_in("operator", **options)
    page.goto("/dashboard/households/import")
    expect(page.get_by_role("heading", name="Import households", level=1)).to_be_visible()
    assert overflow(page) <= 0
    site.shot(page, f"{width} import form")

    households = hub.count(households_t)
    page.get_by_label("CSV file").set_input_files(
        {"name": "hub.csv", "mimeType": "text/csv", "buffer": spreadsheet(*numbers)}
    )
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", name="Check of hub.csv")).to_be_visible()
    rows = page.locator("#rows tbody tr")
    expect(rows).to_have_count(5)
    expect(rows.nth(0)).to_contain_text("Will be added as Bola Ade")
    expect(rows.nth(1)).to_contain_text("Will be added as Chi Obi")
    expect(rows.nth(2)).to_contain_text("is already the number of household")
    expect(rows.nth(3)).to_contain_text("the same number as row 2")
    expect(rows.nth(4)).to_contain_text("is not a phone number")
    assert hub.count(households_t) == households  # the check wrote nothing
    assert overflow(page) <= 0
    site.shot(page, f"{width} dry run")

    page.get_by_role("button", name="Import 2 households").click()
    expect(page).to_have_url(f"{site.base_url}/dashboard/households")
    expect(page.locator("p.flash[role=status]")).to_contain_text("Imported 2 households from hub.csv")
    table = page.locator("#households")
    expect(table).to_contain_text("Bola Ade")
    expect(table).to_contain_text("Chi Obi")
    assert hub.count(households_t) == households + 2
    bola = hub.read(lambda s: member_by_phone(s, "+234" + numbers[0].replace(" ", "")[1:]))
    assert bola is not None and bola.name == "Bola Ade"
    expect(table).to_contain_text(bola.member_code)
    assert overflow(page) <= 0
    site.shot(page, f"{width} imported")

    page.goto("/dashboard/households/import")
    with page.expect_download() as download:
        page.get_by_role("link", name="households.csv").click()
    path = download.value.path()
    exported = list(csv.DictReader(io.StringIO(path.read_text())))
    assert "Bola Ade" in {row["name"] for row in exported}
    assert site.problems == []
