"""Cash payouts in the dashboard, through the test client as a hub uses it: the list by status
(keyset pages), the float and today's totals, an operator's retry of a failed payout, the CSV
export, the reconciliation with tests/fake_paystack.py as Paystack, a household's cash-out account
saved from its page (the name checked with Paystack first), the overview's "needs action" and the
daily summary's cash sentence. Every action for each role; every refusal changes nothing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

import ledger
import sms
from service.accounts import ISSUANCE, member_account
from service.models import audit_log_t, outbox_t, payout_accounts_t, payouts_t
from service.providers.payouts import ConsolePayouts, PaystackPayouts, Transfer
from service.unit_of_work import UnitOfWork
from service.usecases import banks, payout_accounts, payouts, reports
from service.usecases.households import Member, member_by_phone
from service.web.dashboard import payouts_pages
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Browser, Hub
from tests.fake_paystack import FakePaystack
from tests.fakes import FakeQueue
from tests.payout_helpers import check_books, paystack_settings

ADA = "+2348031234567"  # the demo's households (Yaba, Yaba, Sabo)
TUNDE = "+2348052345678"
NGOZI = "+2348063456789"
NUBAN = "0123456789"
CONSOLE_NAME = "AISHA ABUBAKAR"  # the console's name for ...6789 (from its digits)
CREDITED = 20_000  # points each household gets on top of the demo's
# Cash-out to an account saved at the hub waits the cooling-off period; here it need not.
SETTINGS: dict[str, object] = {"payout_cooling_off_hours": 0}


# --- the programme's payouts, made as the use cases make them --------------------------------------


def member(hub: Hub, phone: str) -> Member:
    found = hub.read(lambda s: member_by_phone(s, phone))
    assert found is not None
    return found  # type: ignore[no-any-return]


def points_of(hub: Hub, phone: str) -> int:
    code = member(hub, phone).member_code
    return int(hub.read(lambda s: ledger.balance(s, member_account(code)).credit_balance))


def ready(hub: Hub, *phones: str, credit: int = CREDITED) -> None:
    """The demo, the bank list cached, and each household credited and with an account saved."""
    hub.seed()
    now = datetime.now(UTC)
    hub.read(lambda s: banks.refresh(s, ConsolePayouts().banks("nigeria"), "nigeria", now))
    for phone in phones:
        found = member(hub, phone)
        hub.read(
            lambda s, code=found.member_code: ledger.post(
                s,
                ledger.TransferRequest(ISSUANCE, member_account(code), credit, "pickup_credit", f"t:{code}"),
            )
        )
        hub.runtime.transact(
            lambda uow, found=found: payout_accounts.register_by_staff(
                uow, found, "058", NUBAN, "ADA OKAFOR", "user:0 test"
            )
        )


def cash_out(hub: Hub, phone: str, naira: int) -> payouts.Requested:
    found = member(hub, phone)
    requested: payouts.Requested = hub.runtime.transact(lambda uow: payouts.cash_out(uow, found, naira))
    return requested


def settle(hub: Hub, requested: payouts.Requested, status: str, reason: str | None = None) -> None:
    transfer = Transfer(
        requested.reference, status, f"TRF_{requested.payout_id}", requested.amount_kobo, reason
    )
    hub.runtime.transact(lambda uow: payouts.settle(uow, requested.reference, transfer))


def payout(hub: Hub, payout_id: int) -> Any:
    return hub.read(lambda s: s.execute(select(payouts_t).where(payouts_t.c.id == payout_id)).one())


def audits(hub: Hub, action: str) -> list[dict[str, Any]]:
    rows = hub.read(
        lambda s: s.execute(
            select(audit_log_t.c.subject, audit_log_t.c.details, audit_log_t.c.actor)
            .where(audit_log_t.c.action == action)
            .order_by(audit_log_t.c.id)
        ).all()
    )
    return [{"subject": r.subject, "actor": r.actor, **json.loads(r.details)} for r in rows]


def texts_to(hub: Hub, phone: str, template: str) -> list[str]:
    return list(
        hub.read(
            lambda s: (
                s.execute(
                    select(outbox_t.c.body)
                    .where(outbox_t.c.to_phone == phone, outbox_t.c.template == template)
                    .order_by(outbox_t.c.id)
                )
                .scalars()
                .all()
            )
        )
    )


def shown_ids(browser: Browser, **query: str) -> list[int]:
    page = browser.get("/dashboard/payouts", query_string=query)
    assert page.status_code == 200, page.text[:500]
    table = page.text.split('id="payouts"')[1].split("</table>")[0]
    return [int(part.split('"')[0]) for part in table.split('id="payout-')[1:]]


@pytest.fixture
def hub(make_app: Callable[..., Flask], redis: Redis) -> Hub:
    return Hub(make_app(**SETTINGS))


@pytest.fixture
def paystack() -> Iterator[FakePaystack]:
    with FakePaystack() as fake:
        yield fake


@pytest.fixture
def paystack_hub(make_app: Callable[..., Flask], redis: Redis, paystack: FakePaystack) -> Hub:
    """The dashboard with PAYOUT_PROVIDER=paystack, PAYSTACK_API_BASE_URL the fake's, sk_test_ key."""
    return Hub(make_app(**SETTINGS, **paystack_settings(paystack)))


# --- the list -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "operator", "auditor"])
def test_every_role_reads_the_payouts_by_status_with_the_float_and_todays_totals(hub: Hub, role: str) -> None:
    ready(hub, ADA, TUNDE)
    paid = cash_out(hub, ADA, 500)
    settle(hub, paid, "success")
    failed = cash_out(hub, TUNDE, 300)
    settle(hub, failed, "failed", "Account dormant")
    waiting = cash_out(hub, ADA, 200)
    settle(hub, waiting, "pending")
    held = cash_out(hub, TUNDE, 100)
    browser = hub.signed_in(role)

    page = browser.get("/dashboard/payouts")
    assert page.status_code == 200
    text = page.text
    assert shown_ids(browser) == [held.payout_id, waiting.payout_id, failed.payout_id, paid.payout_id]
    row = text.split(f'id="payout-{failed.payout_id}"')[1].split("</tr>")[0]
    ada, tunde = member(hub, ADA), member(hub, TUNDE)
    assert f"/dashboard/households/{tunde.id}" in row and tunde.member_code in row and "Tunde Bakare" in row
    assert ">300<" in row and "GTBank ****6789" in row and "Account dormant" in row
    assert f"TRF_{failed.payout_id}" in row and "failed" in row
    assert ("Send again" in row) is (role != "auditor")
    assert ("Check with Paystack" in text) is (role != "auditor")
    # Today: asked for and not returned (500 + 200 + 100), paid, returned; against the daily cap.
    assert 'data-figure="sent">NGN 800 <small class="muted">(3) of NGN 500,000 a day' in text
    assert 'data-figure="paid">NGN 500 ' in text and 'data-figure="returned">NGN 300 ' in text
    assert "Not seen yet" in text  # no payout has been sent by a job: no float seen

    assert shown_ids(browser, status="failed") == [failed.payout_id]
    assert shown_ids(browser, status="pending") == [waiting.payout_id]
    assert shown_ids(browser, status="paid") == [paid.payout_id]
    assert shown_ids(browser, status="held") == [held.payout_id]
    assert shown_ids(browser, status="reversed") == []
    refused = browser.get("/dashboard/payouts", query_string={"status": "lost"})
    assert refused.status_code == 422 and "status must be one of held, sending" in refused.text
    assert browser.get("/dashboard/payouts", query_string={"before": "x"}).status_code == 422
    assert ada.member_code in text


def test_the_list_pages_by_keyset_and_keeps_its_status(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    ready(hub, ADA)
    made = [cash_out(hub, ADA, 100).payout_id for _ in range(5)]
    monkeypatch.setattr(payouts_pages, "PAGE", 2)
    browser = hub.signed_in("auditor")
    assert shown_ids(browser) == made[::-1][:2]
    page = browser.get("/dashboard/payouts", query_string={"status": "held"}).text
    assert f"/dashboard/payouts?before={made[3]}&amp;status=held" in page
    assert shown_ids(browser, status="held", before=str(made[3])) == [made[2], made[1]]
    assert shown_ids(browser, before=str(made[1])) == [made[0]]


def test_the_float_last_seen_is_shown_and_a_low_one_warned(hub: Hub) -> None:
    ready(hub, ADA)
    first = cash_out(hub, ADA, 100)
    low = hub.runtime.settings.payout_float_low_naira * 100
    hub.read(
        lambda s: s.execute(update(payouts_t).values(float_kobo=low + 5_000_00, claimed_at=datetime.now(UTC)))
    )
    browser = hub.signed_in("auditor")
    text = browser.get("/dashboard/payouts").text
    assert 'data-figure="float">NGN 55,000<' in text and 'data-figure="float-low"' not in text
    hub.read(
        lambda s: s.execute(
            update(payouts_t).where(payouts_t.c.id == first.payout_id).values(float_kobo=4_000_00)
        )
    )
    text = browser.get("/dashboard/payouts").text
    assert 'data-figure="float">NGN 4,000<' in text
    assert 'data-figure="float-low"' in text and "Under NGN 50,000" in text


# --- retry ----------------------------------------------------------------------------------------


def failed_payout(hub: Hub, phone: str = ADA, naira: int = 500) -> payouts.Requested:
    requested = cash_out(hub, phone, naira)
    settle(hub, requested, "failed", "Could not credit account")
    return requested


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_an_operator_sends_a_failed_payout_again(hub: Hub, redis: Redis, role: str) -> None:
    ready(hub, ADA)
    failed = failed_payout(hub)
    before = points_of(hub, ADA)
    Queue("high", connection=redis).empty()
    browser = hub.signed_in(role)

    answer = browser.post(f"/dashboard/payouts/{failed.payout_id}/retry")
    assert answer.status_code == 303 and answer.headers["Location"] == "/dashboard/payouts"
    (again,) = hub.read(
        lambda s: s.execute(select(payouts_t).where(payouts_t.c.retry_of == failed.payout_id)).all()
    )
    assert (again.status, again.amount_kobo, again.points, again.household_id) == (
        "held",
        50_000,
        500,
        member(hub, ADA).id,
    )
    assert again.reference != failed.reference and again.human_ref
    assert points_of(hub, ADA) == before - 500  # held again
    # The job is asked for after the commit: the send job of the new payout.
    assert f"payout-{again.id}" in Queue("high", connection=redis).job_ids
    (entry,) = audits(hub, "payout.retry")
    assert entry["subject"] == f"payout:{failed.payout_id}" and entry["new_payout"] == again.id
    assert (entry["naira"], entry["points"], entry["account"]) == ("500", 500, "****6789")
    assert entry["actor"] == browser.email
    (held_text,) = texts_to(hub, ADA, "cash_held")
    assert held_text.startswith("NGN 500 is on its way to GTBank ****6789: 500 pts held.")
    page = browser.get("/dashboard/payouts")
    assert f"Payout {failed.payout_id} is sent again as payout {again.id}" in page.text
    assert f"(sent again as {again.id})" in page.text and f"(sends {failed.payout_id} again)" in page.text
    ledger_ref = hub.read(lambda s: [t.actor for t in ledger.transfers_for(s, f"payout:{again.id}")])
    assert ledger_ref == [f"user:{hub.read(lambda s: _user_id(s, browser.email))} {browser.email}"]

    # Once: the same failed payout is not sent a second time.
    unchanged = snapshot(hub.runtime.engine)
    twice = browser.post(f"/dashboard/payouts/{failed.payout_id}/retry")
    assert twice.status_code == 422 and f"was sent again already, as payout {again.id}" in twice.text
    assert snapshot(hub.runtime.engine) == unchanged


def _user_id(session: Any, email: str) -> int:
    from service.usecases.users import user_by_email

    found = user_by_email(session, email)
    assert found is not None
    return int(found.id)


def test_a_retry_is_refused_with_the_reason_and_changes_nothing(hub: Hub) -> None:
    ready(hub, ADA, TUNDE)
    failed = failed_payout(hub, ADA, 500)
    paid = cash_out(hub, TUNDE, 100)
    settle(hub, paid, "success")
    operator, auditor = hub.signed_in("operator"), hub.signed_in("auditor")

    unchanged = snapshot(hub.runtime.engine)
    answer = operator.post(f"/dashboard/payouts/{paid.payout_id}/retry")
    assert answer.status_code == 422 and "is paid: only a failed payout is sent again" in answer.text
    assert operator.post("/dashboard/payouts/999999/retry").status_code == 404
    assert auditor.post(f"/dashboard/payouts/{failed.payout_id}/retry").status_code == 403
    assert snapshot(hub.runtime.engine) == unchanged

    # The points were spent meanwhile: the same rules as REDEEM CASH refuse it.
    code = member(hub, ADA).member_code
    spendable = points_of(hub, ADA)
    hub.read(
        lambda s: ledger.post(
            s,
            ledger.TransferRequest(member_account(code), ISSUANCE, spendable - 100, "adjustment", "t:spend"),
        )
    )
    unchanged = snapshot(hub.runtime.engine)
    answer = operator.post(f"/dashboard/payouts/{failed.payout_id}/retry")
    assert answer.status_code == 422
    assert "Not enough points: NGN 500 needs 500 points and the household has 100." in answer.text
    assert snapshot(hub.runtime.engine) == unchanged

    # The household's daily cap counts what was not returned.
    hub.read(
        lambda s: ledger.post(
            s, ledger.TransferRequest(ISSUANCE, member_account(code), 50_000, "pickup_credit", "t:more")
        )
    )
    cash_out(hub, ADA, hub.runtime.settings.payout_daily_naira_per_household - 200)
    answer = operator.post(f"/dashboard/payouts/{failed.payout_id}/retry")
    assert answer.status_code == 422 and "daily cap of NGN 20,000: NGN 200 is left today" in answer.text


def test_a_retry_goes_to_the_households_account_now_and_waits_its_cooling_off(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    hub = Hub(make_app())  # PAYOUT_COOLING_OFF_HOURS: 24
    ready(hub, ADA)
    hub.read(
        lambda s: s.execute(
            update(payout_accounts_t).values(usable_from=datetime.now(UTC) - timedelta(hours=1))
        )
    )
    failed = failed_payout(hub, ADA, 500)
    ada = member(hub, ADA)
    newer = hub.runtime.transact(
        lambda uow: payout_accounts.register_by_staff(
            uow, ada, "057", "2233445566", "ADA OKAFOR", "user:0 test"
        )
    )
    operator = hub.signed_in("operator")
    answer = operator.post(f"/dashboard/payouts/{failed.payout_id}/retry", follow_redirects=True)
    assert answer.status_code == 200
    assert "to Zenith ****5566, sent from " in answer.text
    again = hub.read(
        lambda s: s.execute(select(payouts_t).where(payouts_t.c.retry_of == failed.payout_id)).one()
    )
    assert again.account_id == newer.id and again.account_id != payout(hub, failed.payout_id).account_id
    assert again.not_before == newer.usable_from
    (waits,) = texts_to(hub, ADA, "cash_waits")
    assert waits.startswith("NGN 500 goes to Zenith ****5566 from ")


# --- CSV ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "operator", "auditor"])
def test_the_csv_export_streams_the_payouts_and_is_audited(hub: Hub, role: str) -> None:
    ready(hub, ADA, TUNDE)
    failed = failed_payout(hub, ADA, 500)
    hub.read(
        lambda s: s.execute(
            update(payouts_t).where(payouts_t.c.id == failed.payout_id).values(failure='=HYPERLINK("x")')
        )
    )
    paid = cash_out(hub, TUNDE, 250)
    settle(hub, paid, "success")
    browser = hub.signed_in(role)

    answer = browser.get("/dashboard/payouts.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="payouts-')
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [int(row["payout_id"]) for row in rows] == [failed.payout_id, paid.payout_id]
    first = rows[0]
    assert (first["member_code"], first["amount_ngn"], first["points"], first["status"]) == (
        member(hub, ADA).member_code,
        "500.00",
        "500",
        "failed",
    )
    assert first["failure"] == '\'=HYPERLINK("x")'  # a spreadsheet must not run it
    assert (first["bank"], first["account"], first["reference"]) == ("GTBank", "****6789", failed.reference)
    assert rows[1]["transfer_code"] == f"TRF_{paid.payout_id}" and rows[1]["final"]

    only_failed = browser.get("/dashboard/payouts.csv", query_string={"status": "failed"})
    assert [row["payout_id"] for row in csv.DictReader(io.StringIO(only_failed.get_data(as_text=True)))] == [
        str(failed.payout_id)
    ]
    assert browser.get("/dashboard/payouts.csv", query_string={"status": "nope"}).status_code == 422
    assert [(entry["subject"], entry["status"]) for entry in audits(hub, "payouts.export")] == [
        ("payouts", None),
        ("payouts", "failed"),
    ]


# --- reconciliation ---------------------------------------------------------------------------------


def at_paystack(paystack: FakePaystack, requested: payouts.Requested, status: str | None) -> None:
    """The transfer made at the fake Paystack, as the send job makes it; then settled there."""
    client = PaystackPayouts(paystack.secret_key, paystack.url, timeout=5)
    try:
        recipient = client.recipient("ADA OKAFOR", NUBAN, "058")
        client.transfer(requested.amount_kobo, recipient, requested.reference, "test")
    finally:
        client.close()
    if status is not None:
        paystack.settle(requested.reference, status, reason="Account dormant" if status == "failed" else None)


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_reconcile_asks_paystack_and_settles_what_differs(
    paystack_hub: Hub, paystack: FakePaystack, role: str
) -> None:
    hub = paystack_hub
    ready(hub, ADA, TUNDE)
    credited = {ADA: points_of(hub, ADA), TUNDE: points_of(hub, TUNDE)}
    to_pay = cash_out(hub, ADA, 500)  # pending here, paid at Paystack: its webhook never came
    at_paystack(paystack, to_pay, "success")
    settle(hub, to_pay, "pending")
    to_fail = cash_out(hub, TUNDE, 300)  # pending here, failed at Paystack
    at_paystack(paystack, to_fail, "failed")
    settle(hub, to_fail, "pending")
    agreed = cash_out(hub, ADA, 200)  # paid here and there
    at_paystack(paystack, agreed, "success")
    settle(hub, agreed, "success")
    kept = cash_out(hub, TUNDE, 100)  # paid here, Paystack says failed: kept, for the hub
    at_paystack(paystack, kept, None)
    settle(hub, kept, "success")
    paystack.settle(kept.reference, "failed")
    not_sent = cash_out(hub, ADA, 150)  # held: Paystack has not heard of it
    old = cash_out(hub, TUNDE, 120)  # paid 8 days ago: not asked about
    at_paystack(paystack, old, "success")
    settle(hub, old, "success")
    hub.read(
        lambda s: s.execute(
            update(payouts_t)
            .where(payouts_t.c.id == old.payout_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=8))
        )
    )
    asked_before = len([seen for seen in paystack.seen if seen.path.startswith("/transfer/verify/")])
    browser = hub.signed_in(role)

    page = browser.post("/dashboard/payouts/reconcile")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    for figure, value in (("checked", 5), ("agreeing", 1), ("settled", 2), ("differing", 1), ("unknown", 1)):
        assert f'data-figure="{figure}">{value}<' in text, figure
    assert f'data-settled="{to_pay.payout_id}"' in text and f'data-settled="{to_fail.payout_id}"' in text
    assert f'data-differing="{kept.payout_id}"' in text and f'data-unknown="{not_sent.payout_id}"' in text
    verified = [seen.path for seen in paystack.seen if seen.path.startswith("/transfer/verify/")]
    assert len(verified) - asked_before == 5 and f"/transfer/verify/{old.reference}" not in verified
    statuses = {p: payout(hub, p).status for p in (to_pay.payout_id, to_fail.payout_id, kept.payout_id)}
    assert statuses == {to_pay.payout_id: "paid", to_fail.payout_id: "failed", kept.payout_id: "paid"}
    assert payout(hub, not_sent.payout_id).status == "held"
    assert len(texts_to(hub, ADA, "cash_sent")) == 1 + 1  # `agreed` was texted before; `to_pay` now
    assert len(texts_to(hub, TUNDE, "cash_refunded")) == 1
    (entry,) = audits(hub, "payouts.reconcile")
    assert (entry["checked"], entry["agreeing"], entry["unknown"], entry["error"]) == (5, 1, 1, None)
    assert sorted(entry["settled"]) == sorted([to_pay.payout_id, to_fail.payout_id])
    assert entry["differing"] == [kept.payout_id]
    hub.read(lambda s: check_books(s, credited))

    # Again: everything agrees now (but what Paystack and Kolekt still differ on, and the held one).
    again = browser.post("/dashboard/payouts/reconcile").text
    assert 'data-figure="settled">0<' in again and 'data-figure="agreeing">3<' in again


def test_reconcile_when_paystack_does_not_answer_changes_nothing(
    paystack_hub: Hub, paystack: FakePaystack
) -> None:
    hub = paystack_hub
    ready(hub, ADA)
    waiting = cash_out(hub, ADA, 500)
    at_paystack(paystack, waiting, "success")
    settle(hub, waiting, "pending")
    paystack.unavailable(count=20)
    browser = hub.signed_in("operator")
    page = browser.post("/dashboard/payouts/reconcile")
    assert page.status_code == 200
    assert "Paystack stopped answering after 0 payouts" in page.text and "503" in page.text
    assert payout(hub, waiting.payout_id).status == "pending"
    (entry,) = audits(hub, "payouts.reconcile")
    assert entry["checked"] == 0 and entry["not_asked"] == 1 and "503" in entry["error"]
    assert hub.signed_in("auditor").post("/dashboard/payouts/reconcile").status_code == 403


# --- a household's cash-out account -----------------------------------------------------------------


def household_url(hub: Hub, phone: str) -> str:
    return f"/dashboard/households/{member(hub, phone).id}"


def accounts(hub: Hub, phone: str) -> list[Any]:
    household_id = member(hub, phone).id
    return list(
        hub.read(
            lambda s: s.execute(
                select(payout_accounts_t).where(payout_accounts_t.c.household_id == household_id)
            ).all()
        )
    )


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_an_operator_checks_the_name_then_saves_the_account(hub: Hub, role: str) -> None:
    hub.seed()
    browser = hub.signed_in(role)
    url = household_url(hub, ADA)
    page = browser.get(url).text
    section = page.split('id="cash-out"')[1].split("</article>")[0]
    assert "None saved" in section and "Guaranty Trust Bank" in section  # the console's banks offered

    checked = browser.post(
        f"{url}/payout-account/check", {"bank_code": "058", "account_number": "0123 456 789"}
    )
    assert checked.status_code == 200
    assert f'data-figure="resolved-name">{CONSOLE_NAME}<' in checked.text
    assert accounts(hub, ADA) == []  # checking saves nothing

    saved = browser.post(
        f"{url}/payout-account", {"bank_code": "058", "account_number": NUBAN, "account_name": CONSOLE_NAME}
    )
    assert saved.status_code == 303 and saved.headers["Location"] == f"{url}#cash-out"
    (account,) = accounts(hub, ADA)
    user_id = hub.read(lambda s: _user_id(s, browser.email))
    assert (account.status, account.bank_code, account.account_number, account.account_name) == (
        "active",
        "058",
        NUBAN,
        CONSOLE_NAME,
    )
    assert account.registered_by == f"user:{user_id} {browser.email}"
    (entry,) = audits(hub, "payout_account.add")
    assert entry["subject"] == f"member:{member(hub, ADA).member_code}"
    assert (entry["bank"], entry["account"], entry["name"], entry["replaces"]) == (
        "Guaranty Trust Bank",
        "****6789",
        CONSOLE_NAME,
        None,
    )
    assert NUBAN not in json.dumps(entry)  # the audit keeps the number masked
    (notice,) = texts_to(hub, ADA, "bank_changed_notice")
    assert "GTBank ****6789" in notice
    page = browser.get(url).text
    section = page.split('id="cash-out"')[1].split("</article>")[0]
    assert 'data-figure="payout-account">GTBank ****6789<' in section and CONSOLE_NAME in section

    # A second account replaces it; the first is listed as earlier.
    browser.post(
        f"{url}/payout-account", {"bank_code": "057", "account_number": "2233445566", "account_name": "X"}
    )
    name = ConsolePayouts().resolve("2233445566", "057")
    assert (
        browser.post(
            f"{url}/payout-account",
            {"bank_code": "057", "account_number": "2233445566", "account_name": name},
        ).status_code
        == 303
    )
    section = browser.get(url).text.split('id="cash-out"')[1].split("</article>")[0]
    assert 'data-figure="payout-account">Zenith ****5566<' in section
    assert "Earlier accounts (1)" in section and "replaced" in section
    assert audits(hub, "payout_account.add")[-1]["replaces"] == "GTBank ****6789"


def test_a_bad_account_is_refused_with_the_reason_and_saves_nothing(hub: Hub) -> None:
    hub.seed()
    operator, auditor = hub.signed_in("operator"), hub.signed_in("auditor")
    url = household_url(hub, ADA)
    unchanged = snapshot(hub.runtime.engine)
    for form, status, said in (
        ({"bank_code": "058", "account_number": "12345"}, 422, "An account number (NUBAN) is 10 digits."),
        ({"bank_code": "999", "account_number": NUBAN}, 422, "Choose the bank from the list."),
        ({"bank_code": "", "account_number": NUBAN}, 422, "Choose the bank from the list."),
        ({"bank_code": "058", "account_number": "1234560000"}, 422, "GTBank has no account 1234560000."),
    ):
        for step in ("payout-account/check", "payout-account"):
            answer = operator.post(f"{url}/{step}", {**form, "account_name": "ANYONE"})
            assert answer.status_code == status, (form, step)
            assert said in answer.text.split('id="cash-out"')[1], (form, step)
    # A name other than Paystack's is not saved.
    answer = operator.post(
        f"{url}/payout-account", {"bank_code": "058", "account_number": NUBAN, "account_name": "SOMEONE ELSE"}
    )
    assert answer.status_code == 422 and f"Paystack now names this account {CONSOLE_NAME}" in answer.text
    answer = operator.post(f"{url}/payout-account", {"bank_code": "058", "account_number": NUBAN})
    assert answer.status_code == 422 and "Check the name with Paystack first." in answer.text
    assert operator.post("/dashboard/households/999999/payout-account/check", {}).status_code == 404
    section = auditor.get(url).text.split('id="cash-out"')[1].split("</article>")[0]
    assert "Check the name" not in section and "None saved" in section
    for step in ("payout-account/check", "payout-account"):
        form = {"bank_code": "058", "account_number": NUBAN, "account_name": CONSOLE_NAME}
        assert auditor.post(f"{url}/{step}", form).status_code == 403
    assert snapshot(hub.runtime.engine) == unchanged


def test_the_name_comes_from_paystack_and_its_silence_is_shown_plainly(
    paystack_hub: Hub, paystack: FakePaystack
) -> None:
    hub = paystack_hub
    hub.seed()
    now = datetime.now(UTC)
    client = PaystackPayouts(paystack.secret_key, paystack.url, timeout=5)
    hub.read(lambda s: banks.refresh(s, client.banks("nigeria"), "nigeria", now))
    client.close()
    paystack.names[("033", "3344556677")] = "Bola Adeyemi-Okafor"
    operator = hub.signed_in("operator")
    url = household_url(hub, TUNDE)
    form = {"bank_code": "033", "account_number": "3344556677"}
    checked = operator.post(f"{url}/payout-account/check", form)
    assert checked.status_code == 200 and 'data-figure="resolved-name">BOLA ADEYEMI-OKAFOR<' in checked.text
    resolved = [seen for seen in paystack.seen if seen.path == "/bank/resolve"]
    assert resolved[-1].query == {"account_number": "3344556677", "bank_code": "033"}
    assert resolved[-1].authorization == f"Bearer {paystack.secret_key}"

    unchanged = snapshot(hub.runtime.engine)
    paystack.unavailable(count=1, path="/bank/resolve")
    answer = operator.post(f"{url}/payout-account", {**form, "account_name": "BOLA ADEYEMI-OKAFOR"})
    assert answer.status_code == 502
    assert "Paystack could not be asked the name just now; nothing was saved." in answer.text
    assert snapshot(hub.runtime.engine) == unchanged

    saved = operator.post(f"{url}/payout-account", {**form, "account_name": "BOLA ADEYEMI-OKAFOR"})
    assert saved.status_code == 303
    (account,) = accounts(hub, TUNDE)
    assert (account.bank_name, account.account_name) == ("United Bank For Africa", "BOLA ADEYEMI-OKAFOR")


# --- the overview and the daily summary -------------------------------------------------------------


def test_the_overview_says_which_payouts_need_action(hub: Hub) -> None:
    ready(hub, ADA, TUNDE)
    failed_payout(hub, ADA, 500)
    retried = failed_payout(hub, TUNDE, 200)
    hub.runtime.transact(lambda uow: payouts.retry(uow, retried.payout_id, "user:0 test"))
    old_failure = failed_payout(hub, ADA, 100)
    hub.read(
        lambda s: s.execute(
            update(payouts_t)
            .where(payouts_t.c.id == old_failure.payout_id)
            .values(final_at=datetime.now(UTC) - timedelta(days=8))
        )
    )
    slow = cash_out(hub, TUNDE, 150)
    settle(hub, slow, "pending")
    recent = cash_out(hub, ADA, 120)
    settle(hub, recent, "pending")
    hub.read(
        lambda s: s.execute(
            update(payouts_t)
            .where(payouts_t.c.id == slow.payout_id)
            .values(sent_at=datetime.now(UTC) - timedelta(hours=2))
        )
    )
    text = hub.signed_in("auditor").get("/dashboard/").text
    needs = text.split('id="needs-action"')[1].split("</section>")[0]
    assert (
        '/dashboard/payouts?status=failed"><strong data-figure="dashboard.payouts">1</strong> '
        "payouts that failed this week" in needs
    )
    assert (
        '/dashboard/payouts?status=pending"><strong data-figure="dashboard.payouts">1</strong> '
        "payouts waiting on Paystack for over an hour" in needs
    )


def test_the_daily_summary_counts_the_days_payouts_and_the_float(hub: Hub) -> None:
    ready(hub, ADA, TUNDE)
    settings = hub.runtime.settings
    paid = cash_out(hub, ADA, 500)
    settle(hub, paid, "success")
    failed_payout(hub, TUNDE, 300)
    cash_out(hub, ADA, 200)
    hub.read(
        lambda s: s.execute(
            update(payouts_t).where(payouts_t.c.id == paid.payout_id).values(float_kobo=12_345_600)
        )
    )
    today = datetime.now(UTC).astimezone(settings.zone).date()
    numbers = hub.read(lambda s: reports.figures(s, today, settings.zone))
    assert (numbers["payouts"], numbers["payouts_paid_kobo"], numbers["payouts_returned_kobo"]) == (
        3,
        50_000,
        30_000,
    )
    assert numbers["float_kobo"] == 12_345_600
    settings_with_phone = settings.with_changes(operator_phones=("+2348099990001",))

    def summarise(uow: UnitOfWork) -> bool:
        return reports.summarise(UnitOfWork(uow.session, settings_with_phone, FakeQueue(), uow.now), today)

    assert hub.runtime.transact(summarise)
    (body,) = texts_to(hub, "+2348099990001", "daily_summary")
    assert body.endswith(" Cash: 3 payouts, NGN 500 paid, NGN 300 returned. Float NGN 123,456.")
    assert sms.segments(body).count <= 2


def test_the_summarys_cash_sentence_keeps_the_text_within_its_budget() -> None:
    from tests.unit.test_sms_templates import LONG, placeholders

    values = {name: LONG[name] for name in placeholders(sms.templates.EN["daily_summary"])}
    longest = sms.render("daily_summary", "EN", **values)
    cash = reports.cash_line(
        {
            "payouts": 99_999,
            "payouts_paid_kobo": 100_000_000_000,
            "payouts_returned_kobo": 100_000_000_000,
            "float_kobo": 99_999_999_999_99,
        }
    )
    assert cash.startswith(" Cash: 99999 payouts, NGN 1,000,000,000 paid")
    counted = sms.segments(longest + cash)
    assert counted.encoding == "GSM-7" and counted.count <= reports.SUMMARY_SEGMENTS
    empty = {"payouts": 0, "payouts_paid_kobo": 0, "payouts_returned_kobo": 0, "float_kobo": None}
    assert reports.cash_line(empty) == ""
