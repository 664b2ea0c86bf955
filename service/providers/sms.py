"""The SMS gateway the settings choose, and the URLs providers call back on."""

from __future__ import annotations

from service.settings import Settings
from sms.gateways import AfricasTalkingConfig, Gateway, TwilioConfig, make_gateway


def gateway_for(settings: Settings) -> Gateway:
    twilio = africastalking = None
    if settings.sms_gateway == "twilio":
        twilio = TwilioConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from_number or None,
            messaging_service_sid=settings.twilio_messaging_service_sid or None,
            api_base_url=settings.twilio_api_base_url,
            timeout_seconds=settings.sms_gateway_timeout_seconds,
        )
    elif settings.sms_gateway == "africastalking":
        africastalking = AfricasTalkingConfig(
            username=settings.africastalking_username,
            api_key=settings.africastalking_api_key,
            sender_id=settings.africastalking_sender_id or None,
            api_base_url=settings.africastalking_api_base_url,
            timeout_seconds=settings.sms_gateway_timeout_seconds,
        )
    return make_gateway(settings.sms_gateway, twilio=twilio, africastalking=africastalking)


def status_callback_url(settings: Settings, message_id: int) -> str | None:
    """Where Twilio reports one message's delivery. It carries Kolekt's id, so a report that
    arrives before the send job has recorded Twilio's id still finds its message."""
    if settings.sms_gateway != "twilio" or not settings.public_base_url:
        return None
    return f"{settings.public_base_url}/sms/twilio/status?m={message_id}"
