"""Pickups: a collector logs what a household handed over, the household is credited at the rates
in force and gets its receipt; UNDO, NEW, ROUTE and TODAY; the household's PICKUP and SKIP.

``log_pickup`` is the one way a pickup enters the books, whatever the channel (SMS, the
collector app, the dashboard, the demo): one collection row with its lines, and two linked
ledger transfers (the household's points, the collector's commission) under idempotency keys
derived from the pickup's dedupe key, all in the caller's transaction. A pickup that arrives
again (the phone resent the text, the app synced twice, the same #seq by SMS and by app) is
recognised and answered with the original reference; it credits nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

import ledger
from ledger import TransferRequest
from service.accounts import ISSUANCE, collector_account, member_account
from service.channels.conversation import Conversation, handles
from service.db import upsert
from service.models import collection_lines_t, collections_t, households_t, phones_t, pickup_requests_t
from service.timetable import day_label
from service.usecases.catalogue import (
    Collector,
    RateInForce,
    get_collector,
    get_zone,
    next_day_of,
    points_for,
    rates_in_force,
    zones,
)
from service.usecases.households import (
    Member,
    ensure_phone,
    get_member,
    member_by_code,
    member_by_phone,
    register_household,
)
from sms import commands

# A LOG text repeated by the same collector within this time is the same pickup resent.
REPEAT_WINDOW = timedelta(hours=6)
UNDO_WINDOW = timedelta(minutes=30)


class Refused(Exception):
    """A pickup (or its undoing) that cannot be done: ``template`` and its values say why."""

    def __init__(self, template: str, **values: object) -> None:
        super().__init__(template)
        self.template = template
        self.values = values


class Logged(NamedTuple):
    """A pickup in the books; ``duplicate`` when it was there already (nothing was credited)."""

    collection_id: int
    reference: str
    points: int
    commission: int
    occurred_at: datetime
    duplicate: bool
    household_id: int
    channel: str
    grams: int


@dataclass(frozen=True)
class Priced:
    material: str
    grams: int
    rate: RateInForce
    points: int
    commission: int


def kg(grams: int) -> str:
    """Grams as a person writes kilograms: 4500 -> "4.5", 250 -> "0.25", 3000 -> "3"."""
    whole, rest = divmod(grams, 1000)
    return f"{whole}.{rest:03d}".rstrip("0").rstrip(".") if rest else str(whole)


def describe_lines(lines: Sequence[commands.Line], separator: str = ", ") -> str:
    return separator.join(f"{line.material} {kg(line.grams)}kg" for line in lines)


def text_key(member: Member, lines: Sequence[commands.Line]) -> str:
    """What makes two LOG texts the same pickup: the member and the weights, however typed."""
    canonical = (
        member.member_code
        + ";"
        + ";".join(f"{line.material}={line.grams}" for line in sorted(lines, key=lambda line: line.material))
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def price(
    session: Session, collector: Collector, lines: Sequence[commands.Line], occurred_at: datetime
) -> list[Priced]:
    """Each line at the rate in force when the pickup happened, rounded half up per line."""
    rates = rates_in_force(session, [line.material for line in lines], occurred_at)
    priced = []
    for line in lines:
        rate = rates.get(line.material)
        if rate is None:
            raise Refused("no_rate", material=line.material)
        per_kg = (
            rate.commission_per_kg if collector.commission_per_kg is None else collector.commission_per_kg
        )
        priced.append(
            Priced(
                line.material,
                line.grams,
                rate,
                points_for(line.grams, rate.points_per_kg),
                points_for(line.grams, per_kg),
            )
        )
    if sum(line.points for line in priced) <= 0:
        raise Refused("zero_points", lines=describe_lines(lines))
    return priced


_EXISTING = select(
    collections_t.c.id,
    collections_t.c.reference,
    collections_t.c.points,
    collections_t.c.commission,
    collections_t.c.occurred_at,
    collections_t.c.household_id,
    collections_t.c.channel,
    collections_t.c.grams,
)
_BY_DEDUPE_KEY = _EXISTING.where(collections_t.c.dedupe_key == bindparam("key"))
_BY_SEQ = (
    _EXISTING.where(
        collections_t.c.collector_id == bindparam("collector_id"), collections_t.c.seq == bindparam("seq")
    )
    .order_by(collections_t.c.id)
    .limit(1)
)
_BY_TEXT = (
    _EXISTING.where(
        collections_t.c.collector_id == bindparam("collector_id"),
        collections_t.c.received_at >= bindparam("since"),
        collections_t.c.text_key == bindparam("text_key"),
    )
    .order_by(collections_t.c.id)
    .limit(1)
)


def lock_collector(session: Session, collector_id: int) -> None:
    """One collector's pickups are recorded one at a time, so a repeat racing its original is
    seen (on SQLite every write transaction is alone anyway)."""
    from service.models import collectors_t

    session.execute(select(collectors_t.c.id).where(collectors_t.c.id == collector_id).with_for_update())


def find_repeat(
    session: Session,
    collector_id: int,
    dedupe_key: str,
    repeat_key: str | None,
    received_at: datetime,
    seq: int | None = None,
) -> Logged | None:
    """The pickup this one repeats: the same dedupe key; the collector's same #seq, whichever
    way it came (a LOG text handed to SMS by the app, then the app's sync); or the same text
    resent within ``REPEAT_WINDOW``."""
    row = session.execute(_BY_DEDUPE_KEY, {"key": dedupe_key}).first()
    if row is None and seq is not None:
        row = session.execute(_BY_SEQ, {"collector_id": collector_id, "seq": seq}).first()
    if row is None and repeat_key is not None:
        since = received_at - REPEAT_WINDOW
        row = session.execute(
            _BY_TEXT, {"collector_id": collector_id, "since": since, "text_key": repeat_key}
        ).first()
    if row is None:
        return None
    return Logged(
        row.id,
        row.reference,
        row.points,
        row.commission,
        row.occurred_at,
        True,
        row.household_id,
        row.channel,
        row.grams,
    )


def log_pickup(
    session: Session,
    *,
    collector: Collector,
    household: Member,
    lines: Sequence[commands.Line],
    occurred_at: datetime,
    received_at: datetime,
    channel: str,
    dedupe_key: str,
    repeat_key: str | None = None,
    seq: int | None = None,
    inbound_id: int | None = None,
) -> Logged:
    """Record a pickup and credit it, or find it recorded already. Raises ``Refused``."""
    if collector.status != "active":
        raise Refused("collector_suspended")
    if household.status != "active":
        raise Refused("member_suspended", code=household.member_code)
    lock_collector(session, collector.id)
    repeat = find_repeat(session, collector.id, dedupe_key, repeat_key, received_at, seq)
    if repeat is not None:
        return repeat
    priced = price(session, collector, lines, occurred_at)
    points = sum(line.points for line in priced)
    commission = sum(line.commission for line in priced)
    collection_id = session.execute(
        collections_t.insert().returning(collections_t.c.id),
        {
            "collector_id": collector.id,
            "household_id": household.id,
            "channel": channel,
            "status": "credited",
            "occurred_at": occurred_at,
            "received_at": received_at,
            "dedupe_key": dedupe_key,
            "text_key": repeat_key,
            "seq": seq,
            "grams": sum(line.grams for line in priced),
            "points": points,
            "commission": commission,
            "inbound_id": inbound_id,
        },
    ).scalar_one()
    session.execute(
        collection_lines_t.insert(),
        [
            {
                "collection_id": collection_id,
                "material_code": line.material,
                "grams": line.grams,
                "rate_id": line.rate.id,
                "points": line.points,
                "commission": line.commission,
            }
            for line in priced
        ],
    )
    memo = describe_lines([commands.Line(line.material, line.grams) for line in priced])
    reference, actor = f"pickup:{collection_id}", collector_account(collector.id)
    transfers = [
        TransferRequest(
            ISSUANCE,
            member_account(household.member_code),
            points,
            "pickup_credit",
            f"pickup:{dedupe_key}:member",
            reference=reference,
            memo=memo,
            actor=actor,
            occurred_at=occurred_at,
        )
    ]
    if commission > 0:
        transfers.append(
            TransferRequest(
                ISSUANCE,
                collector_account(collector.id),
                commission,
                "commission",
                f"pickup:{dedupe_key}:commission",
                reference=reference,
                memo=memo,
                actor=actor,
                occurred_at=occurred_at,
            )
        )
    posted = ledger.post_linked(session, transfers, now=received_at)
    reference = posted[0].human_ref
    session.execute(
        collections_t.update().where(collections_t.c.id == collection_id).values(reference=reference)
    )
    grams = sum(line.grams for line in priced)
    return Logged(
        collection_id, reference, points, commission, occurred_at, False, household.id, channel, grams
    )


class Pickup(NamedTuple):
    """A pickup as the SMS commands about it need it."""

    id: int
    reference: str
    collector_id: int
    household_id: int
    status: str
    points: int
    commission: int
    received_at: datetime
    occurred_at: datetime
    confirmed_at: datetime | None


_PICKUP = select(
    collections_t.c.id,
    collections_t.c.reference,
    collections_t.c.collector_id,
    collections_t.c.household_id,
    collections_t.c.status,
    collections_t.c.points,
    collections_t.c.commission,
    collections_t.c.received_at,
    collections_t.c.occurred_at,
    collections_t.c.confirmed_at,
).where(collections_t.c.reference == bindparam("reference"))


def pickup_by_reference(session: Session, reference: str) -> Pickup | None:
    row = session.execute(_PICKUP, {"reference": reference}).first()
    return None if row is None else Pickup._make(row)


def reverse_pickup(session: Session, pickup: Pickup, *, status: str, actor: str, now: datetime) -> int:
    """Post the reversing transfers of a pickup (nothing is deleted) and mark it ``status``.

    Returns the points taken back from the household. ``ledger.InsufficientFunds`` if the
    household has spent them: then nothing is written (a savepoint)."""
    originals = [t for t in ledger.transfers_for(session, f"pickup:{pickup.id}") if t.reverses is None]
    requests = [
        ledger.reversal_of(
            t, idempotency_key=f"pickup:{pickup.id}:{status}:{t.id}", actor=actor, occurred_at=now
        )
        for t in originals
    ]
    with session.begin_nested():
        ledger.post_linked(session, requests, now=now)
    session.execute(
        collections_t.update()
        .where(collections_t.c.id == pickup.id)
        .values(status=status, reversed_at=now, reversed_by=actor[:80])
    )
    return pickup.points


def language_of(session: Session, phone: str) -> str:
    return session.execute(select(phones_t.c.language).where(phones_t.c.number == phone)).scalar() or "EN"


def balance_of(session: Session, member: Member) -> int:
    return ledger.balance(session, member_account(member.member_code)).credit_balance


def first_name(name: str) -> str:
    return name.split()[0] if name.split() else name


def local_date(moment: datetime, conversation: Conversation) -> str:
    return moment.astimezone(conversation.settings.zone).strftime("%d %b").lstrip("0")


# --- collector commands ------------------------------------------------------------------------


def _active_collector(conversation: Conversation) -> Collector | None:
    """The collector who texted, or None (and the reply said why) when they may not act."""
    assert conversation.actor_id is not None
    collector = get_collector(conversation.session, conversation.actor_id)
    assert collector is not None
    if collector.status != "active":
        conversation.reply("collector_suspended")
        return None
    return collector


def _named_member(conversation: Conversation, named: commands.Member) -> Member | None:
    session = conversation.session
    if named.code is not None:
        member = member_by_code(session, named.code)
        if member is None:
            conversation.reply("bad_member_code", code=named.code)
        return member
    assert named.phone is not None
    member = member_by_phone(session, named.phone)
    if member is None:
        conversation.reply("unknown_member_phone", phone=named.phone)
    return member


@handles(commands.Log)
def log(conversation: Conversation, command: commands.Log) -> None:
    collector = _active_collector(conversation)
    if collector is None:
        return
    member = _named_member(conversation, command.member)
    if member is None:
        return
    dedupe_key = (
        f"sms:{collector.id}:#{command.seq}"
        if command.seq is not None
        else f"sms:in:{conversation.inbound_id}"
    )
    try:
        logged = log_pickup(
            conversation.session,
            collector=collector,
            household=member,
            lines=command.lines,
            occurred_at=conversation.now,
            received_at=conversation.now,
            channel="sms",
            dedupe_key=dedupe_key,
            repeat_key=None if command.seq is not None else text_key(member, command.lines),
            seq=command.seq,
            inbound_id=conversation.inbound_id,
        )
    except Refused as refusal:
        conversation.reply(refusal.template, **refusal.values)
        return
    if logged.duplicate:
        conversation.reply(
            "log_duplicate",
            ref=logged.reference,
            date=local_date(logged.occurred_at, conversation),
            member=member.member_code,
            points=logged.points,
        )
        return
    conversation.reply(
        "log_ok",
        ref=logged.reference,
        member=member.member_code,
        lines=describe_lines(command.lines, " "),
        points=logged.points,
    )
    send_receipt(conversation, conversation.session, collector, member, command.lines, logged)


class Texter(Protocol):
    """Writes a text to the outbox: a conversation (an answer to an SMS) or the app's sync."""

    def text(self, to: str, template: str, language: str, /, **values: object) -> int: ...


def send_receipt(
    texter: Texter,
    session: Session,
    collector: Collector,
    member: Member,
    lines: Sequence[commands.Line],
    logged: Logged,
) -> None:
    """The household's receipt for a new pickup: points, collector, weights, balance, how to dispute."""
    texter.text(
        member.phone,
        "receipt",
        language_of(session, member.phone),
        points=logged.points,
        collector=first_name(collector.name),
        lines=describe_lines(lines),
        balance=balance_of(session, member),
        ref=logged.reference,
    )


@handles(commands.Undo)
def undo(conversation: Conversation, command: commands.Undo) -> None:
    collector = _active_collector(conversation)
    if collector is None:
        return
    session = conversation.session
    pickup = pickup_by_reference(session, command.ref)
    if pickup is None or pickup.collector_id != collector.id:
        conversation.reply("unknown_pickup", ref=command.ref)
        return
    if pickup.status != "credited":
        conversation.reply("pickup_reversed", ref=command.ref)
        return
    if conversation.now - pickup.received_at > UNDO_WINDOW:
        conversation.reply("undo_too_late", ref=command.ref)
        return
    try:
        points = reverse_pickup(
            session, pickup, status="undone", actor=collector_account(collector.id), now=conversation.now
        )
    except ledger.InsufficientFunds:
        conversation.reply("undo_spent", ref=command.ref)
        return
    member = get_member(session, pickup.household_id)
    conversation.reply("undo_ok", ref=command.ref, member=member.member_code, points=points)
    conversation.text(
        member.phone,
        "undone",
        language_of(session, member.phone),
        ref=command.ref,
        collector=first_name(collector.name),
        points=points,
        balance=balance_of(session, member),
    )


def zone_named_in(session: Session, address: str | None) -> int | None:
    """The zone an address names, when it names exactly one ("12 Adeniyi St Yaba" -> Yaba)."""
    if not address:
        return None
    words = " " + " ".join(address.lower().replace(",", " ").split()) + " "
    found = [zone.id for zone in zones(session) if f" {zone.name.lower()} " in words]
    return found[0] if len(found) == 1 else None


def welcome(texter: Texter, session: Session, member: Member) -> None:
    """The welcome text, to the new member's phone: its code and, when it has a zone, its days."""
    zone = get_zone(session, member.zone_id) if member.zone_id is not None else None
    language = language_of(session, member.phone)
    values: dict[str, object] = {"name": first_name(member.name), "code": member.member_code}
    if zone is None:
        texter.text(member.phone, "welcome_no_zone", language, **values)
    else:
        texter.text(member.phone, "welcome", language, zone=zone.name, days=zone.describe(), **values)


@handles(commands.Register)
def register(conversation: Conversation, command: commands.Register) -> None:
    collector = _active_collector(conversation)
    if collector is None:
        return
    session = conversation.session
    from service.channels.conversation import role_of

    if role_of(session, command.phone)[0] != "household":
        conversation.reply("not_a_member_phone", phone=command.phone)
        return
    existing = member_by_phone(session, command.phone)
    if existing is not None:
        conversation.reply(
            "already_registered",
            phone=command.phone,
            code=existing.member_code,
            name=first_name(existing.name),
        )
        return
    ensure_phone(session, command.phone, conversation.now)
    member = register_household(
        session,
        command.phone,
        command.name,
        command.address,
        "collector",
        conversation.now,
        zone_id=collector.zone_id,
    )
    conversation.reply("registered", name=first_name(member.name), code=member.member_code)
    welcome(conversation, conversation.session, member)


_DAY_TOTALS = select(
    func.count(),
    func.coalesce(func.sum(collections_t.c.grams), 0),
    func.coalesce(func.sum(collections_t.c.points), 0),
    func.coalesce(func.sum(collections_t.c.commission), 0),
).where(
    collections_t.c.collector_id == bindparam("collector_id"),
    collections_t.c.received_at >= bindparam("since"),
    collections_t.c.status == "credited",
)


def day_totals(
    session: Session, collector_id: int, now: datetime, local: object
) -> tuple[int, int, int, int]:
    """Pickups, grams, points and commission a collector logged today (local day), undone ones left out."""
    here = now.astimezone(local)  # type: ignore[arg-type]
    midnight = here.replace(hour=0, minute=0, second=0, microsecond=0)
    count, grams, points, commission = session.execute(
        _DAY_TOTALS, {"collector_id": collector_id, "since": midnight}
    ).one()
    return int(count), int(grams), int(points), int(commission)


@handles(commands.Today)
def today(conversation: Conversation, _command: commands.Today) -> None:
    collector = _active_collector(conversation)
    if collector is None:
        return
    count, grams, points, commission = day_totals(
        conversation.session, collector.id, conversation.now, conversation.settings.zone
    )
    conversation.reply("today", count=count, kg=kg(grams), points=points, commission=commission)


_ROUTE = (
    select(households_t.c.member_code, households_t.c.address, pickup_requests_t.c.note)
    .join(households_t, households_t.c.id == pickup_requests_t.c.household_id)
    .where(
        pickup_requests_t.c.zone_id == bindparam("zone_id"),
        pickup_requests_t.c.collection_date == bindparam("day"),
        pickup_requests_t.c.kind == "pickup",
    )
    .order_by(pickup_requests_t.c.created_at)
)
ROUTE_WIDTH = 220


@handles(commands.Route)
def route(conversation: Conversation, _command: commands.Route) -> None:
    collector = _active_collector(conversation)
    if collector is None:
        return
    zone = get_zone(conversation.session, collector.zone_id) if collector.zone_id is not None else None
    if zone is None:
        conversation.reply("collector_no_zone")
        return
    day = next_day_of(conversation.session, zone, conversation.now, conversation.settings.zone)
    stops = [
        " ".join(part for part in (code, (address or "")[:30], f"({note[:20]})" if note else "") if part)
        for code, address, note in conversation.session.execute(_ROUTE, {"zone_id": zone.id, "day": day})
    ]
    when = day_label(day)
    if not stops:
        conversation.reply("route_empty", date=when, zone=zone.name)
        return
    conversation.reply("route", date=when, list=fit_list(stops, ROUTE_WIDTH))


def fit_list(items: Sequence[str], width: int) -> str:
    """Items joined by "; " within ``width`` characters, with "+N more" for those left out."""
    shown: list[str] = []
    for index, item in enumerate(items):
        rest = len(items) - index - 1
        candidate = "; ".join([*shown, item])
        more = f"; +{rest} more" if rest else ""
        if len(candidate) + len(more) > width:
            return "; ".join(shown) + f"; +{len(items) - len(shown)} more" if shown else f"{len(items)} stops"
        shown.append(item)
    return "; ".join(shown)


# --- household commands: PICKUP and SKIP ------------------------------------------------------------


def _ask(conversation: Conversation, kind: str, note: str | None) -> None:
    household = conversation.household
    if household is None:
        conversation.reply("not_member")
        return
    zone = get_zone(conversation.session, household.zone_id) if household.zone_id is not None else None
    if zone is None:
        conversation.reply("household_no_zone")
        return
    day = next_day_of(conversation.session, zone, conversation.now, conversation.settings.zone)
    upsert(
        conversation.session,
        pickup_requests_t,
        {
            "household_id": household.id,
            "collection_date": day,
            "zone_id": zone.id,
            "kind": kind,
            "note": note,
            "created_at": conversation.now,
        },
        conflict=("household_id", "collection_date"),
        update={"kind": kind, "note": note, "zone_id": zone.id},
        returning=(pickup_requests_t.c.household_id,),
    )
    when = day_label(day)
    if kind == "pickup":
        conversation.reply("pickup_ok", date=when, window=zone.window)
    else:
        conversation.reply("skip_ok", date=when)


@handles(commands.Pickup)
def pickup(conversation: Conversation, command: commands.Pickup) -> None:
    _ask(conversation, "pickup", command.note)


@handles(commands.Skip)
def skip(conversation: Conversation, _command: commands.Skip) -> None:
    _ask(conversation, "skip", None)
