"""Pickups: a collector logs what a household handed over, the household is credited at the rates
in force and gets its receipt; a LOG undone within its window; a pickup reversed; the collector's
day.

``log_pickup`` is the one way a pickup enters the books, whatever the channel (SMS, the
collector app, the dashboard, the demo): one collection row with its lines, and two linked
ledger transfers (the household's points, the collector's commission) under idempotency keys
derived from the pickup's dedupe key, all in the caller's transaction. A pickup that arrives
again (the phone resent the text, the app synced twice, the same #seq by SMS and by app) is
recognised and answered with the original reference; it credits nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

import ledger
import sms
from ledger import TransferRequest
from service.accounts import HOLDS, ISSUANCE, collector_account, member_account
from service.models import collection_lines_t, collections_t, collectors_t
from service.unit_of_work import Job, UnitOfWork
from service.usecases import Refused
from service.usecases.catalogue import RateInForce, points_for, rates_in_force
from service.usecases.households import Member, get_member, may_collect_from, member_and_language
from service.usecases.repeats import Logged, find_repeat, same_pickup, text_key
from service.usecases.roles import Collector, active_collector
from service.usecases.screening import Screening, close, hold, keep, release_day, screen, screening

# How long a collector may UNDO a pickup they logged.
UNDO_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True)
class Priced:
    material: str
    grams: int
    rate: RateInForce
    points: int
    commission: int


def price(
    session: Session, collector: Collector, lines: Sequence[sms.Line], occurred_at: datetime
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
        raise Refused("zero_points", lines=sms.describe_lines(lines))
    return priced


def lock_collector(session: Session, collector_id: int) -> None:
    """One collector's pickups are recorded one at a time, so a repeat racing its original is
    seen (on SQLite every write transaction is alone anyway)."""
    session.execute(select(collectors_t.c.id).where(collectors_t.c.id == collector_id).with_for_update())


def log_pickup(
    session: Session,
    *,
    collector: Collector,
    household: Member,
    lines: Sequence[sms.Line],
    occurred_at: datetime,
    received_at: datetime,
    channel: str,
    dedupe_key: str,
    repeat_key: str | None = None,
    seq: int | None = None,
    inbound_id: int | None = None,
    any_zone: bool = False,
    locked: bool = False,
    screening: Screening | None = None,
) -> Logged:
    """Record a pickup and credit it, or find it recorded already. Raises ``Refused``: for a
    suspended collector or household, a household of another zone than the collector's (unless
    ``any_zone``), and a repeat's key (its #seq) already on another pickup. ``locked``: the
    caller read the collector with ``lock=True`` (``lock_collector`` is not needed again).

    With a ``screening``, a pickup that raises signals is credited as held: its points and the
    commission go to the holds account until an operator decides (``service.usecases.holds``)."""
    if collector.status != "active":
        raise Refused("collector_suspended")
    if not may_collect_from(collector, household, any_zone=any_zone):
        raise Refused("not_your_household", code=household.member_code)
    if household.status != "active":
        raise Refused("member_suspended", code=household.member_code)
    if not locked:
        lock_collector(session, collector.id)
    repeat = find_repeat(session, collector.id, dedupe_key, repeat_key, received_at, seq)
    if repeat is not None:
        if not same_pickup(session, repeat, household, lines):
            # The same #seq on another pickup: not this one. Never answer it as a repeat.
            raise Refused(
                "seq_taken",
                seq=f"#{seq}" if seq is not None else "",
                ref=repeat.reference,
                member=get_member(session, repeat.household_id).member_code,
                code=household.member_code,
            )
        return repeat
    priced = price(session, collector, lines, occurred_at)
    points = sum(line.points for line in priced)
    commission = sum(line.commission for line in priced)
    grams = sum(line.grams for line in priced)
    found = (
        []
        if screening is None
        else screen(
            session,
            collector_id=collector.id,
            household_id=household.id,
            phone=household.phone,
            address=household.address,
            grams=grams,
            occurred_at=occurred_at,
            local=screening.local,
        )
    )
    held = any(f.holds for f in found)
    collection_id = session.execute(
        collections_t.insert().returning(collections_t.c.id),
        {
            "collector_id": collector.id,
            "household_id": household.id,
            "channel": channel,
            "status": "held" if held else "credited",
            "occurred_at": occurred_at,
            "received_at": received_at,
            "dedupe_key": dedupe_key,
            "text_key": repeat_key,
            "seq": seq,
            "grams": grams,
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
    memo = sms.describe_lines([sms.Line(line.material, line.grams) for line in priced])
    reference, actor = f"pickup:{collection_id}", collector_account(collector.id)
    transfers = [
        TransferRequest(
            ISSUANCE,
            HOLDS if held else member_account(household.member_code),
            points,
            "pickup_held" if held else "pickup_credit",
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
                HOLDS if held else collector_account(collector.id),
                commission,
                "commission_held" if held else "commission",
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
    keep(session, collection_id, collector.id, occurred_at, found)
    if held:
        assert screening is not None
        hold(session, collection_id, received_at, screening)
    return Logged(
        collection_id, reference, points, commission, occurred_at, False, household.id, channel, grams, held
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
    household has spent them: then nothing is written (a savepoint). ``Refused("pickup_reversed")``
    when the pickup changed meanwhile (its row is locked first: a hold being decided, another
    reversal)."""
    current = session.execute(
        select(collections_t.c.status).where(collections_t.c.id == pickup.id).with_for_update()
    ).scalar_one()
    if current != pickup.status:
        raise Refused("pickup_reversed", ref=pickup.reference)
    # Newest first: an approved hold's credit comes back to the holds account before the held
    # credit leaves it.
    originals = sorted(
        (t for t in ledger.transfers_for(session, f"pickup:{pickup.id}") if t.reverses is None),
        key=lambda t: t.id,
        reverse=True,
    )
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
    if pickup.status == "held":
        close(session, pickup.id, status, actor, now)
    return pickup.points


def balance_of(session: Session, member: Member) -> int:
    return ledger.balance(session, member_account(member.member_code)).credit_balance


def send_receipt(
    uow: UnitOfWork,
    collector: Collector,
    member: Member,
    lines: Sequence[sms.Line],
    logged: Logged,
    language: str | None = None,
) -> None:
    """The household's receipt for a new pickup: points, collector, weights, balance, how to
    dispute; in ``language`` (its phone's, read when not given). Once committed, its milestones
    are checked (``usecases.milestones``). A held pickup's receipt says it is being checked and
    by when it will be decided; its milestones wait for its approval."""
    said = {
        "points": logged.points,
        "collector": sms.first_name(collector.name),
        "lines": sms.describe_lines(lines),
        "ref": logged.reference,
    }
    if logged.held:
        decided = release_day(uow.now, uow.settings.zone, uow.settings.hold_days)
        uow.outbox.text(member.phone, "pickup_held", language, date=f"{decided:%d/%m}", **said)
        return
    uow.outbox.text(member.phone, "receipt", language, balance=balance_of(uow.session, member), **said)
    uow.after_commit(Job.CHECK_MILESTONES, member.id)


def named_member(session: Session, named: sms.Member) -> tuple[Member, str]:
    """The household a LOG names, by member code or phone, and the language it is texted in;
    ``Refused`` when there is none."""
    if named.code is not None:
        found = member_and_language(session, code=named.code)
        if found is None:
            raise Refused("bad_member_code", code=named.code)
        return found
    assert named.phone is not None
    found = member_and_language(session, phone=named.phone)
    if found is None:
        raise Refused("unknown_member_phone", phone=named.phone)
    return found


def log_by_text(
    uow: UnitOfWork,
    collector_id: int,
    named: sms.Member,
    lines: Sequence[sms.Line],
    *,
    seq: int | None,
    inbound_id: int,
    channel: str = "sms",
) -> tuple[Member, Logged]:
    """LOG: the pickup a collector texted, credited and receipted, or found already (the same
    #seq, or the same text resent within ``repeats.REPEAT_WINDOW``: nothing is credited again).
    ``Refused`` for a suspended collector, an unknown household or material, a weight out of range."""
    collector = active_collector(uow.session, collector_id, lock=True)
    member, language = named_member(uow.session, named)
    logged = log_pickup(
        uow.session,
        collector=collector,
        household=member,
        lines=lines,
        occurred_at=uow.now,
        received_at=uow.now,
        channel=channel,
        dedupe_key=f"sms:{collector.id}:#{seq}" if seq is not None else f"sms:in:{inbound_id}",
        repeat_key=None if seq is not None else text_key(member, lines),
        seq=seq,
        inbound_id=inbound_id,
        any_zone=uow.settings.collectors_any_zone,
        locked=True,
        screening=screening(uow.settings),
    )
    if not logged.duplicate:
        send_receipt(uow, collector, member, lines, logged, language)
    return member, logged


class Undone(NamedTuple):
    member: Member
    points: int


def undo(uow: UnitOfWork, collector_id: int, reference: str) -> Undone:
    """UNDO: within ``UNDO_WINDOW`` of its LOG, the collector's own pickup is reversed (reversing
    transfers: nothing is deleted) and the household told. ``Refused`` otherwise, and when the
    household has spent the points."""
    session = uow.session
    collector = active_collector(session, collector_id)
    pickup = pickup_by_reference(session, reference)
    if pickup is None or pickup.collector_id != collector.id:
        raise Refused("unknown_pickup", ref=reference)
    if pickup.status not in ("credited", "held"):
        raise Refused("pickup_reversed", ref=reference)
    if uow.now - pickup.received_at > UNDO_WINDOW:
        raise Refused("undo_too_late", ref=reference)
    try:
        points = reverse_pickup(
            session, pickup, status="undone", actor=collector_account(collector.id), now=uow.now
        )
    except ledger.InsufficientFunds:
        raise Refused("undo_spent", ref=reference) from None
    member = get_member(session, pickup.household_id)
    uow.outbox.text(
        member.phone,
        "undone",
        ref=reference,
        collector=sms.first_name(collector.name),
        points=points,
        balance=balance_of(session, member),
    )
    return Undone(member, points)


class DayTotals(NamedTuple):
    pickups: int
    grams: int
    points: int
    commission: int


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


def day_totals(session: Session, collector_id: int, now: datetime, local: tzinfo) -> DayTotals:
    """TODAY: pickups, grams, points and commission a collector logged today (local day), undone
    ones left out. ``Refused`` for a suspended collector."""
    active_collector(session, collector_id)
    midnight = now.astimezone(local).replace(hour=0, minute=0, second=0, microsecond=0)
    count, grams, points, commission = session.execute(
        _DAY_TOTALS, {"collector_id": collector_id, "since": midnight}
    ).one()
    return DayTotals(int(count), int(grams), int(points), int(commission))
