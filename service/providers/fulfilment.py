"""Fulfilment: handing a redemption over to whoever delivers it, one ``Fulfiller`` per kind.

- voucher: Kolekt itself. A code of ``VOUCHER_LENGTH`` characters of the ledger's reference
  alphabet, drawn with ``secrets`` (50 bits: nobody guesses one), shown as ``XXXXX-XXXXX`` and
  stored without the dash; a partner shop's VERIFY uses it once. A clash with a stored code (a
  chance of about one in 10^15 per pair) is met by drawing again (``store_unique``).
- goods: nothing external; the household collects at the hub with the redemption's reference.
- airtime: ``ConsoleAirtime`` (the embedded default: logs, succeeds, no network) or
  ``AfricasTalkingAirtime`` (Africa's Talking's airtime API), chosen by ``AIRTIME_PROVIDER``.

The job that calls a fulfiller does so outside any database transaction (``service.jobs``); a
fulfiller only answers ``Fulfilled`` or raises ``FulfilmentError``, saying whether trying again
later can help. It writes nothing itself.

Africa's Talking's airtime API, as it documents it (docs.africastalking.com/airtime/sending; the
official SDKs github.com/AfricasTalkingLtd/africastalking-python ``Airtime.py`` and
africastalking-node.js ``lib/airtime.js``, ``lib/customAxios``):

- ``POST {base}/version1/airtime/send``, form-encoded ``username`` and ``recipients``, a JSON list
  ``[{"phoneNumber": "+234...", "amount": "NGN 200"}]`` (the amount is the currency code, a space
  and the value: both SDKs take a ``currencyCode`` and an ``amount`` and join them so before
  sending); headers ``apiKey``, ``Accept: application/json`` and, optionally,
  ``Idempotency-Key`` (a repeated key is not topped up twice: Kolekt sends ``redemption:<id>``,
  so a retry after a time-out cannot pay twice).
- A success is HTTP 201 with ``{"errorMessage": "None", "numSent": 1, "totalAmount": "NGN
  200.0000", "totalDiscount": ..., "responses": [{"phoneNumber": ..., "errorMessage": "None",
  "amount": ..., "status": "Sent", "requestId": "ATQid_...", "discount": ...}]}``. "Sent" means
  handed to the telco; the final Success/Failed comes later to a status callback, which Kolekt
  does not take yet (a failure after "Sent" is for the hub to settle).
- A refusal of the recipient is ``"status": "Failed"`` with the reason in ``errorMessage``; a
  refusal of the whole request is a non-"None" top-level ``errorMessage`` and no ``responses``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import requests

from ledger.refs import ALPHABET
from service.settings import Settings
from sms.gateways import AfricasTalkingConfig
from sms.gateways.africastalking import post_form

log = logging.getLogger(__name__)

KINDS = ("airtime", "voucher", "goods")
VOUCHER_LENGTH = 10
# Draws of a voucher code before giving up: each clashes with a chance of about 10^-15 per stored
# code, so a second draw is already a curiosity.
VOUCHER_DRAWS = 8
AIRTIME_CURRENCY = "NGN"
# How much of an unexpected answer goes into an error message: enough to recognise it in a log.
_SNIPPET = 200


class FulfilmentError(Exception):
    """The reward could not be delivered. ``transient``: the same request may succeed later (the
    provider is down or slow); otherwise it never will (the provider refused this recipient)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Order:
    """What a fulfiller needs to know of one redemption."""

    redemption_id: int
    kind: str
    reward_code: str
    reward_name: str
    units: int  # naira of airtime, or vouchers, or items
    phone: str  # the household's, E.164
    reference: str  # the debit's human reference (what the household reads out at the hub)
    attempt: int = 1

    @property
    def idempotency_key(self) -> str:
        return f"redemption:{self.redemption_id}"


@dataclass(frozen=True)
class Fulfilled:
    """Delivered: the provider's own reference (airtime), or the voucher's code (undashed)."""

    provider_ref: str | None = None
    voucher_code: str | None = None


class Fulfiller(Protocol):
    name: str

    def fulfil(self, order: Order) -> Fulfilled: ...

    def close(self) -> None: ...


# --- vouchers ----------------------------------------------------------------------------------------


def new_voucher_code() -> str:
    """``VOUCHER_LENGTH`` characters of the reference alphabet, each from the system's randomness."""
    return "".join(secrets.choice(ALPHABET) for _ in range(VOUCHER_LENGTH))


def show_voucher(code: str) -> str:
    """A voucher code as people read it: ``ABCDE-FGHJK`` (a code of another length as it is)."""
    if len(code) != VOUCHER_LENGTH:
        return code
    half = VOUCHER_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def store_unique(
    store: Callable[[str], bool], draw: Callable[[], str] = new_voucher_code, *, draws: int = VOUCHER_DRAWS
) -> str:
    """Draw codes until ``store(code)`` takes one (it answers False when the code is taken: the
    database's unique constraint said so); returns the code stored."""
    for _ in range(draws):
        code = draw()
        if store(code):
            return code
    raise FulfilmentError(f"no free voucher code in {draws} draws", transient=True)


class VoucherFulfiller:
    """Vouchers are Kolekt's own: the code is drawn here and made unique where it is stored."""

    name = "voucher"

    def fulfil(self, order: Order) -> Fulfilled:
        return Fulfilled(voucher_code=new_voucher_code())

    def close(self) -> None:
        pass


class GoodsFulfiller:
    """Goods wait at the hub; the household collects them with the redemption's reference."""

    name = "goods"

    def fulfil(self, order: Order) -> Fulfilled:
        return Fulfilled(provider_ref=f"hub:{order.reference}")

    def close(self) -> None:
        pass


# --- airtime -----------------------------------------------------------------------------------------


class ConsoleAirtime:
    """The embedded default: records the top-up in the log and succeeds, with no network."""

    name = "console"

    def fulfil(self, order: Order) -> Fulfilled:
        log.info(
            "airtime (console): %s %d to %s for redemption %d",
            AIRTIME_CURRENCY,
            order.units,
            order.phone,
            order.redemption_id,
        )
        return Fulfilled(provider_ref=f"console:{order.redemption_id}")

    def close(self) -> None:
        pass


class AfricasTalkingAirtime:
    """Tops up with one POST to Africa's Talking's airtime API (``requests``; the SDK hides HTTP
    errors in a bare exception). ``session`` replaces its own ``requests.Session`` (tests)."""

    name = "africastalking"

    def __init__(
        self,
        config: AfricasTalkingConfig,
        session: requests.Session | None = None,
        *,
        currency: str = AIRTIME_CURRENCY,
    ) -> None:
        self.config = config
        self.currency = currency
        self._owns_session = session is None
        self._session = session or requests.Session()
        self.url = config.api_base_url.rstrip("/") + "/version1/airtime/send"

    def fulfil(self, order: Order) -> Fulfilled:
        recipients = [{"phoneNumber": order.phone, "amount": f"{self.currency} {order.units}"}]
        data = {"username": self.config.username, "recipients": json.dumps(recipients)}
        try:
            status, body = post_form(
                self._session, self.config, self.url, data, {"Idempotency-Key": order.idempotency_key}
            )
        except requests.Timeout as error:  # before ConnectionError: ConnectTimeout is both
            # It may have been taken: the retry carries the same Idempotency-Key.
            raise FulfilmentError(
                f"Africa's Talking did not answer in time: {error}", transient=True
            ) from error
        except requests.RequestException as error:
            raise FulfilmentError(f"could not reach Africa's Talking: {error}", transient=True) from error
        if not 200 <= status < 300:
            raise _http_error(status, body)
        return _read_answer(body)

    def close(self) -> None:
        if self._owns_session:
            self._session.close()


def _http_error(status: int, body: str) -> FulfilmentError:
    """5xx and 429 pass; 401 and 403 (a wrong or revoked key) pass once an operator fixes the
    account; any other status says the request itself is wrong."""
    transient = status >= 500 or status in (401, 403, 429) or status < 400
    return FulfilmentError(
        f"Africa's Talking answered HTTP {status}: {body[:_SNIPPET]!r}", transient=transient
    )


def _none(value: object) -> bool:
    """Africa's Talking writes "no error" as the string "None"."""
    return value is None or str(value).strip() in ("", "None")


def _read_answer(body: str) -> Fulfilled:
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    responses = payload.get("responses") if isinstance(payload, dict) else None
    if not isinstance(payload, dict) or not isinstance(responses, list):
        # Taken or not, nobody can tell: the retry's Idempotency-Key keeps it from paying twice.
        raise FulfilmentError(
            f"Africa's Talking answered with a body Kolekt cannot read: {body[:_SNIPPET]!r}", transient=True
        )
    if not responses:
        reason = payload.get("errorMessage")
        raise FulfilmentError(
            f"Africa's Talking refused the request: {'no recipient taken' if _none(reason) else reason}",
            transient=False,
        )
    answer = responses[0] if isinstance(responses[0], dict) else {}
    status = str(answer.get("status", ""))
    # "Sent": handed to the telco ("Success" and "Queued" also mean it was taken).
    if status.lower() in ("sent", "success", "queued"):
        request_id = answer.get("requestId")
        if _none(request_id):
            raise FulfilmentError("Africa's Talking took the top-up but gave no requestId", transient=True)
        return Fulfilled(provider_ref=str(request_id)[:64])
    reason = answer.get("errorMessage")
    raise FulfilmentError(
        f"Africa's Talking refused the top-up: {status or 'no status'}"
        + ("" if _none(reason) else f" ({reason})"),
        transient=False,
    )


# --- which one -------------------------------------------------------------------------------------


def fulfiller_for(kind: str, settings: Settings) -> Fulfiller:
    """The fulfiller of one kind of reward under these settings (the caller closes it)."""
    if kind == "voucher":
        return VoucherFulfiller()
    if kind == "goods":
        return GoodsFulfiller()
    if kind != "airtime":
        raise ValueError(f"no fulfiller for rewards of kind {kind!r}")
    if settings.airtime_provider == "africastalking":
        return AfricasTalkingAirtime(
            AfricasTalkingConfig(
                username=settings.africastalking_username,
                api_key=settings.africastalking_api_key,
                api_base_url=settings.africastalking_api_base_url,
            )
        )
    return ConsoleAirtime()
