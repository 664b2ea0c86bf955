"""Issue 17, finding 3: a reply was handed to Twilio twice when the database connection dropped
after Twilio had taken it (the row stuck "sending" for 5 minutes, then the sweep sent it again).
Now what the provider answered is recorded through a database that is briefly away, and a row
left "sending" is looked for at the provider before it is sent again: adopted if it is there."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from twilio.http.response import Response  # type: ignore[import-untyped]

from service.app import make_runtime as runtime_for
from service.db import transaction
from service.jobs.sending import send_message, sweep_outbox
from service.models import OutboxMessage, Phone
from service.outbox import Outbox
from service.runtime import Runtime, use
from service.settings import Settings
from service.usecases import messages
from sms.gateways import OutgoingMessage, SendError, Sent, TwilioConfig, TwilioGateway

PHONE = "+2348031234567"


@dataclass
class Provider:
    """A provider that keeps what it took and can be asked for it (as Twilio's Messages list)."""

    name: str = "fakeprovider"
    confirms_opt_out: bool = False
    taken: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    asking_fails: bool = False

    def send(self, message: OutgoingMessage) -> Sent:
        sid = f"SM{len(self.taken) + 1:032d}"
        self.taken.append((message.to, message.body, sid, datetime.now(UTC)))
        return Sent(sid)

    def find_sent(self, to: str, body: str, since: datetime) -> list[Sent]:
        if self.asking_fails:
            raise SendError("no answer", transient=True)
        return [Sent(sid) for t, b, sid, at in reversed(self.taken) if t == to and b == body and at >= since]


@pytest.fixture
def runtime(fresh_database: Callable[[], str], make_settings: Callable[..., Settings]) -> Iterator[Runtime]:
    made = use(runtime_for(make_settings(fresh_database())))
    yield made
    made.close()


@pytest.fixture
def provider(runtime: Runtime) -> Provider:
    fake = Provider()
    runtime.__dict__["gateway"] = fake
    return fake


def write(runtime: Runtime, body: str = "Kolekt: 20 pts.") -> int:
    now = datetime.now(UTC)
    with transaction(runtime.sessions) as session:
        session.merge(Phone(number=PHONE, language="EN", created_at=now, updated_at=now))
        return Outbox(session, now).write(PHONE, body, language="EN", template="balance")


def row(runtime: Runtime, message_id: int) -> OutboxMessage:
    with transaction(runtime.sessions) as session:
        return session.execute(select(OutboxMessage).where(OutboxMessage.id == message_id)).scalar_one()


def cut_short(runtime: Runtime, message_id: int, provider: Provider | None) -> None:
    """A worker claims the row, (maybe) hands it over, and dies before recording it."""
    with transaction(runtime.sessions) as session:
        claimed = messages.claim(session, message_id, datetime.now(UTC))
        assert claimed is not None
    if provider is not None:
        provider.send(OutgoingMessage(to=claimed.to, body=claimed.body, reference=str(message_id)))
    with transaction(runtime.sessions) as session:
        ago = datetime.now(UTC) - timedelta(minutes=10)
        session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(sending_at=ago))
    if provider is not None:  # the provider took it at about that time
        to, body, sid, _ = provider.taken[-1]
        provider.taken[-1] = (to, body, sid, ago + timedelta(seconds=1))


def test_a_row_the_provider_took_before_the_worker_died_is_adopted_not_sent_again(
    runtime: Runtime, provider: Provider
) -> None:
    message_id = write(runtime)
    cut_short(runtime, message_id, provider)
    assert sweep_outbox() == 0  # nothing to send again
    adopted = row(runtime, message_id)
    assert (adopted.status, adopted.provider_message_id) == ("sent", provider.taken[0][2])
    assert len(provider.taken) == 1


def test_a_row_the_provider_never_took_is_sent_again(runtime: Runtime, provider: Provider) -> None:
    message_id = write(runtime)
    cut_short(runtime, message_id, None)
    assert sweep_outbox() == 1
    assert send_message(message_id).startswith("sent ")
    assert len(provider.taken) == 1 and row(runtime, message_id).attempts == 2


def test_the_same_text_another_row_holds_is_not_adopted(runtime: Runtime, provider: Provider) -> None:
    first = write(runtime)
    assert send_message(first).startswith("sent ")
    second = write(runtime)  # the same words to the same number, a minute on
    cut_short(runtime, second, None)
    provider.taken[0] = (*provider.taken[0][:3], datetime.now(UTC) - timedelta(minutes=10))
    assert sweep_outbox() == 1  # SM...1 is the first row's: the second is sent again
    assert send_message(second).startswith("sent ")
    assert row(runtime, first).provider_message_id != row(runtime, second).provider_message_id


def test_a_provider_that_cannot_be_asked_leaves_the_row_for_the_next_sweep(
    runtime: Runtime, provider: Provider
) -> None:
    message_id = write(runtime)
    cut_short(runtime, message_id, provider)
    provider.asking_fails = True
    assert sweep_outbox() == 0
    assert row(runtime, message_id).status == "sending"
    provider.asking_fails = False
    assert sweep_outbox() == 0
    assert row(runtime, message_id).status == "sent" and len(provider.taken) == 1


def test_what_the_provider_answered_is_recorded_through_a_database_briefly_away(
    runtime: Runtime, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    message_id = write(runtime)
    real = runtime.transact
    calls = {"record": 0}

    def flaky(work: Callable[..., Any], **options: Any) -> Any:
        if getattr(work, "__name__", "") == "record" and calls["record"] < 2:
            calls["record"] += 1
            raise OperationalError(
                "UPDATE outbox_messages ...", {}, Exception("server closed the connection")
            )
        return real(work, **options)

    monkeypatch.setattr(runtime, "transact", flaky)
    monkeypatch.setattr("service.jobs.sending.RECORD_WAITS", (0.01, 0.01, 0.01))
    assert send_message(message_id).startswith("sent ")
    assert calls["record"] == 2
    assert row(runtime, message_id).status == "sent" and len(provider.taken) == 1


class TwilioPage:
    """Twilio's HTTP client, answering the Messages list with one page."""

    def __init__(self, messages: list[dict[str, str]]) -> None:
        self.messages = messages
        self.asked: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, params: dict[str, Any] | None = None, **_: Any) -> Response:
        self.asked.append((method, url, params or {}))
        return Response(200, json.dumps({"messages": self.messages, "next_page_uri": None}))


def test_twilio_is_asked_for_the_numbers_newest_messages_and_matched_by_body_and_time() -> None:
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    page = TwilioPage(
        [
            {
                "sid": "SM3",
                "body": "Kolekt: 20 pts.",
                "status": "delivered",
                "date_created": "Thu, 03 Dec 2026 10:00:05 +0000",
            },
            {
                "sid": "SM2",
                "body": "another text",
                "status": "sent",
                "date_created": "Thu, 03 Dec 2026 09:59:59 +0000",
            },
            {
                "sid": "SM1",
                "body": "Kolekt: 20 pts.",
                "status": "delivered",
                "date_created": "Wed, 02 Dec 2026 10:00:00 +0000",
            },
        ]
    )
    gateway = TwilioGateway(
        TwilioConfig(account_sid="AC" + "0" * 32, auth_token="token", from_number="+15005550006"),
        http_client=page,
    )
    found = gateway.find_sent(PHONE, "Kolekt: 20 pts.", now - timedelta(minutes=1))
    assert found == [Sent("SM3", "delivered")]
    (method, url, params) = page.asked[0]
    assert method == "GET" and url.endswith("/Messages.json") and params["To"] == PHONE


def test_a_hand_over_whose_answer_was_lost_is_adopted_on_its_retry_not_sent_twice(
    runtime: Runtime, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio took the message, then the connection dropped before its answer: a transient
    failure. The retry asks Twilio first, and adopts what it took."""
    message_id = write(runtime)
    real_send = provider.send

    def dropped(message: OutgoingMessage) -> Sent:
        real_send(message)
        raise SendError("Connection aborted: RemoteDisconnected", transient=True, code="network")

    monkeypatch.setattr(provider, "send", dropped)
    assert send_message(message_id).startswith("retry in ")
    monkeypatch.setattr(provider, "send", real_send)
    with transaction(runtime.sessions) as session:  # its retry is due
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert send_message(message_id) == f"sent {provider.taken[0][2]}"
    assert len(provider.taken) == 1


class TwilioPages(TwilioPage):
    """The newest page, then (asked with DateSent>) those sent since."""

    def __init__(self, newest: list[dict[str, str]], since: list[dict[str, str]]) -> None:
        super().__init__(newest)
        self.since = since

    def request(self, method: str, url: str, params: dict[str, Any] | None = None, **_: Any) -> Response:
        self.asked.append((method, url, params or {}))
        messages = self.since if "DateSent>" in (params or {}) else self.messages
        return Response(200, json.dumps({"messages": messages, "next_page_uri": None}))


def test_a_busy_number_whose_newest_page_lacks_it_is_searched_by_date_sent() -> None:
    """A collector gets a reply to every LOG: the row left "sending" five minutes ago is no longer
    among the newest 20, but among those Twilio sent since its hand-over began."""
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    newer = [
        {
            "sid": f"SM{n}",
            "body": f"OK {n}",
            "status": "sent",
            "date_created": "Thu, 03 Dec 2026 10:04:00 +0000",
        }
        for n in range(20)
    ]
    wanted = {
        "sid": "SMX",
        "body": "OK 7F2K",
        "status": "delivered",
        "date_created": "Thu, 03 Dec 2026 10:00:01 +0000",
    }
    pages = TwilioPages(newer, [*newer, wanted])
    gateway = TwilioGateway(
        TwilioConfig(account_sid="AC" + "0" * 32, auth_token="token", from_number="+15005550006"),
        http_client=pages,
    )
    assert gateway.find_sent(PHONE, "OK 7F2K", now) == [Sent("SMX", "delivered")]
    assert [("DateSent>" in params) for _, _, params in pages.asked] == [False, True]
