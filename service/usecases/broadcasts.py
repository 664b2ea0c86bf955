"""Broadcasts: an operator texts a zone, a list of households or everyone ("collection moved to
Saturday"), as RapidPro's operators do.

``compose`` checks what the operator wrote: who gets it, and the text in English (required) and
in the other languages (optional; a household of a language without its own text gets the
English one). Every text stays in GSM-7: a character outside it (a smart quote, a Yoruba ọ) would
send every text of it as UCS-2, 70 characters a part instead of 160, so it is refused with its
position and a suggested text without it. ``preview`` says who would get what: households per
language, those left out (their number sent STOP, the household is suspended), segments and cost.

``submit`` makes the broadcast. Up to ``BROADCAST_APPROVAL_ABOVE`` households it is sent at
once; above, it waits for a different operator to ``approve`` it, which sends it (approving
*is* sending, in one transaction), or to ``reject`` it; its proposer may ``cancel`` it.

Sent exactly once: the broadcast row is locked and must still be "proposed" for its texts to be
written, in the transaction that marks it sent; each household's text is keyed (broadcast,
household); the compose form's ``request_key`` makes the same form sent twice (a double click, a
retried request) find the broadcast it made the first time. The texts are outbox rows of kind
"broadcast", sent in bulk after the commit, paced by the shared send limit, and held to the end
of quiet hours; opt-outs are checked again when each is sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert, or_, select, update
from sqlalchemy.orm import Session

import sms
from service.db import insert_ignoring_conflict
from service.models import (
    broadcast_messages_t,
    broadcasts_t,
    households_t,
    phones_t,
)
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases.zones import get_zone

AUDIENCES = {"zone": "a zone", "list": "a list of households", "everyone": "every household"}
LANGUAGES = sms.LANGUAGES  # EN first: the one every broadcast has
COLUMNS = {language: f"text_{language.lower()}" for language in LANGUAGES}
TEMPLATE = "broadcast"
MAX_SEGMENTS = 3
MAX_LIST = 2000
KEY = re.compile(r"[0-9a-f]{32}")


class BroadcastError(ValueError):
    """A step that cannot be taken; nothing was written. ``fixed``: when characters outside GSM-7
    are what is wrong, the texts with each replaced (``sms.to_gsm7``), for the operator to check."""

    def __init__(self, message: str, fixed: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fixed = dict(fixed) if fixed else None


@dataclass(frozen=True)
class Audience:
    kind: str  # zone | list | everyone
    zone_id: int | None = None
    members: tuple[str, ...] = ()  # a list: the member codes of the households it names, each once


@dataclass(frozen=True)
class Draft:
    audience: Audience
    texts: dict[str, str]  # language -> text; "EN" always

    @property
    def digest(self) -> str:
        """What the operator saw in a preview, in 16 characters: a send of anything else is not sent."""
        canonical = [
            self.audience.kind,
            self.audience.zone_id,
            self.audience.members,
            sorted(self.texts.items()),
        ]
        return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()[:16]

    def text_for(self, language: str) -> tuple[str, str]:
        """The text a household of ``language`` gets, and its language."""
        return (language, self.texts[language]) if language in self.texts else ("EN", self.texts["EN"])


# --- what the operator wrote ------------------------------------------------------------------------


def compose(
    session: Session,
    settings: Settings,
    *,
    audience: str,
    texts: Mapping[str, str],
    zone: str = "",
    members: str = "",
) -> Draft:
    """The broadcast the form describes, checked; ``BroadcastError`` says what to fix."""
    return Draft(_audience(session, settings, audience, zone, members), _texts(texts))


def _audience(session: Session, settings: Settings, kind: str, zone: str, members: str) -> Audience:
    if kind not in AUDIENCES:
        raise BroadcastError("choose who gets it: a zone, a list of households, or everyone")
    if kind == "everyone":
        return Audience("everyone")
    if kind == "zone":
        zone = zone.strip()
        found = get_zone(session, int(zone)) if zone.isdigit() and len(zone) < 10 else None
        if found is None:
            raise BroadcastError(
                "choose the zone that gets it" if not zone else f"there is no zone {zone[:20]!r}"
            )
        return Audience("zone", zone_id=found.id)
    return Audience("list", members=_members(session, settings, members))


def _members(session: Session, settings: Settings, text: str) -> tuple[str, ...]:
    """The member codes of the households a typed list names (by member code or phone number, one a
    line or separated by commas), each once; every entry must name a household."""
    entries = [entry.strip() for entry in re.split(r"[,;\n]+", text) if entry.strip()]
    if not entries:
        raise BroadcastError("list the households that get it: member codes or phone numbers, one a line")
    if len(entries) > MAX_LIST:
        raise BroadcastError(
            f"a list has at most {MAX_LIST:,} households; send to a zone or everyone instead"
        )
    found: dict[str, None] = {}
    unreadable = []
    for entry in entries:
        code = sms.parse_member_code(entry) if sms.looks_like_member_code(entry) else None
        named = code or sms.normalise_phone(entry, settings.phone_region)
        if named is None:
            unreadable.append(entry[:20])
        else:
            found[named] = None
    if unreadable:
        raise BroadcastError(f"not a member code or phone number: {', '.join(unreadable[:5])}")
    codes = [named for named in found if not named.startswith("+")]
    phones = [named for named in found if named.startswith("+")]
    known: dict[str, str] = {}
    for row in session.execute(
        select(households_t.c.member_code, households_t.c.phone).where(
            households_t.c.member_code.is_not(None),
            or_(households_t.c.member_code.in_(codes), households_t.c.phone.in_(phones)),
        )
    ):
        known[row.member_code] = known[row.phone] = row.member_code
    unknown = [named for named in found if named not in known]
    if unknown:
        more = " ..." if len(unknown) > 5 else ""
        raise BroadcastError(f"no household has {', '.join(unknown[:5])}{more}")
    return tuple(dict.fromkeys(known[named] for named in found))


def _texts(texts: Mapping[str, str]) -> dict[str, str]:
    cleaned = {
        language: text
        for language in LANGUAGES
        if (text := texts.get(language, "").replace("\r\n", "\n").replace("\r", "\n").strip())
    }
    if "EN" not in cleaned:
        raise BroadcastError("write the English text: every household without a text in its language gets it")
    wrong = {language: found for language, text in cleaned.items() if (found := unsendable(text))}
    if wrong:
        language, found = next(iter(wrong.items()))
        where = ", ".join(f"{_character(ch)} at character {position}" for position, ch in found[:3])
        more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        others = [sms.LANGUAGE_NAMES[other] for other in wrong if other != language]
        also = f" (the {' and '.join(others)} text{'s' if len(others) > 1 else ''} too)" if others else ""
        raise BroadcastError(
            f"the {sms.LANGUAGE_NAMES[language]} text has {where}{more}: outside the GSM-7 alphabet, "
            f"it would send every text of it as UCS-2 (70 characters a part, not 160){also}; "
            "use the suggested text, which replaces them",
            fixed={language: sms.to_gsm7(text) for language, text in cleaned.items()},
        )
    for language, text in cleaned.items():
        counted = sms.segments(text)
        if counted.count > MAX_SEGMENTS:
            raise BroadcastError(
                f"the {sms.LANGUAGE_NAMES[language]} text is {counted.units} characters, "
                f"{counted.count} texts; a broadcast is at most {MAX_SEGMENTS} (about {153 * MAX_SEGMENTS})"
            )
    return cleaned


def unsendable(text: str) -> list[tuple[int, str]]:
    """The characters of ``text`` outside GSM-7, with their positions (from 1)."""
    return [(position, ch) for position, ch in enumerate(text, start=1) if not sms.is_gsm7(ch)]


def _character(ch: str) -> str:
    return f"“{ch}” ({unicodedata.name(ch, f'U+{ord(ch):04X}').lower()})"


# --- who would get what ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """The households of one language that get it, and which text they get."""

    language: str
    households: int
    text_language: str
    segments: int  # each


@dataclass(frozen=True)
class Preview:
    groups: list[Group]
    opted_out: int
    suspended: int
    texts: dict[str, sms.Segments]  # language -> its text's count
    segment_cost_kobo: int
    approval_above: int
    quiet_until: datetime | None
    recipients: int = field(init=False)
    segments: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipients", sum(group.households for group in self.groups))
        object.__setattr__(self, "segments", sum(g.households * g.segments for g in self.groups))

    @property
    def cost_kobo(self) -> int:
        return self.segments * self.segment_cost_kobo

    @property
    def cost(self) -> str:
        return naira(self.cost_kobo)

    @property
    def needs_approval(self) -> bool:
        return self.recipients > self.approval_above


def naira(kobo: int) -> str:
    """An amount in kobo as naira, exactly: 123450 -> "NGN 1,234.50"."""
    return f"NGN {kobo // 100:,}.{kobo % 100:02d}"


def _households(audience: Audience) -> Select[Any]:
    """Every household the audience names: id, phone, language, status, opted out."""
    query = (
        select(
            households_t.c.id,
            households_t.c.phone,
            phones_t.c.language,
            households_t.c.status,
            phones_t.c.opted_out_at.is_not(None).label("opted_out"),
        )
        .join(phones_t, phones_t.c.number == households_t.c.phone)
        .order_by(households_t.c.id)
    )
    if audience.kind == "zone":
        return query.where(households_t.c.zone_id == audience.zone_id)
    if audience.kind == "list":
        return query.where(households_t.c.member_code.in_(audience.members))
    return query


@dataclass(frozen=True)
class _Split:
    recipients: list[Any]
    opted_out: int
    suspended: int


def _split(session: Session, audience: Audience) -> _Split:
    """Who gets it (active, the number not opted out), and how many are left out and why."""
    recipients, opted_out, suspended = [], 0, 0
    for row in session.execute(_households(audience)):
        if row.status != "active":
            suspended += 1
        elif row.opted_out:
            opted_out += 1
        else:
            recipients.append(row)
    return _Split(recipients, opted_out, suspended)


def preview(session: Session, settings: Settings, draft: Draft, now: datetime) -> Preview:
    """Who would get it, per language, after opt-outs; its segments and cost; whether it needs a
    second operator; and when quiet hours end if it is sent in them."""
    return _preview(settings, draft, _split(session, draft.audience), now)


def _preview(settings: Settings, draft: Draft, split: _Split, now: datetime) -> Preview:
    counted = {language: sms.segments(text) for language, text in draft.texts.items()}
    per_language = Counter(row.language for row in split.recipients)
    groups = []
    for language in sorted(per_language, key=_language_order):
        text_language, _ = draft.text_for(language)
        groups.append(Group(language, per_language[language], text_language, counted[text_language].count))
    quiet = settings.quiet
    return Preview(
        groups,
        split.opted_out,
        split.suspended,
        counted,
        settings.sms_segment_cost_kobo,
        settings.broadcast_approval_above,
        quiet.until(now, settings.zone) if quiet else None,
    )


def _language_order(language: str) -> int:
    return LANGUAGES.index(language) if language in LANGUAGES else len(LANGUAGES)


# --- proposing, sending, approving, rejecting, cancelling ----------------------------------------------


@dataclass(frozen=True)
class Submitted:
    broadcast_id: int
    status: str  # sent | proposed (waits for approval) | what the first submit made of it
    recipients: int
    repeated: bool = False  # the same form came again: nothing new was made


def submit(uow: UnitOfWork, draft: Draft, proposer_id: int, request_key: str) -> Submitted:
    """Make the broadcast the operator previewed: sent now if it is for at most
    ``BROADCAST_APPROVAL_ABOVE`` households, else proposed for a second operator. The same
    ``request_key`` again returns the broadcast it made the first time."""
    session, now = uow.session, uow.now
    if not KEY.fullmatch(request_key):
        raise BroadcastError("this form is out of date: open Broadcasts again")
    seen = preview(session, uow.settings, draft, now)
    if seen.recipients == 0:
        raise BroadcastError("nobody would get it: every household it names opted out or is suspended")
    values = {
        "request_key": request_key,
        "audience": draft.audience.kind,
        "zone_id": draft.audience.zone_id,
        "members": "\n".join(draft.audience.members) or None,
        **{COLUMNS[language]: draft.texts.get(language) for language in LANGUAGES},
        "status": "proposed",
        "proposed_by": proposer_id,
        "proposed_at": now,
        **_counts(seen),
    }
    made = insert_ignoring_conflict(
        session, broadcasts_t, values, conflict=("request_key",), returning=broadcasts_t.c.id
    )
    if made is None:  # this form made one already (the same request again, or a double click)
        first = session.execute(
            select(broadcasts_t.c.id, broadcasts_t.c.status, broadcasts_t.c.recipients).where(
                broadcasts_t.c.request_key == request_key
            )
        ).one()
        return Submitted(int(first.id), first.status, int(first.recipients), repeated=True)
    broadcast_id = int(made)
    if seen.needs_approval:
        return Submitted(broadcast_id, "proposed", seen.recipients)
    sent = _send(uow, broadcast_id, approver_id=None)
    return Submitted(broadcast_id, "sent", sent.recipients)


def _counts(seen: Preview) -> dict[str, int]:
    return {
        "recipients": seen.recipients,
        "opted_out": seen.opted_out,
        "suspended": seen.suspended,
        "segments": seen.segments,
        "cost_kobo": seen.cost_kobo,
    }


def approve(uow: UnitOfWork, broadcast_id: int, approver_id: int) -> Preview:
    """A second operator approves a proposed broadcast, which sends it now; what was sent."""
    return _send(uow, broadcast_id, approver_id=approver_id)


def _proposed(session: Session, broadcast_id: int) -> Any:
    """The broadcast, locked until the transaction ends, if it still waits; else why not."""
    row = session.execute(
        select(broadcasts_t).where(broadcasts_t.c.id == broadcast_id).with_for_update()
    ).first()
    if row is None:
        raise BroadcastError(f"there is no broadcast {broadcast_id}")
    if row.status != "proposed":
        raise BroadcastError(f"broadcast {broadcast_id} was {row.status} already")
    return row


def draft_of(row: Any) -> Draft:
    """A stored broadcast as the draft it was made from."""
    members = tuple(row.members.split("\n")) if row.members else ()
    texts = {language: text for language in LANGUAGES if (text := getattr(row, COLUMNS[language]))}
    return Draft(Audience(row.audience, row.zone_id, members), texts)


def _send(uow: UnitOfWork, broadcast_id: int, *, approver_id: int | None) -> Preview:
    """Write each household's text and mark the broadcast sent, in the caller's transaction: the
    lock on its row, its status and the (broadcast, household) key let this happen once."""
    session, settings, now = uow.session, uow.settings, uow.now
    row = _proposed(session, broadcast_id)
    if approver_id is not None and row.proposed_by == approver_id:
        raise BroadcastError("a different operator must approve it: you proposed it")
    draft = draft_of(row)
    split = _split(session, draft.audience)
    seen, recipients = _preview(settings, draft, split, now), split.recipients
    if not recipients:
        raise BroadcastError("nobody would get it now: every household it names opted out or is suspended")
    marked = session.execute(
        update(broadcasts_t)
        .where(broadcasts_t.c.id == broadcast_id, broadcasts_t.c.status == "proposed")
        .values(
            status="sent",
            sent_at=now,
            decided_by=approver_id,
            decided_at=now if approver_id is not None else None,
            **_counts(seen),
        )
        .returning(broadcasts_t.c.id)
    ).first()
    if marked is None:  # another transaction sent it between the lock and here (a store without locks)
        raise BroadcastError(f"broadcast {broadcast_id} was sent already")
    texts = [draft.text_for(household.language) for household in recipients]
    outbox_ids = uow.outbox.write_bulk(
        [
            (household.phone, text, language)
            for household, (language, text) in zip(recipients, texts, strict=True)
        ],
        template=TEMPLATE,
        kind="broadcast",
        due=seen.quiet_until or now,
    )
    session.execute(
        insert(broadcast_messages_t),
        [
            {"broadcast_id": broadcast_id, "household_id": household.id, "outbox_id": outbox_id}
            for household, outbox_id in zip(recipients, outbox_ids, strict=True)
        ],
    )
    return seen


def reject(session: Session, broadcast_id: int, user_id: int, note: str, now: datetime) -> None:
    """A second operator refuses someone else's proposal, saying why (nothing is sent)."""
    row = _proposed(session, broadcast_id)
    if row.proposed_by == user_id:
        raise BroadcastError("cancel your own proposal instead of rejecting it")
    note = " ".join(note.split())
    if not note:
        raise BroadcastError("say why it is rejected")
    _close(session, broadcast_id, "rejected", now, decided_by=user_id, decision_note=note[:160])


def cancel(session: Session, broadcast_id: int, user_id: int, now: datetime) -> None:
    """The proposer takes back a broadcast not yet approved."""
    row = _proposed(session, broadcast_id)
    if row.proposed_by != user_id:
        raise BroadcastError("only who proposed it can cancel it; reject it instead")
    _close(session, broadcast_id, "cancelled", now)


def _close(session: Session, broadcast_id: int, status: str, now: datetime, **values: object) -> None:
    session.execute(
        update(broadcasts_t)
        .where(broadcasts_t.c.id == broadcast_id)
        .values(status=status, decided_at=now, **values)
    )
