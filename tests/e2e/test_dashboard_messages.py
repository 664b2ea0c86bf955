"""Messages on the dashboard: the texts sent and received, filtered and paged; a failed text sent
again once (a new row that names it, an audit entry, a send job), and every refusal of that."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.jobs.registry import JOBS
from service.jobs.sending import send_message
from service.models import Phone, audit_log_t, inbound_t, outbox_t
from service.outbox import Outbox, opt_out
from service.runtime import use
from service.unit_of_work import Job
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub

PHONE = "+2348031234567"
OTHER = "+2348039876543"
_ROW = re.compile(r'<tr id="message-(\d+)"')


def write_message(
    hub: Hub,
    *,
    to: str = PHONE,
    body: str = "Kolekt: your balance is 320 pts.",
    status: str = "failed",
    template: str = "balance",
    error_code: str | None = "21211",
    error: str | None = "invalid number",
) -> int:
    """An outbox row written as the service writes one, then taken to ``status`` as a send would."""

    def work(session: Session) -> int:
        moment = datetime.now(UTC)
        session.merge(Phone(number=to, language="EN", created_at=moment, updated_at=moment))
        message_id = Outbox(session, moment).write(to, body, language="EN", template=template)
        if status != "queued":
            session.execute(
                update(outbox_t)
                .where(outbox_t.c.id == message_id)
                .values(status=status, attempts=1, error_code=error_code, last_error=error, final_at=moment)
            )
        return message_id

    return int(hub.read(work))


def failed_message(hub: Hub) -> int:
    """A text the provider refused for good (the sample for the access tests)."""
    return write_message(hub)


def received(hub: Hub, sender: str, body: str, *, status: str, command: str | None, error: str | None) -> int:
    def work(session: Session) -> int:
        return int(
            session.execute(
                inbound_t.insert()
                .values(
                    provider="simulator",
                    provider_message_id=uuid.uuid4().hex,
                    sender=sender,
                    recipient="KOLEKT",
                    body=body,
                    received_at=datetime.now(UTC),
                    status=status,
                    command=command,
                    error=error,
                )
                .returning(inbound_t.c.id)
            ).scalar_one()
        )

    return int(hub.read(work))


def shown(html: str) -> list[int]:
    """The message numbers a page lists, in its order."""
    return [int(found) for found in _ROW.findall(html)]


def retry_rows(hub: Hub, original: int) -> list[Any]:
    return list(hub.read(lambda s: s.execute(select(outbox_t).where(outbox_t.c.retry_of == original)).all()))


def send_jobs(redis: Redis) -> set[str]:
    return set(Queue(JOBS[Job.SEND_MESSAGE].queue, connection=redis).job_ids)


# --- the lists ---------------------------------------------------------------------------------


def test_sent_texts_newest_first_filtered_by_status_and_phone(hub: Hub) -> None:
    queued = write_message(hub, status="queued", body="Kolekt: pickup tomorrow.")
    failed = write_message(hub, to=OTHER)
    delivered = write_message(hub, status="delivered", error_code=None, error=None)
    auditor = hub.signed_in("auditor")

    page = auditor.get("/dashboard/messages")
    assert page.status_code == 200
    assert shown(page.text) == [delivered, failed, queued]
    assert "<code>21211</code> invalid number" in page.text and "Kolekt: pickup tomorrow." in page.text
    assert OTHER in page.text  # operators see whole numbers
    assert "/retry" not in page.text  # an auditor changes nothing
    assert 'href="/simulator"' in page.text  # the console gateway: the simulator is there

    assert shown(auditor.get("/dashboard/messages?status=failed").text) == [failed]
    assert shown(auditor.get("/dashboard/messages?direction=out&phone=0803+123+4567").text) == [
        delivered,
        queued,
    ]
    assert shown(auditor.get("/dashboard/messages?status=delivered&phone=%2B2348039876543").text) == []

    operator = hub.signed_in("operator")
    forms = re.findall(r'action="/dashboard/messages/(\d+)/retry', operator.get("/dashboard/messages").text)
    assert forms == [str(failed)]  # only a failed one, only for an operator


def test_received_texts_with_their_command_and_error(hub: Hub) -> None:
    balance = received(hub, PHONE, "BAL", status="processed", command="Balance", error=None)
    broken = received(hub, OTHER, "JOIN Ada", status="failed", command="Join", error="the database was down")
    write_message(hub)  # a sent text is not listed with the received ones
    browser = hub.signed_in("operator")

    page = browser.get("/dashboard/messages?direction=in")
    assert page.status_code == 200 and shown(page.text) == [broken, balance]
    assert "the database was down" in page.text and "Balance" in page.text and "/retry" not in page.text
    assert shown(browser.get("/dashboard/messages?direction=in&status=failed").text) == [broken]
    assert shown(browser.get("/dashboard/messages?direction=in&phone=08031234567").text) == [balance]


def test_pages_of_sent_texts_follow_one_another_by_before(hub: Hub) -> None:
    now = datetime.now(UTC)
    ids = hub.read(
        lambda s: Outbox(s, now).write_bulk(
            [(PHONE, f"Kolekt: reminder {n}", "EN") for n in range(60)],
            template="reminder",
            kind="reminder",
            due=now + timedelta(hours=1),
        )
    )
    browser = hub.signed_in("auditor")
    first = browser.get("/dashboard/messages?phone=0803 123 4567")
    assert shown(first.text) == sorted(ids, reverse=True)[:50]
    older = re.search(r'href="(/dashboard/messages\?[^"]*before=(\d+)[^"]*)"', first.text)
    assert older and int(older.group(2)) == sorted(ids)[10]
    second = browser.get(older.group(1).replace("&amp;", "&"))
    assert shown(second.text) == sorted(ids, reverse=True)[50:]
    assert "Older" not in second.text and "Newest" in second.text


def test_a_bad_filter_is_422_with_the_reason(hub: Hub) -> None:
    write_message(hub)
    browser = hub.signed_in("auditor")
    for query, reason in (
        ("phone=0803-CALL-ME", "is not a phone number"),
        ("phone=12", "is not a phone number"),
        ("status=lost", "status must be one of queued, sending"),
        ("direction=in&status=delivered", "status must be one of received, processed, failed"),
        ("direction=sideways", "direction must be out or in"),
        ("before=x", "before must be a message number"),
    ):
        response = browser.get(f"/dashboard/messages?{query}")
        assert response.status_code == 422, query
        assert reason in response.text and shown(response.text) == [], query


def test_with_a_real_gateway_the_page_says_the_simulator_is_not_there(
    make_app: Callable[..., Flask],
) -> None:
    hub = Hub(make_app(**TWILIO_TEST_SETTINGS))
    page = hub.signed_in("auditor").get("/dashboard/messages")
    assert page.status_code == 200
    assert "exists only with the console gateway" in page.text and 'href="/simulator"' not in page.text


# --- sending again -----------------------------------------------------------------------------


def test_an_operator_sends_a_failed_text_again_once(hub: Hub, redis: Redis) -> None:
    failed = write_message(hub, status="undelivered", error_code="30003", error="unreachable handset")
    operator = hub.signed_in("operator")

    response = operator.post(f"/dashboard/messages/{failed}/retry?status=undelivered")
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/messages?status=undelivered"
    (again,) = retry_rows(hub, failed)
    original = hub.read(lambda s: s.execute(select(outbox_t).where(outbox_t.c.id == failed)).one())
    assert (again.to_phone, again.body, again.language, again.kind, again.template) == (
        original.to_phone,
        original.body,
        original.language,
        original.kind,
        original.template,
    )
    assert (again.status, again.attempts, again.id > failed) == ("queued", 0, True)
    assert original.status == "undelivered"  # the original stays as it was
    entry = hub.read(
        lambda s: s.execute(select(audit_log_t).where(audit_log_t.c.action == "message.retry")).one()
    )
    assert (entry.actor, entry.subject) == (operator.email, f"message:{failed}")
    assert json.loads(entry.details) == {"retry": again.id, "status": "queued"}
    # Enqueued after the commit; the job, run here as a worker would, hands it to the gateway.
    assert send_jobs(redis) == {f"send-{again.id}-0"}
    use(hub.runtime)
    assert send_message(again.id).startswith("delivered")

    page = operator.get("/dashboard/messages")
    assert f"is being sent again, as message {again.id}" in page.text
    assert f"/dashboard/messages/{failed}/retry" not in page.text
    assert "sent again as <a" in page.text and "repeats <a" in page.text

    before = snapshot(hub.runtime.engine)
    jobs = send_jobs(redis)
    twice = operator.post(f"/dashboard/messages/{failed}/retry")
    assert twice.status_code == 422
    assert f"message {failed} was sent again already, as message {again.id}" in twice.text
    assert snapshot(hub.runtime.engine) == before and send_jobs(redis) == jobs


def test_only_a_failed_text_can_be_sent_again(hub: Hub, redis: Redis) -> None:
    delivered = write_message(hub, status="delivered", error_code=None, error=None)
    queued = write_message(hub, status="queued", body="Kolekt: pickup tomorrow.")
    admin = hub.signed_in("admin")
    before = snapshot(hub.runtime.engine)
    jobs = send_jobs(redis)
    for message_id, reason in (
        (delivered, f"message {delivered} was delivered; only a failed one can be sent again"),
        (queued, f"message {queued} is queued; only a failed one can be sent again"),
        (999, "there is no message 999"),
    ):
        response = admin.post(f"/dashboard/messages/{message_id}/retry")
        assert response.status_code == 422, message_id
        assert reason in response.text
    assert snapshot(hub.runtime.engine) == before and send_jobs(redis) == jobs


def test_a_text_sent_again_to_a_number_that_opted_out_is_suppressed(hub: Hub, redis: Redis) -> None:
    failed = write_message(hub)
    hub.read(lambda s: opt_out(s, PHONE, datetime.now(UTC)))
    operator = hub.signed_in("operator")
    response = operator.post(f"/dashboard/messages/{failed}/retry", follow_redirects=True)
    assert response.status_code == 200
    (again,) = retry_rows(hub, failed)
    assert (again.status, again.last_error) == ("suppressed", "the number opted out (STOP)")
    assert "but not sent: the number opted out (STOP)" in response.text
    details = hub.read(
        lambda s: s.execute(
            select(audit_log_t.c.details).where(audit_log_t.c.action == "message.retry")
        ).scalar_one()
    )
    assert json.loads(details) == {"retry": again.id, "status": "suppressed"}
    assert send_jobs(redis) == set()
