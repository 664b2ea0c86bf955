"""The Africa's Talking gateway over real HTTP, against a local server that behaves like the API.

The server checks what Africa's Talking checks (the apiKey header, the username, the form fields of
``POST /version1/messaging``) and answers as the API does (see ``sms/gateways/africastalking.py``
for the sources): a taken message, a blacklisted recipient, a server error, a body that is not
JSON, a refused sender ID, and one that answers too late for the gateway's time-out.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest

from sms.gateways import AfricasTalkingConfig, AfricasTalkingGateway, OutgoingMessage, SendError, Sent

API_KEY = "atsk_test_key"
USERNAME = "kolekt"

TAKEN = "+2348030000001"
BLACKLISTED = "+2348030000002"
SERVER_ERROR = "+2348030000003"
NOT_JSON = "+2348030000004"
SLOW = "+2348030000005"
REFUSED_SENDER = "UNREGISTERED"


def recipient(number: str, status_code: int, status: str, message_id: str) -> dict[str, Any]:
    return {
        "statusCode": status_code,
        "number": number,
        "status": status,
        "cost": "NGN 2.2000",
        "messageId": message_id,
    }


@dataclass
class FakeAfricasTalking:
    """What the server saw, and a latch that lets the slow answer go when the test is over."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    next_id: int = 0


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length", "0"))
        form = {
            k: v[0] for k, v in parse_qs(self.rfile.read(length).decode(), keep_blank_values=True).items()
        }
        fake.requests.append({"path": self.path, "headers": dict(self.headers), "form": form})
        if self.path != "/version1/messaging":
            return self.answer(404, "text/plain", "Not Found")
        if self.headers.get("apiKey") != API_KEY:
            return self.answer(401, "text/plain", "The supplied authentication is invalid")
        if form.get("username") != USERNAME or not form.get("to") or "message" not in form:
            return self.answer(400, "text/plain", "Request is missing required form field")
        if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            return self.answer(415, "text/plain", "Unsupported Media Type")
        number = form["to"]
        if form.get("from") == REFUSED_SENDER:
            return self.json(201, {"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}})
        if number == BLACKLISTED:
            entry = recipient(number, 406, "UserInBlacklist", "None")
            return self.json(
                201, {"SMSMessageData": {"Message": "Sent to 0/1 Total Cost: 0", "Recipients": [entry]}}
            )
        if number == SERVER_ERROR:
            return self.answer(500, "text/html", "<h1>Internal Server Error</h1>")
        if number == NOT_JSON:
            return self.answer(201, "text/html", "<html>Sent</html>")
        if number == SLOW:
            fake.release.wait(5)
        fake.next_id += 1
        entry = recipient(number, 101, "Success", f"ATXid_{fake.next_id:04d}")
        return self.json(
            201, {"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: NGN 2.2000", "Recipients": [entry]}}
        )

    def json(self, status: int, payload: object) -> None:
        self.answer(status, "application/json", json.dumps(payload))

    def answer(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's own assertions say what happened


class Server(ThreadingHTTPServer):
    def __init__(self, fake: FakeAfricasTalking) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the slow answer finds its client gone: expected, not worth a traceback


@pytest.fixture
def fake_at() -> Iterator[tuple[str, FakeAfricasTalking]]:
    fake = FakeAfricasTalking()
    server = Server(fake)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def gateway_for(fake_at: tuple[str, FakeAfricasTalking]) -> Iterator[Any]:
    base_url, _ = fake_at
    made: list[AfricasTalkingGateway] = []

    def make(**changes: Any) -> AfricasTalkingGateway:
        values: dict[str, Any] = {"username": USERNAME, "api_key": API_KEY, "api_base_url": base_url + "/"}
        values.update(changes)
        made.append(AfricasTalkingGateway(AfricasTalkingConfig(**values)))
        return made[-1]

    yield make
    for gateway in made:
        gateway.close()


def text_to(number: str) -> OutgoingMessage:
    return OutgoingMessage(to=number, body="Kolekt: +12 pts from Ade (PET 4.5kg). Bal 40", reference="out-1")


def test_a_taken_message_comes_back_with_its_message_id(
    fake_at: tuple[str, FakeAfricasTalking], gateway_for: Any
) -> None:
    _, fake = fake_at
    gateway = gateway_for(sender_id="KOLEKT")
    assert gateway.send(text_to(TAKEN)) == Sent(provider_id="ATXid_0001", status="sent")
    assert gateway.send(text_to(TAKEN)).provider_id == "ATXid_0002"
    [first, _] = fake.requests
    assert first["path"] == "/version1/messaging"
    assert first["form"] == {
        "username": USERNAME,
        "to": TAKEN,
        "message": "Kolekt: +12 pts from Ade (PET 4.5kg). Bal 40",
        "from": "KOLEKT",
    }
    assert first["headers"]["apiKey"] == API_KEY
    assert first["headers"]["Accept"] == "application/json"


def test_without_a_sender_id_no_from_is_sent(
    fake_at: tuple[str, FakeAfricasTalking], gateway_for: Any
) -> None:
    _, fake = fake_at
    gateway_for().send(text_to(TAKEN))
    assert "from" not in fake.requests[0]["form"]


def test_a_blacklisted_recipient_is_a_permanent_opt_out(gateway_for: Any) -> None:
    with pytest.raises(SendError) as caught:
        gateway_for().send(text_to(BLACKLISTED))
    assert (caught.value.transient, caught.value.opted_out, caught.value.code) == (
        False,
        True,
        "UserInBlacklist",
    )


def test_an_unregistered_sender_id_is_permanent(gateway_for: Any) -> None:
    with pytest.raises(SendError) as caught:
        gateway_for(sender_id=REFUSED_SENDER).send(text_to(TAKEN))
    assert (caught.value.transient, caught.value.code) == (False, "InvalidSenderId")


def test_a_wrong_api_key_is_transient_until_an_operator_fixes_it(gateway_for: Any) -> None:
    with pytest.raises(SendError) as caught:
        gateway_for(api_key="atsk_revoked").send(text_to(TAKEN))
    assert (caught.value.transient, caught.value.code) == (True, "http-401")
    assert "The supplied authentication is invalid" in str(caught.value)
    assert "atsk_revoked" not in str(caught.value)


def test_a_server_error_is_transient(gateway_for: Any) -> None:
    with pytest.raises(SendError) as caught:
        gateway_for().send(text_to(SERVER_ERROR))
    assert (caught.value.transient, caught.value.code) == (True, "http-500")


def test_a_success_that_is_not_json_is_transient(gateway_for: Any) -> None:
    with pytest.raises(SendError) as caught:
        gateway_for().send(text_to(NOT_JSON))
    assert (caught.value.transient, caught.value.code) == (True, "bad-response")
    assert "<html>Sent</html>" in str(caught.value)


def test_a_wrong_path_is_a_permanent_http_error(
    fake_at: tuple[str, FakeAfricasTalking], gateway_for: Any
) -> None:
    base_url, _ = fake_at
    with pytest.raises(SendError) as caught:
        gateway_for(api_base_url=base_url + "/wrong").send(text_to(TAKEN))
    assert (caught.value.transient, caught.value.code) == (False, "http-404")


def test_an_answer_later_than_the_time_out_is_transient(gateway_for: Any) -> None:
    gateway = gateway_for(timeout_seconds=0.2)
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        gateway.send(text_to(SLOW))
    assert (caught.value.transient, caught.value.code) == (True, "timeout")
    assert time.monotonic() - started < 2


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = AfricasTalkingGateway(
        AfricasTalkingConfig(username=USERNAME, api_key=API_KEY, api_base_url=f"http://127.0.0.1:{port}")
    )
    try:
        with pytest.raises(SendError) as caught:
            gateway.send(text_to(TAKEN))
    finally:
        gateway.close()
    assert (caught.value.transient, caught.value.code) == (True, "connection")


def test_close_releases_the_pooled_connection(gateway_for: Any) -> None:
    gateway = gateway_for()
    gateway.send(text_to(TAKEN))
    pools = gateway._session.get_adapter(gateway.url).poolmanager.pools
    assert len(pools) == 1
    gateway.close()
    assert len(pools) == 0
