"""What a collector texts: LOG a pickup, UNDO one, register a household at its door (NEW), see
the ROUTE of requests and TODAY's totals, and set the app's PIN."""

from __future__ import annotations

import sms
from service.channels.conversation import Conversation
from service.timetable import day_label
from service.usecases import collection_days, households, pickups, tokens
from sms import commands


def log(conversation: Conversation, command: commands.Log) -> None:
    member, logged = pickups.log_by_text(
        conversation.uow,
        conversation.collector_id(),
        command.member,
        command.lines,
        seq=command.seq,
        inbound_id=conversation.inbound_id,
        channel=conversation.channel,
    )
    if logged.duplicate:
        conversation.reply(
            "log_duplicate",
            ref=logged.reference,
            date=conversation.date(logged.occurred_at),
            member=member.member_code,
            points=logged.points,
        )
        return
    conversation.reply(
        "log_held" if logged.held else "log_ok",
        ref=logged.reference,
        member=member.member_code,
        lines=sms.describe_lines(command.lines, " "),
        points=logged.points,
    )


def undo(conversation: Conversation, command: commands.Undo) -> None:
    undone = pickups.undo(conversation.uow, conversation.collector_id(), command.ref)
    conversation.reply("undo_ok", ref=command.ref, member=undone.member.member_code, points=undone.points)


def register(conversation: Conversation, command: commands.Register) -> None:
    member = households.register_at_door(
        conversation.uow,
        conversation.collector_id(),
        command.phone,
        command.name,
        command.address,
        language=command.language,
    )
    conversation.reply("registered", name=sms.first_name(member.name), code=member.member_code)


def today(conversation: Conversation, _command: commands.Today) -> None:
    uow = conversation.uow
    found = pickups.day_totals(uow.session, conversation.collector_id(), uow.now, uow.settings.zone)
    conversation.reply(
        "today", count=found.pickups, kg=sms.kg(found.grams), points=found.points, commission=found.commission
    )


def route(conversation: Conversation, command: commands.Route) -> None:
    """ROUTE, ROUTE 2, ROUTE MORE: one page of the route, saying which of how many and what to text
    for the next; a route of one page reads as it always did ("Route Tue 24 Nov: ...")."""
    found = collection_days.route_page(
        conversation.uow, conversation.collector_id(), command.page, more=command.more
    )
    when = day_label(found.day)
    if not found.total:
        conversation.reply("route_empty", date=when, zone=found.zone.name)
    elif not found.text and command.more:
        conversation.reply("route_end", date=when, count=found.total)
    elif not found.text:
        conversation.reply("route_no_page", date=when, page=found.page, pages=found.pages)
    elif found.pages == 1:
        conversation.reply("route", date=when, list=found.text)
    elif found.page < found.pages:
        conversation.reply(
            "route_page", date=when, page=found.page, pages=found.pages, list=found.text, next=found.page + 1
        )
    else:
        conversation.reply("route_last", date=when, page=found.page, pages=found.pages, list=found.text)


def pin(conversation: Conversation, command: commands.Pin) -> None:
    ended = tokens.pin_by_sms(conversation.uow, conversation.collector_id(), command.digits)
    conversation.reply("pin_set_signed_out" if ended else "pin_set")
