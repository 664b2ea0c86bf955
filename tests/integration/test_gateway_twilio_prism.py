"""The Twilio gateway over real HTTP: against Prism serving Twilio's own OpenAPI description of its
REST API (tests/vendor/twilio-oai), and against local servers for time-outs and refused connections.

Prism validates each request against the spec (path, Basic auth, form fields and their patterns
and formats) and answers 201 with one of the spec's examples, so a send that Prism takes is one
Twilio's published contract takes. What Prism cannot check is Twilio's behaviour behind the
contract (that From belongs to the account, opt-outs, delivery); the unit tests cover how those
answers are classified.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from sms.gateways import OutgoingMessage, SendError, Sent, TwilioConfig, TwilioGateway

from .prism import TWILIO_SPEC, prism_mock

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2  # the spec's pattern: ^AC[0-9a-fA-F]{32}$
SERVICE_SID = "MG" + "fedcba9876543210" * 2  # ^MG[0-9a-fA-F]{32}$
# The sid of the spec's first example answer to Messages.create, which Prism returns by default.
EXAMPLE_SID = "SM" + "a" * 32
MESSAGE = OutgoingMessage(
    to="+2348031234567", body="Kolekt: +12 pts from Ade (PET 4.5kg). Bal 40", reference="o-1"
)


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with prism_mock(TWILIO_SPEC, tmp_path_factory.mktemp("prism") / "prism.log") as url:
        yield url


class RecordingHttpClient(TwilioHttpClient):
    """The real HTTP client, keeping each request's form and adding ``extra_headers`` (e.g. Prism's
    ``Prefer``), which ``messages.create`` has no way to send."""

    def __init__(self, extra_headers: dict[str, str] | None = None) -> None:
        super().__init__(timeout=10)
        self.extra_headers = extra_headers or {}
        self.forms: list[dict[str, object]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        self.forms.append(dict(kwargs.get("data") or {}))
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **self.extra_headers}
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def http() -> Iterator[RecordingHttpClient]:
    client = RecordingHttpClient()
    yield client
    client.session.close()


def gateway(base_url: str, http: TwilioHttpClient | None, **changes: Any) -> TwilioGateway:
    values: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": "test-token",
        "from_number": "+15005550006",
        "api_base_url": base_url,
    }
    values.update(changes)
    return TwilioGateway(TwilioConfig(**values), http_client=http)


@pytest.mark.slow
def test_prism_takes_a_message_from_a_number(prism_url: str, http: RecordingHttpClient) -> None:
    assert gateway(prism_url, http).send(MESSAGE) == Sent(provider_id=EXAMPLE_SID, status="sent")
    assert http.forms == [{"To": MESSAGE.to, "Body": MESSAGE.body, "From": "+15005550006"}]


@pytest.mark.slow
def test_prism_takes_a_message_through_a_messaging_service(prism_url: str, http: RecordingHttpClient) -> None:
    sent = gateway(prism_url, http, from_number=None, messaging_service_sid=SERVICE_SID).send(MESSAGE)
    assert sent.provider_id == EXAMPLE_SID
    assert http.forms == [{"To": MESSAGE.to, "Body": MESSAGE.body, "MessagingServiceSid": SERVICE_SID}]


@pytest.mark.slow
def test_prism_takes_a_status_callback(prism_url: str, http: RecordingHttpClient) -> None:
    message = OutgoingMessage(
        to="+2348031234567",
        body="hi",
        reference="o-2",
        status_callback="https://kolekt.example/sms/twilio/status/o-2",
    )
    assert gateway(prism_url, http).send(message).provider_id == EXAMPLE_SID
    assert http.forms[0]["StatusCallback"] == "https://kolekt.example/sms/twilio/status/o-2"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("changes", "callback"),
    [
        pytest.param({}, "not a url", id="status-callback-not-a-uri"),
        pytest.param(
            {"from_number": None, "messaging_service_sid": "MG123"}, None, id="malformed-service-sid"
        ),
        pytest.param({"account_sid": "AC-not-hex"}, None, id="malformed-account-sid"),
    ],
)
def test_a_request_that_breaks_twilios_contract_is_permanent(
    prism_url: str, http: RecordingHttpClient, changes: dict[str, Any], callback: str | None
) -> None:
    """Prism answers 422 with a problem body that carries no Twilio error code; Twilio itself would
    answer 400 with one. Either way the same message can never succeed."""
    message = OutgoingMessage(to="+2348031234567", body="hi", reference="o-3", status_callback=callback)
    with pytest.raises(SendError) as caught:
        gateway(prism_url, http, **changes).send(message)
    assert (caught.value.transient, caught.value.code, caught.value.opted_out) == (False, "http-422", False)
    assert "HTTP 422" in str(caught.value)


@pytest.mark.slow
def test_the_sid_comes_from_the_answer_not_the_example(prism_url: str) -> None:
    """Prism's ``Prefer: dynamic=true`` makes up a response from the schema, so the sid differs."""
    client = RecordingHttpClient(extra_headers={"Prefer": "dynamic=true"})
    try:
        sent = gateway(prism_url, client).send(MESSAGE)
    finally:
        client.session.close()
    assert sent.provider_id != EXAMPLE_SID
    assert re.fullmatch(r"(SM|MM)[0-9a-fA-F]{32}", sent.provider_id)


# ---------------------------------------------------------------- without Prism


class SlowHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.server.release.wait(5)  # type: ignore[attr-defined]
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client has gone by the time the slow answer is written


@pytest.fixture
def slow_url() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), SlowHandler)
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_an_answer_later_than_the_time_out_is_transient(slow_url: str) -> None:
    """The gateway's own HTTP client (not a test one) carries the configured time-out."""
    own = gateway(slow_url, None, timeout_seconds=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(SendError) as caught:
            own.send(MESSAGE)
    finally:
        own.close()
    assert (caught.value.transient, caught.value.code) == (True, "timeout")
    assert time.monotonic() - started < 2


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    own = gateway(f"http://127.0.0.1:{port}", None)
    try:
        with pytest.raises(SendError) as caught:
            own.send(MESSAGE)
    finally:
        own.close()
    assert (caught.value.transient, caught.value.code) == (True, "connection")


def test_close_releases_the_pooled_connection(slow_url: str) -> None:
    own = gateway(slow_url, None, timeout_seconds=0.2)
    with pytest.raises(SendError):
        own.send(MESSAGE)
    session = own._http_client.session
    pools = session.get_adapter(slow_url).poolmanager.pools
    assert len(pools) == 1
    own.close()
    assert len(pools) == 0
