"""What anyone may text, whatever their role: HELP, LANG, TERMS, STOP and START; and the answer to
a text that could not be read."""

from __future__ import annotations

from typing import Any

import sms
from service.channels.conversation import Conversation
from service.usecases import payout_accounts, phones
from service.usecases.terms import terms as programme_terms
from sms import commands


def not_open(conversation: Conversation, command: Any) -> None:
    """A command the protocol has but this programme does not run yet (or not for this role)."""
    conversation.reply("not_open", command=type(command).__name__.upper())


def _stranger(conversation: Conversation) -> bool:
    """A number that is nobody's in the programme yet: what it needs to hear is how to join."""
    return conversation.role == "household" and conversation.household is None


def help_(conversation: Conversation, _command: commands.Help) -> None:
    conversation.reply("help_stranger" if _stranger(conversation) else f"help_{conversation.role}")


def unreadable(conversation: Conversation, error: commands.ParseError) -> None:
    """The one reply to a text that could not be read; a stranger's says how to join."""
    if _stranger(conversation) and error.reason == "empty":
        conversation.reply("help_stranger")
    elif _stranger(conversation) and error.reason == "unknown_command":
        conversation.reply("stranger_unknown", **error.details)
    else:
        conversation.reply(error.reason, **error.details)


def terms(conversation: Conversation, _command: commands.Terms) -> None:
    found = programme_terms(conversation.uow.settings)
    if found.own:
        conversation.reply("terms", terms=found.own)
    else:
        conversation.reply(
            "terms_default", rate=found.naira_per_point, hours=found.dispute_hours, url=found.url
        )


def language(conversation: Conversation, command: commands.Language) -> None:
    phones.set_language(conversation.uow.session, conversation.sender, command.code, conversation.uow.now)
    conversation.language = command.code
    conversation.reply("language_set", language=sms.LANGUAGE_NAMES[command.code])


def stop(conversation: Conversation, _command: commands.Stop) -> None:
    # One confirmation, when the number opts out; a STOP from a number already out gets nothing.
    opted_out_now = phones.stop(conversation.uow.session, conversation.sender, conversation.uow.now)
    if opted_out_now and not conversation.provider_confirms_opt_out:
        conversation.reply("stopped")


def start(conversation: Conversation, command: commands.Start) -> None:
    household, uow = conversation.household, conversation.uow
    if command.word == "YES" and household is not None:
        # YES alone saves a bank account whose name was texted to this phone a moment ago.
        waiting = payout_accounts.awaiting_yes(uow.session, household.id, uow.now)
        if waiting is not None:
            payout_accounts.confirm(uow, household, waiting)
            return
    phones.start(conversation.uow.session, conversation.sender, conversation.uow.now)
    if not conversation.provider_confirms_opt_out:
        conversation.reply("started")
