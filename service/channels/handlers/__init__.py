"""The command handlers, one per command of the SMS protocol (``docs/sms-protocol.md``), by role.

``HANDLERS`` is the whole table: a command with no handler here is answered "not open yet". A
handler calls one use case and says what came of it; when the use case refuses (``Refused``,
having written nothing), the inbox sends the reply that says why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from service.channels.conversation import Conversation
from service.channels.handlers import collectors, general, households, partners
from sms import commands

Handler = Callable[[Conversation, Any], None]

HANDLERS: Mapping[type, Handler] = {
    # anyone
    commands.Help: general.help_,
    commands.Language: general.language,
    commands.Terms: general.terms,
    commands.Stop: general.stop,
    commands.Start: general.start,
    # households (BAL answers a collector too, with their commission)
    commands.Join: households.join,
    commands.TopUp: households.top_up,
    commands.Balance: households.balance,
    commands.History: households.history,
    commands.Impact: households.impact_of,
    commands.Zone: households.zone,
    commands.Statement: households.statement,
    commands.Suggest: households.suggest,
    commands.Vote: households.vote,
    commands.Pickup: households.pickup,
    commands.Skip: households.skip,
    commands.Rewards: households.rewards,
    commands.Redeem: households.redeem,
    commands.Bank: households.bank,
    commands.Confirm: households.confirm,
    commands.Dispute: households.dispute,
    commands.Rate: households.rate,
    commands.Check: households.check,
    # collectors
    commands.Log: collectors.log,
    commands.Undo: collectors.undo,
    commands.Register: collectors.register,
    commands.Route: collectors.route,
    commands.Today: collectors.today,
    commands.Pin: collectors.pin,
    # partner shops
    commands.Verify: partners.verify,
}

not_open = general.not_open
unreadable = general.unreadable
