"""What a household texts: JOIN, BAL, HIST, PICKUP, SKIP, REWARDS, REDEEM, and of a receipt YES,
NO (a dispute), RATE and CHECK (anyone may check a receipt against the ledger).

Each handler reads the command, calls one use case and says what came of it; the rules are the
use cases'.
"""

from __future__ import annotations

import sms
from service.channels.conversation import Conversation
from service.timetable import day_label
from service.usecases import (
    Refused,
    collection_days,
    disputes,
    households,
    impact,
    payout_accounts,
    payouts,
    points,
    receipts,
    redemptions,
    roles,
    statements,
    suggestions,
    votes,
)
from service.usecases.rewards import catalogue, describe_catalogue
from sms import commands


def join(conversation: Conversation, command: commands.Join) -> None:
    if command.language is not None:  # joined in Yoruba, Hausa or Igbo words: answered in them
        conversation.language = command.language
    conversation.household = households.join(
        conversation.uow, conversation.sender, command.name, command.address, language=command.language
    )


def top_up(conversation: Conversation, _command: commands.TopUp) -> None:
    """TOP UP, AIRTIME: how to turn points into airtime (nothing is spent unasked); a stranger is
    told to join (``statement`` refuses)."""
    found = points.statement(conversation.uow.session, conversation.household, latest=0)
    conversation.reply("topup_how", points=found.points)


def impact_of(conversation: Conversation, _command: commands.Impact) -> None:
    """IMPACT: what the household recycled since it joined, and what that saved."""
    found = impact.household_impact(conversation.uow.session, conversation.household)
    if not found.recycled:
        conversation.reply("impact_none")
        return
    conversation.reply(
        "impact",
        recycled=sms.RecycledList(found.recycled),
        co2=sms.about_kg(found.co2e_grams),
        points=f"{found.points:,}",
    )


def statement(conversation: Conversation, command: commands.Statement) -> None:
    """STATEMENT ON / OFF: the monthly statement by SMS, or no more; STATEMENT alone: how."""
    if command.on is None:
        if conversation.household is None:
            raise Refused("not_member")
        conversation.reply("statement_how")
        return
    statements.subscribe(conversation.uow, conversation.household, command.on)
    conversation.reply("statement_on" if command.on else "statement_off")


def suggest(conversation: Conversation, command: commands.Suggest) -> None:
    """SUGGEST idea: kept for the hub, and thanked for."""
    suggestions.suggest(conversation.uow, conversation.household, command.text)
    assert conversation.household is not None  # a stranger was refused
    conversation.reply("suggest_ok", name=sms.first_name(conversation.household.name))


def vote(conversation: Conversation, command: commands.Vote) -> None:
    """VOTE: the vote open now; VOTE and a number: the household's vote (the last one counts)."""
    uow = conversation.uow
    if not command.said:
        found = votes.open_now(uow, conversation.household)
        day = found.last_day(uow.settings.zone)
        conversation.reply("vote_open", question=found.question, vote_options=found.listing(), date=day)
        return
    found, choice = votes.cast(uow, conversation.household, command.said)
    day = found.last_day(uow.settings.zone)
    conversation.reply("vote_cast", choice=f"{choice} {found.options[choice - 1]}", date=day)


def zone(conversation: Conversation, _command: commands.Zone) -> None:
    """ZONE: the sender's zone this month (a collector's also says their own month)."""
    uow = conversation.uow
    session, local = uow.session, uow.settings.zone
    if conversation.role == "collector":
        collector = roles.get_collector(session, conversation.collector_id())
        zone_id = collector.zone_id if collector is not None else None
    elif conversation.household is None:
        raise Refused("not_member")
    else:
        zone_id = conversation.household.zone_id
    if zone_id is None:
        conversation.reply("zone_none")
        return
    month = impact.zone_month(session, zone_id, uow.now, local)
    said = {"zone": month.name, "kg": sms.about_kg(month.grams), "rank": month.rank, "zones": month.zones}
    if conversation.role == "collector":
        mine = impact.collector_month(session, conversation.collector_id(), uow.now, local)
        conversation.reply("zone_collector", **said, mine=sms.about_kg(mine.grams), count=mine.pickups)
        return
    change = impact.change_on(month.grams, month.last_month)
    if change is None:
        conversation.reply("zone_month_first", **said)
    else:
        conversation.reply("zone_month", **said, change=change)


def _movement(conversation: Conversation, move: points.Movement) -> str:
    return f"{'+' if move.points > 0 else '-'}{abs(move.points)} {conversation.date(move.occurred_at)}"


def _held_or_new(conversation: Conversation, found: points.Statement) -> None:
    """What waits for the hub's check, when a pickup is held; else that there is no pickup yet."""
    if found.held:
        conversation.reply(
            "balance_held",
            points=found.points,
            naira=found.points * conversation.uow.settings.kobo_per_point // 100,
            held=found.held,
        )
    else:
        conversation.reply("balance_new", points=found.points)


def balance(conversation: Conversation, _command: commands.Balance) -> None:
    session = conversation.uow.session
    if conversation.role == "collector":
        conversation.reply(
            "collector_balance", points=points.collector_points(session, conversation.collector_id())
        )
        return
    found = points.statement(session, conversation.household, latest=1)
    if found.held or not found.latest:
        _held_or_new(conversation, found)
        return
    conversation.reply(
        "balance",
        points=found.points,
        naira=found.points * conversation.uow.settings.kobo_per_point // 100,
        last=_movement(conversation, found.latest[0]).replace(" ", ", ", 1),
    )


def history(conversation: Conversation, _command: commands.History) -> None:
    found = points.statement(conversation.uow.session, conversation.household, latest=3)
    if not found.latest:
        _held_or_new(conversation, found)
        return
    moves = ", ".join(f"{_movement(conversation, move)} {move.ref}" for move in found.latest)
    conversation.reply("history", moves=moves, balance=found.points)


def confirm(conversation: Conversation, command: commands.Confirm) -> None:
    receipts.confirm(conversation.uow, conversation.household, command.ref)
    conversation.reply("confirmed", ref=command.ref)


def rate(conversation: Conversation, command: commands.Rate) -> None:
    collector = receipts.rate(conversation.uow, conversation.household, command.ref, command.stars)
    conversation.reply(
        "rated", collector=sms.first_name(collector.name), stars=command.stars, ref=command.ref
    )


def dispute(conversation: Conversation, command: commands.Dispute) -> None:
    disputes.dispute(
        conversation.uow,
        conversation.household,
        command.ref,
        command.reason,
        inbound_id=conversation.inbound_id,
    )
    conversation.reply("dispute_opened", ref=command.ref)


def check(conversation: Conversation, command: commands.Check) -> None:
    found = points.check(conversation.uow.session, command.ref)
    conversation.reply(
        "check_ok",
        ref=found.ref,
        what=sms.Word.or_text(f"kind_{found.what}", found.what),
        points=found.points,
        member=sms.Word.or_text(f"kind_{found.party}", found.party),
        date=conversation.date(found.occurred_at),
    )


def _ask(conversation: Conversation, kind: str, note: str | None) -> None:
    asked = collection_days.ask(conversation.uow, conversation.household, kind, note)
    when = day_label(asked.day)
    if kind == "pickup":
        conversation.reply("pickup_ok", date=when, window=asked.zone.window)
    else:
        conversation.reply("skip_ok", date=when)


def pickup(conversation: Conversation, command: commands.Pickup) -> None:
    _ask(conversation, "pickup", command.note)


def skip(conversation: Conversation, _command: commands.Skip) -> None:
    _ask(conversation, "skip", None)


def rewards(conversation: Conversation, _command: commands.Rewards) -> None:
    settings = conversation.uow.settings
    cash = (
        f"CASH NGN {settings.payout_min_naira:,}-{settings.payout_max_naira:,}" if settings.cash_out else None
    )
    listed = describe_catalogue(catalogue(conversation.uow.session), cash=cash)
    if not listed:
        conversation.reply("rewards_empty")
        return
    conversation.reply("rewards_list", list=listed)


def bank(conversation: Conversation, command: commands.Bank) -> None:
    """BANK <bank> <account number>: checked with Paystack by a job, which texts the name back."""
    account = payout_accounts.register(
        conversation.uow, conversation.household, command.bank, command.account
    )
    conversation.reply("bank_checking", bank=account.bank, masked=account.masked)


def cash_out(conversation: Conversation, amount: int | None) -> None:
    """REDEEM CASH <naira>: the points held at once; the money's outcome is texted when it is known."""
    requested = payouts.cash_out(
        conversation.uow, conversation.household, amount, inbound_id=conversation.inbound_id
    )
    values = {
        "naira": payouts.naira(requested.amount_kobo),
        "bank": requested.account.bank,
        "masked": requested.account.masked,
        "points": requested.points,
        "ref": requested.human_ref,
    }
    if requested.not_before > conversation.uow.now:
        conversation.reply(
            "cash_waits", when=payout_accounts.when(conversation.uow, requested.not_before), **values
        )
    else:
        conversation.reply("cash_held", **values)


def redeem(conversation: Conversation, command: commands.Redeem) -> None:
    if command.item == "CASH":
        cash_out(conversation, command.amount)
        return
    redemptions.redeem(
        conversation.uow,
        conversation.household,
        command.item,
        command.amount,
        inbound_id=conversation.inbound_id,
    )
    # The reply (the voucher, the top-up) comes from the fulfilment job, once the reward is delivered.
