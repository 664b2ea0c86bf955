"""The programme's reference data: zones and their collection days, materials and the words for
them, rates (versioned, never edited), and collectors.

Plain functions on the caller's session; each refuses bad values with ``CatalogueError`` (its
message is what a CLI or a form shows) and writes nothing then.
"""

from __future__ import annotations

import re
import threading
import time as clock
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, time, tzinfo
from typing import NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import collector_account
from service.models import collectors_t, day_changes_t, material_words_t, materials_t, rates_t, zones_t
from service.timetable import local_day, next_collection_day, parse_time


class CatalogueError(ValueError):
    """A value the programme's reference data cannot take; nothing was written."""


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)$")


# --- zones ---------------------------------------------------------------------------------------


class Zone(NamedTuple):
    id: int
    name: str
    days: tuple[int, ...]  # weekday numbers, Monday 0
    window_start: time
    window_end: time
    remind_at: time  # the evening before a collection day
    morning_at: time | None  # on the morning of it, if at all

    @property
    def window(self) -> str:
        return f"{self.window_start:%H:%M}-{self.window_end:%H:%M}"

    def describe(self) -> str:
        """The days and hours as a welcome says them: "Tue, Fri 8-12"."""
        days = ", ".join(WEEKDAYS[day].title() for day in self.days)
        return f"{days} {_hour(self.window_start)}-{_hour(self.window_end)}"


def _hour(moment: time) -> str:
    return str(moment.hour) if moment.minute == 0 else f"{moment.hour}:{moment.minute:02d}"


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekday(word: str) -> str | None:
    """``"tue"``, ``"tues"``, ``"Tuesday"`` -> ``"tue"``; None for anything else. A whole word must
    name the day: cutting every word to three letters read "mon-fri" as Monday alone."""
    word = word.lower()
    for short, full in zip(WEEKDAYS, _DAY_NAMES, strict=True):
        if len(word) >= 3 and full.startswith(word):
            return short
    return None


def parse_days(text: str) -> str:
    """``"Tue,fri"`` -> ``"tue,fri"`` (week order, no repeats); CatalogueError if a day is unknown."""
    days = [_weekday(word) for word in re.split(r"[,\s]+", text.strip()) if word]
    if not days or None in days:
        raise CatalogueError(f"days must be weekdays like tue,fri (not {text!r})")
    return ",".join(day for day in WEEKDAYS if day in days)


def parse_window(text: str) -> tuple[str, str]:
    """``"8:00-12:00"`` -> ``("08:00", "12:00")``; the window must end after it starts."""
    found = _WINDOW.match(text.strip().replace(" ", ""))
    if found is None:
        raise CatalogueError(f"the window must look like 08:00-12:00 (not {text!r})")
    start = f"{int(found.group(1)):02d}:{found.group(2)}"
    end = f"{int(found.group(3)):02d}:{found.group(4)}"
    if end <= start:
        raise CatalogueError(f"the window must end after it starts (not {text!r})")
    return start, end


def _zone(row: object) -> Zone:
    days = tuple(WEEKDAYS.index(day) for day in row.days.split(","))  # type: ignore[attr-defined]
    return Zone(
        row.id,  # type: ignore[attr-defined]
        row.name,  # type: ignore[attr-defined]
        days,
        time.fromisoformat(row.window_start),  # type: ignore[attr-defined]
        time.fromisoformat(row.window_end),  # type: ignore[attr-defined]
        time.fromisoformat(row.remind_at),  # type: ignore[attr-defined]
        time.fromisoformat(row.morning_at) if row.morning_at else None,  # type: ignore[attr-defined]
    )


def add_zone(session: Session, name: str, days: str, window: str, now: datetime) -> Zone:
    name = " ".join(name.split())
    if not name or len(name) > 40:
        raise CatalogueError("a zone needs a name of 1 to 40 characters")
    start, end = parse_window(window)
    if zone_by_name(session, name) is not None:
        raise CatalogueError(f"there is already a zone called {name}")
    zone_id = session.execute(
        zones_t.insert().returning(zones_t.c.id),
        {"name": name, "days": parse_days(days), "window_start": start, "window_end": end, "created_at": now},
    ).scalar_one()
    found = get_zone(session, zone_id)
    assert found is not None
    return found


def get_zone(session: Session, zone_id: int) -> Zone | None:
    row = session.execute(select(zones_t).where(zones_t.c.id == zone_id)).first()
    return None if row is None else _zone(row)


def zone_by_name(session: Session, name: str) -> Zone | None:
    wanted = " ".join(name.split()).lower()
    row = session.execute(select(zones_t).where(func.lower(zones_t.c.name) == wanted)).first()
    return None if row is None else _zone(row)


def zones(session: Session) -> list[Zone]:
    return [_zone(row) for row in session.execute(select(zones_t).order_by(zones_t.c.name))]


def set_reminder_times(
    session: Session,
    zone: Zone,
    *,
    evening: str | None = None,
    morning: str | None = None,
    no_morning: bool = False,
) -> Zone:
    """The evening reminder's time ("18:00", the day before) and the morning one's (on the day,
    before the window ends), or no morning reminder; what is not given stays as it is."""
    values: dict[str, str | None] = {}
    try:
        if evening is not None:
            values["remind_at"] = f"{parse_time(evening):%H:%M}"
        if no_morning:
            values["morning_at"] = None
        elif morning is not None:
            values["morning_at"] = f"{parse_time(morning):%H:%M}"
    except ValueError as error:
        raise CatalogueError(str(error)) from error
    morning_at = values.get("morning_at")
    if morning_at is not None and morning_at >= f"{zone.window_end:%H:%M}":
        raise CatalogueError(f"the morning reminder must come before the window ends ({zone.window})")
    if values:
        session.execute(zones_t.update().where(zones_t.c.id == zone.id).values(**values))
    found = get_zone(session, zone.id)
    assert found is not None
    return found


def zone_changes(session: Session, zone_id: int, since: date) -> dict[date, date | None]:
    """The zone's one-off changes from ``since`` on: day -> the day it moved to, or None (cancelled)."""
    rows = session.execute(
        select(day_changes_t.c.day, day_changes_t.c.moved_to).where(
            day_changes_t.c.zone_id == zone_id,
            (day_changes_t.c.day >= since) | (day_changes_t.c.moved_to >= since),
        )
    )
    return {row.day: row.moved_to for row in rows}


def next_day_of(session: Session, zone: Zone, now: datetime, local: tzinfo) -> date:
    """The zone's next collection day, its one-off changes taken into account."""
    return next_collection_day(zone, now, local, zone_changes(session, zone.id, local_day(now, local)))


# --- materials and the words for them ---------------------------------------------------------------


def _word(text: str) -> str:
    return " ".join(text.upper().split())


def add_material(session: Session, code: str, name: str, synonyms: Iterable[str], now: datetime) -> None:
    """A new material with its code and synonyms as words people may type for it."""
    code = code.strip().upper()
    if not re.fullmatch(r"[A-Z]{2,12}", code):
        raise CatalogueError("a material code is 2 to 12 letters, e.g. PET")
    if session.execute(select(materials_t.c.code).where(materials_t.c.code == code)).first():
        raise CatalogueError(f"material {code} exists already; add words to it with --word")
    words = _new_words(session, code, [code, *synonyms])  # every word checked before any write
    session.execute(
        materials_t.insert(), {"code": code, "name": name.strip()[:40] or code, "created_at": now}
    )
    _insert_words(session, code, words)


def add_words(session: Session, code: str, words: Iterable[str]) -> list[str]:
    """More words for a material; a word already meaning another material is refused (and then
    none of them is added). Returns the words that were new."""
    code = code.strip().upper()
    if not session.execute(select(materials_t.c.code).where(materials_t.c.code == code)).first():
        raise CatalogueError(f"no material {code}")
    added = _new_words(session, code, words)
    _insert_words(session, code, added)
    return added


def _new_words(session: Session, code: str, words: Iterable[str]) -> list[str]:
    """The words, as stored, that do not mean ``code`` yet; CatalogueError if one is not a word
    or already means another material."""
    new: list[str] = []
    for typed in words:
        word = _word(typed)
        if not re.fullmatch(r"[A-Z]+( [A-Z]+)?", word) or len(word) > 30:
            raise CatalogueError(f"{typed!r}: a word is letters only, one or two words")
        taken = session.execute(
            select(material_words_t.c.material_code).where(material_words_t.c.word == word)
        ).scalar()
        if taken is not None and taken != code:
            raise CatalogueError(f"{word} already means {taken}")
        if taken is None and word not in new:
            new.append(word)
    return new


def _insert_words(session: Session, code: str, words: list[str]) -> None:
    if words:
        session.execute(material_words_t.insert(), [{"word": word, "material_code": code} for word in words])
    forget_vocabulary()


def materials(session: Session) -> dict[str, str]:
    """Every material's code and name, by code."""
    return {
        code: name
        for code, name in session.execute(
            select(materials_t.c.code, materials_t.c.name).order_by(materials_t.c.code)
        )
    }


def material_words(session: Session) -> dict[str, str]:
    return {
        word: code
        for word, code in session.execute(select(material_words_t.c.word, material_words_t.c.material_code))
    }


# The words change rarely (an operator adds one) and are read on every text: each process keeps
# them for a short while. A change made in this process is seen at once; in another, within this.
VOCABULARY_TTL_SECONDS = 30.0
MAX_KG_PER_LINE = 200
_vocabularies: dict[tuple[str, int], tuple[float, sms.Vocabulary]] = {}
_vocabulary_lock = threading.Lock()


def forget_vocabulary() -> None:
    with _vocabulary_lock:
        _vocabularies.clear()


def vocabulary(session: Session, region: str, max_kg_per_line: int = MAX_KG_PER_LINE) -> sms.Vocabulary:
    """What people may type here: the programme's material words, the default command words,
    phone numbers read in ``region``, at most ``max_kg_per_line`` on one line of a LOG."""
    key = (region, max_kg_per_line)
    cached = _vocabularies.get(key)
    if cached is not None and cached[0] > clock.monotonic():
        return cached[1]
    words = material_words(session)
    found = replace(
        sms.DEFAULT_VOCABULARY, materials=words, region=region, max_grams_per_line=max_kg_per_line * 1000
    )
    with _vocabulary_lock:
        _vocabularies[key] = (clock.monotonic() + VOCABULARY_TTL_SECONDS, found)
    return found


# --- rates -----------------------------------------------------------------------------------------


class RateInForce(NamedTuple):
    id: int
    material_code: str
    points_per_kg: int
    commission_per_kg: int
    effective_from: datetime


MAX_RATE_PER_KG = 1_000_000


def set_rate(
    session: Session,
    material: str,
    points_per_kg: int,
    commission_per_kg: int,
    effective_from: datetime,
    created_by: str,
    now: datetime,
) -> RateInForce:
    """A new version of a material's rate from ``effective_from`` on (the old rows stay)."""
    code = material.strip().upper()
    if not session.execute(select(materials_t.c.code).where(materials_t.c.code == code)).first():
        raise CatalogueError(f"no material {code}; add it first")
    for label, value in (("points per kg", points_per_kg), ("commission per kg", commission_per_kg)):
        if type(value) is not int or not 0 <= value <= MAX_RATE_PER_KG:
            raise CatalogueError(f"{label} must be a whole number from 0 to {MAX_RATE_PER_KG}")
    if effective_from.tzinfo is None:
        raise CatalogueError("the effective time needs a time zone")
    values = {
        "material_code": code,
        "points_per_kg": points_per_kg,
        "commission_per_kg": commission_per_kg,
        "effective_from": effective_from,
        "created_at": now,
        "created_by": created_by[:80],
    }
    try:
        with session.begin_nested():
            rate_id = session.execute(rates_t.insert().returning(rates_t.c.id), values).scalar_one()
    except IntegrityError as error:
        raise CatalogueError(f"{code} already has a rate from {effective_from:%Y-%m-%d %H:%M}") from error
    return RateInForce(rate_id, code, points_per_kg, commission_per_kg, effective_from)


_IN_FORCE = (
    select(rates_t)
    .where(rates_t.c.material_code == bindparam("material"), rates_t.c.effective_from <= bindparam("at"))
    .order_by(rates_t.c.effective_from.desc())
    .limit(1)
)


def rates_in_force(session: Session, materials: Iterable[str], at: datetime) -> dict[str, RateInForce]:
    """Each material's rate at the moment ``at``; a material with no rate yet is left out."""
    found = {}
    for material in dict.fromkeys(materials):
        row = session.execute(_IN_FORCE, {"material": material, "at": at}).first()
        if row is not None:
            found[material] = RateInForce(
                row.id, row.material_code, row.points_per_kg, row.commission_per_kg, row.effective_from
            )
    return found


def current_rates(session: Session, now: datetime) -> dict[str, RateInForce]:
    codes = session.execute(select(materials_t.c.code).order_by(materials_t.c.code)).scalars().all()
    return rates_in_force(session, codes, now)


def new_rate_version(
    session: Session,
    material: str,
    points_per_kg: int,
    commission_per_kg: int | None,
    effective_from: datetime | None,
    created_by: str,
    now: datetime,
) -> RateInForce:
    """A new version of a material's rate from now or later, never back-dated (pickups already
    logged keep their price; one logged late must not meet a rate nobody had announced).
    ``effective_from`` None is now; a time within the current minute counts as now.
    ``commission_per_kg`` None keeps the collectors' commission in force at that moment."""
    if effective_from is None:
        effective_from = now
    elif effective_from.tzinfo is None:
        raise CatalogueError("the effective time needs a time zone")
    elif effective_from < now.replace(second=0, microsecond=0):
        raise CatalogueError(
            f"{effective_from:%Y-%m-%d %H:%M} has passed: a new rate applies from now or later"
        )
    effective_from = max(effective_from, now)
    if commission_per_kg is None:
        before = rates_in_force(session, [material.strip().upper()], effective_from).values()
        commission_per_kg = next((rate.commission_per_kg for rate in before), 0)
    return set_rate(session, material, points_per_kg, commission_per_kg, effective_from, created_by, now)


class RateVersion(NamedTuple):
    id: int
    material_code: str
    points_per_kg: int
    commission_per_kg: int
    effective_from: datetime
    created_at: datetime
    created_by: str


def rate_versions(session: Session, limit: int = 200) -> list[RateVersion]:
    """Every material's rate versions, past and planned: by material, the latest first."""
    rows = session.execute(
        select(
            rates_t.c.id,
            rates_t.c.material_code,
            rates_t.c.points_per_kg,
            rates_t.c.commission_per_kg,
            rates_t.c.effective_from,
            rates_t.c.created_at,
            rates_t.c.created_by,
        )
        .order_by(rates_t.c.material_code, rates_t.c.effective_from.desc())
        .limit(limit)
    )
    return [RateVersion(*row) for row in rows]


def points_for(grams: int, per_kg: int) -> int:
    """Points for one line: grams x rate / 1000, rounded half up (integers only, no floats)."""
    return (grams * per_kg + 500) // 1000


# --- collectors ------------------------------------------------------------------------------------


class Collector(NamedTuple):
    id: int
    phone: str
    name: str
    zone_id: int | None
    commission_per_kg: int | None
    status: str


_COLLECTOR_COLUMNS = (
    collectors_t.c.id,
    collectors_t.c.phone,
    collectors_t.c.name,
    collectors_t.c.zone_id,
    collectors_t.c.commission_per_kg,
    collectors_t.c.status,
)
COLLECTOR_STATUSES = ("active", "suspended")


def get_collector(session: Session, collector_id: int) -> Collector | None:
    row = session.execute(select(*_COLLECTOR_COLUMNS).where(collectors_t.c.id == collector_id)).first()
    return None if row is None else Collector(*row)


def collector_by_phone(session: Session, phone: str) -> Collector | None:
    row = session.execute(select(*_COLLECTOR_COLUMNS).where(collectors_t.c.phone == phone)).first()
    return None if row is None else Collector(*row)


def add_collector(
    session: Session,
    phone: str,
    name: str,
    zone_id: int | None,
    now: datetime,
    *,
    commission_per_kg: int | None = None,
) -> Collector:
    """A collector with their ledger account (commission). The phone may not be a household's or
    another collector's: one number, one role."""
    from service.usecases.households import ensure_phone, member_by_phone

    name = " ".join(name.split())
    if not name or len(name) > 80:
        raise CatalogueError("a collector needs a name of 1 to 80 characters")
    if commission_per_kg is not None and not 0 <= commission_per_kg <= MAX_RATE_PER_KG:
        raise CatalogueError(f"commission per kg must be from 0 to {MAX_RATE_PER_KG}")
    if collector_by_phone(session, phone) is not None:
        raise CatalogueError(f"{phone} is already a collector")
    if member_by_phone(session, phone) is not None:
        raise CatalogueError(f"{phone} is a member household's phone; a collector needs their own")
    ensure_phone(session, phone, now)
    collector_id = session.execute(
        collectors_t.insert().returning(collectors_t.c.id),
        {
            "phone": phone,
            "name": name,
            "zone_id": zone_id,
            "commission_per_kg": commission_per_kg,
            "status": "active",
            "created_at": now,
        },
    ).scalar_one()
    ledger.open_accounts(session, [(collector_account(collector_id), "collector", False)], now=now)
    found = get_collector(session, collector_id)
    assert found is not None
    return found


def set_collector_status(session: Session, phone: str, status: str) -> Collector:
    if status not in COLLECTOR_STATUSES:
        raise CatalogueError(f"status must be one of {', '.join(COLLECTOR_STATUSES)}")
    found = collector_by_phone(session, phone)
    if found is None:
        raise CatalogueError(f"no collector with phone {phone}")
    session.execute(collectors_t.update().where(collectors_t.c.id == found.id).values(status=status))
    return found._replace(status=status)


def describe_rates(rates: Mapping[str, RateInForce]) -> str:
    return ", ".join(f"{code} {rate.points_per_kg}" for code, rate in rates.items())
