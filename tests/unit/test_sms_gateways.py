"""The SMS gateways without a network: the console, how Twilio's and Africa's Talking's answers become
``Sent`` or ``SendError``, webhook signatures, and the readers of inbound texts and delivery reports.

Providers are replaced by fakes at their seams (a twilio ``HttpClient``, a ``requests.Session``),
never by patching library internals, so the real twilio client builds and parses every request.
Expected classifications are written out here, not derived from the modules' tables.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException
from twilio.http import HttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from sms.gateways import (
    FINAL_STATUSES,
    STATUS_RANK,
    AfricasTalkingConfig,
    AfricasTalkingGateway,
    BadRequest,
    ConsoleGateway,
    DeliveryReport,
    Inbound,
    OutgoingMessage,
    SendError,
    Sent,
    TwilioConfig,
    TwilioGateway,
    make_gateway,
    moves_forward,
    read_africastalking_inbound,
    read_africastalking_report,
    read_twilio_inbound,
    read_twilio_status,
    secret_matches,
    verify_twilio_signature,
)
from sms.gateways.console import KEEP_SENT

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
SERVICE_SID = "MG" + "fedcba9876543210" * 2
MESSAGE = OutgoingMessage(to="+2348031234567", body="Kolekt: +12 pts. Bal 40", reference="out-17")


def twilio_config(**changes: Any) -> TwilioConfig:
    values: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": "token-secret",
        "from_number": "+15005550006",
        "api_base_url": "https://twilio.test",
    }
    values.update(changes)
    return TwilioConfig(**values)


def at_config(**changes: Any) -> AfricasTalkingConfig:
    values: dict[str, Any] = {
        "username": "kolekt",
        "api_key": "key-secret",
        "api_base_url": "https://at.test",
    }
    values.update(changes)
    return AfricasTalkingConfig(**values)


def expect_send_error(gateway: Any, message: OutgoingMessage = MESSAGE) -> SendError:
    with pytest.raises(SendError) as caught:
        gateway.send(message)
    return caught.value


# ---------------------------------------------------------------- statuses


def test_statuses_only_move_forward() -> None:
    assert moves_forward("queued", "sending")
    assert moves_forward("sending", "sent")
    assert moves_forward("sent", "delivered")
    assert moves_forward("queued", "failed")
    assert not moves_forward("sent", "sending")
    assert not moves_forward("delivered", "sent")
    assert not moves_forward("sent", "sent")
    # A final status is never replaced, not even by another final one.
    assert not moves_forward("delivered", "failed")
    assert not moves_forward("undelivered", "delivered")


def test_final_statuses_are_the_last_rank() -> None:
    assert {"delivered", "undelivered", "failed", "held", "suppressed"} == FINAL_STATUSES
    assert {"queued", "sending", "sent"}.isdisjoint(FINAL_STATUSES)
    assert max(STATUS_RANK.values()) == STATUS_RANK["delivered"]


def test_an_unknown_status_is_an_error_not_a_guess() -> None:
    with pytest.raises(KeyError):
        moves_forward("sent", "lost")


# ---------------------------------------------------------------- console


def test_console_reports_each_message_delivered_under_its_own_id() -> None:
    gateway = ConsoleGateway()
    first, second = gateway.send(MESSAGE), gateway.send(MESSAGE)
    assert first.status == second.status == "delivered"
    assert first.provider_id.startswith("console-")
    assert len(first.provider_id) == len("console-") + 32
    int(first.provider_id.removeprefix("console-"), 16)
    assert first.provider_id != second.provider_id
    assert list(gateway.sent) == [MESSAGE, MESSAGE]
    assert (gateway.name, gateway.confirms_opt_out) == ("console", False)


def test_console_keeps_only_the_latest_messages() -> None:
    gateway = ConsoleGateway()
    for number in range(KEEP_SENT + 5):
        gateway.send(OutgoingMessage(to="+2348031234567", body=f"text {number}", reference=str(number)))
    assert len(gateway.sent) == KEEP_SENT
    assert gateway.sent[0].body == "text 5"
    assert gateway.sent[-1].body == f"text {KEEP_SENT + 4}"


def test_console_logs_the_whole_message_unmasked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sms.gateways.console"):
        sent = ConsoleGateway().send(MESSAGE)
    [record] = [r for r in caplog.records if r.name == "sms.gateways.console"]
    assert record.levelno == logging.INFO
    text = record.getMessage()
    assert MESSAGE.to in text and MESSAGE.body in text and MESSAGE.reference in text
    assert sent.provider_id in text


# ---------------------------------------------------------------- make_gateway


def test_make_gateway_builds_each_provider() -> None:
    assert isinstance(make_gateway("console"), ConsoleGateway)
    twilio = make_gateway(" Twilio ", twilio=twilio_config())
    africastalking = make_gateway("africastalking", africastalking=at_config())
    try:
        assert isinstance(twilio, TwilioGateway) and twilio.name == "twilio"
        assert isinstance(africastalking, AfricasTalkingGateway) and africastalking.name == "africastalking"
    finally:
        twilio.close()
        africastalking.close()


def test_make_gateway_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"Unknown SMS gateway 'nexmo'.*console, twilio, africastalking"):
        make_gateway("nexmo")


@pytest.mark.parametrize("name", ["twilio", "africastalking"])
def test_make_gateway_refuses_a_provider_without_its_settings(name: str) -> None:
    # The other provider's settings do not count.
    with pytest.raises(ValueError, match=f"'{name}' needs"):
        make_gateway(
            name,
            twilio=None if name == "twilio" else twilio_config(),
            africastalking=None if name == "africastalking" else at_config(),
        )


# ---------------------------------------------------------------- Twilio config


def test_twilio_config_needs_a_sender() -> None:
    with pytest.raises(ValueError, match="from_number or messaging_service_sid"):
        twilio_config(from_number=None)
    with pytest.raises(ValueError, match="from_number or messaging_service_sid"):
        twilio_config(from_number="  ", messaging_service_sid="")


def test_twilio_config_blank_optional_values_are_absent() -> None:
    config = twilio_config(from_number="", messaging_service_sid=SERVICE_SID)
    assert config.from_number is None
    assert config.messaging_service_sid == SERVICE_SID


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"account_sid": ""}, "account_sid is empty"),
        ({"auth_token": " "}, "auth_token is empty"),
        ({"api_base_url": "api.twilio.com"}, "api_base_url"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": -1.0}, "timeout_seconds"),
    ],
)
def test_twilio_config_refuses_what_could_never_work(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        twilio_config(**changes)


def test_twilio_config_keeps_the_token_out_of_its_repr() -> None:
    assert "token-secret" not in repr(twilio_config())
    assert ACCOUNT_SID in repr(twilio_config())


# ---------------------------------------------------------------- Twilio sending


@dataclass
class Call:
    method: str
    url: str
    data: dict[str, Any]
    headers: dict[str, str]
    auth: tuple[str, str] | None


class FakeTwilioHttp(HttpClient):
    """twilio's HttpClient interface, answering each request with the next canned response or error."""

    def __init__(self, *answers: TwilioResponse | BaseException) -> None:
        super().__init__(logging.getLogger("tests.fake_twilio"), is_async=False, timeout=None)
        self.answers = list(answers)
        self.calls: list[Call] = []

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> TwilioResponse:
        self.calls.append(Call(method, url, dict(data or {}), dict(headers or {}), auth))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def created(sid: str = "SM" + "a" * 32) -> TwilioResponse:
    return TwilioResponse(201, f'{{"sid": "{sid}", "status": "queued", "to": "+2348031234567"}}')


def test_twilio_sends_one_create_request_with_the_configured_sender() -> None:
    http = FakeTwilioHttp(created("SM" + "1" * 32))
    sent = TwilioGateway(twilio_config(api_base_url="https://twilio.test/"), http_client=http).send(MESSAGE)
    assert sent == Sent(provider_id="SM" + "1" * 32, status="sent")
    [call] = http.calls
    assert call.method == "POST"
    assert call.url == f"https://twilio.test/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert call.auth == (ACCOUNT_SID, "token-secret")
    assert call.data == {"To": MESSAGE.to, "Body": MESSAGE.body, "From": "+15005550006"}


def test_twilio_sends_through_a_messaging_service_with_a_status_callback() -> None:
    http = FakeTwilioHttp(created())
    gateway = TwilioGateway(
        twilio_config(from_number=None, messaging_service_sid=SERVICE_SID), http_client=http
    )
    gateway.send(
        OutgoingMessage(to="+2348031234567", body="hi", reference="r", status_callback="https://k/cb")
    )
    assert http.calls[0].data == {
        "To": "+2348031234567",
        "Body": "hi",
        "MessagingServiceSid": SERVICE_SID,
        "StatusCallback": "https://k/cb",
    }


def test_twilio_sends_from_a_number_of_the_messaging_service_when_both_are_set() -> None:
    http = FakeTwilioHttp(created())
    TwilioGateway(twilio_config(messaging_service_sid=SERVICE_SID), http_client=http).send(MESSAGE)
    assert http.calls[0].data["From"] == "+15005550006"
    assert http.calls[0].data["MessagingServiceSid"] == SERVICE_SID


def test_twilio_ignores_edge_and_region_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    http = FakeTwilioHttp(created())
    TwilioGateway(twilio_config(), http_client=http).send(MESSAGE)
    assert http.calls[0].url.startswith("https://twilio.test/2010-04-01/")


def test_twilio_gateway_says_twilio_confirms_opt_outs() -> None:
    gateway = TwilioGateway(twilio_config(), http_client=FakeTwilioHttp())
    assert (gateway.name, gateway.confirms_opt_out) == ("twilio", True)


def legacy_error(status: int, code: int, message: str = "refused") -> TwilioResponse:
    return TwilioResponse(status, f'{{"code": {code}, "message": "{message}", "status": {status}}}')


@pytest.mark.parametrize(
    ("answer", "transient", "code", "opted_out"),
    [
        pytest.param(
            legacy_error(400, 21211, "Invalid 'To' Phone Number"), False, "21211", False, id="bad-to"
        ),
        pytest.param(
            legacy_error(400, 21610, "Attempt to send to unsubscribed"), False, "21610", True, id="stop"
        ),
        pytest.param(legacy_error(401, 20003, "Authenticate"), True, "20003", False, id="credentials"),
        pytest.param(legacy_error(403, 20005, "Account suspended"), True, "20005", False, id="forbidden"),
        pytest.param(legacy_error(404, 20404, "Not found"), False, "20404", False, id="not-found"),
        pytest.param(legacy_error(429, 20429, "Too Many Requests"), True, "20429", False, id="rate-limit"),
        pytest.param(legacy_error(500, 20500, "Internal"), True, "20500", False, id="twilio-500"),
        pytest.param(
            TwilioResponse(502, "<html>Bad Gateway</html>"), True, "http-502", False, id="proxy-502"
        ),
        pytest.param(TwilioResponse(503, ""), True, "http-503", False, id="empty-503"),
        pytest.param(TwilioResponse(301, ""), True, "http-301", False, id="redirect"),
        # Prism's (RFC 7807) refusal has no Twilio code: the library puts the HTTP status there.
        pytest.param(
            TwilioResponse(
                422, '{"type": "https://x/UNPROCESSABLE_ENTITY", "title": "Invalid", "status": 422}'
            ),
            False,
            "http-422",
            False,
            id="problem-without-code",
        ),
        # RFC 9457 bodies become TwilioServiceException, not TwilioRestException.
        pytest.param(
            TwilioResponse(400, '{"type": "t", "title": "Unsubscribed", "status": 400, "code": 21610}'),
            False,
            "21610",
            True,
            id="rfc9457-stop",
        ),
        pytest.param(
            TwilioResponse(503, '{"type": "t", "title": "Unavailable", "status": 503, "code": 20503}'),
            True,
            "20503",
            False,
            id="rfc9457-503",
        ),
    ],
)
def test_twilio_refusals_say_whether_to_try_again(
    answer: TwilioResponse, transient: bool, code: str, opted_out: bool
) -> None:
    error = expect_send_error(TwilioGateway(twilio_config(), http_client=FakeTwilioHttp(answer)))
    assert (error.transient, error.code, error.opted_out) == (transient, code, opted_out)
    assert f"HTTP {answer.status_code}" in str(error)
    assert "\033[" not in str(error)  # the library's colours are for terminals, not logs


def wrapped(cause: BaseException) -> TwilioException:
    try:
        raise TwilioException("request failed") from cause
    except TwilioException as error:
        return error


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (requests.ConnectTimeout("connect timed out"), "timeout"),
        (requests.ReadTimeout("read timed out"), "timeout"),
        (requests.ConnectionError("connection refused"), "connection"),
        (requests.exceptions.ChunkedEncodingError("broken chunk"), "network"),
        (wrapped(requests.ConnectionError("reset")), "connection"),
        (wrapped(requests.ReadTimeout("slow")), "timeout"),
        (TwilioException("HttpClient is an abstract class"), "twilio"),
    ],
)
def test_twilio_network_failures_are_transient(failure: BaseException, code: str) -> None:
    error = expect_send_error(TwilioGateway(twilio_config(), http_client=FakeTwilioHttp(failure)))
    assert (error.transient, error.code, error.opted_out) == (True, code, False)
    assert error.__cause__ is failure


@pytest.mark.parametrize("body", ["<html>OK</html>", "", "{}", '{"sid": ""}', '{"sid": 17}', "[]"])
def test_twilio_success_without_a_readable_sid_is_transient(body: str) -> None:
    error = expect_send_error(
        TwilioGateway(twilio_config(), http_client=FakeTwilioHttp(TwilioResponse(201, body)))
    )
    assert (error.transient, error.code) == (True, "bad-response")


def test_twilio_gateway_leaves_a_given_client_open() -> None:
    given = FakeTwilioHttp()
    given.session = FakeSession()
    TwilioGateway(twilio_config(), http_client=given).close()
    assert not given.session.closed


# ---------------------------------------------------------------- Twilio signatures

# Twilio's own test vector (twilio/twilio-python tests/unit/test_request_validator.py, the example
# of twilio.com/docs/usage/security): token 12345, this URL and these parameters.
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
    "Caller": "+14158675309",
}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
# The same source's vector for a repeated field (Digits twice).
DOC_REPEATED = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
DOC_REPEATED_SIGNATURE = "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_twilio_signature_matches_twilios_published_vector() -> None:
    assert verify_twilio_signature(DOC_TOKEN, DOC_URL, DOC_PARAMS, DOC_SIGNATURE)
    # Twilio may sign the URL with or without the default port.
    assert verify_twilio_signature(DOC_TOKEN, DOC_URL.replace(".com", ".com:443"), DOC_PARAMS, DOC_SIGNATURE)


def test_twilio_signature_covers_every_value_of_a_repeated_field() -> None:
    assert verify_twilio_signature(DOC_TOKEN, DOC_URL, DOC_REPEATED, DOC_REPEATED_SIGNATURE)
    assert verify_twilio_signature(DOC_TOKEN, DOC_URL, MultiDict(DOC_REPEATED), DOC_REPEATED_SIGNATURE)
    # A plain dict keeps one value per name, so the request no longer verifies.
    assert not verify_twilio_signature(DOC_TOKEN, DOC_URL, dict(DOC_REPEATED), DOC_REPEATED_SIGNATURE)
    assert not verify_twilio_signature(DOC_TOKEN, DOC_URL, DOC_REPEATED[:3], DOC_REPEATED_SIGNATURE)


INBOUND_URL = "https://kolekt.example/sms/twilio/inbound"
TOKEN = "token-secret"
INBOUND_FORM = {
    "MessageSid": "SM" + "b" * 32,
    "SmsSid": "SM" + "b" * 32,
    "AccountSid": ACCOUNT_SID,
    "From": "+2348031234567",
    "To": "+15005550006",
    "Body": "LOG K0007F PET 4.5",
    "NumSegments": "1",
}


def signed(form: dict[str, str], url: str = INBOUND_URL, token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, form))


SIGNED = signed(INBOUND_FORM)


def test_twilio_signature_accepts_what_twilio_signed() -> None:
    assert verify_twilio_signature(TOKEN, INBOUND_URL, INBOUND_FORM, SIGNED)
    assert verify_twilio_signature(TOKEN, INBOUND_URL, list(INBOUND_FORM.items()), SIGNED)


@pytest.mark.parametrize(
    ("token", "url", "form", "signature"),
    [
        pytest.param(TOKEN, INBOUND_URL, {**INBOUND_FORM, "Body": "LOG K0007F PET 45"}, SIGNED, id="body"),
        pytest.param(TOKEN, INBOUND_URL, {**INBOUND_FORM, "Extra": "1"}, SIGNED, id="extra-field"),
        pytest.param(TOKEN, INBOUND_URL + "?x=1", INBOUND_FORM, SIGNED, id="url"),
        pytest.param("another-token", INBOUND_URL, INBOUND_FORM, SIGNED, id="token"),
        pytest.param(TOKEN, INBOUND_URL, INBOUND_FORM, "", id="empty-signature"),
        pytest.param(TOKEN, INBOUND_URL, INBOUND_FORM, None, id="no-signature"),
        # Signed with an empty token is still refused: no token configured opens nothing.
        pytest.param("", INBOUND_URL, INBOUND_FORM, signed(INBOUND_FORM, token=""), id="empty-token"),
    ],
)
def test_twilio_signature_refuses_anything_else(
    token: str, url: str, form: dict[str, str], signature: str | None
) -> None:
    assert not verify_twilio_signature(token, url, form, signature)


# ---------------------------------------------------------------- Twilio webhooks


def test_twilio_inbound_is_read_from_its_fields() -> None:
    assert read_twilio_inbound(INBOUND_FORM) == Inbound(
        provider="twilio",
        provider_id="SM" + "b" * 32,
        sender="+2348031234567",
        to="+15005550006",
        text="LOG K0007F PET 4.5",
    )


def test_twilio_inbound_falls_back_on_smssid_and_keeps_an_empty_body() -> None:
    form = {"SmsSid": "SM1", "From": "+2348031234567", "Body": ""}
    assert read_twilio_inbound(form) == Inbound("twilio", "SM1", "+2348031234567", "", "")


@pytest.mark.parametrize("missing", ["MessageSid", "From", "Body"])
def test_twilio_inbound_without_a_needed_field_is_bad(missing: str) -> None:
    form = {
        k: v
        for k, v in INBOUND_FORM.items()
        if k != missing and not (missing == "MessageSid" and k == "SmsSid")
    }
    with pytest.raises(BadRequest, match=missing):
        read_twilio_inbound(form)


@pytest.mark.parametrize("empty", ["MessageSid", "From"])
def test_twilio_inbound_with_an_empty_sid_or_sender_is_bad(empty: str) -> None:
    with pytest.raises(BadRequest):
        read_twilio_inbound({**INBOUND_FORM, "SmsSid": "", empty: ""})


@pytest.mark.parametrize(
    ("twilio_status", "status"),
    [
        ("accepted", "sent"),
        ("scheduled", "sent"),
        ("queued", "sent"),
        ("sending", "sent"),
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "delivered"),
        ("undelivered", "undelivered"),
        ("failed", "failed"),
        ("canceled", "failed"),
    ],
)
def test_twilio_statuses_become_kolekts(twilio_status: str, status: str) -> None:
    report = read_twilio_status(
        {"MessageSid": "SM9", "MessageStatus": twilio_status, "SmsStatus": twilio_status}
    )
    assert report == DeliveryReport(provider="twilio", provider_id="SM9", status=status)
    assert report.status in STATUS_RANK


def test_twilio_status_keeps_the_error() -> None:
    form = {
        "MessageSid": "SM9",
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "ErrorMessage": "Unreachable",
    }
    assert read_twilio_status(form) == DeliveryReport("twilio", "SM9", "undelivered", "30003", "Unreachable")
    assert read_twilio_status({**form, "ErrorCode": "", "ErrorMessage": ""}).error_code is None


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"MessageSid": "SM9", "MessageStatus": "received"}, id="inbound-status"),
        pytest.param({"MessageSid": "SM9", "MessageStatus": "partially_delivered"}, id="multi-recipient"),
        pytest.param({"MessageSid": "SM9", "MessageStatus": "exploded"}, id="unknown"),
        pytest.param({"MessageSid": "SM9"}, id="no-status"),
        pytest.param({"MessageStatus": "delivered"}, id="no-sid"),
        pytest.param({"MessageSid": "", "MessageStatus": "delivered"}, id="empty-sid"),
    ],
)
def test_twilio_status_that_is_not_about_a_sent_text_is_bad(form: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        read_twilio_status(form)


# ---------------------------------------------------------------- Africa's Talking config


def test_africastalking_config_defaults_to_production_and_hides_the_key() -> None:
    config = AfricasTalkingConfig(username="kolekt", api_key="key-secret")
    assert config.api_base_url == "https://api.africastalking.com"
    assert config.sender_id is None
    assert "key-secret" not in repr(config)
    assert AfricasTalkingConfig(username="kolekt", api_key="k", sender_id=" ").sender_id is None


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"username": ""}, "username is empty"),
        ({"api_key": ""}, "api_key is empty"),
        ({"api_base_url": "ftp://at"}, "api_base_url"),
        ({"timeout_seconds": 0.0}, "timeout_seconds"),
    ],
)
def test_africastalking_config_refuses_what_could_never_work(changes: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        at_config(**changes)


# ---------------------------------------------------------------- Africa's Talking sending


def at_response(status: int, body: str | bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else body
    response.encoding = "utf-8"
    return response


def recipient_body(status_code: int | str, status: str, message_id: str = "ATXid_1") -> str:
    recipient = {
        "statusCode": status_code,
        "number": "+2348031234567",
        "status": status,
        "cost": "NGN 2.2000",
        "messageId": message_id,
    }
    return json.dumps(
        {"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: NGN 2.2000", "Recipients": [recipient]}}
    )


@dataclass
class FakeSession:
    """The part of ``requests.Session`` the gateway uses, answering with canned responses or errors."""

    answers: list[requests.Response | BaseException] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self.posts.append({"url": url, **kwargs})
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        self.closed = True


def at_gateway(
    *answers: requests.Response | BaseException, **changes: Any
) -> tuple[AfricasTalkingGateway, FakeSession]:
    session = FakeSession(list(answers))
    return AfricasTalkingGateway(at_config(**changes), session=session), session


def test_africastalking_posts_the_documented_form() -> None:
    gateway, session = at_gateway(at_response(201, recipient_body(101, "Success", "ATXid_7")))
    assert gateway.send(MESSAGE) == Sent(provider_id="ATXid_7", status="sent")
    [post] = session.posts
    assert post["url"] == "https://at.test/version1/messaging"
    assert post["data"] == {"username": "kolekt", "to": MESSAGE.to, "message": MESSAGE.body}
    assert post["headers"] == {"apiKey": "key-secret", "Accept": "application/json"}
    assert post["timeout"] == 10.0
    assert post["allow_redirects"] is False


def test_africastalking_sends_from_the_sender_id_when_set() -> None:
    gateway, session = at_gateway(
        at_response(201, recipient_body(101, "Success")), sender_id="KOLEKT", api_base_url="https://at.test/"
    )
    gateway.send(MESSAGE)
    assert session.posts[0]["data"]["from"] == "KOLEKT"
    assert session.posts[0]["url"] == "https://at.test/version1/messaging"


def test_africastalking_gateway_confirms_no_opt_out_itself() -> None:
    gateway, _ = at_gateway()
    assert (gateway.name, gateway.confirms_opt_out) == ("africastalking", False)


@pytest.mark.parametrize(
    ("status_code", "status"), [(100, "Processed"), (101, "Success"), (102, "Queued"), ("101", "Success")]
)
def test_africastalking_recipient_taken(status_code: int | str, status: str) -> None:
    gateway, _ = at_gateway(at_response(201, recipient_body(status_code, status, "ATXid_taken")))
    assert gateway.send(MESSAGE) == Sent(provider_id="ATXid_taken")


@pytest.mark.parametrize(
    ("status_code", "status", "transient", "opted_out"),
    [
        (401, "RiskHold", True, False),
        (402, "InvalidSenderId", False, False),
        (403, "InvalidPhoneNumber", False, False),
        (404, "UnsupportedNumberType", False, False),
        (405, "InsufficientBalance", True, False),
        (406, "UserInBlacklist", False, True),
        (407, "CouldNotRoute", True, False),
        (409, "DoNotDisturbRejection", True, False),
        (500, "InternalServerError", True, False),
        (501, "GatewayError", True, False),
        (502, "RejectedByGateway", True, False),
    ],
)
def test_africastalking_recipient_refused(
    status_code: int, status: str, transient: bool, opted_out: bool
) -> None:
    gateway, _ = at_gateway(at_response(201, recipient_body(status_code, status, "None")))
    error = expect_send_error(gateway)
    assert (error.transient, error.code, error.opted_out) == (transient, status, opted_out)
    assert str(status_code) in str(error)


@pytest.mark.parametrize(
    ("status_code", "outcome"),
    [(103, "sent"), (410, "permanent"), (499, "permanent"), (503, "transient"), (600, "permanent")],
)
def test_africastalking_unknown_recipient_codes_are_read_by_their_class(
    status_code: int, outcome: str
) -> None:
    gateway, _ = at_gateway(at_response(201, recipient_body(status_code, "Whatever", "ATXid_x")))
    if outcome == "sent":
        assert gateway.send(MESSAGE).provider_id == "ATXid_x"
        return
    error = expect_send_error(gateway)
    assert (error.transient, error.code) == (outcome == "transient", f"at-{status_code}")


def test_africastalking_refusal_before_any_recipient_is_read_from_the_summary() -> None:
    body = '{"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}'
    error = expect_send_error(at_gateway(at_response(200, body))[0])
    assert (error.transient, error.code, error.opted_out) == (False, "InvalidSenderId", False)


def test_africastalking_do_not_disturb_window_is_transient_despite_http_409() -> None:
    body = (
        '{"SMSMessageData":{"Message":"Sent to 0/1 Total Cost: 0","Recipients":[{"cost":"0",'
        '"messageId":"None","number":"+2348031234567","status":"DoNotDisturbRejection","statusCode":409}]}}'
    )
    error = expect_send_error(at_gateway(at_response(409, body))[0])
    assert (error.transient, error.code) == (True, "DoNotDisturbRejection")


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (500, True),
        (502, True),
        (503, True),
        (429, True),
        (401, True),
        (403, True),
        (302, True),
        (400, False),
        (404, False),
        (405, False),
        (422, False),
    ],
)
def test_africastalking_http_errors_say_whether_to_try_again(status: int, transient: bool) -> None:
    error = expect_send_error(at_gateway(at_response(status, "The supplied authentication is invalid"))[0])
    assert (error.transient, error.code, error.opted_out) == (transient, f"http-{status}", False)
    assert "The supplied authentication is invalid" in str(error)


def test_africastalking_http_error_with_a_taken_recipient_is_still_an_error() -> None:
    error = expect_send_error(at_gateway(at_response(500, recipient_body(101, "Success")))[0])
    assert (error.transient, error.code) == (True, "http-500")


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<html>maintenance</html>",
        "[]",
        '"Sent"',
        "{}",
        '{"SMSMessageData": "x"}',
        '{"SMSMessageData": {"Message": "Sent to 1/1"}}',
        '{"SMSMessageData": {"Message": "Something new", "Recipients": []}}',
        '{"SMSMessageData": {"Message": "x", "Recipients": ["+2348031234567"]}}',
        '{"SMSMessageData": {"Message": "x", "Recipients": [{"status": "Success", "messageId": "ATXid_1"}]}}',
        '{"SMSMessageData": {"Message": "x", "Recipients": [{"statusCode": true, "messageId": "ATXid_1"}]}}',
        '{"SMSMessageData": {"Message": "x", "Recipients": [{"statusCode": "abc", "messageId": "ATXid_1"}]}}',
        recipient_body(101, "Success", ""),
        recipient_body(101, "Success", "None"),
    ],
)
def test_africastalking_success_it_cannot_read_is_transient(body: str) -> None:
    error = expect_send_error(at_gateway(at_response(201, body))[0])
    assert (error.transient, error.code) == (True, "bad-response")


def test_africastalking_message_id_must_be_text() -> None:
    body = recipient_body(101, "Success").replace('"ATXid_1"', "12")
    assert expect_send_error(at_gateway(at_response(201, body))[0]).code == "bad-response"


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (requests.ConnectTimeout("connect timed out"), "timeout"),
        (requests.ReadTimeout("read timed out"), "timeout"),
        (requests.ConnectionError("connection refused"), "connection"),
        (requests.exceptions.SSLError("certificate verify failed"), "connection"),
        (requests.exceptions.ContentDecodingError("bad gzip"), "network"),
        (requests.exceptions.InvalidURL("bad url"), "network"),
    ],
)
def test_africastalking_network_failures_are_transient(failure: BaseException, code: str) -> None:
    error = expect_send_error(at_gateway(failure)[0])
    assert (error.transient, error.code, error.opted_out) == (True, code, False)
    assert error.__cause__ is failure


def test_africastalking_gateway_leaves_a_given_session_open() -> None:
    gateway, session = at_gateway()
    gateway.close()
    assert not session.closed


# ---------------------------------------------------------------- Africa's Talking callbacks

AT_INBOUND = {
    "id": "7d9a0f1c-aaaa",
    "from": "+2348031234567",
    "to": "32424",
    "text": "BAL",
    "date": "2026-03-01 10:15:00",
    "linkId": "abc",
    "networkCode": "62130",
}


def test_africastalking_inbound_is_read_from_its_fields() -> None:
    assert read_africastalking_inbound(AT_INBOUND) == Inbound(
        provider="africastalking",
        provider_id="7d9a0f1c-aaaa",
        sender="+2348031234567",
        to="32424",
        text="BAL",
    )


def test_africastalking_inbound_keeps_an_empty_text_and_needs_no_to() -> None:
    form = {"id": "1", "from": "+2348031234567", "text": ""}
    assert read_africastalking_inbound(form) == Inbound("africastalking", "1", "+2348031234567", "", "")


@pytest.mark.parametrize("missing", ["id", "from", "text"])
def test_africastalking_inbound_without_a_needed_field_is_bad(missing: str) -> None:
    with pytest.raises(BadRequest, match=missing):
        read_africastalking_inbound({k: v for k, v in AT_INBOUND.items() if k != missing})


@pytest.mark.parametrize("empty", ["id", "from"])
def test_africastalking_inbound_with_an_empty_id_or_sender_is_bad(empty: str) -> None:
    with pytest.raises(BadRequest, match=empty):
        read_africastalking_inbound({**AT_INBOUND, empty: ""})


@pytest.mark.parametrize(
    ("at_status", "status"),
    [
        ("Sent", "sent"),
        ("Submitted", "sent"),
        ("Buffered", "sent"),
        ("Success", "delivered"),
        ("Failed", "failed"),
        ("Rejected", "failed"),
        ("AbsentSubscriber", "undelivered"),
        ("Expired", "undelivered"),
    ],
)
def test_africastalking_report_statuses_become_kolekts(at_status: str, status: str) -> None:
    form = {"id": "ATXid_1", "status": at_status, "phoneNumber": "+2348031234567", "networkCode": "62130"}
    report = read_africastalking_report(form)
    assert (report.provider, report.provider_id, report.status) == ("africastalking", "ATXid_1", status)
    assert report.error_code is None
    assert (report.error is None) == (status in ("sent", "delivered"))
    assert report.status in STATUS_RANK


def test_africastalking_report_keeps_the_failure_reason() -> None:
    form = {"id": "ATXid_1", "status": "Rejected", "failureReason": "UserInBlackList", "retryCount": "0"}
    assert read_africastalking_report(form) == DeliveryReport(
        provider="africastalking",
        provider_id="ATXid_1",
        status="failed",
        error_code="UserInBlackList",
        error="Rejected (UserInBlackList)",
    )
    assert read_africastalking_report({**form, "status": "Expired", "failureReason": ""}).error == "Expired"


@pytest.mark.parametrize(
    "form",
    [
        pytest.param({"id": "ATXid_1", "status": "Delivered"}, id="unknown-status"),
        pytest.param({"id": "ATXid_1"}, id="no-status"),
        pytest.param({"status": "Success"}, id="no-id"),
        pytest.param({"id": "", "status": "Success"}, id="empty-id"),
    ],
)
def test_africastalking_report_that_cannot_be_matched_is_bad(form: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        read_africastalking_report(form)


def test_secret_matches_only_the_configured_secret() -> None:
    assert secret_matches("s3cret-Ω", "s3cret-Ω")
    assert not secret_matches("s3cret", "s3cret ")
    assert not secret_matches("s3cret", "S3CRET")
    assert not secret_matches("s3cret", None)
    assert not secret_matches("s3cret", "")
    # No secret configured opens nothing, not even to an empty one.
    assert not secret_matches("", "")
    assert not secret_matches("", None)


@pytest.fixture(autouse=True)
def _no_real_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test here that reached for the network by mistake fails instead of waiting on it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("unit tests must not open connections")

    monkeypatch.setattr("socket.socket.connect", refuse)
