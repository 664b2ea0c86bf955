"""The dashboard's sign-in and its ledger pages, through the Flask test client.

Sign-in: the cookie's flags, rate limits on failed attempts, no open redirect, sessions ended by a
password change; the ledger: filters, keyset pages, a transfer's proof, Verify ledger, the CSV.
"""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

import ledger
from service.models import audit_log_t, ledger_checks_t
from service.usecases import users
from tests.e2e.hub import PASSWORD, Hub


def test_sign_in_sets_a_secure_httponly_samesite_cookie_and_records_it(hub: Hub) -> None:
    email = hub.add_user("operator")
    browser = hub.browser()
    response = browser.sign_in(email)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard/"
    # The session's cookie (the device cookie beside it is tested in test_signin_limits.py).
    (cookie,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-kolekt=")]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie
    page = browser.get("/dashboard/")
    assert page.status_code == 200 and email in page.text
    actions = hub.read(lambda s: list(s.execute(select(audit_log_t.c.action, audit_log_t.c.actor)).all()))
    assert [tuple(a) for a in actions] == [("user.sign_in", email)]


def test_a_wrong_password_is_401_and_says_nothing_about_the_email(hub: Hub) -> None:
    email = hub.add_user("operator")
    wrong = hub.browser().sign_in(email, "not the password")
    unknown = hub.browser().sign_in("nobody@hub.example", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong email or password." in response.text
    # Both tries are in the audit log (who tried which email, from where), neither as a sign-in.
    assert hub.count(audit_log_t, audit_log_t.c.action == "user.sign_in_failed") == 2
    assert hub.count(audit_log_t) == 2


def test_failed_sign_ins_are_rate_limited_per_address_and_success_is_not_counted(hub: Hub) -> None:
    email = hub.add_user("operator")
    browser = hub.browser()
    for _ in range(3):
        assert browser.sign_in(email).status_code == 302
        browser.post("/dashboard/sign-out")
    answers = [browser.sign_in(f"guess{n}@hub.example", "wrong password").status_code for n in range(11)]
    assert answers == [401] * 10 + [429]
    limited = browser.sign_in(email)  # even the right password waits now
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


def test_failed_sign_ins_are_rate_limited_per_email(hub: Hub) -> None:
    email = hub.add_user("operator")
    answers = []
    for n in range(11):
        browser = hub.browser()
        browser.client.environ_base["REMOTE_ADDR"] = f"192.0.2.{n + 1}"  # a different address each time
        answers.append(browser.sign_in(email, "wrong password").status_code)
    assert answers == [401] * 10 + [429]


def test_next_only_leads_into_the_dashboard(hub: Hub) -> None:
    email = hub.add_user("auditor")
    for target, expected in (
        ("/dashboard/ledger?code=commission", "/dashboard/ledger?code=commission"),
        ("https://evil.example/dashboard/", "/dashboard/"),
        ("//evil.example/dashboard", "/dashboard/"),
        ("/simulator", "/dashboard/"),
    ):
        browser = hub.browser()
        response = browser.post("/dashboard/sign-in", {"email": email, "password": PASSWORD, "next": target})
        assert response.headers["Location"] == expected, target


def test_a_password_change_or_disabling_signs_the_user_out(hub: Hub) -> None:
    hub.add_user("admin")
    browser = hub.signed_in("operator", "ada@hub.example")
    other = hub.signed_in("auditor", "ben@hub.example")
    hub.read(lambda s: users.set_password(s, "ada@hub.example", "a brand new password"))
    hub.read(lambda s: users.set_active(s, "ben@hub.example", False))
    for signed_out in (browser, other):
        response = signed_out.get("/dashboard/ledger")
        assert response.status_code == 302 and "/dashboard/sign-in" in response.headers["Location"]


def test_sign_out_ends_the_session(hub: Hub) -> None:
    browser = hub.signed_in("operator")
    assert browser.post("/dashboard/sign-out").status_code == 302
    assert browser.get("/dashboard/").status_code == 302


def test_htmx_requests_signed_out_get_401_and_a_redirect_header(hub: Hub) -> None:
    response = hub.browser().get("/dashboard/ledger", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/dashboard/sign-in")
    assert response.json == {"error": {"code": "unauthorized", "message": "sign in again"}}


def test_security_headers_everywhere_and_vendored_assets_served(hub: Hub) -> None:
    browser = hub.browser()
    page = browser.get("/dashboard/sign-in")
    for name, value in {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    }.items():
        assert page.headers[name] == value
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "<script" not in re.sub(r'<script src="/static/[^"]+" defer></script>', "", page.text)
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
        served = browser.get(asset)
        assert served.status_code == 200, asset
        served.close()
    assert browser.get("/healthz").headers["X-Content-Type-Options"] == "nosniff"


# --- the ledger ---------------------------------------------------------------------------------


def _rows(text: str) -> list[str]:
    """The transfer numbers listed on a ledger page, in order."""
    return re.findall(r'<td><a href="/dashboard/ledger/(\d+)">\1</a></td>', text)


def test_the_ledger_lists_newest_first_and_pages_by_keyset(hub: Hub) -> None:
    hub.seed()
    browser = hub.signed_in("auditor")
    total = hub.read(lambda s: len(ledger.browse(s, ledger.TransferFilter(), limit=1000)))
    first = browser.get("/dashboard/ledger")
    listed = _rows(first.text)
    assert len(listed) == min(total, 50)
    assert listed == sorted(listed, key=int, reverse=True)
    assert listed[0] == str(total)
    if total > 50:
        second = browser.get(f"/dashboard/ledger?before={listed[-1]}")
        assert _rows(second.text)[0] == str(int(listed[-1]) - 1)


def test_ledger_filters(hub: Hub) -> None:
    hub.seed()
    browser = hub.signed_in("operator")
    member = hub.read(lambda s: ledger.browse(s, ledger.TransferFilter(code="pickup_credit"), limit=1)[0])
    code = member.credit.partition(":")[2]
    by_code = _rows(browser.get(f"/dashboard/ledger?account={code.lower()}").text)
    by_account = _rows(browser.get(f"/dashboard/ledger?account={member.credit}").text)
    assert by_code == by_account and str(member.id) in by_code
    commissions = _rows(browser.get("/dashboard/ledger?code=commission").text)
    assert commissions and str(member.id) not in commissions
    linked = _rows(browser.get(f"/dashboard/ledger?reference={member.human_ref}").text)
    assert linked == [str(member.id + 1), str(member.id)]  # the credit and its commission
    today = browser.get("/dashboard/ledger?from=2020-01-01&to=2020-01-31")
    assert today.status_code == 200 and _rows(today.text) == [] and "No transfers match" in today.text


def test_bad_ledger_filters_are_422_with_the_reason(hub: Hub) -> None:
    browser = hub.signed_in("operator")
    for query, message in (
        ("from=yesterday", "From must be a date like 2026-11-24"),
        ("from=2026-11-20&to=2026-11-01", "To is before From"),
        ("account=member:NOPE", "There is no account &#39;member:NOPE&#39;"),
        ("code=drop%20table", "is not a transfer code"),
    ):
        response = browser.get(f"/dashboard/ledger?{query}")
        assert response.status_code == 422 and message in response.text, query
    assert browser.get("/dashboard/ledger?before=abc").status_code == 422
    assert browser.get("/dashboard/ledger.csv?account=member:NOPE").status_code == 422
    assert browser.get("/dashboard/ledger/999999").status_code == 404


def test_a_transfer_page_shows_its_cause_its_links_and_its_proof(hub: Hub) -> None:
    hub.seed()
    hub.read(ledger.seal_all)
    browser = hub.signed_in("auditor")
    page = browser.get("/dashboard/ledger/1")
    assert page.status_code == 200
    assert "Pickup 1" in page.text and "the stored hash matches the transfer as it stands" in page.text
    proof = hub.read(lambda s: ledger.proof(s, 1))
    assert proof.hash in page.text and proof.previous_hash in page.text
    assert "Posted with it:" in page.text  # its commission


def test_verify_ledger_records_the_check_and_shows_the_head(hub: Hub) -> None:
    hub.seed()
    browser = hub.signed_in("auditor")  # checking changes no balance: auditors may
    response = browser.post("/dashboard/ledger/verify", follow_redirects=True)
    assert response.status_code == 200 and "Ledger verified:" in response.text
    checks = hub.read(lambda s: s.execute(select(ledger_checks_t)).all())
    assert [(c.trigger, c.ok) for c in checks] == [("dashboard", True)]
    head = hub.read(ledger.head)
    assert head.hash in response.text
    assert hub.count(audit_log_t, audit_log_t.c.action == "ledger.verify") == 1


def test_the_csv_export_streams_the_filtered_view(hub: Hub) -> None:
    hub.seed()
    browser = hub.signed_in("auditor")
    response = browser.get("/dashboard/ledger.csv?code=commission", buffered=False)
    assert response.mimetype == "text/csv" and response.is_streamed
    assert response.headers["Content-Disposition"].startswith('attachment; filename="ledger-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.response).decode())))
    response.close()
    expected = hub.read(lambda s: ledger.browse(s, ledger.TransferFilter(code="commission"), limit=1000))
    assert [int(r["id"]) for r in rows] == [t.id for t in expected]
    assert {r["code"] for r in rows} == {"commission"}
    assert rows[0]["recorded_at"].endswith("+01:00")  # the programme's zone


def test_csv_cells_cannot_become_spreadsheet_formulas(hub: Hub) -> None:
    from ledger import TransferRequest
    from service.accounts import ADJUSTMENTS, open_programme_accounts

    def post(s: object) -> None:
        open_programme_accounts(s)  # type: ignore[arg-type]
        ledger.open_account(s, "collector:77", "collector")  # type: ignore[arg-type]
        ledger.post(
            s,  # type: ignore[arg-type]
            TransferRequest(ADJUSTMENTS, "collector:77", 5, "adjustment", "k1", memo='=HYPERLINK("x")'),
        )

    hub.read(post)
    browser = hub.signed_in("auditor")
    text = b"".join(browser.get("/dashboard/ledger.csv", buffered=False).response).decode()
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["memo"] == '\'=HYPERLINK("x")' and row["amount"] == "5"
