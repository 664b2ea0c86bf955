"""Africa's Talking: sending through its bulk SMS API with plain ``requests``, and reading its callbacks.

Africa's Talking is the usual SMS provider in Nigeria and East Africa. Its Python SDK does little
more than one POST, hides HTTP errors in a bare exception and has no types, so Kolekt makes the
request itself and classifies every answer into ``Sent`` or a ``SendError``.

The API, as Africa's Talking documents it (developers.africastalking.com/docs/sms/sending and
/docs/sms/notifications; the official SDK github.com/AfricasTalkingLtd/africastalking-python,
``africastalking/SMS.py`` and ``Service.py``):

- ``POST {base}/version1/messaging``, form-encoded ``username``, ``to``, ``message`` and optional
  ``from`` (a registered sender ID or short code), headers ``apiKey`` and ``Accept: application/json``;
  production ``https://api.africastalking.com``, sandbox ``https://api.sandbox.africastalking.com``.
- A success (HTTP 201) is ``{"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: ...",
  "Recipients": [{"statusCode": 101, "number": ..., "status": "Success", "cost": ...,
  "messageId": "ATXid_..."}]}}``; whether that recipient was taken is in its ``statusCode``
  (``RECIPIENT_CODES``), not in the HTTP status.
- Refusals that reach no recipient come as ``"Recipients": []`` with the reason in ``Message``
  (e.g. ``"InvalidSenderId"`` for an unregistered sender ID, reported by users of the API).
- In Nigeria a promotional sender ID used outside 8am-8pm is refused with HTTP 409 and a recipient
  ``{"statusCode": 409, "status": "DoNotDisturbRejection"}``: the NCC's time window, so it is
  transient here (the same text goes through in the morning).
- A wrong API key gets HTTP 401 with a plain-text body.
- Callbacks are form posts: inbound texts carry ``id, from, to, text, date, linkId`` (and
  ``networkCode``, ``cost``); delivery reports ``id, status, phoneNumber, networkCode,
  failureReason, retryCount``. Africa's Talking does not sign callbacks, so their URL carries a
  secret of Kolekt's, checked with ``secret_matches``.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import requests

from .base import (
    BadRequest,
    DeliveryReport,
    Inbound,
    OutgoingMessage,
    SendError,
    Sent,
    Status,
    provider_id,
)

Outcome = Literal["sent", "transient", "permanent", "opted_out"]

# A recipient's statusCode in the send response: its name and what it means for the message.
RECIPIENT_CODES: Mapping[int, tuple[str, Outcome]] = {
    100: ("Processed", "sent"),
    101: ("Sent", "sent"),
    102: ("Queued", "sent"),
    401: ("RiskHold", "transient"),  # held for review; Africa's Talking support releases it
    402: ("InvalidSenderId", "permanent"),
    403: ("InvalidPhoneNumber", "permanent"),
    404: ("UnsupportedNumberType", "permanent"),
    405: ("InsufficientBalance", "transient"),  # until the account is topped up
    406: ("UserInBlacklist", "opted_out"),
    407: ("CouldNotRoute", "transient"),
    409: ("DoNotDisturbRejection", "transient"),  # outside Nigeria's promotional time window
    500: ("InternalServerError", "transient"),
    501: ("GatewayError", "transient"),
    502: ("RejectedByGateway", "transient"),
}
_CODE_BY_NAME: Mapping[str, int] = {name.lower(): code for code, (name, _) in RECIPIENT_CODES.items()}

# A delivery report's status as Kolekt's: Sent, Submitted and Buffered are on the way; the rest
# are final. AbsentSubscriber (phone off or out of coverage) and Expired (discarded by the telco)
# did not reach the handset but were not refused outright.
REPORT_STATUSES: Mapping[str, Status] = {
    "sent": "sent",
    "submitted": "sent",
    "buffered": "sent",
    "success": "delivered",
    "failed": "failed",
    "rejected": "failed",
    "absentsubscriber": "undelivered",
    "expired": "undelivered",
}

# How much of an unexpected body goes into an error message: enough to recognise it in a log.
_SNIPPET = 200


def _blank_to_none(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


@dataclass(frozen=True)
class AfricasTalkingConfig:
    """How to reach Africa's Talking. A blank ``sender_id`` counts as absent (the account's default
    sender is used); the API key stays out of ``repr`` so it never reaches a log."""

    username: str
    api_key: str = field(repr=False)
    sender_id: str | None = None
    api_base_url: str = "https://api.africastalking.com"
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "sender_id", _blank_to_none(self.sender_id))
        if not self.username.strip():
            raise ValueError("Africa's Talking: username is empty ('sandbox' for the sandbox)")
        if not self.api_key.strip():
            raise ValueError("Africa's Talking: api_key is empty")
        if not self.api_base_url.startswith(("https://", "http://")):
            raise ValueError(
                f"Africa's Talking: api_base_url must be an http(s) URL, not {self.api_base_url!r}"
            )
        if not self.timeout_seconds > 0:
            raise ValueError(
                f"Africa's Talking: timeout_seconds must be positive, not {self.timeout_seconds!r}"
            )


class AfricasTalkingGateway:
    """Sends each message with one POST to the messaging endpoint.

    ``session`` replaces the gateway's own ``requests.Session`` (for tests, or to share a pool); a
    gateway that made its own session closes it in ``close``. Redirects are not followed: a
    redirected POST would lose its body, and one here means a wrong ``api_base_url``.
    """

    name = "africastalking"
    # Africa's Talking sends no reply to STOP on a short code; Kolekt confirms opt-outs itself.
    confirms_opt_out = False

    def __init__(self, config: AfricasTalkingConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._owns_session = session is None
        self._session = session or requests.Session()
        self.url = config.api_base_url.rstrip("/") + "/version1/messaging"

    def send(self, message: OutgoingMessage) -> Sent:
        data = {"username": self.config.username, "to": message.to, "message": message.body}
        if self.config.sender_id is not None:
            data["from"] = self.config.sender_id
        try:
            status, body = post_form(self._session, self.config, self.url, data)
        except requests.RequestException as error:
            raise _network_error(error) from error
        outcome = _read_recipient(body)
        if 200 <= status < 300:
            if outcome is None:
                raise SendError(
                    f"Africa's Talking answered HTTP {status} with a body Kolekt cannot read: "
                    f"{body[:_SNIPPET]!r}",
                    transient=True,
                    code="bad-response",
                )
            if isinstance(outcome, SendError):
                raise outcome
            return outcome
        # An error status whose body names the recipient's refusal (HTTP 409 DoNotDisturbRejection)
        # is classified by that refusal; any other by the HTTP status.
        if isinstance(outcome, SendError):
            raise outcome
        raise _http_error(status, body)

    def close(self) -> None:
        """Closes the session this gateway made (not one it was given)."""
        if self._owns_session:
            self._session.close()


def post_form(
    session: requests.Session,
    config: AfricasTalkingConfig,
    url: str,
    data: Mapping[str, str],
    headers: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """One form POST to an Africa's Talking API (SMS, airtime) with the account's key: the HTTP
    status and body. Redirects are not followed: a redirected POST would lose its body, and one
    here means a wrong base URL. ``requests`` raises what could not be sent or read."""
    with session.post(
        url,
        data=data,
        headers={"apiKey": config.api_key, "Accept": "application/json", **(headers or {})},
        timeout=config.timeout_seconds,
        allow_redirects=False,
    ) as response:
        return response.status_code, response.text


def _network_error(error: requests.RequestException) -> SendError:
    """No answer (or none HTTP can read): always worth trying again later. A read time-out may
    hide a message that was taken; sending it twice is the lesser harm than never sending it."""
    if isinstance(error, requests.Timeout):  # before ConnectionError: ConnectTimeout is both
        return SendError(f"Africa's Talking did not answer in time: {error}", transient=True, code="timeout")
    if isinstance(error, requests.ConnectionError):
        return SendError(f"Could not connect to Africa's Talking: {error}", transient=True, code="connection")
    return SendError(f"HTTP to Africa's Talking failed: {error}", transient=True, code="network")


def _http_error(status: int, body: str) -> SendError:
    """An error status without a recipient verdict: transient when waiting (429, 5xx) or an
    operator fixing the account (401, 403: a wrong or revoked API key) can help, or when it is not
    an error answer at all (a 1xx or 3xx means something between Kolekt and the API is wrong);
    any other 4xx says the request itself is wrong."""
    permanent = 400 <= status < 500 and status not in (401, 403, 429)
    return SendError(
        f"Africa's Talking answered HTTP {status}: {body[:_SNIPPET]!r}",
        transient=not permanent,
        code=f"http-{status}",
    )


def _recipient_code(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _read_recipient(body: str) -> Sent | SendError | None:
    """What the body says of the one recipient Kolekt sent to, or None if it is not the expected JSON."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    data = payload.get("SMSMessageData") if isinstance(payload, dict) else None
    recipients = data.get("Recipients") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(recipients, list):
        return None
    if not recipients:  # refused before any recipient: the reason is the summary
        summary = str(data.get("Message", ""))
        code = _CODE_BY_NAME.get(summary.strip().lower())
        return None if code is None else _verdict(code, summary, None)
    recipient = recipients[0]
    code = _recipient_code(recipient.get("statusCode")) if isinstance(recipient, dict) else None
    if code is None:
        return None
    return _verdict(code, str(recipient.get("status", "")), recipient.get("messageId"))


def _verdict(code: int, status: str, message_id: object) -> Sent | SendError:
    """A recipient's statusCode as ``Sent`` or a ``SendError`` (its ``code`` Africa's Talking's name).

    A statusCode missing from ``RECIPIENT_CODES`` is read by its class, the way Africa's Talking
    numbers them: 1xx taken, 5xx worth retrying, anything else a refusal of this message.
    """
    name, outcome = RECIPIENT_CODES.get(code, (f"at-{code}", _outcome_of_unknown(code)))
    if outcome == "sent":
        # A refused recipient's messageId is the string "None"; a taken message without an id
        # could never be matched to its delivery report.
        if not isinstance(message_id, str) or message_id in ("", "None"):
            return SendError(
                f"Africa's Talking took the message ({code} {status}) but gave no messageId",
                transient=True,
                code="bad-response",
            )
        return Sent(provider_id=message_id)
    return SendError(
        f"Africa's Talking refused the message: {code} {status or name}",
        transient=outcome == "transient",
        code=name,
        opted_out=outcome == "opted_out",
    )


def _outcome_of_unknown(code: int) -> Outcome:
    if 100 <= code < 200:
        return "sent"
    return "transient" if 500 <= code < 600 else "permanent"


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise BadRequest(f"missing {name}")
    return value


def read_africastalking_inbound(form: Mapping[str, str]) -> Inbound:
    """An incoming text from Africa's Talking's callback fields.

    An empty ``text`` is a real empty message and is kept; only a missing ``text``, or a missing or
    empty ``id`` or ``from``, makes the request bad. ``date`` and ``linkId`` (for premium replies)
    are not needed by Kolekt.
    """
    message_id = provider_id(_required(form, "id"), "id")
    sender = _required(form, "from")
    if "text" not in form:
        raise BadRequest("missing text")
    return Inbound(
        provider="africastalking",
        provider_id=message_id,
        sender=sender,
        to=form.get("to", ""),
        text=form["text"],
    )


def read_africastalking_report(form: Mapping[str, str]) -> DeliveryReport:
    """A delivery report from Africa's Talking's callback fields.

    ``failureReason`` (e.g. ``UserInBlackList``, ``DeliveryFailure``; only sent with Failed or
    Rejected) becomes the error code; for a message that did not arrive the error names Africa's
    Talking's own status, which Kolekt's statuses fold together (Rejected and Failed are both
    "failed"). ``phoneNumber``, ``networkCode`` and ``retryCount`` have no place in a report.
    """
    message_id = provider_id(_required(form, "id"), "id")
    at_status = _required(form, "status")
    status = REPORT_STATUSES.get(at_status.strip().lower())
    if status is None:
        raise BadRequest(f"unknown status {at_status[:40]!r}")
    reason = form.get("failureReason") or None
    error = None
    if status in ("failed", "undelivered"):
        error = f"{at_status} ({reason})" if reason else at_status
    return DeliveryReport(
        provider="africastalking", provider_id=message_id, status=status, error_code=reason, error=error
    )


def secret_matches(expected: str, given: str | None) -> bool:
    """Whether a callback carries Kolekt's callback secret, in constant time.

    Africa's Talking signs nothing, so the secret in the callback URL is all that tells its posts
    from anyone's. An empty ``expected`` (none configured) never matches: an unset secret must not
    open the endpoint to everyone.
    """
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
