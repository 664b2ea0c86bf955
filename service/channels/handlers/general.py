"""What anyone may text, whatever their role: HELP, LANG, STOP and START."""

from __future__ import annotations

from typing import Any

import sms
from service.channels.conversation import Conversation
from service.usecases import phones
from sms import commands


def not_open(conversation: Conversation, command: Any) -> None:
    """A command the protocol has but this programme does not run yet (or not for this role)."""
    conversation.reply("not_open", command=type(command).__name__.upper())


def help_(conversation: Conversation, _command: commands.Help) -> None:
    conversation.reply(f"help_{conversation.role}")


def language(conversation: Conversation, command: commands.Language) -> None:
    phones.set_language(conversation.uow.session, conversation.sender, command.code, conversation.uow.now)
    conversation.language = command.code
    name = sms.LANGUAGE_NAMES[command.code]
    conversation.reply(
        "language_set" if sms.has_templates(command.code) else "language_pending", language=name
    )


def stop(conversation: Conversation, _command: commands.Stop) -> None:
    # One confirmation, when the number opts out; a STOP from a number already out gets nothing.
    opted_out_now = phones.stop(conversation.uow.session, conversation.sender, conversation.uow.now)
    if opted_out_now and not conversation.provider_confirms_opt_out:
        conversation.reply("stopped")


def start(conversation: Conversation, _command: commands.Start) -> None:
    phones.start(conversation.uow.session, conversation.sender, conversation.uow.now)
    if not conversation.provider_confirms_opt_out:
        conversation.reply("started")
