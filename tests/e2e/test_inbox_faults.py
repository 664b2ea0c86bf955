"""Issue 17, finding 2: a text Twilio was answered 200 for is never lost. It is stored before it
is acted on; if acting on it fails (a dropped connection, a deadlock, a crash), it is tried again
(a job, the sweep) until it is acted on exactly once, and the late answer quotes the text. If it
cannot even be stored, Twilio gets a 503 with Retry-After, so a webhook set to retry sends it
again; nothing else is answered 5xx."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

import ledger
import sms
from service.accounts import member_account
from service.channels import handlers, inbox
from service.db import transaction
from service.jobs import inbox as inbox_jobs
from service.models import Collection, Household, InboundMessage, OutboxMessage, inbound_t
from service.runtime import Runtime
from service.usecases.catalogue import set_rate
from service.usecases.roles import add_collector
from service.usecases.zones import add_zone
from sms import commands
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.helpers import (
    TWILIO_INBOUND,
    message_sid,
    read,
    sessions,
    signed_post,
    twilio_inbound_form,
)

ADA = "+2348031234567"
TUNDE = "+2348030000001"
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    app = make_app(**TWILIO_TEST_SETTINGS)
    now = datetime.now(UTC)
    with transaction(sessions(app)) as session:
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        add_collector(session, TUNDE, "Tunde Bakare", zone.id, now)
        set_rate(session, "PET", 10, 2, LONG_AGO, "test", now)
    return app


def runtime(app: Flask) -> Runtime:
    found: Runtime = app.extensions["kolekt.runtime"]
    return found


def text(app: Flask, sender: str, body: str, sid: str | None = None) -> int:
    response = signed_post(
        app.test_client(), TWILIO_INBOUND, twilio_inbound_form(body, sender=sender, sid=sid)
    )
    return response.status_code


def inbound_row(app: Flask, sid: str) -> InboundMessage:
    (row,) = read(app, select(InboundMessage).where(InboundMessage.provider_message_id == sid))
    return row


def replies(app: Flask, sid: str) -> list[str]:
    inbound = select(InboundMessage.id).where(InboundMessage.provider_message_id == sid)
    rows = read(
        app, select(OutboxMessage).where(OutboxMessage.inbound_id.in_(inbound)).order_by(OutboxMessage.id)
    )
    return [f"{row.to_phone}: {row.body}" for row in rows]


def points(app: Flask, phone: str) -> int:
    with transaction(sessions(app)) as session:
        code = session.execute(select(Household.member_code).where(Household.phone == phone)).scalar_one()
        return ledger.balance(session, member_account(code)).credit_balance


def pickups(app: Flask) -> int:
    (count,) = read(app, select(func.count()).select_from(Collection))
    return int(count)


@pytest.fixture
def flaky_log(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """LOG fails as a dropped connection would, as many times as the list says (then works)."""
    failures = [1]
    real = handlers.HANDLERS[commands.Log]

    def log(conversation: object, command: object) -> None:
        if failures[0] > 0:
            failures[0] -= 1
            raise OperationalError("UPDATE ...", {}, Exception("server closed the connection unexpectedly"))
        real(conversation, command)  # type: ignore[arg-type]

    monkeypatch.setitem(handlers.HANDLERS, commands.Log, log)
    return failures


def joined(app: Flask) -> str:
    assert text(app, ADA, "JOIN Ada Okafor, 3 Oju St Yaba") == 200
    (code,) = read(app, select(Household.member_code).where(Household.phone == ADA))
    return str(code)


def test_a_text_whose_handling_fails_is_kept_answered_200_and_tried_again_once(
    app: Flask, redis: Redis, flaky_log: list[int]
) -> None:
    code = joined(app)
    sid = message_sid()
    assert text(app, TUNDE, f"LOG {code} PET 2 #41", sid) == 200  # Twilio is content: it is stored
    row = inbound_row(app, sid)
    assert (row.status, row.attempts, pickups(app)) == ("received", 1, 0)
    assert "server closed the connection" in (row.error or "")
    assert replies(app, sid) == []  # no "try later": it will be done
    # A job is scheduled to try again in 5 seconds.
    scheduled = ScheduledJobRegistry(queue=Queue("high", connection=redis)).get_job_ids()
    assert any(redis.hget(f"rq:job:{job_id}", "description") for job_id in scheduled)
    # The job's try: acted on, once, and the answer says which text it answers.
    assert inbox_jobs.act_on_text(row.id).startswith("acted on")
    assert inbox_jobs.act_on_text(row.id) == "nothing to do"
    assert (inbound_row(app, sid).status, pickups(app), points(app, ADA)) == ("processed", 1, 20)
    (to_collector, to_household) = replies(app, sid)
    assert to_collector.startswith(f'{TUNDE}: "LOG {code} PET 2 #41": OK ')
    assert sms.fits(to_collector.partition(": ")[2])
    assert to_household.startswith(f"{ADA}: Kolekt: +20 pts")  # news for others is not quoted


def test_twilio_sending_the_same_text_again_before_it_was_acted_on_acts_on_it_once(
    app: Flask, flaky_log: list[int]
) -> None:
    code = joined(app)
    sid = message_sid()
    assert text(app, TUNDE, f"LOG {code} PET 2", sid) == 200
    assert inbound_row(app, sid).status == "received"
    assert text(app, TUNDE, f"LOG {code} PET 2", sid) == 200  # Twilio's retry: acted on now
    assert text(app, TUNDE, f"LOG {code} PET 2", sid) == 200  # and a third is a repeat
    assert (inbound_row(app, sid).status, pickups(app), points(app, ADA)) == ("processed", 1, 20)
    assert len(replies(app, sid)) == 2


def test_the_sweep_acts_on_what_no_job_retried(app: Flask, flaky_log: list[int]) -> None:
    code = joined(app)
    sid = message_sid()
    text(app, TUNDE, f"LOG {code} PET 2", sid)
    assert inbox_jobs.sweep_inbox() == 0  # its first try is not a minute old
    with transaction(sessions(app)) as session:
        session.execute(
            update(inbound_t)
            .where(inbound_t.c.provider_message_id == sid)
            .values(received_at=datetime.now(UTC) - timedelta(minutes=2))
        )
    assert inbox_jobs.sweep_inbox() == 1
    assert (inbound_row(app, sid).status, points(app, ADA)) == ("processed", 20)
    assert inbox_jobs.sweep_inbox() == 0


def test_after_five_failed_tries_the_sender_is_told_quoting_the_text(
    app: Flask, flaky_log: list[int]
) -> None:
    code = joined(app)
    flaky_log[0] = 100
    sid = message_sid()
    text(app, TUNDE, f"LOG {code} PET 2 #7", sid)
    row_id = inbound_row(app, sid).id
    outcomes = [inbox_jobs.act_on_text(row_id) for _ in range(4)]
    assert outcomes == ["tried again later"] * 3 + ["given up: its sender was told"]
    row = inbound_row(app, sid)
    assert (row.status, row.attempts, pickups(app)) == ("failed", inbox.MAX_ATTEMPTS, 0)
    assert replies(app, sid) == [
        f'{TUNDE}: Sorry, Kolekt could not act on "LOG {code} PET 2 #7". Nothing was changed. '
        "Please send it again later."
    ]
    assert inbox_jobs.act_on_text(row_id) == "nothing to do"


def test_a_text_that_cannot_be_stored_is_a_503_for_twilio_to_retry(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_arguments: object, **_options: object) -> None:
        raise OperationalError("INSERT ...", {}, Exception("could not connect to server"))

    monkeypatch.setattr(inbox, "store", down)
    sid = message_sid()
    response = signed_post(app.test_client(), TWILIO_INBOUND, twilio_inbound_form("BAL", sender=ADA, sid=sid))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert read(app, select(InboundMessage)) == []
    monkeypatch.undo()
    assert text(app, ADA, "BAL", sid) == 200  # Twilio's retry is taken
    assert inbound_row(app, sid).status == "processed"


def test_a_pin_that_fails_is_not_kept_and_its_sender_is_asked_again_at_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(conversation: object, command: object) -> None:
        raise OperationalError("UPDATE collectors SET pin_hash=...", {}, Exception("connection reset"))

    monkeypatch.setitem(handlers.HANDLERS, commands.Pin, broken)
    sid = message_sid()
    text(app, TUNDE, "PIN 4821", sid)
    row = inbound_row(app, sid)
    assert (row.body, row.status) == ("PIN ****", "failed")
    assert replies(app, sid) == [f"{TUNDE}: " + sms.render("pin_not_handled", "EN", programme="Kolekt")]
    assert "4821" not in (row.error or "")


def test_a_late_answer_is_led_by_the_text_only_where_one_segment_has_room() -> None:
    reply = "OK 7F2K: K0001E PET 2kg = 20 pts."
    assert sms.quoted("LOG K0001E PET 2", reply) == f'"LOG K0001E PET 2": {reply}'
    long = sms.quoted("LOG K0001E " + "PET 2 " * 40, reply)
    assert len(long) == 160 and long.endswith(f'..": {reply}')
    assert sms.quoted('say "hi" \u2018now\u2019', reply).startswith("\"say 'hi' 'now'\": ")
    full = "x" * 155
    assert sms.quoted("BAL", full) == full  # no room: the answer alone
    assert sms.is_gsm7(sms.quoted("Ẹ ku ise 😀", reply))
