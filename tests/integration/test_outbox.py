"""The outbox on real stores: what is written, what is sent, retried, failed, swept; never twice.

The send job runs in a real RQ worker on real Redis, and talks HTTP to a local stand-in for
Africa's Talking that can fail first and recover later.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.app import make_runtime as runtime_for
from service.db import make_engine, make_session_factory, transaction
from service.jobs.queue import RqQueue
from service.jobs.sending import send_message, sweep_outbox
from service.models import OutboxMessage, Phone
from service.outbox import Outbox
from service.runtime import Runtime, use
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import messages
from sms.gateways import OutgoingMessage, SendError, Sent
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.fakes import FakeQueue
from tests.integration.prism import TWILIO_SPEC, prism_mock

PHONE = "+2348031234567"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


# --- a stand-in for Africa's Talking -----------------------------------------------------------


@dataclass
class FakeProvider:
    """Answers each send with the next planned answer (then success); remembers every send."""

    plan: list[tuple[int, dict[str, object]]] = field(default_factory=list)
    received: list[dict[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, form: dict[str, list[str]]) -> tuple[int, dict[str, object]]:
        with self.lock:
            self.received.append(form)
            if self.plan:
                return self.plan.pop(0)
            number = len(self.received)
        return 201, recipients(101, "Success", f"ATXid_{number}")


def recipients(code: int, status: str, message_id: str = "None") -> dict[str, object]:
    return {
        "SMSMessageData": {
            "Message": "Sent to 1/1",
            "Recipients": [
                {
                    "statusCode": code,
                    "number": PHONE,
                    "status": status,
                    "cost": "NGN 2.2",
                    "messageId": message_id,
                }
            ],
        }
    }


@pytest.fixture
def provider() -> Iterator[tuple[FakeProvider, str]]:
    fake = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            status, body = fake.answer(form)
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


@pytest.fixture
def make_runtime(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(**changes: object) -> Runtime:
        runtime = use(runtime_for(make_settings(fresh_database(), **changes)))
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


def africastalking(base_url: str) -> dict[str, object]:
    return {
        "sms_gateway": "africastalking",
        "africastalking_username": "sandbox",
        "africastalking_api_key": "key",
        "africastalking_callback_secret": "secret",
        "africastalking_api_base_url": base_url,
    }


def write(
    runtime: Runtime, body: str = "Kolekt: 0 pts.", *, to: str = PHONE, template: str = "balance"
) -> int:
    with transaction(runtime.sessions) as session:
        session.merge(Phone(number=to, language="EN", created_at=T0, updated_at=T0))
        return Outbox(session, datetime.now(UTC)).write(to, body, language="EN", template=template)


def row(runtime: Runtime, message_id: int) -> OutboxMessage:
    with transaction(runtime.sessions) as session:
        return session.execute(select(OutboxMessage).where(OutboxMessage.id == message_id)).scalar_one()


def work(redis: Redis, until: Callable[[], bool], *, rounds: int = 10) -> None:
    """Run a real RQ worker, of the kind ``flask worker`` runs, in burst mode (with its scheduler,
    for retries) until ``until()``."""
    queues = [Queue(name, connection=redis) for name in ("high", "default", "low")]
    for _ in range(rounds):
        SimpleWorker(queues, connection=redis).work(burst=True, with_scheduler=True)
        if until():
            return
    raise AssertionError("the worker did not get there")


# --- what is written ---------------------------------------------------------------------------


def test_a_row_counts_its_segments_and_encoding(session: Session) -> None:
    box = Outbox(session, T0)
    plain = box.write(PHONE, "Kolekt: 320 pts.", language="EN", template="balance")
    long = box.write(PHONE, "x" * 161, language="EN", template="balance")
    wide = box.write(PHONE, "Kolekt ₦", language="EN", template="balance")
    got = {r.id: (r.segments, r.encoding, r.status) for r in session.execute(select(OutboxMessage)).scalars()}
    assert got == {plain: (1, "GSM-7", "queued"), long: (2, "GSM-7", "queued"), wide: (1, "UCS-2", "queued")}
    assert box.to_send == [plain, long, wide]
    with pytest.raises(ValueError, match="kind"):
        box.write(PHONE, "x", language="EN", template="balance", kind="marketing")


def test_an_opted_out_number_gets_nothing_but_the_stop_confirmation(session: Session) -> None:
    session.add(Phone(number=PHONE, language="EN", opted_out_at=T0, created_at=T0, updated_at=T0))
    session.flush()
    box = Outbox(session, T0 + timedelta(minutes=1))
    receipt = box.write(PHONE, "Kolekt: +81 pts", language="EN", template="receipt")
    reminder = box.write(PHONE, "Pickup tomorrow", language="EN", template="reminder", kind="reminder")
    confirmation = box.write(PHONE, "You will get no more texts", language="EN", template="stopped")
    statuses = dict(session.execute(select(OutboxMessage.id, OutboxMessage.status)).all())
    assert statuses == {receipt: "suppressed", reminder: "suppressed", confirmation: "queued"}
    assert box.to_send == [confirmation]


def test_the_loop_guard_holds_the_sixth_identical_text_within_30_minutes(session: Session) -> None:
    box = Outbox(session, T0)
    for _ in range(5):
        box.write(PHONE, "Sorry, we did not understand", language="EN", template="unknown_command")
    held = box.write(PHONE, "Sorry, we did not understand", language="EN", template="unknown_command")
    other_text = box.write(PHONE, "Kolekt: 0 pts", language="EN", template="balance")
    other_phone = box.write("+2348039999999", "Sorry, we did not understand", language="EN", template="x")
    later = Outbox(session, T0 + timedelta(minutes=31)).write(
        PHONE, "Sorry, we did not understand", language="EN", template="unknown_command"
    )
    statuses = dict(session.execute(select(OutboxMessage.id, OutboxMessage.status)).all())
    assert statuses[held] == "held"
    assert [statuses[i] for i in (other_text, other_phone, later)] == ["queued"] * 3
    assert len(box.to_send) == 7


# --- the send job, one call at a time -----------------------------------------------------------


@dataclass
class ScriptedGateway:
    """A gateway that plays a script: each item is a Sent or a SendError (fakes, not patches)."""

    script: list[Sent | SendError]
    name: str = "scripted"
    confirms_opt_out: bool = False
    sent: list[OutgoingMessage] = field(default_factory=list)

    def send(self, message: OutgoingMessage) -> Sent:
        self.sent.append(message)
        outcome = self.script.pop(0)
        if isinstance(outcome, SendError):
            raise outcome
        return outcome


def scripted(runtime: Runtime, *script: Sent | SendError) -> ScriptedGateway:
    gateway = ScriptedGateway(list(script))
    runtime.__dict__["gateway"] = gateway
    return gateway


def test_a_message_is_handed_over_once_however_often_its_job_runs(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    gateway = scripted(runtime, Sent("SM1"))
    message_id = write(runtime)
    assert send_message(message_id) == "sent SM1"
    assert send_message(message_id) == "nothing to send"
    assert len(gateway.sent) == 1 and gateway.sent[0].reference == str(message_id)
    sent = row(runtime, message_id)
    assert (sent.status, sent.provider, sent.provider_message_id, sent.attempts) == (
        "sent",
        "scripted",
        "SM1",
        1,
    )
    assert sent.sent_at is not None


def test_transient_failures_retry_with_backoff_then_fail_for_good(
    make_runtime: Callable[..., Runtime], redis: Redis
) -> None:
    runtime = make_runtime()
    message_id = write(runtime)
    scripted(runtime, *[SendError("HTTP 503", transient=True, code="http-503")] * messages.MAX_ATTEMPTS)
    waits = []
    for attempt in range(1, messages.MAX_ATTEMPTS + 1):
        before = datetime.now(UTC)
        result = send_message(message_id)
        current = row(runtime, message_id)
        assert current.attempts == attempt and current.error_code == "http-503"
        if attempt < messages.MAX_ATTEMPTS:
            assert result.startswith("retry in") and current.status == "queued"
            waits.append(current.next_attempt_at - before)
            assert send_message(message_id) == "nothing to send"  # not due yet
            with transaction(runtime.sessions) as session:  # let the retry fall due
                session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == message_id).values(next_attempt_at=before)
                )
        else:
            assert result.startswith("failed") and current.status == "failed" and current.final_at
    assert waits == sorted(waits) and waits[0] >= timedelta(seconds=9)
    # each retry was scheduled with RQ (the worker's scheduler enqueues it when due)
    scheduled = Queue("high", connection=redis).scheduled_job_registry.get_job_ids()
    assert len(scheduled) == messages.MAX_ATTEMPTS - 1


def test_a_permanent_failure_fails_at_once_and_an_opted_out_recipient_is_remembered(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    invalid = write(runtime, to="+2348030000001")
    unsubscribed = write(runtime, to="+2348030000002")
    scripted(
        runtime,
        SendError("invalid number", transient=False, code="21211"),
        SendError("unsubscribed", transient=False, code="21610", opted_out=True),
    )
    assert send_message(invalid).startswith("failed")
    assert send_message(unsubscribed).startswith("failed")
    assert (row(runtime, invalid).status, row(runtime, invalid).attempts) == ("failed", 1)
    with transaction(runtime.sessions) as session:
        assert session.get(Phone, "+2348030000002").opted_out_at is not None  # type: ignore[union-attr]
        assert session.get(Phone, "+2348030000001").opted_out_at is None  # type: ignore[union-attr]
    # nothing more is written for that number
    assert row(runtime, write(runtime, to="+2348030000002")).status == "suppressed"


def test_a_gateway_that_raises_something_unexpected_is_retried_not_lost(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    message_id = write(runtime)

    class Broken(ScriptedGateway):
        def send(self, message: OutgoingMessage) -> Sent:
            raise RuntimeError("bug in an adapter")

    runtime.__dict__["gateway"] = Broken([])
    assert send_message(message_id).startswith("retry in")
    current = row(runtime, message_id)
    assert current.status == "queued" and "RuntimeError" in (current.last_error or "")


def test_a_number_that_opts_out_after_the_row_was_written_is_not_sent_to(
    make_runtime: Callable[..., Runtime],
) -> None:
    runtime = make_runtime()
    gateway = scripted(runtime)
    message_id = write(runtime)
    with transaction(runtime.sessions) as session:
        outbox.opt_out(session, PHONE, datetime.now(UTC))
    assert send_message(message_id) == "nothing to send"
    assert row(runtime, message_id).status == "suppressed" and gateway.sent == []


# --- a real worker, a real Redis, a provider that fails and recovers ----------------------------


def test_a_real_worker_retries_through_provider_failures_until_delivered(
    make_runtime: Callable[..., Runtime],
    redis: Redis,
    provider: tuple[FakeProvider, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, base_url = provider
    fake.plan = [(500, {"error": "down"}), (201, recipients(500, "InternalServerError"))]
    runtime = make_runtime(**africastalking(base_url))
    monkeypatch.setattr(messages, "BACKOFF", (timedelta(0),) * 5)  # retries at once, via the scheduler
    message_id = write(runtime, "Kolekt: 320 pts (NGN 320).")
    assert runtime.queue.send([message_id])
    work(redis, lambda: row(runtime, message_id).status == "sent")
    sent = row(runtime, message_id)
    assert (sent.attempts, sent.provider, sent.provider_message_id) == (3, "africastalking", "ATXid_3")
    assert [form["message"] for form in fake.received] == [["Kolekt: 320 pts (NGN 320)."]] * 3
    assert fake.received[0]["to"] == [PHONE] and fake.received[0]["username"] == ["sandbox"]


def test_rows_redis_never_took_are_swept_and_sent(
    make_runtime: Callable[..., Runtime], redis: Redis, provider: tuple[FakeProvider, str]
) -> None:
    fake, base_url = provider
    runtime = make_runtime(**africastalking(base_url))
    message_id = write(runtime)
    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    assert RqQueue(down).send([message_id]) is False  # refused, and nothing raised
    down.close()
    assert sweep_outbox() == 0  # not overdue yet: a job may still be on its way
    with transaction(runtime.sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    assert sweep_outbox() == 1
    work(redis, lambda: row(runtime, message_id).status == "sent")
    assert len(fake.received) == 1


def test_a_row_left_sending_by_a_dead_worker_is_swept_and_sent(
    make_runtime: Callable[..., Runtime], redis: Redis, provider: tuple[FakeProvider, str]
) -> None:
    fake, base_url = provider
    runtime = make_runtime(**africastalking(base_url))
    message_id = write(runtime)
    with transaction(runtime.sessions) as session:  # a worker claims it, then dies
        claimed = messages.claim(session, message_id, datetime.now(UTC))
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(sending_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    assert claimed is not None and row(runtime, message_id).status == "sending"
    assert sweep_outbox() == 1
    work(redis, lambda: row(runtime, message_id).status == "sent")
    sent = row(runtime, message_id)
    assert sent.attempts == 2 and len(fake.received) == 1


@pytest.mark.slow
def test_the_send_job_speaks_twilios_real_contract(
    make_runtime: Callable[..., Runtime], redis: Redis, tmp_path: Path
) -> None:
    """Outbox row -> RQ worker -> Twilio gateway -> Prism serving Twilio's own OpenAPI spec,
    which refuses any request the spec does not allow (status callback URL included)."""
    with prism_mock(TWILIO_SPEC, tmp_path / "prism.log") as url:
        runtime = make_runtime(**{**TWILIO_TEST_SETTINGS, "twilio_api_base_url": url})
        message_id = write(runtime, "Kolekt: +81 pts from Tunde (PET 4.5kg, ALU 1.2kg). Bal 401.")
        assert runtime.queue.send([message_id])
        work(redis, lambda: row(runtime, message_id).status in ("sent", "failed"))
    sent = row(runtime, message_id)
    assert (sent.status, sent.provider, sent.attempts, sent.last_error) == ("sent", "twilio", 1, None)
    assert (sent.provider_message_id or "").startswith("SM")


# --- an operator sends a failed text again -----------------------------------------------------


OTHER_PHONE = "+2348030000004"


# Settings for units of work opened on a test's own session (the outbox texts as this programme).
SETTINGS = Settings(database_url="sqlite://", redis_url="", secret_key="test-secret")


def unit_of_work(session: Session, now: datetime) -> UnitOfWork:
    """A unit of work on ``session`` whose queue takes everything (nothing here commits)."""
    return UnitOfWork(session, SETTINGS, FakeQueue(), now)


def _sent_once(session: Session, status: str, *, to: str = PHONE, body: str = "Kolekt: +81 pts.") -> int:
    """A row written at T0 and taken to ``status`` as a send would take it."""
    message_id = Outbox(session, T0).write(to, body, language="YO", template="receipt", kind="transactional")
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(status=status, attempts=1)
    )
    return message_id


def test_a_failed_text_is_sent_again_as_a_new_row_that_names_it(session: Session) -> None:
    failed = _sent_once(session, "failed")
    undelivered = _sent_once(session, "undelivered", to="+2348030000003")
    uow = unit_of_work(session, T0 + timedelta(hours=1))
    again = messages.retry(uow, failed)
    also = messages.retry(uow, undelivered)
    assert uow.outbox.to_send == [again, also]
    rows = {r.id: r for r in session.execute(select(OutboxMessage)).scalars()}
    new, old = rows[again], rows[failed]
    assert (new.to_phone, new.body, new.language, new.kind, new.template) == (
        old.to_phone,
        old.body,
        "YO",
        "transactional",
        "receipt",
    )
    assert (new.status, new.attempts, new.retry_of, new.created_at) == ("queued", 0, failed, uow.now)
    assert (old.status, old.retry_of, rows[also].retry_of) == ("failed", None, undelivered)


def test_a_text_is_sent_again_only_if_it_failed_and_only_once(session: Session) -> None:
    uow = unit_of_work(session, T0 + timedelta(hours=1))
    for status in ("queued", "sending", "sent", "delivered", "held", "suppressed"):
        message_id = _sent_once(session, status, body=f"Kolekt: {status}")
        with pytest.raises(
            messages.RetryError, match=f"message {message_id} (is|was) {status}; only a failed"
        ):
            messages.retry(uow, message_id)
    with pytest.raises(messages.RetryError, match="there is no message 99999999"):
        messages.retry(uow, 99999999)
    failed = _sent_once(session, "failed")
    again = messages.retry(uow, failed)
    with pytest.raises(messages.RetryError, match=f"sent again already, as message {again}"):
        messages.retry(uow, failed)
    assert uow.outbox.to_send == [again]
    # the retry may fail in its turn, and be sent again itself
    session.execute(update(OutboxMessage).where(OutboxMessage.id == again).values(status="failed"))
    third = messages.retry(uow, again)
    assert session.get(OutboxMessage, third).retry_of == again  # type: ignore[union-attr]


def test_a_text_sent_again_still_meets_the_opt_out_and_the_loop_guard(session: Session) -> None:
    failed = _sent_once(session, "failed")
    session.add(Phone(number=PHONE, language="EN", opted_out_at=T0, created_at=T0, updated_at=T0))
    session.flush()
    uow = unit_of_work(session, T0 + timedelta(minutes=1))
    suppressed = messages.retry(uow, failed)
    looping = [_sent_once(session, "failed", to=OTHER_PHONE, body="Sorry?") for _ in range(5)]
    held = messages.retry(uow, looping[0])  # the sixth identical text in 30 min
    statuses = dict(session.execute(select(OutboxMessage.id, OutboxMessage.status)).all())
    assert (statuses[suppressed], statuses[held]) == ("suppressed", "held")
    assert uow.outbox.to_send == []


def test_two_operators_retrying_at_once_send_it_again_once(fresh_database: Callable[[], str]) -> None:
    """Each in a transaction of its own: the first to lock the original holds its transaction
    open a moment; the other waits for the lock, then finds the first's retry. (On SQLite,
    BEGIN IMMEDIATE makes the second wait for the first's whole transaction anyway.)"""
    url = fresh_database()
    engines = [make_engine(url) for _ in range(2)]
    factories = [make_session_factory(engine) for engine in engines]
    with transaction(factories[0]) as session:
        failed = _sent_once(session, "failed")
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def operator(factory: sessionmaker[Session]) -> None:
        start.wait(10)
        try:
            with transaction(factory) as session:
                uow = unit_of_work(session, datetime.now(UTC))
                messages.retry(uow, failed)
                time.sleep(0.5)  # commit late: without the lock, the other would not see this row
            outcomes.append("sent again")
        except messages.RetryError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=operator, args=(factory,)) for factory in factories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        with transaction(factories[0]) as session:
            retries = list(
                session.execute(select(OutboxMessage.id).where(OutboxMessage.retry_of == failed)).scalars()
            )
    finally:
        for engine in engines:
            engine.dispose()
    assert len(retries) == 1
    assert sorted(outcomes) == [
        f"message {failed} was sent again already, as message {retries[0]}",
        "sent again",
    ]
