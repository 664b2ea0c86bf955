"""A household's USSD menu (and a stranger's: join). Each screen shows itself and takes an answer;
what changes the books (redeem, cash-out, PICKUP, SKIP, BANK, RATE, LANG, JOIN) is done by the SMS
handler of the same command, committed once on the session's last screen (``Ctx.commit``), and
its reply is that screen. What only reads (points, a receipt) is the handler's reply too.

The menu tree is docs/ussd.md's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ledger
from service.accounts import member_account
from service.channels.handlers import general
from service.channels.handlers import households as handle
from service.channels.ussd.engine import Ctx, Data, End, Go, Screen, Step, UssdConversation, Wrong
from service.usecases import payout_accounts, receipts, votes, zones
from service.usecases.rewards import Reward, catalogue, price_label
from service.usecases.terms import terms as programme_terms
from sms import LANGUAGES, commands, short_date, ussd

ROOT = "home"


def _points(ctx: Ctx) -> int:
    """The household's points, as BAL reads them (the balance alone: no movements are shown)."""
    assert ctx.household is not None
    return int(ledger.balance(ctx.session, member_account(ctx.household.member_code)).credit_balance)


def _read(ctx: Ctx, act: Callable[[UssdConversation], None], *, command: str, body: str) -> End:
    """A read's answer as the session's last screen (committed as any session's end: once)."""
    return ctx.commit(body, act, command=command)


class Home:
    """A member's menu; a stranger's (join, terms, help) for a number that is nobody's yet."""

    ITEMS = ("points", "pickup", "skip", "rewards", "cash", "receipt", "rate", "bank", "more")

    def show(self, ctx: Ctx, data: Data) -> str | End:
        if ctx.household is None:
            return ctx.say("ussd_stranger")
        if ctx.household.status != "active":
            return End(ctx.say("account_suspended"))
        return ctx.say("ussd_home", points=_points(ctx))

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        if ctx.household is None:
            return _stranger_takes(ctx, answer)
        chosen = ussd.choice(answer, len(self.ITEMS))
        if chosen is None:
            return Wrong(ctx.say("ussd_wrong_choice"))
        item = self.ITEMS[chosen - 1]
        if item == "points":
            return _read(ctx, lambda c: handle.history(c, commands.History()), command="History", body="HIST")
        if item in ("pickup", "skip"):
            if item == "pickup":
                return ctx.commit(
                    "PICKUP", lambda c: handle.pickup(c, commands.Pickup(None)), command="Pickup"
                )
            return ctx.commit("SKIP", lambda c: handle.skip(c, commands.Skip()), command="Skip")
        if item == "cash":
            return _cash_start(ctx)
        if item == "rate":
            return _rate_start(ctx)
        return Go(item)


class More:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_more")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        chosen = ussd.choice(answer, 6)
        if chosen is None:
            return Wrong(ctx.say("ussd_wrong_choice"))
        if chosen == 6:
            return Go("vote")
        if chosen == 4:
            return _read(
                ctx, lambda c: handle.impact_of(c, commands.Impact()), command="Impact", body="IMPACT"
            )
        if chosen == 5:
            return _read(ctx, lambda c: handle.zone(c, commands.Zone()), command="Zone", body="ZONE")
        return (Go("language"), End(_terms(ctx)), End(ctx.say("ussd_help")))[chosen - 1]


class Vote:
    """The open vote's question and options; the choice is VOTE's, done by its SMS handler."""

    def show(self, ctx: Ctx, data: Data) -> str | End:
        vote = votes.current(ctx.session)
        if vote is None or not vote.is_open(ctx.now):
            return End(ctx.say("vote_none"))
        return ctx.say("ussd_vote", question=vote.question, options=ussd.numbered(list(vote.options)))

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        vote = votes.current(ctx.session)
        chosen = ussd.choice(answer, len(vote.options) if vote else 0)
        if chosen is None:
            return Wrong(ctx.say("ussd_wrong_choice"))
        said = str(chosen)
        return ctx.commit(f"VOTE {said}", lambda c: handle.vote(c, commands.Vote(said)), command="Vote")


def _terms(ctx: Ctx) -> str:
    """The terms in one screen: what a point is worth, how to dispute, and where the rest is (a
    programme's own terms, up to two texts long, are on that page)."""
    found = programme_terms(ctx.settings)
    return ctx.say("ussd_terms", rate=found.naira_per_point, hours=found.dispute_hours, url=found.url)


class Language:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_language")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        chosen = ussd.choice(answer, len(LANGUAGES))
        if chosen is None:
            return Wrong(ctx.say("ussd_wrong_choice"))
        code = LANGUAGES[chosen - 1]
        return ctx.commit(
            f"LANG {code}", lambda c: general.language(c, commands.Language(code)), command="Language"
        )


# --- joining ------------------------------------------------------------------------------------


def _stranger_takes(ctx: Ctx, answer: str) -> Step:
    chosen = ussd.choice(answer, 3)
    if chosen is None:
        return Wrong(ctx.say("ussd_wrong_choice"))
    return (Go("join_name"), End(_terms(ctx)), End(ctx.say("ussd_help")))[chosen - 1]


class JoinName:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_join_name")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        name = " ".join(answer.split())
        if len(name) < 2 or not any(ch.isalpha() for ch in name):
            return Wrong(ctx.say("missing_name", command="JOIN"))
        listed = zones.zones(ctx.session)
        if len(listed) > 1:
            return Go("join_zone", {"name": name[:80]})
        zone_id = listed[0].id if listed else None
        return _join(ctx, name[:80], zone_id)


def _join(ctx: Ctx, name: str, zone_id: int | None) -> End:
    from service.usecases import households

    def act(conversation: UssdConversation) -> None:
        conversation.household = households.join(
            conversation.uow, conversation.sender, name, None, zone_id=zone_id, via="ussd"
        )

    # The welcome goes as a text (it holds the member code to keep); the screen says it too.
    return ctx.commit(f"JOIN {name}", act, command="Join")


class JoinZone:
    def show(self, ctx: Ctx, data: Data) -> str:
        names = [zone.name for zone in zones.zones(ctx.session)]
        return ctx.say("ussd_join_zone", options=ussd.numbered(names))

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        listed = zones.zones(ctx.session)
        chosen = ussd.choice(answer, len(listed))
        if chosen is None:
            return Wrong(ctx.say("ussd_wrong_choice"))
        return _join(ctx, data["name"], listed[chosen - 1].id)


# --- rewards --------------------------------------------------------------------------------------


def _offered(ctx: Ctx) -> list[Reward]:
    return [reward for reward in catalogue(ctx.session) if reward.stock != 0]


class Rewards:
    def show(self, ctx: Ctx, data: Data) -> str:
        offered = _offered(ctx)
        if not offered:
            return ctx.say("ussd_rewards_none")
        options = ussd.numbered(f"{reward.name} {price_label(reward)}" for reward in offered)
        return ctx.say("ussd_rewards", points=_points(ctx), options=options)

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        offered = _offered(ctx)
        chosen = ussd.choice(answer, len(offered))
        if chosen is None:
            return Wrong(ctx.say("ussd_wrong_choice"))
        reward = offered[chosen - 1]
        chosen_data = {"item": reward.code}
        if reward.min_units == reward.max_units:
            return Go("redeem_confirm", {**chosen_data, "units": reward.min_units})
        return Go("redeem_units", chosen_data)


def _reward(ctx: Ctx, data: Data) -> Reward | None:
    return next((reward for reward in _offered(ctx) if reward.code == data["item"]), None)


def _most(ctx: Ctx, reward: Reward) -> int:
    """The most the household can take: the reward's limit, or what its points pay for (never
    below the least, which the confirm screen then refuses with the points it lacks)."""
    affordable = _points(ctx) // reward.price if reward.price else reward.max_units
    return min(reward.max_units, max(reward.min_units, affordable))


class RedeemUnits:
    def show(self, ctx: Ctx, data: Data) -> str | End:
        reward = _reward(ctx, data)
        if reward is None:
            return End(ctx.say("unknown_reward", item=data["item"]))
        key = "ussd_airtime_amount" if reward.kind == "airtime" else "ussd_units"
        return ctx.say(key, reward=reward.name, min=reward.min_units, max=_most(ctx, reward))

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        reward = _reward(ctx, data)
        units = ussd.whole(answer)
        if reward is None:
            return End(ctx.say("unknown_reward", item=data["item"]))
        if units is None:
            return Wrong(ctx.say("ussd_wrong_number"))
        if units < reward.min_units:
            return Wrong(ctx.say("below_minimum", reward=reward.name, min=reward.min_units, item=reward.code))
        if units > reward.max_units:
            return Wrong(ctx.say("above_maximum", reward=reward.name, max=reward.max_units))
        if units > _most(ctx, reward):
            need, balance = reward.price * units, _points(ctx)
            return Wrong(ctx.say("not_enough_points", reward=reward.name, need=need, balance=balance))
        return Go("redeem_confirm", {**data, "units": units})


class RedeemConfirm:
    def show(self, ctx: Ctx, data: Data) -> str | End:
        reward = _reward(ctx, data)
        if reward is None:
            return End(ctx.say("unknown_reward", item=data["item"]))
        need = reward.price * data["units"]
        return ctx.say(
            "ussd_redeem_confirm", units=data["units"], reward=reward.name, need=need, balance=_points(ctx)
        )

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        if answer != "1":
            return Wrong(ctx.say("ussd_wrong_choice"))
        item, units = data["item"], data["units"]
        reward = _reward(ctx, data)
        name, need = (reward.name, reward.price * units) if reward else (item, 0)

        def act(conversation: UssdConversation) -> None:
            handle.redeem(conversation, commands.Redeem(item, units))
            # Done: the voucher or the airtime's receipt comes by text once the job has it.
            conversation.reply("ussd_redeem_done", reward=name, need=need)

        return ctx.commit(f"REDEEM {item} {units}", act, command="Redeem")


# --- cash-out and the bank account ----------------------------------------------------------------


def _account(ctx: Ctx) -> payout_accounts.Account | End:
    """The household's cash-out account, or the end of the session saying how to save one."""
    assert ctx.household is not None
    account = payout_accounts.active_account(ctx.session, ctx.household.id)
    return End(ctx.say("bank_none")) if account is None else account


def _cash_start(ctx: Ctx) -> Step:
    if not ctx.settings.cash_out:
        return End(ctx.say("cash_off"))
    account = _account(ctx)
    return account if isinstance(account, End) else Go("cash_amount")


class CashAmount:
    def show(self, ctx: Ctx, data: Data) -> str | End:
        account = _account(ctx)
        if isinstance(account, End):
            return account
        settings = ctx.settings
        return ctx.say(
            "ussd_cash_amount",
            bank=account.bank,
            masked=account.masked,
            min=f"{settings.payout_min_naira:,}",
            max=f"{settings.payout_max_naira:,}",
        )

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        naira = ussd.whole(answer)
        if naira is None:
            return Wrong(ctx.say("ussd_wrong_number"))
        settings = ctx.settings
        if naira < settings.payout_min_naira:
            return Wrong(ctx.say("cash_min", min=f"{settings.payout_min_naira:,}"))
        if naira > settings.payout_max_naira:
            return Wrong(ctx.say("cash_max", max=f"{settings.payout_max_naira:,}"))
        if (naira * 100) % settings.kobo_per_point:
            return Wrong(ctx.say("cash_step", step=settings.kobo_per_point // 100 or settings.kobo_per_point))
        return Go("cash_confirm", {"naira": naira})


class CashConfirm:
    def show(self, ctx: Ctx, data: Data) -> str | End:
        account = _account(ctx)
        if isinstance(account, End):
            return account
        need = data["naira"] * 100 // ctx.settings.kobo_per_point
        return ctx.say(
            "ussd_cash_confirm",
            naira=f"{data['naira']:,}",
            bank=account.bank,
            masked=account.masked,
            need=need,
            balance=_points(ctx),
        )

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        if answer != "1":
            return Wrong(ctx.say("ussd_wrong_choice"))
        naira = data["naira"]
        return ctx.commit(f"REDEEM CASH {naira}", lambda c: handle.cash_out(c, naira), command="Redeem")


class BankName:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_bank_name")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        from service.usecases import Refused

        words = " ".join(answer.split())

        def find(uow: Any) -> Any:
            payout_accounts.ready_banks(uow)
            return payout_accounts.find_bank(uow.session, words)

        try:
            found = ctx.runtime.transact(find)
        except Refused as refusal:
            return Wrong(ctx.say(refusal.template, **refusal.values))
        return Go("bank_number", {"bank": words, "display": found.display})


class BankNumber:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_bank_number", bank=data["display"])

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        from service.usecases import Refused

        try:
            number = payout_accounts.check_number(answer)
        except Refused:
            return Wrong(ctx.say("bank_bad_number"))
        bank = data["bank"]
        return ctx.commit(
            f"BANK {bank} {number}", lambda c: handle.bank(c, commands.Bank(bank, number)), command="Bank"
        )


# --- receipts ---------------------------------------------------------------------------------------


class Receipt:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_receipt")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        ref = answer.strip().upper()
        if not (4 <= len(ref) <= 6 and ref.isalnum()):
            return Wrong(ctx.say("bad_ref", ref=ref))
        return _read(
            ctx, lambda c: handle.check(c, commands.Check(ref)), command="Check", body=f"CHECK {ref}"
        )


def _rate_start(ctx: Ctx) -> Step:
    assert ctx.household is not None
    latest = receipts.latest_pickup(ctx.session, ctx.household)
    if latest is None:
        return End(ctx.say("ussd_rate_none"))
    return Go("rate", {"ref": latest.reference})


class Rate:
    def show(self, ctx: Ctx, data: Data) -> str | End:
        from service.usecases.pickups import pickup_by_reference
        from service.usecases.roles import get_collector

        pickup = pickup_by_reference(ctx.session, data["ref"])
        if pickup is None:
            return End(ctx.say("ussd_rate_none"))
        collector = get_collector(ctx.session, pickup.collector_id)
        return ctx.say(
            "ussd_rate",
            ref=pickup.reference,
            collector=collector.name if collector else "",
            date=short_date(pickup.occurred_at, ctx.settings.zone, ctx.language),
        )

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        stars = ussd.choice(answer, 5)
        if stars is None:
            return Wrong(ctx.say("bad_rating", ref=data["ref"]))
        ref = data["ref"]
        return ctx.commit(
            f"RATE {ref} {stars}", lambda c: handle.rate(c, commands.Rate(ref, stars)), command="Rate"
        )


SCREENS: dict[str, Screen] = {
    ROOT: Home(),
    "more": More(),
    "language": Language(),
    "vote": Vote(),
    "join_name": JoinName(),
    "join_zone": JoinZone(),
    "rewards": Rewards(),
    "redeem_units": RedeemUnits(),
    "redeem_confirm": RedeemConfirm(),
    "cash_amount": CashAmount(),
    "cash_confirm": CashConfirm(),
    "bank": BankName(),
    "bank_number": BankNumber(),
    "receipt": Receipt(),
    "rate": Rate(),
}
