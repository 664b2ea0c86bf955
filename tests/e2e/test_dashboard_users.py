"""The Users page, for admins: the list, adding a user, changing a role, a new password, disabling
and enabling; each change audited with its actor, and refused with the reason when it must be
(the passwords differ, too short, the admin's own account, the last active admin). Operators and
auditors get 403 on every users URL. Then the same in Chromium, on a laptop and on a phone."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from redis import Redis
from sqlalchemy import select

from service.models import api_tokens_t
from service.usecases import audit, tokens, users
from tests.e2e.browser import Site, live_site, overflow
from tests.e2e.conftest import snapshot
from tests.e2e.hub import PASSWORD, Browser, Hub

if TYPE_CHECKING:
    from playwright.sync_api import Browser as Chromium
    from playwright.sync_api import Page

NEW_PASSWORD = "a brand new long password"
ENDPOINTS = {
    "dashboard.users",
    "dashboard.users_add",
    "dashboard.users_account",
    "dashboard.users_role",
    "dashboard.users_password",
    "dashboard.users_disable",
    "dashboard.users_enable",
}


def found(hub: Hub, email: str) -> users.User:
    user = hub.read(lambda s: users.user_by_email(s, email))
    assert user is not None, email
    return user  # type: ignore[no-any-return]


def entries(hub: Hub, action: str) -> list[audit.Entry]:
    return hub.read(lambda s: audit.entries(s, action=action))  # type: ignore[no-any-return]


def readable(markup: str) -> str:
    """Markup as a person reads it: tags out, entities read."""
    return html.unescape(re.sub(r"<[^>]+>", " ", markup))


def refusal(response: Any) -> str:
    assert response.status_code == 422, response.text[:500]
    alert = re.search(r'<p class="flash flash-error" role="alert">(.*?)</p>', response.text, re.S)
    assert alert, response.text[:500]
    return html.unescape(alert.group(1))


def operator_signed_in(hub: Hub) -> tuple[Browser, str, int]:
    """An operator's browser, their email and id. The email is unique across tests: a wrong
    password tried for it counts against its sign-in limit in Redis beyond this test."""
    email = hub.add_user("operator")
    browser = hub.browser()
    assert browser.sign_in(email).status_code == 302
    return browser, email, found(hub, email).id


def signed_out(browser: Browser) -> bool:
    response = browser.get("/dashboard/")
    return response.status_code == 302 and "/dashboard/sign-in" in response.headers["Location"]


def api_token(hub: Hub, email: str) -> int:
    user_id = found(hub, email).id
    issued = hub.read(lambda s: tokens.issue_token(s, datetime.now(UTC), user_id=user_id, label="report"))
    return int(issued.holder.token_id)


def revoked_by(hub: Hub, token_id: int) -> str | None:
    return hub.read(  # type: ignore[no-any-return]
        lambda s: s.execute(
            select(api_tokens_t.c.revoked_by).where(api_tokens_t.c.id == token_id)
        ).scalar_one()
    )


@pytest.fixture
def admin(hub: Hub) -> Browser:
    return hub.signed_in("admin", "boss@hub.example")


# --- the list and adding ---------------------------------------------------------------------------


def test_an_admin_sees_every_user_with_role_status_created_and_last_sign_in(hub: Hub, admin: Browser) -> None:
    hub.add_user("operator", "ada@hub.example")
    hub.add_user("auditor", "old@hub.example")
    hub.read(lambda s: users.set_active(s, "old@hub.example", False))
    page = admin.get("/dashboard/users")
    assert page.status_code == 200
    assert re.search(r'<a href="/dashboard/users"[^>]*>Users</a>', page.text)  # in the menu
    rows = {
        u.email: readable(page.text.split(f'<tr id="user-{u.id}">')[1].split("</tr>")[0])
        for u in hub.read(users.users)
    }
    boss, ada = found(hub, "boss@hub.example"), found(hub, "ada@hub.example")
    zone = hub.runtime.settings.zone
    assert boss.last_sign_in_at is not None
    assert rows["boss@hub.example"].split() == [
        "boss@hub.example",
        "admin",
        "active",
        *boss.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M").split(),
        *boss.last_sign_in_at.astimezone(zone).strftime("%Y-%m-%d %H:%M").split(),
    ]
    assert rows["ada@hub.example"].split() == [
        "ada@hub.example",
        "operator",
        "active",
        *ada.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M").split(),
        "never",
    ]
    assert rows["old@hub.example"].split()[1:3] == ["auditor", "disabled"]
    assert f'href="/dashboard/users/{ada.id}"' in page.text


def test_an_admin_adds_a_user_who_then_signs_in(hub: Hub, admin: Browser) -> None:
    form = {
        "email": " Ben@Hub.Example ",
        "role": "operator",
        "password": PASSWORD,
        "password_again": PASSWORD,
    }
    response = admin.post("/dashboard/users", form)
    assert response.status_code == 303
    ben = found(hub, "ben@hub.example")
    assert (ben.role, ben.active) == ("operator", True)
    assert response.headers["Location"] == f"/dashboard/users#user-{ben.id}"
    listed = admin.get("/dashboard/users").text
    assert "Added ben@hub.example (operator)." in listed and PASSWORD not in listed
    (entry,) = entries(hub, "user.add")
    boss = found(hub, "boss@hub.example")
    assert (entry.actor, entry.user_id, entry.subject) == ("boss@hub.example", boss.id, f"user:{ben.id}")
    assert entry.details == {"email": "ben@hub.example", "role": "operator"}
    assert hub.browser().sign_in("ben@hub.example").status_code == 302


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"password_again": PASSWORD + "x"},
            "The two passwords are not the same. Type the new password twice.",
        ),
        ({"password": "short one", "password_again": "short one"}, "a password has at least 10 characters"),
        ({"email": "not an email"}, "'not an email' is not an email address"),
        ({"email": "boss@hub.example"}, "boss@hub.example has an account already"),
        ({"role": "root"}, "the role is one of admin, operator, auditor, not 'root'"),
        ({"password": "ben@hub.example", "password_again": "ben@hub.example"}, "cannot be the email"),
    ],
)
def test_adding_refused_says_why_keeps_the_form_and_adds_nobody(
    hub: Hub, admin: Browser, change: dict[str, str], reason: str
) -> None:
    form = {"email": "ben@hub.example", "role": "auditor", "password": PASSWORD, "password_again": PASSWORD}
    form.update(change)
    before = snapshot(hub.runtime.engine)
    response = admin.post("/dashboard/users", form)
    assert reason in refusal(response)
    assert f'value="{html.escape(form["email"])}"' in response.text  # the email stays typed
    assert PASSWORD not in response.text  # the passwords do not
    if form["role"] == "auditor":
        assert '<option value="auditor" selected>' in response.text
    assert snapshot(hub.runtime.engine) == before


# --- a user's page: role, password, disable and enable ---------------------------------------------


def test_a_new_role_applies_from_the_users_next_page_without_signing_them_out(
    hub: Hub, admin: Browser
) -> None:
    ada = hub.signed_in("operator", "ada@hub.example")
    ada_id = found(hub, "ada@hub.example").id
    page = admin.get(f"/dashboard/users/{ada_id}")
    assert page.status_code == 200 and 'id="set-role"' in page.text and 'id="disable"' in page.text
    response = admin.post(f"/dashboard/users/{ada_id}/role", {"role": "auditor"})
    assert response.status_code == 303 and response.headers["Location"] == f"/dashboard/users/{ada_id}"
    assert "ada@hub.example's role is now auditor" in readable(admin.get(f"/dashboard/users/{ada_id}").text)
    assert found(hub, "ada@hub.example").role == "auditor"
    assert 'class="role role-auditor">auditor<' in ada.get("/dashboard/").text  # still signed in
    assert ada.post("/dashboard/adjustments", {"account": "collector:1", "amount": "5"}).status_code == 403
    (entry,) = entries(hub, "user.role")
    assert (entry.actor, entry.subject) == ("boss@hub.example", f"user:{ada_id}")
    assert entry.details == {"email": "ada@hub.example", "from": "operator", "to": "auditor"}


@pytest.mark.parametrize(
    ("target", "role", "reason"),
    [
        ("ada@hub.example", "root", "the role is one of admin, operator, auditor, not 'root'"),
        ("ada@hub.example", "operator", "ada@hub.example is an operator already"),
        ("ada@hub.example", "", "the role is one of"),
        ("boss@hub.example", "operator", "you cannot change your own role; another admin can"),
    ],
)
def test_a_role_change_refused_says_why_and_changes_nothing(
    hub: Hub, admin: Browser, target: str, role: str, reason: str
) -> None:
    hub.add_user("operator", "ada@hub.example")
    hub.add_user("admin", "second@hub.example")
    before = snapshot(hub.runtime.engine)
    response = admin.post(f"/dashboard/users/{found(hub, target).id}/role", {"role": role})
    assert reason in refusal(response)
    assert snapshot(hub.runtime.engine) == before


def test_the_last_active_admin_keeps_the_admin_role_and_cannot_be_disabled(hub: Hub, admin: Browser) -> None:
    hub.add_user("admin", "old@hub.example")
    hub.read(lambda s: users.set_active(s, "old@hub.example", False))  # no admin to fall back on
    boss_id = found(hub, "boss@hub.example").id
    page = admin.get(f"/dashboard/users/{boss_id}")
    assert 'id="set-role"' not in page.text and 'id="disable"' not in page.text  # not offered
    assert "This is you" in page.text
    before = snapshot(hub.runtime.engine)
    for action, form in (("role", {"role": "operator"}), ("disable", {})):
        response = admin.post(f"/dashboard/users/{boss_id}/{action}", form)
        assert "that is the last active admin" in refusal(response), action
    assert snapshot(hub.runtime.engine) == before
    assert not signed_out(admin)


def test_an_admin_cannot_disable_themselves(hub: Hub, admin: Browser) -> None:
    hub.add_user("admin", "second@hub.example")
    before = snapshot(hub.runtime.engine)
    response = admin.post(f"/dashboard/users/{found(hub, 'boss@hub.example').id}/disable")
    assert refusal(response) == "you cannot disable your own account; another admin can"
    assert snapshot(hub.runtime.engine) == before
    assert not signed_out(admin)


def test_a_new_password_signs_the_user_out_everywhere_and_ends_their_api_tokens(
    hub: Hub, admin: Browser
) -> None:
    ada, email, ada_id = operator_signed_in(hub)
    token = api_token(hub, email)
    url = f"/dashboard/users/{ada_id}/password"
    before = snapshot(hub.runtime.engine)
    for form, reason in (
        (
            {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD + "!"},
            "The two passwords are not the same",
        ),
        ({"password": "too short", "password_again": "too short"}, "a password has at least 10 characters"),
        ({"password": "", "password_again": ""}, "a password has at least 10 characters"),
    ):
        response = admin.post(url, form)
        assert reason in refusal(response)
        assert NEW_PASSWORD not in response.text
    assert snapshot(hub.runtime.engine) == before and not signed_out(ada)

    response = admin.post(url, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == f"/dashboard/users/{ada_id}"
    page = admin.get(f"/dashboard/users/{ada_id}").text
    assert f"New password set for {email}: signed out everywhere, API tokens ended." in page
    assert signed_out(ada)
    assert revoked_by(hub, token) == f"user:{found(hub, 'boss@hub.example').id} boss@hub.example"
    assert hub.browser().sign_in(email, PASSWORD).status_code == 401
    assert hub.browser().sign_in(email, NEW_PASSWORD).status_code == 302
    (entry,) = entries(hub, "user.password")
    assert (entry.actor, entry.subject, entry.details) == (
        "boss@hub.example",
        f"user:{ada_id}",
        {"email": email},
    )


def test_an_admin_setting_their_own_password_signs_in_again_with_it(hub: Hub, admin: Browser) -> None:
    boss_id = found(hub, "boss@hub.example").id
    response = admin.post(
        f"/dashboard/users/{boss_id}/password", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/sign-in"
    assert "you are signed out everywhere: sign in with it" in admin.get("/dashboard/sign-in").text
    assert signed_out(admin)
    assert hub.browser().sign_in("boss@hub.example", NEW_PASSWORD).status_code == 302


def test_disabling_signs_the_user_out_and_enabling_lets_them_back(hub: Hub, admin: Browser) -> None:
    ada, email, ada_id = operator_signed_in(hub)
    token = api_token(hub, email)
    response = admin.post(f"/dashboard/users/{ada_id}/disable")
    assert response.status_code == 303 and response.headers["Location"] == f"/dashboard/users/{ada_id}"
    page = admin.get(f"/dashboard/users/{ada_id}").text
    assert f"{email} is disabled: signed out everywhere, API tokens ended." in page
    assert 'data-figure="status">disabled: cannot sign in<' in page and 'id="enable"' in page
    assert signed_out(ada) and not found(hub, email).active
    assert revoked_by(hub, token) is not None
    assert hub.browser().sign_in(email).status_code == 401

    before = snapshot(hub.runtime.engine)
    assert refusal(admin.post(f"/dashboard/users/{ada_id}/disable")) == f"{email} is disabled already"
    assert snapshot(hub.runtime.engine) == before

    assert admin.post(f"/dashboard/users/{ada_id}/enable").status_code == 303
    assert f"{email} is enabled: they can sign in again." in admin.get(f"/dashboard/users/{ada_id}").text
    assert hub.browser().sign_in(email).status_code == 302
    assert revoked_by(hub, token) is not None  # the old token stays ended
    assert refusal(admin.post(f"/dashboard/users/{ada_id}/enable")) == f"{email} is active already"
    admins = [
        e for e in entries(hub, "user.") if e.actor == "boss@hub.example" and e.action != "user.sign_in"
    ]
    assert [(e.action, e.subject, e.details) for e in admins] == [
        ("user.enable", f"user:{ada_id}", {"email": email}),
        ("user.disable", f"user:{ada_id}", {"email": email}),
    ]


# --- who may ---------------------------------------------------------------------------------------


def _users_urls(hub: Hub, user_id: int) -> list[tuple[str, str]]:
    """(method, url) of every users page and action, read from the app's URL map."""
    rules = [rule for rule in hub.app.url_map.iter_rules() if rule.endpoint.startswith("dashboard.users")]
    assert {rule.endpoint for rule in rules} == ENDPOINTS
    with hub.app.test_request_context():
        from flask import url_for

        arguments: dict[str, Any] = {"user_id": user_id}
        return [
            (method, url_for(rule.endpoint, **{name: arguments[name] for name in rule.arguments}))
            for rule in rules
            for method in ("GET", "POST")
            if method in (rule.methods or ())
        ]


@pytest.mark.parametrize("role", ["operator", "auditor"])
def test_operators_and_auditors_get_403_on_every_users_url(hub: Hub, role: str) -> None:
    hub.add_user("admin", "boss@hub.example")
    target = found(hub, hub.add_user("operator", "ada@hub.example"))
    browser = hub.signed_in(role)
    assert 'href="/dashboard/users"' not in browser.get("/dashboard/").text  # not in the menu
    form = {"email": "eve@hub.example", "role": "admin", "password": PASSWORD, "password_again": PASSWORD}
    before = snapshot(hub.runtime.engine)
    for user_id in (target.id, 9999):
        for method, url in _users_urls(hub, user_id):
            response = browser.get(url) if method == "GET" else browser.post(url, form)
            assert response.status_code == 403, (method, url, response.status_code)
    assert snapshot(hub.runtime.engine) == before


def test_an_unknown_user_is_404(hub: Hub, admin: Browser) -> None:
    before = snapshot(hub.runtime.engine)
    for method, url in _users_urls(hub, 9999):
        if url.rstrip("/").endswith("/users"):
            continue
        response = admin.get(url) if method == "GET" else admin.post(url, {"role": "auditor"})
        assert response.status_code == 404, (method, url)
        assert "there is no user 9999" in response.text
    assert snapshot(hub.runtime.engine) == before


# --- in Chromium -----------------------------------------------------------------------------------

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def site(hub: Hub, redis: Redis, browser: Chromium, request: pytest.FixtureRequest) -> Iterator[Site]:
    """The seeded demo served live (Redis emptied: every browser signs in from 127.0.0.1)."""
    hub.seed()
    with live_site(hub, browser, request.node.name) as made:
        yield made


def menu(page: Page) -> list[str]:
    """The areas in the page's menu, shown or folded away (on a phone it may sit behind "Menu")."""
    links = page.get_by_role("banner").get_by_role("link", include_hidden=True)
    return [text.strip() for text in links.all_text_contents()]


def open_area(page: Page, name: str) -> None:
    """Clicks the menu's link to an area, opening the phone's "Menu" first where there is one."""
    banner = page.get_by_role("banner")
    toggle = banner.locator("details > summary")
    if toggle.count() and toggle.first.is_visible():
        toggle.first.click()
    banner.locator("a:visible").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$")).first.click()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize(("width", "options"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_an_admin_adds_an_operator_resets_their_password_and_disables_them(
    site: Site, width: str, options: dict[str, Any]
) -> None:
    from playwright.sync_api import expect

    hub = site.hub
    page, _ = site.signed_in("admin", **options)
    email = f"kemi.{width}@hub.example"
    assert "Users" in menu(page)
    open_area(page, "Users")
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    assert overflow(page) <= 0
    site.shot(page, f"{width} users")

    form = page.locator("#add-user")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Role").select_option("operator")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Password again").fill(PASSWORD + "?")
    form.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The two passwords are not the same. Type the new password twice."
    )
    expect(page.locator("#add-user").get_by_label("Email")).to_have_value(email)
    assert hub.read(lambda s: users.user_by_email(s, email)) is None
    # The browser logs the refusal's 422 as a failed load: expected here.
    assert [p.split(": ", 1)[1] for p in site.problems] == [
        "Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"
    ]
    site.problems.clear()
    form = page.locator("#add-user")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Password again").fill(PASSWORD)
    form.get_by_role("button", name="Add user").click()
    expect(page.locator("p.flash[role=status]")).to_have_text(
        f"Added {email} (operator). They sign in at /dashboard with the password you set."
    )
    added = found(hub, email)
    row = page.locator(f"#user-{added.id}")
    expect(row).to_contain_text(email)
    expect(row).to_contain_text("operator")
    expect(row).to_contain_text("never")
    assert overflow(page) <= 0
    site.shot(page, f"{width} operator added")

    # The operator signs in: no Users in their menu, and the users page is not theirs.
    theirs = site.page(**options)
    site.sign_in(theirs, email)
    theirs.wait_for_url("**/dashboard/")
    assert "Users" not in menu(theirs) and "Ledger" in menu(theirs)
    site.shot(theirs, f"{width} the operator's menu")

    row.get_by_role("link", name=email).click()
    expect(page.locator("h1")).to_have_text(email)
    assert overflow(page) <= 0
    site.shot(page, f"{width} the operator's page")
    password = page.locator("#set-password")
    password.get_by_label("New password").fill(NEW_PASSWORD)
    password.get_by_label("Again").fill(NEW_PASSWORD)
    password.get_by_role("button", name="Set new password").click()
    expect(page.locator("p.flash[role=status]")).to_have_text(
        f"New password set for {email}: signed out everywhere, API tokens ended."
    )
    theirs.reload()
    expect(theirs).to_have_url(re.compile(r"/dashboard/sign-in"))  # signed out by the new password
    site.sign_in(theirs, email, NEW_PASSWORD)
    theirs.wait_for_url("**/dashboard/")

    page.get_by_role("button", name="Disable this user").click()
    expect(page.locator("p.flash[role=status]")).to_have_text(
        f"{email} is disabled: signed out everywhere, API tokens ended."
    )
    expect(page.locator("[data-figure=status]")).to_have_text("disabled: cannot sign in")
    expect(page.get_by_role("button", name="Enable this user")).to_be_visible()
    assert overflow(page) <= 0
    site.shot(page, f"{width} operator disabled")
    theirs.reload()
    expect(theirs).to_have_url(re.compile(r"/dashboard/sign-in"))

    page.get_by_role("link", name="← Users").click()
    expect(page.locator(f"#user-{added.id}")).to_contain_text("disabled")
    assert overflow(page) <= 0
    site.shot(page, f"{width} users after")
    done = found(hub, email)
    assert (done.role, done.active) == ("operator", False)
    assert [e.action for e in entries(hub, "user.")[:4]] == [
        "user.disable",
        "user.sign_in",
        "user.password",
        "user.sign_in",
    ]
    assert site.problems == []
