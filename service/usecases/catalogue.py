"""The programme's reference data: materials and the words people type for them, and rates
(versioned, never edited).

Plain functions on the caller's session; each refuses bad values with ``CatalogueError`` (its
message is what a CLI or a form shows) and writes nothing then.
"""

from __future__ import annotations

import re
import threading
import time as clock
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import sms
from service.models import material_words_t, materials_t, rates_t
from service.usecases import CatalogueError

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


# Words people type as commands, opt-outs or units: never a material's too.
RESERVED_WORDS = sms.reserved_words()


def _new_words(session: Session, code: str, words: Iterable[str]) -> list[str]:
    """The words, as stored, that do not mean ``code`` yet; CatalogueError if one is not a word
    or already means another material."""
    new: list[str] = []
    for typed in words:
        word = _word(typed)
        if not re.fullmatch(r"[A-Z]+( [A-Z]+)?", word) or len(word) > 30:
            raise CatalogueError(f"{typed!r}: a word is letters only, one or two words")
        taken_by_command = [part for part in (word, *word.split()) if part in RESERVED_WORDS]
        if taken_by_command:
            raise CatalogueError(
                f"{word}: {taken_by_command[0]} is a command word or a unit people type "
                "(BAL, HELP, STOP, KG, ...); a material word must not be read as one"
            )
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


_later = rates_t.alias("later")
# Each material's rate in force at ``at``, in one query: a rate from before ``at`` with no later
# one from before ``at``.
_IN_FORCE = select(rates_t).where(
    rates_t.c.material_code.in_(bindparam("materials", expanding=True)),
    rates_t.c.effective_from <= bindparam("at"),
    ~exists().where(
        _later.c.material_code == rates_t.c.material_code,
        _later.c.effective_from <= bindparam("at"),
        _later.c.effective_from > rates_t.c.effective_from,
    ),
)


def rates_in_force(session: Session, materials: Iterable[str], at: datetime) -> dict[str, RateInForce]:
    """Each material's rate at the moment ``at``, in one query, in the order asked; a material
    with no rate yet is left out. (A material has one version a moment: ``rates`` is unique on
    both.)"""
    wanted = list(dict.fromkeys(materials))
    if not wanted:
        return {}
    found = {
        row.material_code: RateInForce(
            row.id, row.material_code, row.points_per_kg, row.commission_per_kg, row.effective_from
        )
        for row in session.execute(_IN_FORCE, {"materials": wanted, "at": at})
    }
    return {code: found[code] for code in wanted if code in found}


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


def describe_rates(rates: Mapping[str, RateInForce]) -> str:
    return ", ".join(f"{code} {rate.points_per_kg}" for code, rate in rates.items())
