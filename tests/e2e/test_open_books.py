"""The open books (issue 23): the programme's totals and its published ledger heads for anyone,
as a page and as JSON, that add up to the books, and never a household's personal data."""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from service.accounts import member_account
from service.models import collection_lines_t, collections_t, households_t
from service.usecases import reports
from tests.e2e.hub import Hub


def personal_data(hub: Hub) -> set[str]:
    """Every household's name (and each word of it), phone (as stored and as dialled at home)
    and member code."""
    rows = hub.read(
        lambda s: s.execute(
            select(households_t.c.name, households_t.c.phone, households_t.c.member_code)
        ).all()
    )
    found: set[str] = set()
    for name, phone, code in rows:
        found |= {
            name,
            phone,
            phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL),
        }
        found |= {word for word in name.split() if len(word) > 3}
        if code:
            found.add(code)
    return found


def test_the_open_books_add_up_and_publish_each_days_head(hub: Hub) -> None:
    hub.seed()
    report = reports.check_and_record(hub.runtime, "daily")  # the nightly check publishes a head
    assert report.ok
    client = hub.app.test_client()
    books = client.get("/open.json")
    assert books.status_code == 200
    data = books.get_json()

    def expected(session: Session) -> tuple[int, int, dict[str, float]]:
        members = (
            session.execute(select(households_t.c.member_code).where(households_t.c.member_code.is_not(None)))
            .scalars()
            .all()
        )
        owed = sum(ledger.balance(session, member_account(code)).credit_balance for code in members)
        kilos = dict(
            session.execute(
                select(collection_lines_t.c.material_code, func.sum(collection_lines_t.c.grams))
                .join(collections_t, collections_t.c.id == collection_lines_t.c.collection_id)
                .where(collections_t.c.status == "credited")
                .group_by(collection_lines_t.c.material_code)
            ).all()
        )
        return len(members), owed, {code: grams / 1000 for code, grams in kilos.items()}

    households, owed, kilos = hub.read(expected)
    assert data["households"] == households and households > 0
    assert data["household_points"]["owed"] == owed > 0
    points = data["household_points"]
    assert points["credited"] - points["debited"] == owed and points["expired"] == 0
    assert data["kg_by_material"] == kilos
    published = data["ledger"]["published"]
    assert len(published) == 1 and published[0]["verified"] is True
    assert published[0]["hash"] == report.head_hash and re.fullmatch(r"[0-9a-f]{64}", published[0]["hash"])

    page = client.get("/open")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert report.head_hash in html and "CHECK" in html and f"{households:,}" in html
    for private in personal_data(hub):
        assert private not in html, private
        assert private not in books.get_data(as_text=True), private


def test_the_open_books_of_a_new_programme(hub: Hub) -> None:
    client = hub.app.test_client()
    assert client.get("/open.json").get_json()["ledger"]["published"] == []
    html = client.get("/open").get_data(as_text=True)
    assert "No pickups yet." in html and "No day published yet" in html
    assert 'href="/open"' in client.get("/").get_data(as_text=True)


@pytest.mark.browser
@pytest.mark.slow
def test_the_open_books_page_in_a_browser_on_a_phone(hub: Hub) -> None:
    from tests.e2e.browser import chromium, screenshots_dir, serve

    hub.seed()
    report = reports.check_and_record(hub.runtime, "daily")
    shots = screenshots_dir()
    shots.mkdir(parents=True, exist_ok=True)
    with serve(hub.app) as base, chromium() as browser:
        for name, width in (("open-books", 1024), ("open-books-phone", 360)):
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(f"{base}/open")
            assert page.locator("#totals").is_visible() and page.locator("#kilos").is_visible()
            assert report.head_hash in page.locator("#published").inner_text()
            # Nothing but the long hashes may run past a phone's width.
            wider = page.evaluate("document.documentElement.scrollWidth") - width
            assert wider <= 0, f"{wider}px wider than the screen at {width}px"
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            page.close()


def test_with_points_that_expire_the_terms_and_the_books_say_so(make_app: Callable[..., Flask]) -> None:
    plain = make_app().test_client()
    assert "expire" not in plain.get("/terms").get_data(as_text=True)
    assert "Points expired" not in plain.get("/open").get_data(as_text=True)
    client = make_app(points_expire_months=12).test_client()
    terms = client.get("/terms").get_data(as_text=True)
    assert "12 months after the end of the month they were earned" in terms
    assert "30 and 7 days before" in terms
    books = client.get("/open").get_data(as_text=True)
    assert "Points expired (unspent 12 months after the end of the month" in books
    assert client.get("/open.json").get_json()["household_points"]["expired"] == 0
