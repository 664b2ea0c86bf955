"""What a member texts about its membership and its points: JOIN, BAL, HIST, and the receipt
commands YES, NO (a dispute), RATE and CHECK (anyone may check a receipt against the ledger).
"""

from __future__ import annotations

from datetime import timedelta

import ledger
from service.accounts import collector_account, member_account
from service.channels.conversation import Conversation, handles
from service.db import upsert
from service.models import collections_t, ratings_t
from service.usecases.catalogue import get_collector
from service.usecases.disputes import dispute_status, open_dispute
from service.usecases.households import mask_code, register_household
from service.usecases.pickups import (
    Pickup,
    balance_of,
    first_name,
    local_date,
    pickup_by_reference,
    welcome,
    zone_named_in,
)
from sms import commands


@handles(commands.Join)
def join(conversation: Conversation, command: commands.Join) -> None:
    existing = conversation.household
    if existing is not None:
        conversation.reply("already_member", name=first_name(existing.name), code=existing.member_code)
        return
    session = conversation.session
    household = register_household(
        session,
        conversation.sender,
        command.name,
        command.address,
        "sms",
        conversation.now,
        zone_id=zone_named_in(session, command.address),
    )
    conversation.household = household
    welcome(conversation, conversation.session, household)


@handles(commands.Balance)
def balance(conversation: Conversation, _command: commands.Balance) -> None:
    if conversation.role == "collector":
        assert conversation.actor_id is not None
        points = ledger.balance(conversation.session, collector_account(conversation.actor_id)).credit_balance
        conversation.reply("collector_balance", points=points)
        return
    household = conversation.household
    if household is None:
        conversation.reply("not_member")
        return
    account = member_account(household.member_code)
    points = ledger.balance(conversation.session, account).credit_balance
    latest = ledger.latest_transfers(conversation.session, account, limit=1)
    if not latest:
        conversation.reply("balance_new", points=points)
        return
    naira = points * conversation.settings.kobo_per_point // 100
    conversation.reply(
        "balance",
        points=points,
        naira=naira,
        last=_movement(conversation, latest[0], account).replace(" ", " on ", 1),
    )


def _movement(conversation: Conversation, transfer: ledger.PostedTransfer, account: str) -> str:
    sign = "+" if transfer.credit == account else "-"
    return f"{sign}{transfer.amount} {local_date(transfer.occurred_at, conversation)}"


@handles(commands.History)
def history(conversation: Conversation, _command: commands.History) -> None:
    household = conversation.household
    if household is None:
        conversation.reply("not_member")
        return
    account = member_account(household.member_code)
    latest = ledger.latest_transfers(conversation.session, account, limit=3)
    points = balance_of(conversation.session, household)
    if not latest:
        conversation.reply("balance_new", points=points)
        return
    moves = ", ".join(f"{_movement(conversation, t, account)} {t.human_ref}" for t in latest)
    conversation.reply("history", moves=moves, balance=points)


def _own_pickup(conversation: Conversation, ref: str) -> Pickup | None:
    """The household's own pickup with this reference, or None (and the reply said so)."""
    household = conversation.household
    if household is None:
        conversation.reply("not_member")
        return None
    pickup = pickup_by_reference(conversation.session, ref)
    if pickup is None or pickup.household_id != household.id:
        conversation.reply("unknown_pickup", ref=ref)
        return None
    return pickup


@handles(commands.Confirm)
def confirm(conversation: Conversation, command: commands.Confirm) -> None:
    pickup = _own_pickup(conversation, command.ref)
    if pickup is None:
        return
    if pickup.confirmed_at is None:
        conversation.session.execute(
            collections_t.update()
            .where(collections_t.c.id == pickup.id)
            .values(confirmed_at=conversation.now)
        )
    conversation.reply("confirmed", ref=command.ref)


@handles(commands.Rate)
def rate(conversation: Conversation, command: commands.Rate) -> None:
    pickup = _own_pickup(conversation, command.ref)
    if pickup is None:
        return
    upsert(
        conversation.session,
        ratings_t,
        {
            "collection_id": pickup.id,
            "collector_id": pickup.collector_id,
            "stars": command.stars,
            "rated_at": conversation.now,
        },
        conflict=("collection_id",),
        update={"stars": command.stars, "rated_at": conversation.now},
        returning=(ratings_t.c.collection_id,),
    )
    collector = get_collector(conversation.session, pickup.collector_id)
    assert collector is not None
    conversation.reply("rated", collector=first_name(collector.name), stars=command.stars, ref=command.ref)


@handles(commands.Dispute)
def dispute(conversation: Conversation, command: commands.Dispute) -> None:
    pickup = _own_pickup(conversation, command.ref)
    if pickup is None:
        return
    session = conversation.session
    status = dispute_status(session, pickup.id)
    if status is not None:
        conversation.reply("dispute_exists", ref=command.ref, status=status)
        return
    if pickup.status != "credited":
        conversation.reply("pickup_reversed", ref=command.ref)
        return
    window = conversation.settings.dispute_window_hours
    if conversation.now - pickup.received_at > timedelta(hours=window):
        conversation.reply("dispute_too_late", ref=command.ref, hours=window)
        return
    open_dispute(session, pickup, command.reason, conversation.now, conversation.inbound_id)
    conversation.reply("dispute_opened", ref=command.ref)


# What CHECK calls each kind of transfer.
KINDS = {
    "pickup_credit": "pickup",
    "commission": "commission",
    "redemption": "redemption",
    "refund": "refund",
    "reversal": "reversal",
    "adjustment": "adjustment",
}


@handles(commands.Check)
def check(conversation: Conversation, command: commands.Check) -> None:
    transfer = ledger.find_by_ref(conversation.session, command.ref)
    if transfer is None:
        conversation.reply("check_unknown", ref=command.ref)
        return
    party = next(
        (side for side in (transfer.credit, transfer.debit) if side.startswith(("member:", "collector:"))),
        transfer.credit,
    )
    kind, _, code = party.partition(":")
    who = mask_code(code) if kind == "member" else kind
    conversation.reply(
        "check_ok",
        ref=transfer.human_ref,
        what=KINDS.get(transfer.code, transfer.code),
        points=transfer.amount,
        member=who,
        date=transfer.occurred_at.astimezone(conversation.settings.zone).strftime("%d %b %Y").lstrip("0"),
    )
