"""The collector app's writes: what a collector did offline, sent as a batch when a connection
returns, each operation accepted once.

An operation carries the id the phone made for it (a UUID). Sending it again, in the same batch,
the next sync or after a crash, finds what the first one did and answers ``duplicate`` with it.
A pickup also carries its ``#seq``: if the app handed it to the phone's SMS app first, the LOG
text made it already, and the sync finds that one (``repeats.find_repeat``).

Each operation runs in a transaction of its own, so one that fails (refused, or the database
hiccuped) never undoes or loses another. The answer for each is one of:

- ``created``: done now;
- ``duplicate``: it was there already; nothing new was credited (``original`` says which);
- ``refused``: it will not be accepted as it is (``reason`` says why, in words for the collector);
- ``retry``: a passing trouble on our side; the phone keeps it and sends it again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import sms
from service.models import households_t
from service.outbox import language_of
from service.runtime import Runtime
from service.settings import Settings
from service.unit_of_work import Gathered, UnitOfWork
from service.usecases import Refused
from service.usecases.catalogue import materials
from service.usecases.households import (
    Member,
    may_collect_from,
    member_by_client_id,
    member_by_code,
    member_by_phone,
    register_household,
    welcome,
)
from service.usecases.phones import ensure_phone, set_language
from service.usecases.pickups import log_pickup, send_receipt
from service.usecases.repeats import Logged
from service.usecases.roles import Collector, get_collector, role_of
from service.usecases.screening import screening
from service.usecases.zones import get_zone

log = logging.getLogger(__name__)

MAX_OPERATIONS = 100
MAX_LINES = 10
# A phone's clock may run a little fast; a pickup "from the future" beyond this is a mistake.
FUTURE_SKEW = timedelta(minutes=5)
# A pickup this old is not credited from the app: the hub looks into it instead.
MAX_AGE = timedelta(days=30)

CREATED, DUPLICATE, REFUSED, RETRY = "created", "duplicate", "refused", "retry"
# A new household whose phone is a member's already (registered by SMS, or by another collector).
EXISTING = "existing"

# Reasons only the app meets (the others are the SMS replies' words, rendered in English).
APP_REASONS = {
    "invalid": "This item could not be read. Delete it and log it again.",
    "in_future": "The time of this pickup is in the future. Check the phone's clock.",
    "too_old": "This pickup is over 30 days old. Nothing was logged. Ask the hub.",
    "unknown_household": "The new household this pickup names was not registered. Register it again.",
    "seq_taken": "Another pickup of yours ({ref}, {member}) already has {seq}. Nothing was logged for "
    "{code}. Give this pickup a new number, or ask the hub.",
    "bad_phone": "{phone} is not a phone number. Check it.",
    "bad_name": "Give the household's name (1 to 80 characters).",
    "try_again": "The server could not take this just now. It will be sent again.",
    "not_your_zone": "A collector registers households in their own zone.",
    "no_zone": "There is no zone {zone_id}.",
}

# The field of a household at fault, for an answer that names it (the API's 422).
REFUSED_FIELDS = {
    "bad_phone": "phone",
    "not_a_member_phone": "phone",
    "bad_name": "name",
    "bad_language": "language",
    "no_zone": "zone_id",
}


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class NewHousehold:
    client_id: str
    phone: str  # as typed: any common form
    name: str
    address: str | None = None
    # The household's language (one of ``sms.LANGUAGES``), when the collector gave one: its phone
    # is texted in it from its welcome on. None: the phone's own (English unless it sent LANG).
    language: str | None = None


@dataclass(frozen=True)
class HouseholdRef:
    """How a pickup names its household: a member code, a phone, or the app's id of a new one."""

    code: str | None = None
    phone: str | None = None
    client_id: str | None = None


@dataclass(frozen=True)
class NewPickup:
    client_id: str
    occurred_at: datetime
    household: HouseholdRef
    lines: tuple[sms.Line, ...]
    seq: int | None = None


@dataclass(frozen=True)
class Unreadable:
    """An operation the API could not read: refused, with what was wrong, and nothing done."""

    client_id: str | None
    kind: str | None
    fields: dict[str, Any]


Operation = NewHousehold | NewPickup | Unreadable


@dataclass(frozen=True)
class Original:
    reference: str
    occurred_at: datetime
    channel: str


@dataclass
class Result:
    index: int
    client_id: str | None
    kind: str | None
    status: str
    reference: str | None = None
    points: int | None = None
    household: Member | None = None
    # The language the household's phone is texted in (with ``household``).
    language: str | None = None
    original: Original | None = None
    reason: Reason | None = None
    fields: dict[str, Any] | None = None
    held: bool = False  # a pickup credited as held for the hub's check (service.usecases.holds)


def reason(code: str, settings: Settings, /, **values: object) -> Reason:
    """A refusal in words for the collector: the app's own, or the SMS reply's (in English)."""
    if code in APP_REASONS:
        return Reason(code, APP_REASONS[code].format(**values))
    return Reason(code, sms.render(code, "EN", programme=settings.programme_name, **values))


def reason_of(refusal: Refused, settings: Settings) -> Reason:
    return reason(refusal.template, settings, **refusal.values)


# --- households -------------------------------------------------------------------------------


def register_from_app(
    uow: UnitOfWork, operation: NewHousehold, zone_id: int | None, collector: Collector | None = None
) -> tuple[str, Member]:
    """A household registered at the door: ``(created, member)``; ``(duplicate, member)`` when
    this id was synced before; ``(existing, member)`` when the phone is a member's already (for a
    ``collector``, one they may read: another zone's member is ``Refused("member_elsewhere")``,
    nothing of it told). Texts the new member its welcome, in the operation's language when it
    gives one (the phone is texted in it from then on; without one, the phone keeps its own).
    A found member's language is left as it is. Raises ``Refused``."""
    session, settings, now = uow.session, uow.settings, uow.now
    seen = member_by_client_id(session, operation.client_id)
    if seen is not None:
        return DUPLICATE, seen
    phone = sms.normalise_phone(operation.phone, settings.phone_region)
    if phone is None:
        raise Refused("bad_phone", phone=operation.phone[:20])
    name = " ".join(operation.name.split())
    if not name or len(name) > 80:
        raise Refused("bad_name")
    if operation.language is not None and operation.language not in sms.LANGUAGES:
        raise Refused("bad_language", language=operation.language[:10])
    if role_of(session, phone)[0] != "household":
        raise Refused("not_a_member_phone", phone=phone)
    existing = member_by_phone(session, phone)
    if existing is not None:
        if collector is not None and not may_collect_from(
            collector, existing, any_zone=settings.collectors_any_zone
        ):
            raise Refused("member_elsewhere", phone=phone)
        return EXISTING, existing
    ensure_phone(session, phone, now)
    if operation.language is not None:
        set_language(session, phone, operation.language, now)
    address = " ".join((operation.address or "").split()) or None
    member = register_household(
        session,
        phone,
        name,
        address,
        "app",
        now,
        zone_id=zone_id,
        registered_by=None if collector is None else collector.id,
    )
    session.execute(
        households_t.update().where(households_t.c.id == member.id).values(client_id=operation.client_id)
    )
    welcome(uow, member)
    return CREATED, member


# --- pickups ------------------------------------------------------------------------------------


def _household_named(session: Session, settings: Settings, named: HouseholdRef) -> Member:
    if named.client_id is not None:
        member = member_by_client_id(session, named.client_id)
        if member is None:
            raise Refused("unknown_household")
        return member
    if named.code is not None:
        code = sms.parse_member_code(named.code)
        member = member_by_code(session, code) if code else None
        if member is None:
            raise Refused("bad_member_code", code=named.code.strip().upper()[:12])
        return member
    phone = sms.normalise_phone(named.phone or "", settings.phone_region)
    member = member_by_phone(session, phone) if phone else None
    if member is None:
        raise Refused("unknown_member_phone", phone=(phone or named.phone or "")[:20])
    return member


def _checked_lines(session: Session, settings: Settings, lines: Sequence[sms.Line]) -> tuple[sms.Line, ...]:
    """One line per material (two lines of PET are added up, as a LOG text's are), each a known
    material within the programme's limit per line."""
    known = materials(session)
    totals: dict[str, int] = {}
    for line in lines:
        code = line.material.strip().upper()
        if code not in known:
            raise Refused("unknown_material", material=line.material[:20])
        totals[code] = totals.get(code, 0) + line.grams
    for code, grams in totals.items():
        if grams > settings.max_kg_per_line * 1000:
            # The material, as a LOG text's refusal names it: "PET 200.001kg" would be clipped
            # to the template's width ("PET 200..") and read as a weight under the limit.
            raise Refused("weight_too_large", weight=code, limit=settings.max_kg_per_line)
    return tuple(sms.Line(code, grams) for code, grams in totals.items())


class Applied(NamedTuple):
    """A pickup from the app: created or duplicate, its household, the pickup, and the language
    the household is texted in."""

    status: str
    member: Member
    logged: Logged
    language: str


def log_from_app(
    uow: UnitOfWork, collector: Collector, operation: NewPickup, *, locked: bool = False
) -> Applied:
    """A pickup made in the app; raises ``Refused``. ``locked``: the caller read the collector
    with ``lock=True``."""
    session, settings, now = uow.session, uow.settings, uow.now
    if operation.occurred_at > now + FUTURE_SKEW:
        raise Refused("in_future")
    if operation.occurred_at < now - MAX_AGE:
        raise Refused("too_old")
    lines = _checked_lines(session, settings, operation.lines)
    member = _household_named(session, settings, operation.household)
    logged = log_pickup(
        session,
        collector=collector,
        household=member,
        lines=lines,
        occurred_at=operation.occurred_at,
        received_at=now,
        channel="app",
        dedupe_key=f"app:{operation.client_id}",
        seq=operation.seq,
        any_zone=settings.collectors_any_zone,
        locked=locked,
        screening=screening(settings),
    )
    language = language_of(session, member.phone)
    if logged.duplicate:
        return Applied(DUPLICATE, member, logged, language)
    send_receipt(uow, collector, member, lines, logged, language)
    return Applied(CREATED, member, logged, language)


# --- the batch -------------------------------------------------------------------------------------


def adopt_client_id(session: Session, household_id: int, client_id: str) -> None:
    """The app's id of a "new" household that turned out to be a member already names that
    member from now on (a pickup naming it in a later batch goes to it), unless the member has
    an app id already (then only the batch that found it knows the second one)."""
    session.execute(
        households_t.update()
        .where(households_t.c.id == household_id, households_t.c.client_id.is_(None))
        .values(client_id=client_id)
    )


def _apply(
    uow: UnitOfWork,
    *,
    collector_id: int,
    index: int,
    operation: NewHousehold | NewPickup,
    known: Mapping[str, str],
) -> Result:
    # One collector's operations are applied one at a time, so the same batch sent twice at once
    # (a retry racing the first send) finds each one done rather than colliding with it.
    collector = get_collector(uow.session, collector_id, lock=True)
    assert collector is not None
    if isinstance(operation, NewHousehold):
        if collector.status != "active":
            raise Refused("collector_suspended")
        status, member = register_from_app(uow, operation, collector.zone_id, collector)
        if status == EXISTING:
            # For the app, a phone already a member's is that household: its pickups go to it.
            adopt_client_id(uow.session, member.id, operation.client_id)
            status = DUPLICATE
        return Result(
            index,
            operation.client_id,
            "household",
            status,
            household=member,
            language=language_of(uow.session, member.phone),
        )
    named = operation.household.client_id
    if named is not None and named in known:
        # A household operation earlier in this batch registered or found it.
        operation = replace(operation, household=HouseholdRef(code=known[named]))
    status, member, logged, language = log_from_app(uow, collector, operation, locked=True)
    original = Original(logged.reference, logged.occurred_at, logged.channel) if status == DUPLICATE else None
    return Result(
        index,
        operation.client_id,
        "pickup",
        status,
        reference=logged.reference,
        points=logged.points,
        household=member,
        language=language,
        original=original,
        held=logged.held,
    )


def sync(runtime: Runtime, collector_id: int, operations: Sequence[Operation], now: datetime) -> list[Result]:
    """Apply a batch in order, each operation in its own unit of work; an answer for every one.
    The texts they wrote are enqueued together once the last has committed."""
    settings = runtime.settings
    # Each operation commits on its own; their texts go to Redis together, after the last commit.
    gathered = Gathered()
    results: list[Result] = []
    # The households this batch's household operations registered or found: app id -> code.
    known: dict[str, str] = {}
    for index, operation in enumerate(operations):
        if isinstance(operation, Unreadable):
            results.append(
                Result(
                    index,
                    operation.client_id,
                    operation.kind,
                    REFUSED,
                    reason=reason("invalid", settings),
                    fields=operation.fields,
                )
            )
            continue
        kind = "household" if isinstance(operation, NewHousehold) else "pickup"
        try:
            result = runtime.transact(
                partial(_apply, collector_id=collector_id, index=index, operation=operation, known=known),
                now=now,
                queue=gathered,
            )
        except Refused as refusal:
            result = Result(index, operation.client_id, kind, REFUSED, reason=reason_of(refusal, settings))
        except Exception:  # rolled back; the others go on, and the phone keeps this one
            log.exception("sync of %s %s failed", kind, operation.client_id)
            result = Result(index, operation.client_id, kind, RETRY, reason=reason("try_again", settings))
        if isinstance(operation, NewHousehold) and result.household is not None:
            known[operation.client_id] = result.household.member_code
        results.append(result)
    gathered.hand_to(runtime.queue)
    return results


class Registered(NamedTuple):
    status: str  # created | duplicate | existing
    member: Member
    language: str  # the language its phone is texted in


def register(
    runtime: Runtime,
    operation: NewHousehold,
    *,
    collector_id: int | None,
    zone_id: int | None,
    now: datetime,
) -> Registered:
    """A household registered through the API: by a collector (in their own zone; asking for
    another is ``Refused("not_your_zone")``) or by an operator (in ``zone_id``, which must exist).
    ``(created | duplicate | existing, member, its language)``; raises ``Refused``. The same id or
    phone sent at the same moment by another request that won is found on a second try."""

    def work(uow: UnitOfWork) -> Registered:
        zone, collector = zone_id, None
        if collector_id is not None:
            if zone_id is not None:
                raise Refused("not_your_zone")
            # One at a time with their sync: the collector's row is locked.
            collector = get_collector(uow.session, collector_id, lock=True)
            assert collector is not None
            zone = collector.zone_id
        elif zone is not None and get_zone(uow.session, zone) is None:
            raise Refused("no_zone", zone_id=zone)
        status, member = register_from_app(uow, operation, zone, collector)
        return Registered(status, member, language_of(uow.session, member.phone))

    return runtime.transact(work, now=now, attempts=2, retry_on=(IntegrityError,))
