"""What a partner shop texts: VERIFY a voucher (it is used up once)."""

from __future__ import annotations

import sms
from service.channels.conversation import Conversation
from service.channels.handlers.general import not_open
from service.providers.fulfilment import show_voucher
from service.usecases import redemptions
from sms import commands


def verify(conversation: Conversation, command: commands.Verify) -> None:
    if conversation.role != "partner" or conversation.actor_id is None:
        not_open(conversation, command)
        return
    found = redemptions.verify(conversation.uow, conversation.actor_id, command.code)
    shown = show_voucher(command.code)
    if found.result == "ok":
        conversation.reply(
            "verify_ok", voucher=shown, reward=found.reward, member=sms.mask_code(found.member_code)
        )
    elif found.result == "used" and found.used_at is not None:
        day = found.used_at.astimezone(conversation.uow.settings.zone).strftime("%d/%m/%Y")
        conversation.reply("verify_used", voucher=shown, date=day)
    else:
        conversation.reply("verify_unknown", voucher=shown)
