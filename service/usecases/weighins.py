"""Hub weigh-ins: what a collector delivered to the hub on a day, per material, as the hub's scale
read it, and how that compares with the kg they logged for their pickups that day.

A pickup counts on the programme's local day it happened (``occurred_at``), and only while it is
credited: an undone or reversed pickup was never delivered as far as the points go. A day and
material with a weigh-in is flagged when the scale differs from the logged kg by more than the
threshold (``settings.weigh_gap_percent``), or when nothing was logged and something was weighed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from service.models import (
    collection_lines_t,
    collections_t,
    collectors_t,
    materials_t,
    scale_calibrations_t,
    scales_t,
    weigh_ins_t,
)
from service.timetable import at, local_day
from service.usecases.roles import get_collector

MAX_GRAMS = 2_000_000  # 2 tonnes: more than a collector's cart carries in a day
MAX_AGE_DAYS = 60
MAX_DAYS = 62  # the longest period one comparison covers
NOTE_LENGTH = 160


class WeighInError(ValueError):
    """A weigh-in that cannot be recorded, or a comparison that cannot be made; nothing written."""


def grams_of(text: str) -> int:
    """Kilograms as typed ("12.5", "12,5", "3") -> whole grams, half a gram rounded up."""
    cleaned = text.strip().lower().removesuffix("kg").strip().replace(",", ".")
    try:
        kilos = Decimal(cleaned)
    except InvalidOperation:
        raise WeighInError(f"kg must be a number like 12.5, not {text.strip()[:20]!r}") from None
    if not kilos.is_finite():
        raise WeighInError(f"kg must be a number like 12.5, not {text.strip()[:20]!r}")
    return int((kilos * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def day_of(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise WeighInError(f"the day must be a date like 2026-11-24, not {text.strip()[:20]!r}") from None


def record_weigh_in(
    session: Session,
    collector_id: int,
    day: date,
    material_code: str,
    grams: int,
    note: str | None,
    user_id: int,
    now: datetime,
    *,
    local_zone: tzinfo,
    scale_code: str | None = None,
) -> int:
    """Record one reading of the hub's scale (``scale_code``: which one); returns its id.
    ``WeighInError`` (nothing written) for an unknown collector, material or scale, a weight out
    of range, or a day in the future or more than ``MAX_AGE_DAYS`` ago in the programme's zone."""
    if get_collector(session, collector_id) is None:
        raise WeighInError(f"there is no collector {collector_id}")
    code = material_code.strip().upper()
    if session.execute(select(materials_t.c.code).where(materials_t.c.code == code)).first() is None:
        raise WeighInError(f"there is no material {material_code.strip()[:12]!r}")
    if grams <= 0:
        raise WeighInError("the weight must be more than 0 kg")
    if grams > MAX_GRAMS:
        raise WeighInError(f"the weight must be at most {MAX_GRAMS // 1000:,} kg")
    today = local_day(now, local_zone)
    if day > today:
        raise WeighInError(f"{day.isoformat()} is in the future (today is {today.isoformat()})")
    if day < today - timedelta(days=MAX_AGE_DAYS):
        raise WeighInError(f"{day.isoformat()} is more than {MAX_AGE_DAYS} days ago")
    cleaned = " ".join((note or "").split())[:NOTE_LENGTH] or None
    scale_id = None
    if scale_code:
        scale_id = session.execute(
            select(scales_t.c.id).where(scales_t.c.code == scale_code.strip().upper())
        ).scalar()
        if scale_id is None:
            raise WeighInError(f"there is no scale {scale_code.strip()[:20]!r}")
    return int(
        session.execute(
            weigh_ins_t.insert().returning(weigh_ins_t.c.id),
            {
                "collector_id": collector_id,
                "day": day,
                "material_code": code,
                "grams": grams,
                "note": cleaned,
                "recorded_by": user_id,
                "recorded_at": now,
                "scale_id": scale_id,
            },
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    """One collector's one material on one day: kg logged for pickups against kg weighed."""

    day: date
    collector_id: int
    collector: str
    material_code: str
    material: str
    logged: int  # grams
    weighed: int | None  # grams; None: no weigh-in that day
    flagged: bool
    uncalibrated: tuple[str, ...] = ()  # scales it was weighed on with no calibration holding that day

    @property
    def gap(self) -> int | None:
        return None if self.weighed is None else self.weighed - self.logged

    @property
    def gap_percent(self) -> float | None:
        if self.gap is None or self.logged == 0:
            return None
        return self.gap * 100 / self.logged


def is_flagged(logged: int, weighed: int | None, gap_percent: int) -> bool:
    """Weighed, and off by more than ``gap_percent`` of what was logged (anything, if nothing was)."""
    if weighed is None:
        return False
    if logged == 0:
        return weighed > 0
    return abs(weighed - logged) * 100 > gap_percent * logged


def _local_day_of(column: Any, first_day: date, last_day: date, local_zone: tzinfo) -> Any:
    """The local day a UTC moment from ``first_day``'s start on falls on, as an SQL expression
    (the day's offset from ``first_day``; the caller bounds the moments): one bound per day,
    portable, and right across a change of clocks."""
    days = (last_day - first_day).days + 1
    return case(
        *((column < at(first_day + timedelta(days=n + 1), time(0), local_zone), n) for n in range(days)),
        else_=None,
    )


class _Key(NamedTuple):
    day: date
    collector_id: int
    material_code: str


def comparison(
    session: Session,
    local_zone: tzinfo,
    *,
    collector_id: int | None = None,
    first_day: date,
    last_day: date,
    gap_percent: int,
) -> list[Comparison]:
    """Logged against weighed, per day, collector and material, from ``first_day`` to ``last_day``
    (local days, both included): newest day first, then by collector and material."""
    if last_day < first_day:
        raise WeighInError("To is before From")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise WeighInError(f"compare at most {MAX_DAYS} days at a time")
    start, end = at(first_day, time(0), local_zone), at(last_day + timedelta(days=1), time(0), local_zone)
    lines = (
        select(
            _local_day_of(collections_t.c.occurred_at, first_day, last_day, local_zone).label("day_n"),
            collections_t.c.collector_id,
            collection_lines_t.c.material_code,
            collection_lines_t.c.grams,
        )
        .select_from(collection_lines_t)
        .join(collections_t, collections_t.c.id == collection_lines_t.c.collection_id)
        .where(
            collections_t.c.status == "credited",
            collections_t.c.occurred_at >= start,
            collections_t.c.occurred_at < end,
        )
    )
    if collector_id is not None:
        lines = lines.where(collections_t.c.collector_id == collector_id)
    each = lines.subquery()
    logged_query = select(
        each.c.day_n, each.c.collector_id, each.c.material_code, func.sum(each.c.grams)
    ).group_by(each.c.day_n, each.c.collector_id, each.c.material_code)
    weighed_query = (
        select(
            weigh_ins_t.c.day,
            weigh_ins_t.c.collector_id,
            weigh_ins_t.c.material_code,
            func.sum(weigh_ins_t.c.grams),
        )
        .where(weigh_ins_t.c.day >= first_day, weigh_ins_t.c.day <= last_day)
        .group_by(weigh_ins_t.c.day, weigh_ins_t.c.collector_id, weigh_ins_t.c.material_code)
    )
    if collector_id is not None:
        weighed_query = weighed_query.where(weigh_ins_t.c.collector_id == collector_id)
    logged = {
        _Key(first_day + timedelta(days=int(n)), int(who), str(code)): int(grams)
        for n, who, code, grams in session.execute(logged_query)
    }
    weighed = {
        _Key(day, int(who), str(code)): int(grams) for day, who, code, grams in session.execute(weighed_query)
    }
    collectors = {
        int(i): str(name) for i, name in session.execute(select(collectors_t.c.id, collectors_t.c.name))
    }
    materials = {
        str(code): str(name) for code, name in session.execute(select(materials_t.c.code, materials_t.c.name))
    }
    uncalibrated = _uncalibrated(session, first_day, last_day, collector_id)
    rows = [
        Comparison(
            day=key.day,
            collector_id=key.collector_id,
            collector=collectors.get(key.collector_id, str(key.collector_id)),
            material_code=key.material_code,
            material=materials.get(key.material_code, key.material_code),
            logged=logged.get(key, 0),
            weighed=weighed.get(key),
            flagged=is_flagged(logged.get(key, 0), weighed.get(key), gap_percent) or key in uncalibrated,
            uncalibrated=tuple(sorted(uncalibrated.get(key, ()))),
        )
        for key in logged.keys() | weighed.keys()
    ]
    rows.sort(key=lambda row: (-row.day.toordinal(), row.collector, row.collector_id, row.material_code))
    return rows


def _uncalibrated(
    session: Session, first_day: date, last_day: date, collector_id: int | None
) -> dict[_Key, set[str]]:
    """The weigh-ins of the period read on a scale with no calibration holding that day."""
    holds = (
        select(scale_calibrations_t.c.id)
        .where(
            scale_calibrations_t.c.scale_id == weigh_ins_t.c.scale_id,
            scale_calibrations_t.c.calibrated_on <= weigh_ins_t.c.day,
            scale_calibrations_t.c.valid_until >= weigh_ins_t.c.day,
        )
        .exists()
    )
    query = (
        select(weigh_ins_t.c.day, weigh_ins_t.c.collector_id, weigh_ins_t.c.material_code, scales_t.c.code)
        .join(scales_t, scales_t.c.id == weigh_ins_t.c.scale_id)
        .where(weigh_ins_t.c.day >= first_day, weigh_ins_t.c.day <= last_day, ~holds)
    )
    if collector_id is not None:
        query = query.where(weigh_ins_t.c.collector_id == collector_id)
    found: dict[_Key, set[str]] = {}
    for day, who, material, code in session.execute(query):
        found.setdefault(_Key(day, int(who), str(material)), set()).add(str(code))
    return found


class Choice(NamedTuple):
    value: str
    label: str


def form_choices(session: Session) -> dict[str, list[Choice]]:
    """The collectors, materials and scales a weigh-in may name, for the form."""
    return {
        "collectors": [
            Choice(str(i), name)
            for i, name in session.execute(
                select(collectors_t.c.id, collectors_t.c.name).order_by(
                    collectors_t.c.name, collectors_t.c.id
                )
            )
        ],
        "materials": [
            Choice(code, name)
            for code, name in session.execute(
                select(materials_t.c.code, materials_t.c.name).order_by(materials_t.c.code)
            )
        ],
        "scales": [
            Choice(code, f"{code}: {name}")
            for code, name in session.execute(
                select(scales_t.c.code, scales_t.c.name).order_by(scales_t.c.code)
            )
        ],
    }
