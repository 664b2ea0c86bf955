"""Households and collectors managed from the dashboard, on the seeded demo: an operator (or an
admin) adds a household (its code, its welcome text), edits it, moves it, changes its phone,
suspends and reinstates it; adds a collector, renames, moves, suspends them. Every change is in
the audit log with the values before and after; a refusal is the page again (422) and changes
nothing; an auditor sees no form and gets 403 for every POST. Then the same by clicking, in
Chromium, at desktop and phone widths."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis
from sqlalchemy import select

from service.models import audit_log_t, outbox_t, pickup_requests_t
from service.usecases import collection_days
from service.usecases.households import get_household, member_by_phone
from service.usecases.roles import collector_by_phone, get_collector
from service.usecases.zones import zone_by_name
from tests.e2e.browser import Site, live_site, overflow
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser as Chromium
    from playwright.sync_api import Page

ADA = "+2348031234567"  # the demo's: a household in Yaba
MUSA = "+2348030000001"  # a collector in Yaba
SHOP = "+2348040000001"  # the partner shop
NEW = "+2348091112222"  # nobody's yet
NEW_TYPED = "0809 111 2222"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def hub_seeded(hub: Hub) -> Hub:
    hub.seed()
    return hub


def zone_id(hub: Hub, name: str) -> int:
    zone = hub.read(lambda s: zone_by_name(s, name))
    assert zone is not None
    return int(zone.id)


def ada_id(hub: Hub) -> int:
    member = hub.read(lambda s: member_by_phone(s, ADA))
    assert member is not None
    return int(member.id)


def musa_id(hub: Hub) -> int:
    collector = hub.read(lambda s: collector_by_phone(s, MUSA))
    assert collector is not None
    return int(collector.id)


def audited(hub: Hub, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The audit entries of ``action``: (actor, subject, details)."""
    rows = hub.read(
        lambda s: s.execute(
            select(audit_log_t.c.actor, audit_log_t.c.subject, audit_log_t.c.details)
            .where(audit_log_t.c.action == action)
            .order_by(audit_log_t.c.id)
        ).all()
    )
    return [
        (actor, subject, details if isinstance(details, dict) else json.loads(details))
        for actor, subject, details in rows
    ]


def flashed(page: str) -> str:
    """The page's last "done" message (those of earlier changes not shown yet come before it)."""
    found = re.findall(r'<p class="flash flash-ok" role="status">(.*?)</p>', page, re.S)
    assert found, "no flash on the page"
    return html.unescape(found[-1])


def refusal(answer: Any) -> str:
    assert answer.status_code == 422, answer.text[:500]
    found = re.search(r'<p class="flash flash-error" role="alert">(.*?)</p>', answer.text, re.S)
    assert found, "no reason on the page"
    return html.unescape(found.group(1))


# --- households ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_an_operator_adds_a_household_which_gets_its_code_and_welcome(hub_seeded: Hub, role: str) -> None:
    hub = hub_seeded
    browser = hub.signed_in(role)
    page = browser.get("/dashboard/households").text
    assert 'id="add-household"' in page and 'action="/dashboard/households"' in page
    for language in ("English", "Pidgin", "Yoruba", "Hausa", "Igbo"):
        assert f">{language}</option>" in page
    assert ">Yaba (Tue, Fri 8-12)</option>" in page
    answer = browser.post(
        "/dashboard/households",
        {
            "name": " Bola  Ade ",
            "phone": NEW_TYPED,
            "zone": str(zone_id(hub, "Sabo")),
            "language": "PCM",
            "address": "3 Market Rd",
        },
    )
    assert answer.status_code == 303
    member = hub.read(lambda s: member_by_phone(s, NEW))
    assert member is not None and answer.location.endswith(f"/dashboard/households/{member.id}")
    added = hub.read(lambda s: get_household(s, member.id))
    assert (added.name, added.address, added.zone_id, added.language, added.status) == (
        "Bola Ade",
        "3 Market Rd",
        zone_id(hub, "Sabo"),
        "PCM",
        "active",
    )
    welcome = hub.read(
        lambda s: s.execute(
            select(outbox_t.c.template, outbox_t.c.language, outbox_t.c.body).where(
                outbox_t.c.to_phone == NEW
            )
        ).all()
    )
    assert [(template, language) for template, language, _ in welcome] == [("welcome", "PCM")]
    assert member.member_code in welcome[0][2]
    page = browser.get(answer.location).text
    assert flashed(page) == f"Bola Ade is member {member.member_code}; their welcome text is on its way."
    assert audited(hub, "household.add") == [
        (
            browser.email,
            f"member:{member.member_code}",
            {
                "member_code": member.member_code,
                "name": "Bola Ade",
                "phone": NEW,
                "zone": "Sabo",
                "language": "PCM",
                "address": "3 Market Rd",
            },
        )
    ]


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"phone": "12345"}, "'12345' is not a phone number"),
        ({"phone": ""}, "give the phone number"),
        ({"phone": "0803 123 4567"}, "+2348031234567 is already member"),
        ({"phone": MUSA}, "+2348030000001 is a collector's phone; a household needs its own"),
        ({"phone": SHOP}, "is a partner shop's phone"),
        ({"name": "  "}, "a household needs a name of 1 to 80 characters"),
        ({"zone": ""}, "choose one of the zones"),
        ({"zone": "999"}, "choose one of the zones"),
        ({"zone": "x"}, "choose one of the zones"),
        ({"language": "FR"}, "the language must be one of"),
        ({"address": "y" * 161}, "an address is at most 160 characters"),
    ],
)
def test_a_refused_household_is_the_form_again_and_changes_nothing(
    hub_seeded: Hub, form: dict[str, str], reason: str
) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    typed = {
        "name": "Bola Ade",
        "phone": NEW_TYPED,
        "zone": str(zone_id(hub, "Yaba")),
        "language": "EN",
        "address": "",
    } | form
    answer = operator.post("/dashboard/households", typed)
    assert reason in refusal(answer)
    assert '<details id="add-household" open>' in answer.text  # the form as typed, open
    assert f'name="name" value="{html.escape(typed["name"].strip())}"' in answer.text
    assert 'id="households"' in answer.text
    assert snapshot(hub.runtime.engine) == before


def test_an_operator_edits_moves_rephones_suspends_and_reinstates_a_household(hub_seeded: Hub) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    ada = ada_id(hub)
    url = f"/dashboard/households/{ada}"
    page = operator.get(url).text
    for form in ("edit-household", "move-household", "change-phone", "household-status"):
        assert f'id="{form}"' in page
    assert 'value="Ada Okafor"' in page and '<option value="EN" selected>' in page

    answer = operator.post(
        f"{url}/edit", {"name": "Ada N. Okafor", "address": "12 Adeniyi St, Yaba", "language": "YO"}
    )
    assert answer.status_code == 303 and answer.location.endswith(url)
    after = hub.read(lambda s: get_household(s, ada))
    assert (after.name, after.language) == ("Ada N. Okafor", "YO")
    code = after.member_code
    assert audited(hub, "household.edit") == [
        (
            operator.email,
            f"member:{code}",
            {"name": ["Ada Okafor", "Ada N. Okafor"], "language": ["EN", "YO"]},
        )
    ]

    # A PICKUP for Yaba's coming Tuesday or Friday: dropped when Ada moves to Sabo.
    with hub.runtime.unit_of_work() as uow:
        collection_days.ask(uow, member_by_phone(uow.session, ADA), "pickup")
    answer = operator.post(f"{url}/zone", {"zone": str(zone_id(hub, "Sabo"))})
    assert answer.status_code == 303
    assert (
        flashed(operator.get(url).text)
        == f"{code} Ada N. Okafor moved to Sabo. 1 pickup request for Yaba dropped."
    )
    assert hub.read(lambda s: get_household(s, ada)).zone_id == zone_id(hub, "Sabo")
    assert hub.count(pickup_requests_t, pickup_requests_t.c.household_id == ada) == 0
    assert audited(hub, "household.move") == [
        (operator.email, f"member:{code}", {"zone": ["Yaba", "Sabo"], "requests_dropped": 1})
    ]

    answer = operator.post(f"{url}/phone", {"phone": NEW_TYPED})
    assert answer.status_code == 303
    assert hub.read(lambda s: get_household(s, ada)).phone == NEW
    assert audited(hub, "household.phone") == [(operator.email, f"member:{code}", {"phone": [ADA, NEW]})]

    answer = operator.post(f"{url}/status", {"status": "suspended", "reason": "two households, one phone"})
    assert answer.status_code == 303
    page = operator.get(url).text
    assert flashed(page) == f"{code} Ada N. Okafor is suspended."
    assert "<summary>Reinstate</summary>" in page
    answer = operator.post(f"{url}/status", {"status": "active", "reason": ""})
    assert answer.status_code == 303
    assert hub.read(lambda s: get_household(s, ada)).status == "active"
    assert audited(hub, "household.suspend") == [
        (
            operator.email,
            f"member:{code}",
            {"status": ["active", "suspended"], "reason": "two households, one phone"},
        )
    ]
    assert audited(hub, "household.reinstate") == [
        (operator.email, f"member:{code}", {"status": ["suspended", "active"], "reason": ""})
    ]


@pytest.mark.parametrize(
    ("action", "form", "reason"),
    [
        ("edit", {"name": "", "address": "", "language": "EN"}, "a household needs a name"),
        (
            "edit",
            {"name": "Ada Okafor", "address": "12 Adeniyi St, Yaba", "language": "EN"},
            "nothing to change",
        ),
        ("edit", {"name": "Ada", "address": "", "language": "XX"}, "the language must be one of"),
        ("zone", {"zone": "999"}, "choose one of the zones"),
        ("zone", {"zone": "yaba"}, "is in Yaba already"),
        ("phone", {"phone": "not a phone"}, "is not a phone number"),
        ("phone", {"phone": MUSA}, "is a collector's phone"),
        ("phone", {"phone": "+2348063456789"}, "is already member"),
        ("phone", {"phone": ADA}, "phone already"),
        ("status", {"status": "suspended", "reason": " "}, "say why the household is suspended"),
        ("status", {"status": "active", "reason": ""}, "is active already"),
        ("status", {"status": "deleted", "reason": "x"}, "status must be one of active, suspended"),
    ],
)
def test_a_refused_household_change_is_the_page_again_and_changes_nothing(
    hub_seeded: Hub, action: str, form: dict[str, str], reason: str
) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    if form.get("zone") == "yaba":
        form = {"zone": str(zone_id(hub, "Yaba"))}
    before = snapshot(hub.runtime.engine)
    answer = operator.post(f"/dashboard/households/{ada_id(hub)}/{action}", form)
    assert reason in refusal(answer)
    failed = {
        "edit": "edit-household",
        "zone": "move-household",
        "phone": "change-phone",
        "status": "household-status",
    }
    assert f'<details id="{failed[action]}" open>' in answer.text
    assert 'id="statement"' in answer.text  # the whole household page
    assert snapshot(hub.runtime.engine) == before


# --- collectors ------------------------------------------------------------------------------------


def test_an_operator_adds_renames_moves_and_suspends_a_collector(hub_seeded: Hub) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    page = operator.get("/dashboard/collectors").text
    assert 'id="add-collector"' in page and 'action="/dashboard/collectors"' in page
    answer = operator.post(
        "/dashboard/collectors", {"name": "Kunle Ojo", "phone": NEW_TYPED, "zone": str(zone_id(hub, "Yaba"))}
    )
    assert answer.status_code == 303
    kunle = hub.read(lambda s: collector_by_phone(s, NEW))
    assert kunle is not None and (kunle.name, kunle.zone_id, kunle.status) == (
        "Kunle Ojo",
        zone_id(hub, "Yaba"),
        "active",
    )
    url = f"/dashboard/collectors/{kunle.id}"
    assert answer.location.endswith(url)
    assert flashed(operator.get(url).text).startswith("Kunle Ojo is a collector in Yaba")
    subject = f"collector:{kunle.id}"
    assert audited(hub, "collector.add") == [
        (operator.email, subject, {"name": "Kunle Ojo", "phone": NEW, "zone": "Yaba"})
    ]

    assert operator.post(f"{url}/edit", {"name": "Kunle O. Ojo"}).status_code == 303
    assert operator.post(f"{url}/zone", {"zone": str(zone_id(hub, "Sabo"))}).status_code == 303
    assert (
        operator.post(f"{url}/status", {"status": "suspended", "reason": "scale not returned"}).status_code
        == 303
    )
    after = hub.read(lambda s: get_collector(s, kunle.id))
    assert (after.name, after.zone_id, after.status) == ("Kunle O. Ojo", zone_id(hub, "Sabo"), "suspended")
    page = operator.get(url).text
    assert flashed(page) == "Kunle O. Ojo is suspended."
    assert "<summary>Reinstate</summary>" in page
    assert operator.post(f"{url}/status", {"status": "active", "reason": "scale back"}).status_code == 303
    assert hub.read(lambda s: get_collector(s, kunle.id)).status == "active"
    assert audited(hub, "collector.edit") == [
        (operator.email, subject, {"name": ["Kunle Ojo", "Kunle O. Ojo"]})
    ]
    assert audited(hub, "collector.move") == [(operator.email, subject, {"zone": ["Yaba", "Sabo"]})]
    assert audited(hub, "collector.suspend") == [
        (operator.email, subject, {"status": ["active", "suspended"], "reason": "scale not returned"})
    ]
    assert audited(hub, "collector.reinstate") == [
        (operator.email, subject, {"status": ["suspended", "active"], "reason": "scale back"})
    ]

    # Where they live: a household at that address is their own (its pickups are held).
    assert operator.post(f"{url}/home", {"home_address": " 7  Bode Street "}).status_code == 303
    assert 'value="7 Bode Street"' in operator.get(url).text
    assert operator.post(f"{url}/home", {"home_address": ""}).status_code == 303
    assert audited(hub, "collector.home") == [
        (operator.email, subject, {"home_address": [None, "7 Bode Street"]}),
        (operator.email, subject, {"home_address": ["7 Bode Street", None]}),
    ]


@pytest.mark.parametrize(
    ("path", "form", "reason"),
    [
        ("", {"name": "Kunle", "phone": ADA, "zone": "yaba"}, "is a member household's phone"),
        ("", {"name": "Kunle", "phone": MUSA, "zone": "yaba"}, "is already a collector"),
        ("", {"name": "Kunle", "phone": "0809", "zone": "yaba"}, "is not a phone number"),
        ("", {"name": "", "phone": NEW, "zone": "yaba"}, "a collector needs a name"),
        ("", {"name": "Kunle", "phone": NEW, "zone": ""}, "choose one of the zones"),
        ("", {"name": "Kunle", "phone": NEW, "zone": "999"}, "choose one of the zones"),
        ("/musa/edit", {"name": " "}, "a collector needs a name"),
        ("/musa/zone", {"zone": "999"}, "choose one of the zones"),
        ("/musa/zone", {"zone": "yaba"}, "covers Yaba already"),
        ("/musa/status", {"status": "suspended", "reason": ""}, "say why the collector is suspended"),
        ("/musa/status", {"status": "active", "reason": ""}, "is active already"),
        ("/musa/home", {"home_address": "x" * 161}, "161 characters; 160 at most"),
    ],
)
def test_a_refused_collector_change_is_the_page_again_and_changes_nothing(
    hub_seeded: Hub, path: str, form: dict[str, str], reason: str
) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    if form.get("zone") == "yaba":
        form = form | {"zone": str(zone_id(hub, "Yaba"))}
    before = snapshot(hub.runtime.engine)
    answer = operator.post("/dashboard/collectors" + path.replace("musa", str(musa_id(hub))), form)
    assert reason in refusal(answer)
    assert ('id="collectors"' if not path else 'id="app-tokens"') in answer.text
    assert snapshot(hub.runtime.engine) == before


def test_a_pin_refusal_still_shows_under_the_app_heading(hub_seeded: Hub) -> None:
    operator = hub_seeded.signed_in("operator")
    answer = operator.post(
        f"/dashboard/collectors/{musa_id(hub_seeded)}/pin", {"pin": "1234", "pin_again": "4321"}
    )
    assert answer.status_code == 422
    before_app, after_app = answer.text.split('<h2 id="app">')
    assert "flash-error" not in before_app and "The two PINs are not the same" in after_app


# --- who may -----------------------------------------------------------------------------------------


def posts(hub: Hub) -> list[tuple[str, dict[str, str]]]:
    ada, musa, yaba = ada_id(hub), musa_id(hub), str(zone_id(hub, "Yaba"))
    return [
        ("/dashboard/households", {"name": "Bola", "phone": NEW, "zone": yaba, "language": "EN"}),
        (f"/dashboard/households/{ada}/edit", {"name": "Ada X", "address": "", "language": "EN"}),
        (f"/dashboard/households/{ada}/zone", {"zone": str(zone_id(hub, "Sabo"))}),
        (f"/dashboard/households/{ada}/phone", {"phone": NEW}),
        (f"/dashboard/households/{ada}/status", {"status": "suspended", "reason": "x"}),
        ("/dashboard/collectors", {"name": "Kunle", "phone": NEW, "zone": yaba}),
        (f"/dashboard/collectors/{musa}/edit", {"name": "Musa X"}),
        (f"/dashboard/collectors/{musa}/zone", {"zone": str(zone_id(hub, "Sabo"))}),
        (f"/dashboard/collectors/{musa}/status", {"status": "suspended", "reason": "x"}),
        (f"/dashboard/collectors/{musa}/home", {"home_address": "1 Road"}),
    ]


def test_an_auditor_sees_no_form_and_may_not_post(hub_seeded: Hub) -> None:
    hub = hub_seeded
    auditor = hub.signed_in("auditor")
    for url in (
        "/dashboard/households",
        f"/dashboard/households/{ada_id(hub)}",
        "/dashboard/collectors",
        f"/dashboard/collectors/{musa_id(hub)}",
    ):
        page = auditor.get(url)
        assert page.status_code == 200
        assert 'method="post"' not in page.text.replace('method="post" action="/dashboard/sign-out"', ""), (
            url
        )  # only the sign-out form
        assert "Add household" not in page.text and "Add collector" not in page.text
        assert "Import from CSV" not in page.text
    before = snapshot(hub.runtime.engine)
    for path, form in posts(hub):
        assert auditor.post(path, form).status_code == 403, path
    assert snapshot(hub.runtime.engine) == before


def test_unknown_ids_are_404_and_a_post_needs_its_csrf_token(hub_seeded: Hub) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    for path in (
        "/dashboard/households/9999/edit",
        "/dashboard/households/9999/zone",
        "/dashboard/households/9999/phone",
        "/dashboard/households/9999/status",
        "/dashboard/collectors/9999/edit",
        "/dashboard/collectors/9999/zone",
        "/dashboard/collectors/9999/status",
    ):
        assert (
            operator.post(path, {"name": "X", "zone": "1", "phone": NEW, "status": "active"}).status_code
            == 404
        )
    before = snapshot(hub.runtime.engine)
    for path, form in posts(hub):
        assert operator.post(path, form, csrf=False).status_code == 400, path
    assert snapshot(hub.runtime.engine) == before


def test_export_and_import_links_show_only_where_their_pages_exist(hub_seeded: Hub) -> None:
    hub = hub_seeded
    views = hub.app.view_functions
    operator, auditor = hub.signed_in("operator"), hub.signed_in("auditor")
    households, collectors = (
        operator.get("/dashboard/households").text,
        operator.get("/dashboard/collectors").text,
    )
    assert ('id="export-households"' in households) == ("dashboard.export_households" in views)
    assert ('id="import-households"' in households) == ("dashboard.import_households" in views)
    assert ('id="export-collectors"' in collectors) == ("dashboard.export_collectors" in views)
    assert ('id="export-pickups"' in collectors) == ("dashboard.export_pickups" in views)
    assert 'id="import-households"' not in auditor.get("/dashboard/households").text


# --- in the browser ---------------------------------------------------------------------------------


@pytest.fixture
def site(hub: Hub, redis: Redis, browser: Chromium, request: pytest.FixtureRequest) -> Iterator[Site]:
    hub.seed()
    with live_site(hub, browser, request.node.name) as made:
        yield made


def no_sideways_scroll(page: Page) -> None:
    assert overflow(page) <= 0, page.url


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(
    ("width", "options"), [(1280, {"viewport": {"width": 1280, "height": 900}}), (390, PHONE)]
)
def test_an_operator_adds_moves_and_suspends_a_household_and_adds_a_collector(
    site: Site, width: int, options: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    hub = site.hub
    page, _ = site.signed_in("operator", **options)
    page.goto("/dashboard/households")
    page.locator("#add-household summary").click()
    form = page.locator("#add-household form")
    form.get_by_label("Name").fill("Bola Ade")
    form.get_by_label("Phone").fill(NEW_TYPED)
    form.get_by_label("Zone").select_option(label="Yaba (Tue, Fri 8-12)")
    form.get_by_label("Language").select_option("HA")
    form.get_by_label("Address").fill("3 Market Rd, Yaba")
    no_sideways_scroll(page)
    site.shot(page, f"{width} add household form")
    form.get_by_role("button", name="Add household").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("Bola Ade is member")
    member = hub.read(lambda s: member_by_phone(s, NEW))
    assert member is not None
    expect(page.get_by_role("heading", level=1)).to_contain_text(member.member_code)
    no_sideways_scroll(page)
    site.shot(page, f"{width} household added")

    page.locator("#move-household summary").click()
    page.locator("#move-household").get_by_label("Zone").select_option(label="Sabo (Wed, Sat 9-13)")
    page.locator("#move-household").get_by_role("button", name="Move").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("moved to Sabo")
    expect(page.locator("#details")).to_contain_text("Sabo")

    page.locator("#household-status summary").click()
    status = page.locator("#household-status")
    status.get_by_role("button", name="Suspend").click()  # no reason: the browser asks for one
    assert hub.read(lambda s: get_household(s, member.id)).status == "active"
    status.get_by_label("Why").fill("phone shared with another member")
    no_sideways_scroll(page)
    site.shot(page, f"{width} suspend household")
    status.get_by_role("button", name="Suspend").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("is suspended")
    expect(page.locator("#household-status summary")).to_have_text("Reinstate")
    found = hub.read(lambda s: get_household(s, member.id))
    assert (found.zone_id, found.status, found.language) == (zone_id(hub, "Sabo"), "suspended", "HA")
    no_sideways_scroll(page)
    site.shot(page, f"{width} household suspended")

    page.goto("/dashboard/collectors")
    page.locator("#add-collector summary").click()
    form = page.locator("#add-collector form")
    form.get_by_label("Name").fill("Kunle Ojo")
    form.get_by_label("Phone").fill("0809 333 4444")
    form.get_by_label("Zone").select_option(label="Sabo")
    no_sideways_scroll(page)
    site.shot(page, f"{width} add collector form")
    form.get_by_role("button", name="Add collector").click()
    expect(page.locator("p.flash[role=status]")).to_contain_text("Kunle Ojo is a collector in Sabo")
    kunle = hub.read(lambda s: collector_by_phone(s, "+2348093334444"))
    assert kunle is not None and kunle.zone_id == zone_id(hub, "Sabo")
    no_sideways_scroll(page)
    site.shot(page, f"{width} collector added")

    # A refusal in the browser: the page again with the reason, the form as typed.
    page.goto("/dashboard/collectors")
    page.locator("#add-collector summary").click()
    form = page.locator("#add-collector form")
    form.get_by_label("Name").fill("Musa again")
    form.get_by_label("Phone").fill("0803 000 0001")
    form.get_by_label("Zone").select_option(label="Yaba")
    form.get_by_role("button", name="Add collector").click()
    expect(page.get_by_role("alert")).to_contain_text("is already a collector")
    expect(page.locator("#add-collector form").get_by_label("Name")).to_have_value("Musa again")
    no_sideways_scroll(page)
    site.shot(page, f"{width} collector refused")
    # The 422 is logged by the browser as a failed load: expected here, and only here.
    assert [p.split(": ", 1)[1] for p in site.problems] == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]
