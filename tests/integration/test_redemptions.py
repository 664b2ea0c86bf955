"""Redemptions on real stores: REDEEM under concurrency, fulfilment by a real RQ worker on real
Redis, refunds, the sweep, and VERIFY. Runs on SQLite and on PostgreSQL (``DATABASE_URL``).

Texts take the path every inbound text takes (``service.channels.inbox.receive``); airtime goes
through the real ``requests`` client to a local stand-in for Africa's Talking's airtime API that
answers as planned.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, update

import ledger
from ledger import TransferRequest
from service.accounts import ISSUANCE, member_account, open_programme_accounts
from service.channels.inbox import Received, receive
from service.db import transaction
from service.jobs.fulfilment import fulfil_redemption, sweep_redemptions
from service.jobs.queue import RqQueue
from service.models import Household, OutboxMessage, Partner, Redemption, Reward
from service.runtime import Runtime, use
from service.settings import Settings
from service.unit_of_work import Job, JobQueue, UnitOfWork
from service.usecases import CatalogueError, Refused, rewards, roles
from service.usecases import redemptions as redeeming
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.roles import add_collector, role_of
from sms import mask_code
from sms.gateways import Inbound
from tests.fakes import FakeQueue

PHONE = "+2348031234567"
NEIGHBOUR = "+2348052345678"
SHOP = "+2348060000001"
OTHER_SHOP = "+2348060000002"
COLLECTOR = "+2348070000001"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


# --- a stand-in for Africa's Talking's airtime API -------------------------------------------------


def airtime_answer(status: str = "Sent", request_id: str = "ATQid_1", error: str = "None") -> dict[str, Any]:
    return {
        "errorMessage": "None",
        "numSent": 1 if status == "Sent" else 0,
        "totalAmount": "NGN 200.0000",
        "totalDiscount": "NGN 8.0000",
        "responses": [
            {
                "phoneNumber": PHONE,
                "errorMessage": error,
                "amount": "NGN 200.0000",
                "status": status,
                "requestId": request_id,
                "discount": "NGN 8.0000",
            }
        ],
    }


@dataclass
class FakeAirtime:
    """Answers each top-up with the next planned (status, body), then success; keeps every request."""

    plan: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    received: list[tuple[dict[str, str], dict[str, list[str]]]] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.received.append((headers, form))
            if self.plan:
                return self.plan.pop(0)
            number = len(self.received)
        return 201, airtime_answer(request_id=f"ATQid_{number}")


@pytest.fixture
def airtime_api() -> Iterator[tuple[FakeAirtime, str]]:
    fake = FakeAirtime()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            time.sleep(fake.delay)
            status, body = fake.answer({k.lower(): v for k, v in self.headers.items()}, form)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def africastalking_airtime(base_url: str) -> dict[str, object]:
    return {
        "airtime_provider": "africastalking",
        "africastalking_username": "sandbox",
        "africastalking_api_key": "key",
        "africastalking_api_base_url": base_url,
    }


# --- the programme, a household, texts ------------------------------------------------------------


class HoldingQueue:
    """The runtime's queue here: RQ on the test Redis (``service.jobs.queue.RqQueue``), as the
    app's; but what a text received through ``text`` asks for (its replies, its jobs) is held in a
    ``FakeQueue`` of its own, in the thread that received it, for the test to look at and to hand
    to RQ only when it says so (``text(..., redis=)``)."""

    def __init__(self, connection: Redis) -> None:
        self.rq = RqQueue(connection)
        self._held = threading.local()

    @contextmanager
    def holding(self) -> Iterator[FakeQueue]:
        held = self._held.queue = FakeQueue()
        try:
            yield held
        finally:
            self._held.queue = None

    def release(self, held: FakeQueue) -> None:
        """What was held, to RQ (as it would have gone after the commit)."""
        self.rq.send(held.sent)
        for ids, due in held.bulk:
            self.rq.send_bulk(ids, due=due)
        for job, arguments, job_id in held.jobs:
            self.rq.enqueue(job, *arguments, job_id=job_id)

    def _queue(self) -> JobQueue:
        held: FakeQueue | None = getattr(self._held, "queue", None)
        return self.rq if held is None else held

    def enqueue(
        self, job: Job, *arguments: object, job_id: str | None = None, wait: timedelta | None = None
    ) -> bool:
        return self._queue().enqueue(job, *arguments, job_id=job_id, wait=wait)

    def enqueue_many(self, job: Job, calls: Sequence[tuple[tuple[object, ...], str | None]]) -> bool:
        return self._queue().enqueue_many(job, calls)

    def send(self, message_ids: Sequence[int], *, tag: str = "0") -> bool:
        return self._queue().send(message_ids, tag=tag)

    def send_bulk(self, message_ids: Sequence[int], *, tag: str = "0", due: datetime | None = None) -> bool:
        return self._queue().send_bulk(message_ids, tag=tag, due=due)


@dataclass(frozen=True)
class Texted(Received):
    """What became of a text, and the jobs its unit of work asked for (``(job, arguments)``)."""

    jobs: tuple[tuple[Job, tuple[object, ...]], ...] = ()


@pytest.fixture
def make_runtime(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**changes: object) -> Runtime:
        runtime = use(Runtime(make_settings(fresh_database(), **changes), queue=HoldingQueue))
        made.append(runtime)
        with transaction(runtime.sessions) as session:
            open_programme_accounts(session)
            rewards.add_reward(session, "AIRTIME", "Airtime", "airtime", 1, NOW, stock=1000)
            rewards.add_reward(session, "SHOPRITE", "Shoprite voucher", "voucher", 100, NOW)
            rewards.add_reward(session, "RICE", "Rice 5kg", "goods", 450, NOW, stock=3)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def household(runtime: Runtime, points: int, phone: str = PHONE) -> Member:
    with transaction(runtime.sessions) as session:
        ensure_phone(session, phone, NOW)
        member = register_household(session, phone, "Ada Okafor", None, "test", NOW)
        if points:
            ledger.post(
                session,
                TransferRequest(
                    ISSUANCE, member_account(member.member_code), points, "pickup_credit", f"test:{phone}"
                ),
            )
    return member


def partner(runtime: Runtime, phone: str = SHOP, name: str = "Iya Basira Stores") -> roles.Partner:
    with transaction(runtime.sessions) as session:
        return roles.add_partner(session, phone, name, NOW)


def text(runtime: Runtime, body: str, sender: str = PHONE, *, redis: Redis | None = None) -> Texted:
    """One inbound text down the real path; with ``redis``, its jobs and replies are enqueued too."""
    message = Inbound(provider="test", provider_id=uuid.uuid4().hex, sender=sender, to="KOLEKT", text=body)
    queue = runtime.queue
    assert isinstance(queue, HoldingQueue)
    with queue.holding() as held:
        received = receive(runtime, message, sender)
    if redis is not None:
        queue.release(held)
    return Texted(**asdict(received), jobs=tuple((job, arguments) for job, arguments, _ in held.jobs))


def read(runtime: Runtime, statement: Any) -> list[Any]:
    with transaction(runtime.sessions) as session:
        rows = list(session.execute(statement).scalars())
        session.expunge_all()
        return rows


def redemptions(runtime: Runtime) -> list[Redemption]:
    return read(runtime, select(Redemption).order_by(Redemption.id))


def replies(runtime: Runtime, to: str = PHONE) -> list[OutboxMessage]:
    return read(runtime, select(OutboxMessage).where(OutboxMessage.to_phone == to).order_by(OutboxMessage.id))


def reply_to(runtime: Runtime, received: Received) -> OutboxMessage:
    (reply,) = read(runtime, select(OutboxMessage).where(OutboxMessage.inbound_id == received.inbound_id))
    return reply


def points_of(runtime: Runtime, member: Member) -> int:
    with transaction(runtime.sessions) as session:
        return ledger.balance(session, member_account(member.member_code)).credit_balance


def stock_of(runtime: Runtime, code: str) -> int | None:
    (stock,) = read(runtime, select(Reward.stock).where(Reward.code == code))
    return stock  # type: ignore[no-any-return]


def transfers(runtime: Runtime, code: str) -> list[ledger.PostedTransfer]:
    with transaction(runtime.sessions) as session:
        found = [t for r in redemptions(runtime) for t in ledger.transfers_for(session, f"redemption:{r.id}")]
    return [t for t in found if t.code == code]


def work(redis: Redis, until: Callable[[], bool], *, rounds: int = 10) -> None:
    """A real RQ worker, as ``flask worker`` runs it, in burst mode (with its scheduler, for
    retries) until ``until()``."""
    queues = [Queue(name, connection=redis) for name in ("high", "default", "low")]
    for _ in range(rounds):
        SimpleWorker(queues, connection=redis).work(burst=True, with_scheduler=True)
        if until():
            return
    raise AssertionError("the worker did not get there")


def verified(runtime: Runtime) -> None:
    with transaction(runtime.sessions) as session:
        ledger.seal_all(session)
        report = ledger.verify(session, workers=1)
    assert report.ok, report.problem


# --- REDEEM under concurrency ------------------------------------------------------------------------


def test_twenty_concurrent_redeems_against_points_for_three_spend_them_three_times(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    member = household(runtime, points=300)  # three vouchers of 100
    start = threading.Barrier(20)
    results: list[Texted] = []
    lock = threading.Lock()

    def redeem() -> None:
        start.wait()
        received = text(runtime, "REDEEM SHOPRITE")
        with lock:
            results.append(received)

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(results) == 20 and not any(r.failed or r.duplicate for r in results)
    made = redemptions(runtime)
    assert len(made) == 3 and {r.status for r in made} == {"created"}
    assert len({r.reference for r in made}) == 3 and all(r.reference for r in made)
    debits = transfers(runtime, "redemption")
    assert len(debits) == 3 and {t.amount for t in debits} == {100}
    assert {t.debit for t in debits} == {member_account(member.member_code)}
    assert {t.human_ref for t in debits} == {r.reference for r in made}
    assert points_of(runtime, member) == 0
    # each text asked for exactly one thing: three fulfilments, seventeen refusals
    assert sum(len(r.jobs) for r in results) == 3
    refusals = [reply_to(runtime, r) for r in results if not r.jobs]
    assert len(refusals) == 17 and {m.template for m in refusals} == {"not_enough_points"}
    assert all(not r.replies for r in results if r.jobs)  # the reply comes with the reward
    verified(runtime)  # no limited account below zero, every counter equal to its transfers


def test_a_debit_racing_past_the_balance_check_is_refused_and_leaves_nothing(
    make_runtime: Callable[..., Runtime],
) -> None:
    """On PostgreSQL the second REDEEM reads the balance before the first commits and passes the
    check; the ledger's no-overdraft limit refuses its debit, and its savepoint takes back the
    stock and the row it had written. (SQLite runs one writer at a time: the check refuses it.)"""
    runtime = make_runtime()
    member = household(runtime, points=450)  # one bag of rice
    taken = threading.Event()

    def first() -> None:
        with transaction(runtime.sessions) as session:
            redeeming.redeem(UnitOfWork(session, runtime.settings, FakeQueue(), NOW), member, "RICE", None)
            taken.set()
            time.sleep(0.5)  # still uncommitted while the second one starts

    thread = threading.Thread(target=first)
    thread.start()
    assert taken.wait(10)
    with transaction(runtime.sessions) as session:
        with pytest.raises(Refused) as caught:
            redeeming.redeem(UnitOfWork(session, runtime.settings, FakeQueue(), NOW), member, "RICE", None)
        session.execute(select(func.count()).select_from(Redemption))  # the transaction goes on
    thread.join(10)
    assert caught.value.template == "not_enough_points"
    assert caught.value.values == {"reward": "Rice 5kg", "need": 450, "balance": 0}
    assert len(redemptions(runtime)) == 1 and len(transfers(runtime, "redemption")) == 1
    assert stock_of(runtime, "RICE") == 2 and points_of(runtime, member) == 0


def test_two_households_racing_for_the_last_item_one_gets_it(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    with transaction(runtime.sessions) as session:
        rewards.set_stock(session, "RICE", 1)
    members = [household(runtime, 1000), household(runtime, 1000, NEIGHBOUR)]
    start = threading.Barrier(2)
    results: dict[str, Texted] = {}

    def redeem(phone: str) -> None:
        start.wait()
        results[phone] = text(runtime, "REDEEM RICE", phone)

    threads = [threading.Thread(target=redeem, args=(phone,)) for phone in (PHONE, NEIGHBOUR)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    (made,) = redemptions(runtime)
    assert stock_of(runtime, "RICE") == 0
    winner = next(m for m in members if m.id == made.household_id)
    loser = next(m for m in members if m.id != made.household_id)
    assert points_of(runtime, winner) == 550 and points_of(runtime, loser) == 1000
    assert reply_to(runtime, results[loser.phone]).template == "out_of_stock"


def test_a_suspended_household_cannot_redeem(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    member = household(runtime, points=1000)
    with transaction(runtime.sessions) as session:
        session.execute(update(Household).where(Household.id == member.id).values(status="suspended"))
    received = text(runtime, "REDEEM SHOPRITE")
    assert reply_to(runtime, received).template == "account_suspended" and not received.jobs
    assert redemptions(runtime) == [] and points_of(runtime, member) == 1000


# --- fulfilment ------------------------------------------------------------------------------------------


def test_each_kind_is_fulfilled_by_a_real_worker_and_the_household_told(
    make_runtime: Callable[..., Runtime], redis: Redis
) -> None:
    runtime = make_runtime()
    member = household(runtime, points=2000)
    for body in ("REDEEM AIRTIME 200", "REDEEM SHOPRITE", "REDEEM 3 2"):
        received = text(runtime, body, redis=redis)
        assert received.jobs and not received.replies
    work(redis, lambda: all(m.status == "delivered" for m in replies(runtime)) and len(replies(runtime)) == 3)

    airtime, voucher, goods = redemptions(runtime)
    assert (airtime.reward_code, airtime.units, airtime.points) == ("AIRTIME", 200, 200)
    assert (voucher.reward_code, voucher.units, voucher.points) == ("SHOPRITE", 1, 100)
    assert (goods.reward_code, goods.units, goods.points) == ("RICE", 2, 900)
    for made in (airtime, voucher, goods):
        assert made.status == "fulfilled" and made.fulfilled_at is not None and made.attempts == 1
    assert airtime.provider_ref == f"console:{airtime.id}" and airtime.voucher_code is None
    assert voucher.voucher_code is not None and len(voucher.voucher_code) == 10
    assert goods.provider_ref == f"hub:{goods.reference}"
    assert stock_of(runtime, "AIRTIME") == 800 and stock_of(runtime, "RICE") == 1
    assert points_of(runtime, member) == 2000 - 200 - 100 - 900

    by_template = {m.template: m.body for m in replies(runtime)}
    assert set(by_template) == {"airtime_sent", "voucher_issued", "goods_ordered"}
    assert by_template["airtime_sent"].startswith("Kolekt: NGN 200 airtime sent to this phone. -200 pts")
    assert by_template["airtime_sent"].endswith(f"Ref {airtime.reference}")
    code = voucher.voucher_code
    assert f"voucher {code[:5]}-{code[5:]} for Shoprite voucher" in by_template["voucher_issued"]
    assert (
        f"2 x Rice 5kg for you. Collect at the hub with ref {goods.reference}" in by_template["goods_ordered"]
    )
    assert by_template["goods_ordered"].endswith("-900 pts, Bal 800.")
    verified(runtime)


def test_a_failed_top_up_is_refunded_the_stock_put_back_and_the_household_told(
    make_runtime: Callable[..., Runtime], redis: Redis, airtime_api: tuple[FakeAirtime, str]
) -> None:
    fake, base_url = airtime_api
    fake.plan = [(201, airtime_answer("Failed", "None", "Invalid phone number"))]
    runtime = make_runtime(**africastalking_airtime(base_url))
    member = household(runtime, points=500)
    text(runtime, "REDEEM AIRTIME 200", redis=redis)
    assert points_of(runtime, member) == 300 and stock_of(runtime, "AIRTIME") == 800
    work(redis, lambda: bool(replies(runtime)) and replies(runtime)[-1].status == "delivered")

    (made,) = redemptions(runtime)
    assert made.status == "refunded" and "Invalid phone number" in (made.failure or "")
    assert points_of(runtime, member) == 500 and stock_of(runtime, "AIRTIME") == 1000
    (debit,) = transfers(runtime, "redemption")
    (refund,) = transfers(runtime, "refund")
    assert refund.reverses == debit.id and refund.idempotency_key == f"redemption:{made.id}:refund"
    assert (refund.debit, refund.credit, refund.amount) == (debit.credit, debit.debit, 200)
    (told,) = replies(runtime)
    assert told.template == "redeem_refunded"
    assert told.body == "Kolekt: sorry, Airtime failed. Your 200 pts are back. Bal 500."
    [(headers, form)] = fake.received
    assert headers["idempotency-key"] == f"redemption:{made.id}" and headers["apikey"] == "key"
    assert form["username"] == ["sandbox"]
    assert json.loads(form["recipients"][0]) == [{"phoneNumber": PHONE, "amount": "NGN 200"}]
    verified(runtime)


def test_a_provider_outage_is_retried_with_the_same_idempotency_key_until_it_is_taken(
    make_runtime: Callable[..., Runtime],
    redis: Redis,
    airtime_api: tuple[FakeAirtime, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, base_url = airtime_api
    fake.plan = [(503, {"error": "down"}), (500, {"error": "down"})]
    monkeypatch.setattr(redeeming, "BACKOFF", (timedelta(0),) * 4)  # retries at once, via the scheduler
    runtime = make_runtime(**africastalking_airtime(base_url))
    member = household(runtime, points=500)
    text(runtime, "REDEEM AIRTIME 150", redis=redis)
    work(redis, lambda: redemptions(runtime)[0].status == "fulfilled")
    (made,) = redemptions(runtime)
    assert (made.attempts, made.provider_ref) == (3, "ATQid_3")
    assert {headers["idempotency-key"] for headers, _ in fake.received} == {f"redemption:{made.id}"}
    assert len(fake.received) == 3 and points_of(runtime, member) == 350


def test_the_fifth_transient_failure_refunds(
    make_runtime: Callable[..., Runtime],
    redis: Redis,
    airtime_api: tuple[FakeAirtime, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, base_url = airtime_api
    fake.plan = [(503, {"error": "down"})] * redeeming.MAX_ATTEMPTS
    monkeypatch.setattr(redeeming, "BACKOFF", (timedelta(0),) * 4)
    runtime = make_runtime(**africastalking_airtime(base_url))
    member = household(runtime, points=500)
    text(runtime, "REDEEM AIRTIME")  # the least: NGN 100
    (made,) = redemptions(runtime)
    outcomes = [fulfil_redemption(made.id) for _ in range(redeeming.MAX_ATTEMPTS)]
    assert all(o.startswith("retry in 0s") for o in outcomes[:-1]) and outcomes[-1].startswith("refunded")
    assert fulfil_redemption(made.id) == "nothing to do"
    (made,) = redemptions(runtime)
    assert (made.status, made.attempts) == ("refunded", redeeming.MAX_ATTEMPTS)
    assert points_of(runtime, member) == 500 and len(fake.received) == redeeming.MAX_ATTEMPTS
    # each retry was scheduled with RQ
    assert (
        len(Queue("high", connection=redis).scheduled_job_registry.get_job_ids())
        == redeeming.MAX_ATTEMPTS - 1
    )


def test_a_transient_failure_is_not_retried_before_its_time(
    make_runtime: Callable[..., Runtime], redis: Redis, airtime_api: tuple[FakeAirtime, str]
) -> None:
    fake, base_url = airtime_api
    fake.plan = [(503, {"error": "down"})]
    runtime = make_runtime(**africastalking_airtime(base_url))
    household(runtime, points=500)
    text(runtime, "REDEEM AIRTIME 100")
    (made,) = redemptions(runtime)
    assert (
        fulfil_redemption(made.id)
        == 'retry in 30s: Africa\'s Talking answered HTTP 503: \'{"error": "down"}\''
    )
    assert fulfil_redemption(made.id) == "nothing to do"  # the claim lapses when the retry is due
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:  # old enough for the sweep: only the claim counts
        session.execute(
            update(Redemption).where(Redemption.id == made.id).values(created_at=now - timedelta(hours=1))
        )
        assert redeeming.to_sweep(session, now + timedelta(seconds=25)) == []
        assert redeeming.to_sweep(session, now + timedelta(seconds=35)) == [made.id]
    assert len(fake.received) == 1


def test_fulfilling_twice_fulfils_once_even_at_the_same_moment(
    make_runtime: Callable[..., Runtime], airtime_api: tuple[FakeAirtime, str]
) -> None:
    fake, base_url = airtime_api
    fake.delay = 0.3  # both jobs are in flight together
    runtime = make_runtime(**africastalking_airtime(base_url))
    household(runtime, points=500)
    text(runtime, "REDEEM AIRTIME 100")
    (made,) = redemptions(runtime)
    outcomes: list[str] = []
    threads = [threading.Thread(target=lambda: outcomes.append(fulfil_redemption(made.id))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["fulfilled", "nothing to do"]
    assert fulfil_redemption(made.id) == "nothing to do"
    assert len(fake.received) == 1
    (made,) = redemptions(runtime)
    assert (made.status, made.attempts) == ("fulfilled", 1)
    assert [m.template for m in replies(runtime)] == ["airtime_sent"]


def test_a_voucher_run_twice_keeps_its_first_code(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    household(runtime, points=500)
    text(runtime, "REDEEM SHOPRITE")
    (made,) = redemptions(runtime)
    assert fulfil_redemption(made.id) == "fulfilled"
    (first,) = redemptions(runtime)
    assert fulfil_redemption(made.id) == "nothing to do"
    (second,) = redemptions(runtime)
    assert first.voucher_code == second.voucher_code and second.voucher_code is not None
    assert len(replies(runtime)) == 1


def test_the_voucher_answers_the_households_own_redeem_so_it_goes_even_in_quiet_hours(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime(quiet_hours="21:00-07:00")
    household(runtime, points=500)
    text(runtime, "REDEEM SHOPRITE")
    (made,) = redemptions(runtime)
    fulfil_redemption(made.id)
    (voucher,) = replies(runtime)
    assert voucher.template == "voucher_issued" and voucher.reply is True


# --- the sweep ------------------------------------------------------------------------------------------


def test_the_sweep_finds_a_redemption_nobody_enqueued(
    make_runtime: Callable[..., Runtime], redis: Redis
) -> None:
    runtime = make_runtime()
    household(runtime, points=5000)
    for _ in range(4):
        text(runtime, "REDEEM SHOPRITE")  # Redis "was down": no job enqueued
    lost, fresh, in_hand, dead = (r.id for r in redemptions(runtime))
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        old = update(Redemption).where(Redemption.id.in_([lost, in_hand, dead]))
        session.execute(old.values(created_at=now - timedelta(minutes=10)))
        session.execute(update(Redemption).where(Redemption.id == in_hand).values(claimed_at=now))
        session.execute(
            update(Redemption).where(Redemption.id == dead).values(claimed_at=now - timedelta(minutes=6))
        )
    assert sweep_redemptions() == 2  # not the fresh one, nor the one a live job holds
    queued = Queue("high", connection=redis).get_jobs()
    assert sorted(job.args[0] for job in queued) == sorted([lost, dead])
    work(redis, lambda: {r.id for r in redemptions(runtime) if r.status == "fulfilled"} == {lost, dead})
    statuses = {r.id: r.status for r in redemptions(runtime)}
    assert statuses == {lost: "fulfilled", fresh: "created", in_hand: "created", dead: "fulfilled"}
    assert sweep_redemptions() == 0


# --- VERIFY ----------------------------------------------------------------------------------------------


def issued_voucher(runtime: Runtime) -> Redemption:
    text(runtime, "REDEEM SHOPRITE")
    made = redemptions(runtime)[-1]
    assert fulfil_redemption(made.id) == "fulfilled"
    return next(r for r in redemptions(runtime) if r.id == made.id)


def test_two_shops_verifying_one_voucher_at_once_use_it_once(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    member = household(runtime, points=500)
    shops = {SHOP: partner(runtime, SHOP), OTHER_SHOP: partner(runtime, OTHER_SHOP, "Mama Chidi")}
    voucher = issued_voucher(runtime)
    code = voucher.voucher_code
    assert code is not None
    start = threading.Barrier(2)
    results: dict[str, Texted] = {}

    def verify(phone: str) -> None:
        start.wait()
        results[phone] = text(runtime, f"verify {code[:5].lower()}-{code[5:]}", phone)

    threads = [threading.Thread(target=verify, args=(phone,)) for phone in shops]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    answers = {phone: reply_to(runtime, received) for phone, received in results.items()}
    assert sorted(a.template for a in answers.values()) == ["verify_ok", "verify_used"]
    winner = next(phone for phone, answer in answers.items() if answer.template == "verify_ok")
    (used,) = [r for r in redemptions(runtime) if r.id == voucher.id]
    assert used.voucher_used_by == shops[winner].id and used.voucher_used_at is not None
    shown = f"{code[:5]}-{code[5:]}"
    assert answers[winner].body == (
        f"Voucher {shown} OK: Shoprite voucher for {mask_code(member.member_code)}. "
        "Now used: do not accept it again."
    )
    loser = next(phone for phone in shops if phone != winner)
    day = used.voucher_used_at.astimezone(runtime.settings.zone).strftime("%d/%m/%Y")
    assert answers[loser].body == f"Voucher {shown} was already used on {day}. Do not accept it."


def test_a_suspended_shop_and_an_unknown_code_are_refused_and_change_nothing(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    household(runtime, points=500)
    partner(runtime)
    voucher = issued_voucher(runtime)
    assert voucher.voucher_code is not None
    unknown = reply_to(runtime, text(runtime, "VERIFY ABCDE-FGHJK", SHOP))
    assert unknown.body == "No valid voucher ABCDE-FGHJK. Do not accept it."
    with transaction(runtime.sessions) as session:
        roles.set_partner_status(session, SHOP, "suspended")
    refused = reply_to(runtime, text(runtime, f"VERIFY {voucher.voucher_code}", SHOP))
    assert refused.template == "account_suspended"
    (still,) = redemptions(runtime)
    assert still.voucher_used_at is None and still.voucher_used_by is None


def test_a_voucher_not_yet_issued_cannot_be_verified(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    household(runtime, points=500)
    partner(runtime)
    text(runtime, "REDEEM SHOPRITE")
    (made,) = redemptions(runtime)
    with transaction(runtime.sessions) as session:  # a code stored, the redemption not fulfilled
        session.execute(update(Redemption).where(Redemption.id == made.id).values(voucher_code="ABCDEFGHJK"))
    assert reply_to(runtime, text(runtime, "VERIFY ABCDEFGHJK", SHOP)).template == "verify_unknown"


# --- the catalogue and partners, as use cases ---------------------------------------------------------


def test_the_catalogue_refuses_what_it_cannot_take(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    bad: list[dict[str, Any]] = [
        {"code": "X"},
        {"code": "12"},
        {"code": "RICE"},
        {"code": "NEW-ONE"},
        {"name": " "},
        {"kind": "cash"},
        {"price": 0},
        {"price": 1.5},
        {"min_units": 0},
        {"min_units": 10, "max_units": 5},
        {"stock": -1},
    ]
    for changes in bad:
        values = {"code": "SOAP", "name": "Soap", "kind": "goods", "price": 50, **changes}
        with transaction(runtime.sessions) as session, pytest.raises(CatalogueError):
            rewards.add_reward(session, now=NOW, **values)
    with transaction(runtime.sessions) as session:
        assert [r.code for r in rewards.catalogue(session)] == ["AIRTIME", "SHOPRITE", "RICE"]
        assert rewards.add_reward(session, " soap2 ", "Soap", "goods", 50, NOW) == 4
        soap = rewards.get_reward(session, "SOAP2")
        airtime = rewards.get_reward(session, "AIRTIME")
    assert soap is not None and (soap.min_units, soap.max_units, soap.stock) == (1, 5, None)
    assert airtime is not None and (airtime.min_units, airtime.max_units) == (100, 5000)


def test_a_partner_needs_a_phone_of_its_own(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    household(runtime, points=0)
    partner(runtime)
    with transaction(runtime.sessions) as session:
        add_collector(session, COLLECTOR, "Tunde", None, NOW)
    for phone in (PHONE, SHOP, COLLECTOR):
        with transaction(runtime.sessions) as session, pytest.raises(CatalogueError):
            roles.add_partner(session, phone, "Another shop", NOW)
    with transaction(runtime.sessions) as session:
        assert session.execute(select(func.count()).select_from(Partner)).scalar_one() == 1
        assert role_of(session, SHOP)[0] == "partner"
