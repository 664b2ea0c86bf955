"""Who may open and do what on the dashboard, for every page and action the app has.

The pages and actions are read from the app's own URL map, so a page added later is covered
without being listed here: every GET page under /dashboard is opened by each role, every POST
action is tried by an auditor (403, nothing changed), without a CSRF token (400, nothing
changed) and signed out (sent to sign in, nothing changed).
"""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.routing import Rule

from tests.e2e.conftest import snapshot
from tests.e2e.hub import Browser, Hub, held_pickup, open_dispute, propose_adjustment

# Actions any signed-in user may take: they change no programme data.
ANY_ROLE_MAY_POST = {"dashboard.sign_in", "dashboard.sign_out", "dashboard.verify_ledger"}
# Actions only an admin may take (an operator gets 403 too).
ADMIN_ONLY_PREFIXES = ("dashboard.programme_", "dashboard.user")
# Pages some roles may not even open: (endpoint, the roles that may).
RESTRICTED_PAGES = {
    "dashboard.users": {"admin"},
    "dashboard.users_account": {"admin"},
    "dashboard.import_households": {"admin", "operator"},  # a form only: nothing there to read
}
PUBLIC = {"dashboard.sign_in"}


def _rules(hub: Hub, method: str) -> list[Rule]:
    return sorted(
        (
            rule
            for rule in hub.app.url_map.iter_rules()
            if rule.endpoint.startswith("dashboard.") and method in (rule.methods or ())
        ),
        key=lambda rule: rule.rule,
    )


def _samples(hub: Hub) -> dict[str, Any]:
    """A real value for every URL argument a dashboard page takes."""
    from service.usecases import users
    from tests.e2e.test_dashboard_broadcasts import proposed_broadcast
    from tests.e2e.test_dashboard_messages import failed_message

    hub.seed()
    proposer = hub.add_user("operator")
    return {
        "transfer_id": 1,
        "household_id": 1,
        "collector_id": 1,
        "dispute_id": open_dispute(hub),
        "adjustment_id": propose_adjustment(hub, proposer),
        "message_id": failed_message(hub),
        "zone_id": 1,
        "weigh_in_id": 1,
        "broadcast_id": proposed_broadcast(hub, proposer),
        "user_id": hub.read(lambda session: users.user_by_email(session, proposer)).id,
        "payout_id": 1,
        "reference": held_pickup(hub),
    }


def _url(hub: Hub, rule: Rule, samples: dict[str, Any]) -> str:
    missing = [name for name in rule.arguments if name not in samples]
    assert not missing, f"add a sample value for {missing} ({rule.rule})"
    with hub.app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **{name: samples[name] for name in rule.arguments})


@pytest.mark.parametrize("role", ["admin", "operator", "auditor"])
def test_every_page_opens_for_every_role(hub: Hub, role: str) -> None:
    samples = _samples(hub)
    browser = hub.signed_in(role)
    for rule in _rules(hub, "GET"):
        if rule.endpoint in PUBLIC:
            continue
        url = _url(hub, rule, samples)
        response = browser.get(url)
        if role not in RESTRICTED_PAGES.get(rule.endpoint, {role}):
            assert response.status_code == 403, (role, url, response.status_code)
            continue
        assert response.status_code == 200, (role, url, response.status_code, response.text[:500])
        if response.mimetype == "text/html":
            assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
            assert response.headers["Cache-Control"] == "no-store"
            assert role in response.text  # the signed-in user's role is shown on every page


def test_a_signed_out_visitor_is_sent_to_sign_in(hub: Hub) -> None:
    samples = _samples(hub)
    visitor = hub.browser()
    for rule in _rules(hub, "GET"):
        if rule.endpoint in PUBLIC:
            continue
        url = _url(hub, rule, samples)
        response = visitor.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/dashboard/sign-in?next="), url
    before = snapshot(hub.runtime.engine)
    for rule in _rules(hub, "POST"):
        if rule.endpoint in PUBLIC:
            continue
        response = visitor.post(_url(hub, rule, samples), {"reason": "x", "note": "x"})
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/dashboard/sign-in")
    assert snapshot(hub.runtime.engine) == before


def _post_every_action(hub: Hub, browser: Browser, samples: dict[str, Any], **options: Any) -> dict[str, int]:
    form = {"reason": "a reason", "note": "a note", "account": "collector:1", "amount": "5"}
    return {
        rule.endpoint: browser.post(_url(hub, rule, samples), form, **options).status_code
        for rule in _rules(hub, "POST")
        if rule.endpoint not in ANY_ROLE_MAY_POST
    }


def test_an_auditor_gets_403_on_every_write_and_nothing_changes(hub: Hub) -> None:
    samples = _samples(hub)
    auditor = hub.signed_in("auditor")
    before = snapshot(hub.runtime.engine)
    answers = _post_every_action(hub, auditor, samples)
    assert answers and set(answers.values()) == {403}, answers
    assert snapshot(hub.runtime.engine) == before


def test_an_operator_gets_403_on_admin_only_actions(hub: Hub) -> None:
    samples = _samples(hub)
    operator = hub.signed_in("operator")
    admin_only = [rule for rule in _rules(hub, "POST") if rule.endpoint.startswith(ADMIN_ONLY_PREFIXES)]
    before = snapshot(hub.runtime.engine)
    for rule in admin_only:
        assert operator.post(_url(hub, rule, samples), {}).status_code == 403, rule.rule
    assert snapshot(hub.runtime.engine) == before


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_a_form_without_its_csrf_token_gets_400_and_nothing_changes(hub: Hub, role: str) -> None:
    samples = _samples(hub)
    browser = hub.signed_in(role)
    before = snapshot(hub.runtime.engine)
    answers = _post_every_action(hub, browser, samples, csrf=False)
    assert answers and set(answers.values()) == {400}, answers
    assert browser.post("/dashboard/ledger/verify", csrf=False).status_code == 400
    assert browser.post("/dashboard/sign-out", csrf=False).status_code == 400
    assert snapshot(hub.runtime.engine) == before
