"""Cash-out on real stores: SQLite or PostgreSQL (``DATABASE_URL``), real Redis, a real RQ worker in
burst mode, texts down the path every inbound text takes (``service.channels.inbox.receive``), and
``PAYOUT_PROVIDER=paystack`` pointed at tests/fake_paystack.py, which posts its signed webhooks to
the app served on a port of its own.

Each scenario ends with the books checked (tests/payout_helpers.py ``check_books``): the ledger
verifies, and each household's points are its credits minus its paid and unfinished payouts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select, update

import ledger
from ledger import TransferRequest
from service.accounts import ISSUANCE, member_account, open_programme_accounts
from service.app import create_app
from service.channels.inbox import Received, receive
from service.db import transaction
from service.jobs.payouts import refresh_banks, sweep_payouts
from service.models import Household, OutboxMessage, Payout, PayoutAccount
from service.runtime import Runtime
from service.settings import Settings
from service.usecases import payout_sending
from sms.gateways import Inbound
from tests.conftest import ROOT, run_cli, settings_environ
from tests.fake_paystack import FakePaystack
from tests.payout_helpers import (
    bodies_to,
    check_books,
    payout_rows,
    paystack_settings,
    served,
    templates_to,
    wait_for,
    work,
)

PHONE = "+2348031234567"
OPERATOR = "+2348090000001"
NUBAN = "0123456789"
NAME = "HAUWA BELLO"  # the fake's name for an account ending 789


@dataclass
class Programme:
    """The app (served, for the fake's webhooks), its runtime (the jobs run on it), the fake."""

    runtime: Runtime
    settings: Settings
    fake: FakePaystack
    redis: Redis
    webhook_url: str

    def text(self, body: str, sender: str = PHONE) -> Received:
        message = Inbound("test", uuid.uuid4().hex, sender, "KOLEKT", body)
        return receive(self.runtime, message, sender)

    def reply(self, received: Received) -> OutboxMessage:
        with transaction(self.runtime.sessions) as session:
            (row,) = session.execute(
                select(OutboxMessage).where(OutboxMessage.inbound_id == received.inbound_id)
            ).scalars()
            session.expunge(row)
            return row

    def payouts(self) -> list[Payout]:
        with transaction(self.runtime.sessions) as session:
            rows = payout_rows(session)
            session.expunge_all()
            return rows

    def templates(self, phone: str = PHONE) -> list[str]:
        with transaction(self.runtime.sessions) as session:
            return templates_to(session, phone)

    def bodies(self, template: str, phone: str = PHONE) -> list[str]:
        with transaction(self.runtime.sessions) as session:
            return bodies_to(session, phone, template)

    def books(self, credited: dict[str, int]) -> dict[str, Any]:
        with transaction(self.runtime.sessions) as session:
            return check_books(session, credited)

    def change(self, payout_id: int, **values: object) -> None:
        with transaction(self.runtime.sessions) as session:
            session.execute(update(Payout).where(Payout.id == payout_id).values(**values))

    def posted(self, code: str) -> list[ledger.PostedTransfer]:
        with transaction(self.runtime.sessions) as session:
            found = [t for p in payout_rows(session) for t in ledger.transfers_for(session, f"payout:{p.id}")]
        return [t for t in found if t.code == code]

    def work(self, until: Callable[[], bool], what: str) -> None:
        work(self.redis, until, what)

    def status(self, status: str, count: int = 1) -> Callable[[], bool]:
        return lambda: [p.status for p in self.payouts()] == [status] * count

    def join(self, points: int, phone: str = PHONE) -> None:
        """JOIN by text, then points credited as a pickup would."""
        assert self.reply(self.text("JOIN Ada Okafor", phone)).template.startswith("welcome")
        with transaction(self.runtime.sessions) as session:
            code = session.execute(select(Household.member_code).where(Household.phone == phone)).scalar_one()
            credit = TransferRequest(ISSUANCE, member_account(code), points, "pickup_credit", f"t:{phone}")
            ledger.post(session, credit)

    def bank(self, phone: str = PHONE) -> None:
        """BANK -> the worker asks the fake for the name, texted -> YES -> saved."""
        assert self.reply(self.text(f"BANK GTB {NUBAN}", phone)).template == "bank_checking"
        self.work(lambda: "bank_confirm" in self.templates(phone), "the account's name")
        (confirm,) = self.bodies("bank_confirm", phone)
        assert confirm.startswith(f"Name: {NAME}, GTBank ****6789. Text YES")
        assert self.reply(self.text("YES", phone)).template == "bank_saved"
        with transaction(self.runtime.sessions) as session:
            status = session.execute(select(PayoutAccount.status)).scalar_one()
        assert status == "active"


@pytest.fixture
def paystack() -> Iterator[FakePaystack]:
    with FakePaystack() as fake:
        yield fake


@pytest.fixture
def programme(
    fresh_database: Callable[[], str],
    make_settings: Callable[..., Settings],
    redis: Redis,
    paystack: FakePaystack,
) -> Iterator[Callable[..., Programme]]:
    with ExitStack() as stack:

        def make(**changes: object) -> Programme:
            settings = make_settings(
                fresh_database(), **{**paystack_settings(paystack), "operator_phones": (OPERATOR,), **changes}
            )
            app = create_app(settings)
            runtime: Runtime = app.extensions["kolekt.runtime"]
            stack.callback(runtime.close)
            with transaction(runtime.sessions) as session:
                open_programme_accounts(session)
            assert refresh_banks() == 20  # the worker's clock does it first thing, then daily
            url = stack.enter_context(served(app))
            return Programme(runtime, settings, paystack, redis, f"{url}/payouts/paystack")

        yield make


def seen(fake: FakePaystack, method: str, path: str) -> int:
    """Calls the fake received to ``path`` (one ending in / : any path under it)."""
    under = path.endswith("/")
    return sum(
        1 for s in fake.seen if s.method == method and (s.path.startswith(path) if under else s.path == path)
    )


def test_bank_yes_then_cash_out_is_paid_through_paystack_and_texted_once(
    programme: Callable[..., Programme],
) -> None:
    p = programme()
    p.fake.auto_settle, p.fake.webhook_url = "success", p.webhook_url
    p.join(800)
    p.bank()
    started = time.perf_counter()
    held = p.reply(p.text("REDEEM CASH 500"))
    assert held.template == "cash_held"
    assert held.body.startswith("NGN 500 is on its way to GTBank ****6789: 500 pts held")
    assert p.books({PHONE: 800}) == {PHONE: {"balance": 300, "paid": 0, "unfinished": 500}}
    p.work(p.status("paid"), "the payout paid")
    seconds = time.perf_counter() - started

    (payout,) = p.payouts()
    assert (payout.amount_kobo, payout.points, payout.attempts) == (50_000, 500, 1)
    assert payout.transfer_code and payout.human_ref and payout.final_at
    (sent,) = p.bodies("cash_sent")
    assert sent.startswith("Kolekt: NGN 500 sent to GTBank ****6789.") and sent.endswith(payout.human_ref)
    assert p.fake.transfers == [payout.reference] and p.fake.webhook_errors == []
    transfer = p.fake.transfer(payout.reference)
    assert transfer is not None and (transfer["amount"], transfer["status"]) == (50_000, "success")
    assert seen(p.fake, "POST", "/transfer") == 1 and seen(p.fake, "POST", "/transferrecipient") == 1
    assert {s.authorization for s in p.fake.seen} == {f"Bearer {p.fake.secret_key}"}
    assert p.books({PHONE: 800}) == {PHONE: {"balance": 300, "paid": 500, "unfinished": 0}}
    verify = run_cli(p.settings, "ledger", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("OK "), verify.stderr
    print(f"\nREDEEM CASH 500 -> paid and texted: {seconds:.2f}s")


def test_twenty_concurrent_cash_outs_over_points_for_three_make_three_payouts(
    programme: Callable[..., Programme],
) -> None:
    p = programme()
    p.fake.auto_settle, p.fake.webhook_url = "success", p.webhook_url
    p.join(1500)
    p.bank()
    start = threading.Barrier(20)
    results: list[Received] = []
    lock = threading.Lock()

    def cash_out() -> None:
        start.wait()
        received = p.text("REDEEM CASH 500")
        with lock:
            results.append(received)

    began = time.perf_counter()
    threads = [threading.Thread(target=cash_out) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    race = time.perf_counter() - began

    assert len(results) == 20 and not any(r.failed or r.duplicate for r in results)
    answers = sorted(p.reply(r).template for r in results)
    assert answers == ["cash_held"] * 3 + ["cash_not_enough"] * 17
    made = p.payouts()
    assert len(made) == 3 and {(m.status, m.points) for m in made} == {("held", 500)}
    assert len({m.reference for m in made}) == 3
    assert len(p.posted("payout")) == 3
    jobs = [j for j in Queue("high", connection=p.redis).get_jobs() if j.func_name.endswith("send_payout")]
    assert sorted(j.args[0] for j in jobs) == sorted(m.id for m in made)
    assert p.books({PHONE: 1500}) == {PHONE: {"balance": 0, "paid": 0, "unfinished": 1500}}

    p.work(p.status("paid", 3), "three payouts paid")
    assert sorted(p.fake.transfers) == sorted(m.reference for m in made)
    assert seen(p.fake, "POST", "/transfer") == 3 and len(p.bodies("cash_sent")) == 3
    assert p.books({PHONE: 1500}) == {PHONE: {"balance": 0, "paid": 1500, "unfinished": 0}}
    print(f"\n20 concurrent REDEEM CASH 500 over 1500 pts: 3 payouts, 17 refused, {race:.2f}s")


def lapse_claim(p: Programme, payout_id: int) -> None:
    """Time moved on past CLAIM_TTL (and the sweep's grace): the claim a dead worker left lapses."""
    now = datetime.now(UTC)
    p.change(
        payout_id,
        claimed_at=now - payout_sending.CLAIM_TTL - timedelta(seconds=1),
        not_before=now - payout_sending.SWEEP_GRACE - timedelta(seconds=1),
    )


def test_a_worker_killed_between_paystacks_answer_and_the_record_pays_once(
    programme: Callable[..., Programme],
) -> None:
    """A real worker (``flask worker --burst``, its own process) sends the transfer; the fake takes
    it and holds its answer; the worker is killed (SIGKILL) before it can record anything. After
    the claim lapses the sweep's job asks Paystack for the reference and adopts the transfer."""
    p = programme()
    p.join(800)
    p.bank()
    p.fake.slow(60, "/transfer")  # takes the transfer at once, answers a minute later
    p.text("REDEEM CASH 500")
    environ = {
        **settings_environ(p.settings),
        "PAYOUT_PROVIDER": "paystack",
        "PAYSTACK_SECRET_KEY": p.fake.secret_key,
        "PAYSTACK_API_BASE_URL": p.fake.url,
        "PAYSTACK_TIMEOUT_SECONDS": "90",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", "--no-cron"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(lambda: len(p.fake.transfers) == 1, "the worker's transfer", timeout=60)
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    (payout,) = p.payouts()
    assert (payout.status, payout.attempts, payout.sent_at) == ("sending", 1, None)
    assert p.fake.transfers == [payout.reference] and p.bodies("cash_sent") == []
    p.fake.slow(0, "/transfer")

    assert sweep_payouts() == 0  # the claim is live: nobody touches it
    lapse_claim(p, payout.id)
    assert sweep_payouts() == 1
    p.work(p.status("pending"), "the transfer adopted")
    (adopted,) = p.payouts()
    assert adopted.attempts == 2 and adopted.transfer_code and adopted.sent_at
    assert seen(p.fake, "GET", "/transfer/verify/") == 1
    assert p.fake.settle(payout.reference, "success", webhook_url=p.webhook_url) == 200
    assert p.status("paid")()
    assert p.fake.transfers == [payout.reference] and seen(p.fake, "POST", "/transfer") == 1
    assert len(p.bodies("cash_sent")) == 1
    assert p.books({PHONE: 800}) == {PHONE: {"balance": 300, "paid": 500, "unfinished": 0}}


@pytest.mark.parametrize("fault", ["503", "slow"])
def test_paystack_down_or_slow_on_transfer_is_retried_and_paid_once(
    programme: Callable[..., Programme], monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    monkeypatch.setattr(payout_sending, "BACKOFF", (timedelta(0),) * 5)  # retried at once
    p = programme(paystack_timeout_seconds=1)
    p.join(800)
    p.bank()
    if fault == "503":
        p.fake.unavailable(2, "/transfer")  # two 503s, nothing taken
    else:
        p.fake.slow(3, "/transfer")  # taken, but the answer comes after the client gave up
    p.text("REDEEM CASH 500")
    p.work(p.status("pending"), "the transfer taken")
    (payout,) = p.payouts()
    p.fake.slow(0, "/transfer")
    assert p.fake.settle(payout.reference, "success", webhook_url=p.webhook_url) == 200
    (payout,) = p.payouts()
    assert payout.status == "paid" and p.fake.transfers == [payout.reference]
    # 503: asked three times, taken once; slow: asked once, then found by its reference
    assert (payout.attempts, seen(p.fake, "POST", "/transfer")) == ((3, 3) if fault == "503" else (2, 1))
    assert seen(p.fake, "GET", "/transfer/verify/") == (2 if fault == "503" else 1)
    assert len(p.bodies("cash_sent")) == 1 and p.bodies("cash_refunded") == []
    assert p.books({PHONE: 800}) == {PHONE: {"balance": 300, "paid": 500, "unfinished": 0}}


@pytest.mark.parametrize("verify", ["answers", "down"])
def test_a_last_try_that_timed_out_is_asked_about_before_any_points_go_back(
    programme: Callable[..., Programme], monkeypatch: pytest.MonkeyPatch, verify: str
) -> None:
    """The last transient failure returns the points, but a time-out on /transfer may have been
    taken: Paystack is asked first and the transfer it holds adopted; if it cannot be asked, the
    payout stays held for a later try (else: paid and refunded)."""
    monkeypatch.setattr(payout_sending, "MAX_ATTEMPTS", 1)
    p = programme(paystack_timeout_seconds=1)
    p.join(800)
    p.bank()
    p.fake.slow(3, "/transfer")
    if verify == "down":
        p.fake.unavailable(1, "/transfer/verify/")
    p.text("REDEEM CASH 500")
    p.work(lambda: p.payouts()[0].attempts == 1 and not p.payouts()[0].claimed_at, "the one try")
    p.fake.slow(0, "/transfer")
    (payout,) = p.payouts()
    assert p.bodies("cash_refunded") == [] and p.posted("refund") == []
    if verify == "down":
        assert payout.status == "held" and payout.not_before > datetime.now(UTC)
        lapse_claim(p, payout.id)
        assert sweep_payouts() == 1
        p.work(p.status("pending"), "the transfer adopted")
    assert p.status("pending")() and seen(p.fake, "POST", "/transfer") == 1
    assert p.fake.settle(payout.reference, "success", webhook_url=p.webhook_url) == 200
    assert p.status("paid")() and len(p.bodies("cash_sent")) == 1 and p.posted("refund") == []
    assert p.books({PHONE: 800}) == {PHONE: {"balance": 300, "paid": 500, "unfinished": 0}}


@pytest.mark.parametrize("how", ["webhook", "refused"])
def test_a_failed_transfer_gives_the_points_back_once_and_texts_once(
    programme: Callable[..., Programme], how: str
) -> None:
    """transfer.failed (sent twice, as Paystack resends), or Paystack refusing the transfer itself."""
    p = programme()
    p.join(800)
    p.bank()
    if how == "refused":
        p.fake.refuse_next_transfer("Recipient account is dormant")
    p.text("REDEEM CASH 500")
    p.work(p.status("failed" if how == "refused" else "pending"), "the transfer sent")
    (payout,) = p.payouts()
    if how == "webhook":
        assert p.fake.settle(payout.reference, "failed", webhook_url=p.webhook_url) == 200
        body = p.fake.webhook(payout.reference)
        assert p.fake.post_webhook(p.webhook_url, body) == 200  # Paystack sends it again
        p.change(payout.id, sent_at=datetime.now(UTC) - payout_sending.RECONCILE_AFTER - timedelta(minutes=1))
    assert sweep_payouts() == 0  # failed: not pending, nothing to ask, nothing to send
    p.work(lambda: True, "any job left")

    (payout,) = p.payouts()
    why = {"webhook": "the transfer failed", "refused": "the account was refused"}[how]
    assert payout.status == "failed" and payout.final_at is not None
    (debit,) = p.posted("payout")
    (refund,) = p.posted("refund")
    assert refund.reverses == debit.id and refund.amount == 500
    (told,) = p.bodies("cash_refunded")
    assert told.startswith(f"Kolekt: NGN 500 not sent: {why}. Your 500 pts are back.")
    assert told.endswith(f"Ref {payout.human_ref}")
    assert len(p.fake.transfers) == (1 if how == "webhook" else 0)
    assert p.books({PHONE: 800}) == {PHONE: {"balance": 800, "paid": 0, "unfinished": 0}}


def test_with_no_webhook_the_reconciliation_asks_paystack_and_settles(
    programme: Callable[..., Programme],
) -> None:
    p = programme()
    p.join(800)
    p.bank()
    p.text("REDEEM CASH 500")
    p.work(p.status("pending"), "the transfer taken")
    (payout,) = p.payouts()
    p.fake.settle(payout.reference, "success")  # and its webhook never comes
    assert sweep_payouts() == 0 and p.status("pending")()  # not yet RECONCILE_AFTER
    p.change(payout.id, sent_at=datetime.now(UTC) - payout_sending.RECONCILE_AFTER - timedelta(seconds=1))
    assert sweep_payouts() == 1
    assert p.status("paid")() and len(p.bodies("cash_sent")) == 1
    assert sweep_payouts() == 0 and len(p.bodies("cash_sent")) == 1
    assert seen(p.fake, "GET", "/transfer/verify/") == 1
    assert p.books({PHONE: 800}) == {PHONE: {"balance": 300, "paid": 500, "unfinished": 0}}


def test_a_low_float_texts_the_operators_once_a_day_and_a_short_one_holds_the_payout(
    programme: Callable[..., Programme],
) -> None:
    p = programme(payout_float_low_naira=1_000)
    p.fake.auto_settle, p.fake.webhook_url = "success", p.webhook_url
    p.fake.balance_kobo = 120_000  # NGN 1,200
    p.join(2000)
    p.bank()
    for count in (1, 2):  # NGN 1,200 then NGN 700 seen before sending: low both times
        p.text("REDEEM CASH 500")
        p.work(p.status("paid", count), f"payout {count} paid")
    (low,) = p.bodies("float_low", OPERATOR)
    assert low.startswith("Kolekt: the Paystack balance is NGN 1,200, under NGN 1,000. Top it up")
    assert [x.float_kobo for x in p.payouts()] == [120_000, 70_000]

    p.text("REDEEM CASH 500")  # NGN 200 left: short of it
    work(p.redis, lambda: p.payouts()[-1].attempts == 1, "the short float seen")
    short = p.payouts()[-1]
    assert (short.status, short.claimed_at) == ("held", None) and "float" in (short.failure or "")
    assert short.not_before > datetime.now(UTC) + timedelta(seconds=20)  # tried again in 30 s
    assert len(Queue("high", connection=p.redis).scheduled_job_registry.get_job_ids()) == 1
    assert p.posted("refund") == [] and p.bodies("cash_refunded") == []
    assert p.fake.transfers == [x.reference for x in p.payouts()[:2]]
    assert p.books({PHONE: 2000}) == {PHONE: {"balance": 500, "paid": 1000, "unfinished": 500}}

    p.fake.balance_kobo += 10_000_000  # topped up; and it is the next day for the operators
    with transaction(p.runtime.sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.template == "float_low")
            .values(created_at=datetime.now(UTC) - timedelta(days=1))
        )
    lapse_claim(p, short.id)
    assert sweep_payouts() == 1
    p.work(p.status("paid", 3), "the held payout paid")
    assert len(p.bodies("float_low", OPERATOR)) == 1  # NGN 100,200 is not low
    p.fake.balance_kobo = 100_000
    p.text("REDEEM CASH 500")
    p.work(p.status("paid", 4), "payout 4 paid")
    assert len(p.bodies("float_low", OPERATOR)) == 2  # a new day: told again
    assert len(p.fake.transfers) == 4 and len(p.bodies("cash_sent")) == 4
    assert p.books({PHONE: 2000}) == {PHONE: {"balance": 0, "paid": 2000, "unfinished": 0}}
