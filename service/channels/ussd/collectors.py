"""A collector's USSD menu: log a pickup (the household, then each material and its kg, a summary,
confirm), today's totals, the route a page at a time, and register a household at its door.

A pickup is logged by the SMS LOG handler on the confirm screen, once per session: its dedupe key
is the session's inbound row (keyed by the session's id), and the same pickup texted as a LOG
without a #seq within the repeat window is recognised as this one, as between two texts.
"""

from __future__ import annotations

from service.channels.handlers import collectors as handle
from service.channels.ussd.engine import Ctx, Data, End, Go, Screen, Step, Wrong
from service.timetable import day_label
from service.usecases import Refused, collection_days
from service.usecases.catalogue import current_rates, materials, points_for, vocabulary
from service.usecases.households import may_collect_from
from service.usecases.pickups import named_member
from service.usecases.roles import get_collector
from sms import Line, commands, describe_lines, kg, normalise_phone, parse, parse_member_code, ussd
from sms.wording import paginate

ROOT = "collector"
# Stops shown on one screen of the route (a USSD screen holds less than a text).
ROUTE_WIDTH = 100
MAX_MATERIALS = 6


def _lines(data: Data) -> tuple[Line, ...]:
    return tuple(Line(material, grams) for material, grams in data.get("lines", []))


def _estimate(ctx: Ctx, lines: tuple[Line, ...]) -> int:
    rates = current_rates(ctx.session, ctx.now)
    return sum(
        points_for(line.grams, rates[line.material].points_per_kg) for line in lines if line.material in rates
    )


class Home:
    def show(self, ctx: Ctx, data: Data) -> str | End:
        collector = get_collector(ctx.session, ctx.actor_id or 0)
        if collector is None or collector.status != "active":
            return End(ctx.say("collector_suspended"))
        return ctx.say("ussd_collector_home")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        if answer == "1":
            return Go("log_member")
        if answer == "2":
            return ctx.commit("TODAY", lambda c: handle.today(c, commands.Today()), command="Today")
        if answer == "3":
            return Go("route", {"page": 1})
        if answer == "4":
            return Go("register_phone")
        return Wrong(ctx.say("ussd_wrong_choice"))


# --- logging a pickup ---------------------------------------------------------------------------------


class LogMember:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_log_member")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        code = parse_member_code(answer)
        phone = None if code else normalise_phone(answer, ctx.settings.phone_region)
        if code is None and phone is None:
            return Wrong(ctx.say("bad_member_code", code=answer[:10]))
        try:
            member, _ = named_member(ctx.session, commands.Member(code=code, phone=phone))
        except Refused as refusal:
            return Wrong(ctx.say(refusal.template, **refusal.values))
        collector = get_collector(ctx.session, ctx.actor_id or 0)
        if collector is None:
            return End(ctx.say("collector_suspended"))
        if not may_collect_from(collector, member, any_zone=ctx.settings.collectors_any_zone):
            return Wrong(ctx.say("not_your_household", code=member.member_code))
        if member.status != "active":
            return Wrong(ctx.say("member_suspended", code=member.member_code))
        return Go("log_material", {"member": member.member_code, "lines": []})


class LogMaterial:
    """The materials to choose from, with what is logged so far; 9 to the summary."""

    def show(self, ctx: Ctx, data: Data) -> str:
        options = list(ussd.numbered(list(materials(ctx.session))[:MAX_MATERIALS]))
        if data["lines"]:
            options.append(ctx.say("ussd_done_line"))
        return ctx.say(
            "ussd_log_material",
            member=data["member"],
            lines=describe_lines(_lines(data), " "),
            materials=ussd.Lines(options),
        )

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        codes = list(materials(ctx.session))[:MAX_MATERIALS]
        if answer == "9" and data["lines"]:
            return Go("log_confirm", data)
        if answer == "9":
            return Wrong(ctx.say("ussd_no_lines"))
        chosen = ussd.choice(answer, len(codes))
        if chosen is None:
            return Wrong(ctx.say("ussd_wrong_choice"))
        return Go("log_kg", {**data, "material": codes[chosen - 1]})


class LogKg:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_log_kg", material=data["material"], member=data["member"])

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        settings = ctx.settings
        words = vocabulary(ctx.session, settings.phone_region, settings.max_kg_per_line)
        # Read as the LOG text would be: the same rules for a weight as by SMS.
        read = parse(f"LOG {data['member']} {data['material']} {answer}", "collector", words)
        if isinstance(read, commands.ParseError):
            details = {"weight": answer[:12], "limit": settings.max_kg_per_line, **read.details}
            key = (
                read.reason
                if read.reason in {"bad_weight", "too_many_decimals", "weight_too_large"}
                else None
            )
            return Wrong(ctx.say(key, **details) if key else ctx.say("ussd_wrong_weight"))
        assert isinstance(read, commands.Log)
        if [line.material for line in read.lines] != [data["material"]]:
            return Wrong(ctx.say("ussd_wrong_weight"))  # more than a weight: "4.5 ALU 2"
        lines = dict(data["lines"])
        total = lines.get(data["material"], 0) + read.lines[0].grams
        if total > settings.max_kg_per_line * 1000:  # the same material twice: one line's limit
            return Wrong(ctx.say("weight_too_large", weight=kg(total), limit=settings.max_kg_per_line))
        lines[data["material"]] = total
        kept = {key: value for key, value in data.items() if key != "material"}
        return Go("log_confirm", {**kept, "lines": [[code, weight] for code, weight in lines.items()]})


class LogConfirm:
    def show(self, ctx: Ctx, data: Data) -> str:
        lines = _lines(data)
        return ctx.say(
            "ussd_log_confirm",
            member=data["member"],
            lines=describe_lines(lines, " "),
            points=_estimate(ctx, lines),
        )

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        if answer == "2":
            return Go("log_material", data)
        if answer != "1":
            return Wrong(ctx.say("ussd_wrong_choice"))
        command = commands.Log(commands.Member(code=data["member"]), _lines(data))
        body = f"LOG {data['member']} {describe_lines(command.lines, ' ')}"
        return ctx.commit(body, lambda c: handle.log(c, command), command="Log")


# --- the route and registering --------------------------------------------------------------------------


def _route(ctx: Ctx) -> collection_days.Route | End:
    """The collector's next collection day and its stops (ROUTE's), or the end saying why not."""
    collector_id = ctx.actor_id or 0
    try:
        return ctx.runtime.transact(lambda uow: collection_days.route(uow, collector_id))
    except Refused as refusal:
        return End(ctx.say(refusal.template, **refusal.values))


class Route:
    def show(self, ctx: Ctx, data: Data) -> str | End:
        found = _route(ctx)
        if isinstance(found, End):
            return found
        when = day_label(found.day)
        if not found.stops:
            return End(ctx.say("route_empty", date=when, zone=found.zone.name))
        pages = paginate(found.stops, ROUTE_WIDTH)
        page = min(data["page"], len(pages))
        key = "ussd_route" if page < len(pages) else "ussd_route_last"
        return ctx.say(key, date=when, page=page, pages=len(pages), stops="; ".join(pages[page - 1]))

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        found = _route(ctx)
        last = isinstance(found, End) or data["page"] >= len(paginate(found.stops, ROUTE_WIDTH))
        if answer == "9" and not last:
            return Go("route", {"page": data["page"] + 1})
        return Wrong(ctx.say("ussd_wrong_choice"))


class RegisterPhone:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_register_phone")

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        phone = normalise_phone(answer, ctx.settings.phone_region)
        if phone is None:
            return Wrong(ctx.say("bad_phone", phone=answer[:16]))
        return Go("register_name", {"phone": phone})


class RegisterName:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_register_name", phone=data["phone"])

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        name = " ".join(answer.split())
        if len(name) < 2 or not any(ch.isalpha() for ch in name):
            return Wrong(ctx.say("missing_name", command="NEW"))
        return Go("register_confirm", {**data, "name": name[:80]})


class RegisterConfirm:
    def show(self, ctx: Ctx, data: Data) -> str:
        return ctx.say("ussd_register_confirm", name=data["name"], phone=data["phone"])

    def take(self, ctx: Ctx, data: Data, answer: str) -> Step:
        if answer != "1":
            return Wrong(ctx.say("ussd_wrong_choice"))
        command = commands.Register(data["phone"], data["name"])
        body = f"NEW {data['phone']} {data['name']}"
        return ctx.commit(body, lambda c: handle.register(c, command), command="Register")


SCREENS: dict[str, Screen] = {
    ROOT: Home(),
    "log_member": LogMember(),
    "log_material": LogMaterial(),
    "log_kg": LogKg(),
    "log_confirm": LogConfirm(),
    "route": Route(),
    "register_phone": RegisterPhone(),
    "register_name": RegisterName(),
    "register_confirm": RegisterConfirm(),
}
