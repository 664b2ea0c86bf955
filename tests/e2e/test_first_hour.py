"""A newcomer's first hour: the home page leads to every way in, the sign-in page shows the
demo's logins where the demo was loaded (and nowhere else), and a failed sign-in is in the audit
log with the email tried and the address it came from."""

from __future__ import annotations

import re

from sqlalchemy import select

from service.models import audit_log_t
from service.usecases import users
from tests.e2e.hub import Hub


def test_the_home_page_leads_to_every_way_in(hub: Hub) -> None:
    page = hub.browser().get("/").text
    links = re.findall(r'<li><a href="([^"]+)"', page.split('id="ways-in"', 1)[1].split("</ul>", 1)[0])
    assert links == ["/dashboard/", "/simulator", "/app/", "/api/v1/docs", "/open", "/terms"]
    browser = hub.browser()
    for link in links:
        response = browser.get(link)
        assert response.status_code in (200, 302), (link, response.status_code)


def test_the_sign_in_page_shows_the_demo_logins_only_where_the_demo_is(hub: Hub) -> None:
    page = hub.browser().get("/dashboard/sign-in").text
    assert 'id="demo-logins"' not in page and users.DEMO_PASSWORD not in page
    hub.add_user("admin", "admin@demo.kolekt", users.DEMO_PASSWORD)
    hub.add_user("auditor", "auditor@demo.kolekt", users.DEMO_PASSWORD)
    page = hub.browser().get("/dashboard/sign-in").text
    assert 'id="demo-logins"' in page and users.DEMO_PASSWORD in page
    assert "admin@demo.kolekt</code> (admin)" in page and "auditor@demo.kolekt</code> (auditor)" in page
    # And they work.
    assert hub.browser().sign_in("admin@demo.kolekt", users.DEMO_PASSWORD).status_code == 302


def test_a_failed_sign_in_is_in_the_audit_log(hub: Hub) -> None:
    email = hub.add_user("operator")
    assert hub.browser().sign_in(email, "not the password").status_code == 401
    rows = hub.read(
        lambda s: s.execute(select(audit_log_t).where(audit_log_t.c.action == "user.sign_in_failed")).all()
    )
    assert len(rows) == 1
    assert rows[0].subject == f"email:{email}" and rows[0].actor == "(not signed in)" and rows[0].address


def test_the_demo_shows_every_feature(hub: Hub) -> None:
    from service.cli.demo import DEMO_PASSWORD, seed_dashboard_demo
    from service.models import adjustments_t, outbox_t, weigh_ins_t
    from service.usecases import weighins

    hub.seed()
    for _ in range(2):  # seeding again adds nothing
        hub.read(lambda session: seed_dashboard_demo(session))
    assert hub.count(weigh_ins_t) == 1
    assert hub.count(adjustments_t, adjustments_t.c.status == "proposed") == 1
    assert hub.count(outbox_t, outbox_t.c.status == "delivered") == 2
    assert hub.count(outbox_t, outbox_t.c.status == "sent") == 1
    (weighed,) = hub.read(lambda s: s.execute(select(weigh_ins_t)).all())
    assert weighins.is_flagged(weighed.grams * 10 // 7, weighed.grams, 10)
    checker = hub.browser()
    assert checker.sign_in("checker@demo.kolekt", DEMO_PASSWORD).status_code == 302
    assert "demo: bonus for the street clean-up" in checker.get("/dashboard/adjustments").text

    from service.cli.demo import DEMO_BROADCAST, seed_demo_broadcast
    from service.models import broadcasts_t

    for _ in range(2):  # once
        with hub.runtime.unit_of_work() as uow:
            seed_demo_broadcast(uow)
    assert hub.count(broadcasts_t, broadcasts_t.c.status == "proposed") == 1
    page = checker.get("/dashboard/broadcasts").text
    waiting = page.split('id="waiting"', 1)[1].split("</table>", 1)[0]
    assert "Yaba" in waiting and "None waiting" not in waiting
    (broadcast_id,) = hub.read(lambda s: s.execute(select(broadcasts_t.c.id)).scalars().all())
    assert DEMO_BROADCAST in checker.get(f"/dashboard/broadcasts/{broadcast_id}").text


def test_operators_read_names_not_codes(hub: Hub) -> None:
    import ledger

    hub.seed()
    hub.read(ledger.seal_all)
    auditor = hub.signed_in("auditor")
    page = auditor.get("/dashboard/ledger").text
    assert "Ada Okafor (K0001E)" in page and "Pickup credit" in page and "points issued (programme)" in page
    assert ">member:K0001E<" not in page and ">pickup_credit<" not in page
    assert 'title="member:K0001E"' in page  # the code is still there for whoever needs it
    audit = auditor.get("/dashboard/audit").text
    assert "Signed in" in audit and ">user.sign_in<" not in audit
    assert auditor.email is not None and auditor.email in audit


def test_the_overview_lists_what_needs_action(hub: Hub) -> None:
    from service.cli.demo import seed_dashboard_demo, seed_demo_broadcast

    auditor = hub.signed_in("auditor")
    quiet = auditor.get("/dashboard/").text
    assert 'id="needs-action"' in quiet and "Nothing needs you now" in quiet
    hub.seed()
    hub.read(lambda session: seed_dashboard_demo(session))
    with hub.runtime.unit_of_work() as uow:
        seed_demo_broadcast(uow)
    page = auditor.get("/dashboard/").text
    section = page.split('id="needs-action"', 1)[1].split("</section>", 1)[0]
    assert "1</strong> disputes to decide" in section
    assert "1</strong> corrections waiting for a second operator" in section
    assert "1</strong> broadcasts waiting for a second operator" in section
    assert "1</strong> weigh-ins flagged in the last 14 days" in section
    assert 'href="/dashboard/disputes"' in section and 'href="/dashboard/adjustments"' in section
