"""SMS gateways: one small interface (``base``) and an adapter per provider.

The service picks the provider by name from its settings (``make_gateway``) and from then on sees
only ``Gateway``, ``OutgoingMessage``, ``Sent``, ``SendError``, ``Inbound`` and ``DeliveryReport``.
"""

from __future__ import annotations

from .africastalking import (
    AfricasTalkingConfig,
    AfricasTalkingGateway,
    read_africastalking_inbound,
    read_africastalking_report,
    secret_matches,
)
from .base import (
    FINAL_STATUSES,
    STATUS_RANK,
    BadRequest,
    DeliveryReport,
    FindsSent,
    Gateway,
    Inbound,
    OutgoingMessage,
    SendError,
    Sent,
    Status,
    moves_forward,
)
from .console import ConsoleGateway
from .twilio_sms import (
    TwilioConfig,
    TwilioGateway,
    read_twilio_inbound,
    read_twilio_status,
    verify_twilio_signature,
)

GATEWAY_NAMES = ("console", "twilio", "africastalking")


def make_gateway(
    name: str,
    *,
    twilio: TwilioConfig | None = None,
    africastalking: AfricasTalkingConfig | None = None,
) -> Gateway:
    """The gateway called ``name`` (any case), built from its config.

    Fails at start-up with a message an operator can act on, rather than at the first text: an
    unknown name, or a provider chosen without its config, is a ``ValueError``.
    """
    chosen = name.strip().lower()
    if chosen == "console":
        return ConsoleGateway()
    if chosen == "twilio":
        if twilio is None:
            raise ValueError("SMS gateway 'twilio' needs its Twilio settings (account SID, token, sender)")
        return TwilioGateway(twilio)
    if chosen == "africastalking":
        if africastalking is None:
            raise ValueError(
                "SMS gateway 'africastalking' needs its Africa's Talking settings (username, API key)"
            )
        return AfricasTalkingGateway(africastalking)
    raise ValueError(f"Unknown SMS gateway {name!r}: choose one of {', '.join(GATEWAY_NAMES)}")


__all__ = [
    "FINAL_STATUSES",
    "GATEWAY_NAMES",
    "STATUS_RANK",
    "AfricasTalkingConfig",
    "AfricasTalkingGateway",
    "BadRequest",
    "ConsoleGateway",
    "DeliveryReport",
    "FindsSent",
    "Gateway",
    "Inbound",
    "OutgoingMessage",
    "SendError",
    "Sent",
    "Status",
    "TwilioConfig",
    "TwilioGateway",
    "make_gateway",
    "moves_forward",
    "read_africastalking_inbound",
    "read_africastalking_report",
    "read_twilio_inbound",
    "read_twilio_status",
    "secret_matches",
    "verify_twilio_signature",
]
