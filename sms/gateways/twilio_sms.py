"""Twilio: sending through its REST API with the ``twilio`` library, and reading what Twilio posts back.

Sending goes through Twilio's own client so Kolekt speaks exactly the request contract Twilio
publishes (tests run it against Twilio's OpenAPI description served by Prism); the client is given
its own HTTP client with a time-out, no retries (the outbox decides when to try again) and no
settings read from the environment, so what runs is what the config says.

Whatever goes wrong comes back as one ``SendError`` whose ``transient`` tells the outbox whether
trying again later can help; no library or network exception escapes ``send``.

Webhooks (inbound texts, status callbacks) are read from their form fields into the values of
``base``; their signature is checked with Twilio's ``RequestValidator`` before anything is read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http import HttpClient  # type: ignore[import-untyped]
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

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

# Twilio error 21610: "Attempt to send to unsubscribed recipient" (the number texted STOP).
OPTED_OUT_ERROR = 21610

# Twilio's message statuses (the spec's message_enum_status) as Kolekt's. "receiving"/"received"
# belong to inbound messages and "partially_delivered" to multi-recipient channels, so a status
# callback carrying one of them is not about a text Kolekt sent, and is refused.
# How many of a number's newest messages ``find_sent`` reads first, and then at most of those
# sent since the hand-over began.
FIND_PAGE = 20
FIND_MORE = 500

TWILIO_STATUSES: Mapping[str, Status] = {
    "accepted": "sent",
    "scheduled": "sent",
    "queued": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}

# The client otherwise reads TWILIO_EDGE and TWILIO_REGION from os.environ and rewrites the host
# of every request (which would send a test's Prism traffic to a real Twilio edge). An empty
# mapping would not do: the client falls back on os.environ when given one.
_NO_ENVIRONMENT: Mapping[str, str] = {"TWILIO_EDGE": "", "TWILIO_REGION": ""}


def _blank_to_none(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


@dataclass(frozen=True)
class TwilioConfig:
    """How to reach Twilio. Blank optional values count as absent (settings often come from an
    environment where unset means empty); the secret stays out of ``repr`` so it never reaches a log.
    """

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str | None = None
    messaging_service_sid: str | None = None
    api_base_url: str = "https://api.twilio.com"
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_number", _blank_to_none(self.from_number))
        object.__setattr__(self, "messaging_service_sid", _blank_to_none(self.messaging_service_sid))
        if not self.account_sid.strip():
            raise ValueError("Twilio: account_sid is empty")
        if not self.auth_token.strip():
            raise ValueError("Twilio: auth_token is empty")
        if self.from_number is None and self.messaging_service_sid is None:
            raise ValueError("Twilio: set from_number or messaging_service_sid (texts need a sender)")
        if not self.api_base_url.startswith(("https://", "http://")):
            raise ValueError(f"Twilio: api_base_url must be an http(s) URL, not {self.api_base_url!r}")
        if not self.timeout_seconds > 0:
            raise ValueError(f"Twilio: timeout_seconds must be positive, not {self.timeout_seconds!r}")


class TwilioGateway:
    """Sends each message with one ``Messages.create`` call.

    ``http_client`` (anything with the ``twilio.http.HttpClient`` interface) replaces the real one,
    for tests; a gateway that made its own client closes it in ``close``.
    """

    name = "twilio"
    # Twilio answers STOP (and its other default opt-out keywords) itself and then refuses to send
    # to the number (error 21610), so Kolekt must not send a confirmation of its own.
    confirms_opt_out = True

    def __init__(self, config: TwilioConfig, http_client: HttpClient | None = None) -> None:
        self.config = config
        self._owns_http_client = http_client is None
        self._http_client = http_client or TwilioHttpClient(timeout=config.timeout_seconds)
        self._client = Client(
            config.account_sid,
            config.auth_token,
            http_client=self._http_client,
            environment=_NO_ENVIRONMENT,
        )
        # The Api domain builds every Messages URL from its base_url when the request is made.
        self._client.api.base_url = config.api_base_url.rstrip("/")

    def send(self, message: OutgoingMessage) -> Sent:
        params: dict[str, str] = {"to": message.to, "body": message.body}
        # Both may be set: Twilio then sends from that number of the service's sender pool.
        if self.config.from_number is not None:
            params["from_"] = self.config.from_number
        if self.config.messaging_service_sid is not None:
            params["messaging_service_sid"] = self.config.messaging_service_sid
        if message.status_callback is not None:
            params["status_callback"] = message.status_callback
        try:
            created = self._client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as error:
            raise _refusal(error) from error
        except requests.RequestException as error:
            raise _network_error(error) from error
        except TwilioException as error:
            raise _wrapped_error(error) from error
        except (ValueError, AttributeError, TypeError) as error:
            # The library parses a 2xx body without checking it: not JSON is a ValueError, JSON of
            # another shape (a list) an AttributeError. Only a broken proxy or mock answers so.
            raise _unreadable(f"a success Kolekt cannot read ({type(error).__name__}: {error})") from error
        sid = getattr(created, "sid", None)
        if not isinstance(sid, str) or not sid:
            raise _unreadable("a success without a message sid")
        return Sent(provider_id=sid)

    def find_sent(self, to: str, body: str, since: datetime) -> list[Sent]:
        """Twilio's Messages list for ``to``, those with this body created since ``since``: its
        newest ``FIND_PAGE`` (a message Twilio still holds as queued has no DateSent yet), else
        those it sent since ``since``."""
        try:
            found = self._client.messages.list(to=to, limit=FIND_PAGE)
            if not any(getattr(record, "body", None) == body for record in found):
                # A busy number (a collector's) may have had more than a page since: those Twilio
                # sent since ``since`` (a message still queued has no DateSent, but is in the page).
                found = self._client.messages.list(to=to, date_sent_after=since, limit=FIND_MORE)
        except (TwilioRestException, TwilioServiceException) as error:
            raise _refusal(error) from error
        except requests.RequestException as error:
            raise _network_error(error) from error
        except (TwilioException, ValueError, AttributeError, TypeError) as error:
            raise _unreadable(f"a Messages list Kolekt cannot read ({type(error).__name__})") from error
        taken = []
        for record in found:
            created = getattr(record, "date_created", None)
            sid = getattr(record, "sid", None)
            if not isinstance(sid, str) or getattr(record, "body", None) != body:
                continue
            if isinstance(created, datetime) and created < since:
                continue
            status = TWILIO_STATUSES.get(str(getattr(record, "status", "") or "").lower(), "sent")
            taken.append(Sent(provider_id=sid, status=status))
        return taken

    def close(self) -> None:
        """Closes the connection pool of the HTTP client this gateway made (not one it was given)."""
        session = getattr(self._http_client, "session", None)
        if self._owns_http_client and session is not None:
            session.close()


def _refusal(error: Any) -> SendError:
    """Twilio answered with an error status: transient when waiting (429, 5xx) or an operator
    fixing the account (401, 403 bad credentials) can help, or when it is no error answer at all
    (a 3xx: ``api_base_url`` points somewhere else); any other 4xx says the message is wrong.

    The library puts the HTTP status in ``code`` when the body carries no Twilio error code, so a
    code equal to the status is no code (Twilio's own codes have five digits).
    """
    status = int(error.status)
    try:
        twilio_code: int | None = int(error.code)
    except (TypeError, ValueError):
        twilio_code = None
    if twilio_code == status:
        twilio_code = None
    code = str(twilio_code) if twilio_code is not None else f"http-{status}"
    if isinstance(error, TwilioServiceException):
        detail = f"{error.title}: {error.detail}" if error.detail else str(error.title)
    else:
        detail = str(error.msg)
    text = f"Twilio refused the message (HTTP {status}, {code}): {detail}"
    if twilio_code == OPTED_OUT_ERROR:
        return SendError(text, transient=False, code=code, opted_out=True)
    permanent = 400 <= status < 500 and status not in (401, 403, 429)
    return SendError(text, transient=not permanent, code=code)


def _network_error(error: requests.RequestException) -> SendError:
    """No answer from Twilio (or none that HTTP can read): always worth trying again later.

    A read time-out may hide a message Twilio did take; sending it twice is the lesser harm than
    never sending a receipt.
    """
    if isinstance(error, requests.Timeout):  # before ConnectionError: ConnectTimeout is both
        return SendError(f"Twilio did not answer in time: {error}", transient=True, code="timeout")
    if isinstance(error, requests.ConnectionError):
        return SendError(f"Could not connect to Twilio: {error}", transient=True, code="connection")
    return SendError(f"HTTP to Twilio failed: {error}", transient=True, code="network")


def _wrapped_error(error: Any) -> SendError:
    """A bare ``TwilioException``: a network error it wraps is reported as that error; anything else
    is a client-side problem an operator or a later attempt can fix, never a verdict on the message."""
    cause = error.__cause__ or error.__context__
    if isinstance(cause, requests.RequestException):
        return _network_error(cause)
    return SendError(f"The Twilio client failed: {error}", transient=True, code="twilio")


def _unreadable(what: str) -> SendError:
    """Twilio said yes but Kolekt cannot tell which message it made, so no delivery report could
    ever be matched to it: try again rather than record a message that cannot be followed."""
    return SendError(f"Twilio answered {what}", transient=True, code="bad-response")


class _FormPairs:
    """Form fields as (name, value) pairs, shown to ``RequestValidator`` the way it reads a
    werkzeug or Django multi-dict: iterating gives the names, ``getall`` every value of one."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def getall(self, name: str) -> list[str]:
        return self._values[name]


def verify_twilio_signature(
    auth_token: str,
    url: str,
    params: Mapping[str, str] | Sequence[tuple[str, str]],
    signature: str | None,
) -> bool:
    """Whether ``signature`` (the X-Twilio-Signature header) is Twilio's for this request.

    ``url`` is the full URL Twilio requested, query string included (behind a proxy, the public
    one). Twilio may repeat a form field; it signs every value of it, so all must be given:
    either as a list of (name, value) pairs in the order received, or as a mapping that keeps
    them (werkzeug's ``MultiDict`` -- Flask's ``request.form`` -- has ``getall``, which the
    validator uses). A plain dict holds one value per name, and a request with a repeated field
    then fails verification, which is the safe way round. No token or no signature: False.
    """
    if not auth_token or not signature:
        return False
    fields = params if isinstance(params, Mapping) else _FormPairs(params)
    return bool(RequestValidator(auth_token).validate(url, fields, signature))


def _required(form: Mapping[str, str], *names: str) -> str:
    """The first of ``names`` present and non-empty in ``form``; a missing one is a ``BadRequest``."""
    for name in names:
        value = form.get(name)
        if value:
            return value
    raise BadRequest(f"missing {' or '.join(names)}")


def read_twilio_inbound(form: Mapping[str, str]) -> Inbound:
    """An incoming text from Twilio's webhook fields.

    An empty Body is a real empty text (someone sent nothing) and is kept; only a missing Body, or
    a missing or empty MessageSid or From, makes the request bad.
    """
    message_id = provider_id(_required(form, "MessageSid", "SmsSid"), "MessageSid")
    sender = _required(form, "From")
    if "Body" not in form:
        raise BadRequest("missing Body")
    return Inbound(
        provider="twilio", provider_id=message_id, sender=sender, to=form.get("To", ""), text=form["Body"]
    )


def read_twilio_status(form: Mapping[str, str]) -> DeliveryReport:
    """A delivery report from Twilio's status callback fields (MessageStatus, ErrorCode, ...).

    ErrorCode (e.g. 30003 unreachable, 21610 opted out) is kept as given so the service can act on
    it; Twilio leaves it out or empty when there is no error.
    """
    message_id = provider_id(_required(form, "MessageSid", "SmsSid"), "MessageSid")
    twilio_status = _required(form, "MessageStatus", "SmsStatus")
    status = TWILIO_STATUSES.get(twilio_status.strip().lower())
    if status is None:
        raise BadRequest(f"unknown MessageStatus {twilio_status[:40]!r}")
    return DeliveryReport(
        provider="twilio",
        provider_id=message_id,
        status=status,
        error_code=form.get("ErrorCode") or None,
        error=form.get("ErrorMessage") or None,
    )
