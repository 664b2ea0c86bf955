"""Words operators read instead of Kolekt's internal codes: a transfer's kind, an audit entry's
action and its details. The codes stay in filters' values and exports, where they are matched."""

from __future__ import annotations

from typing import Any

TRANSFER_KINDS = {
    "pickup_credit": "Pickup credit",
    "commission": "Collector's commission",
    "redemption": "Redemption",
    "refund": "Refund",
    "reversal": "Reversal",
    "adjustment": "Correction (approved)",
    "pickup_held": "Pickup credit, held for checking",
    "commission_held": "Collector's commission, held for checking",
}

ACTIONS = {
    "user.sign_in": "Signed in",
    "user.sign_in_failed": "Sign-in failed",
    "user.sign_out": "Signed out",
    "user.add": "User added",
    "user.role": "Role changed",
    "user.password": "Password set",
    "user.disable": "User disabled",
    "user.enable": "User enabled",
    "household.add": "Household added",
    "household.edit": "Household changed",
    "household.move": "Household moved to another zone",
    "household.phone": "Household's phone changed",
    "household.suspend": "Household suspended",
    "household.reinstate": "Household reinstated",
    "collector.add": "Collector added",
    "collector.edit": "Collector changed",
    "collector.move": "Collector moved to another zone",
    "collector.suspend": "Collector suspended",
    "collector.reinstate": "Collector reinstated",
    "households.import": "Households imported (CSV)",
    "households.export": "Households exported (CSV)",
    "collectors.export": "Collectors exported (CSV)",
    "pickups.export": "Pickups exported (CSV)",
    "broadcast.propose": "Broadcast proposed",
    "broadcast.send": "Broadcast sent",
    "broadcast.approve": "Broadcast approved and sent",
    "broadcast.reject": "Broadcast rejected",
    "broadcast.cancel": "Broadcast cancelled",
    "payout.retry": "Payout sent again",
    "payouts.export": "Payouts exported (CSV)",
    "payouts.reconcile": "Payouts checked with Paystack",
    "payout_account.add": "Cash-out account saved",
    "collector.home": "Collector's home address set",
    "hold.approve": "Held pickup approved",
    "hold.reject": "Held pickup rejected",
    "hold.release": "Held pickup released (its day came)",
}


def transfer_kind(code: str) -> str:
    return TRANSFER_KINDS.get(code) or code.replace("_", " ").capitalize()


def action(code: str) -> str:
    """ "programme.add_zone" -> "Programme: add zone" (known ones in plainer words)."""
    if code in ACTIONS:
        return ACTIONS[code]
    area, _, verb = code.partition(".")
    words = verb.replace("_", " ") if verb else ""
    return f"{area.replace('_', ' ').capitalize()}: {words}" if words else area.replace("_", " ").capitalize()


def detail(key: str, value: Any) -> tuple[str, str]:
    """One detail of an audit entry as a person reads it: "ok: True" -> "ok: yes"."""
    if isinstance(value, bool):
        shown = "yes" if value else "no"
    elif value is None:
        shown = "-"
    elif isinstance(value, list | tuple):
        shown = ", ".join(str(item) for item in value)
    else:
        shown = str(value)
    return key.replace("_", " "), shown
