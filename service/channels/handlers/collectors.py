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
        "log_ok",
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
        conversation.uow, conversation.collector_id(), command.phone, command.name, command.address
    )
    conversation.reply("registered", name=sms.first_name(member.name), code=member.member_code)


def today(conversation: Conversation, _command: commands.Today) -> None:
    uow = conversation.uow
    found = pickups.day_totals(uow.session, conversation.collector_id(), uow.now, uow.settings.zone)
    conversation.reply(
        "today", count=found.pickups, kg=sms.kg(found.grams), points=found.points, commission=found.commission
    )


def route(conversation: Conversation, _command: commands.Route) -> None:
    found = collection_days.route(conversation.uow, conversation.collector_id())
    when = day_label(found.day)
    if not found.stops:
        conversation.reply("route_empty", date=when, zone=found.zone.name)
        return
    conversation.reply("route", date=when, list=collection_days.describe_route(found))


def pin(conversation: Conversation, command: commands.Pin) -> None:
    ended = tokens.pin_by_sms(conversation.uow, conversation.collector_id(), command.digits)
    conversation.reply("pin_set_signed_out" if ended else "pin_set")
