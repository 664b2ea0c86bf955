"""The chain of custody of batches sold (issue 24): for each batch, the hub weigh-ins it came from
(collector, day, grams, the scale and the calibration holding that day), the pickups behind each
weigh-in (the collector's credited pickups of the batch's material on the weigh-in's local day,
each with its receipt reference, time, grams, household and zone), and the ledger's head at the
moment of the export, so that a buyer or a plastic-credit verifier can tie the papers to the
public books (``/open``, ``/ledger/head``).

Households appear by a pseudonymous id only (``household_pseudonym``): stable from one export to
the next, so the same household can be followed across batches, but never its name, phone,
address or member code. Collectors are the programme's paid staff and sign for their weigh-ins:
they appear by their id and name (never their phone).

Weights are whole grams and prices whole kobo, as Kolekt keeps them; times of pickups in UTC."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from service.models import (
    collection_lines_t,
    collections_t,
    collectors_t,
    households_t,
    materials_t,
    scale_calibrations_t,
    scales_t,
    weigh_ins_t,
    zones_t,
)
from service.reads.exports import cell, csv_text
from service.timetable import at
from service.usecases.sales import Sale

PSEUDONYM_DIGITS = 16  # 64 bits: no two of a programme's households share one
CURRENCY = "NGN"
CALIBRATED, UNCALIBRATED, NO_SCALE = "calibrated", "uncalibrated", "no scale"
PSEUDONYM_NOTE = (
    "households: the first 16 hex digits of HMAC-SHA256(SECRET_KEY, 'kolekt.custody.household:' + id)"
)

CSV_COLUMNS = (
    "serial",
    "buyer",
    "material",
    "material_name",
    "sold_on",
    "sold_grams",
    "weighed_grams",
    "price_kobo",
    "weigh_in_id",
    "weigh_in_day",
    "collector_id",
    "collector",
    "weigh_in_grams",
    "scale",
    "scale_location",
    "calibration",
    "calibrated_on",
    "calibrated_by",
    "certificate",
    "valid_until",
    "pickup_ref",
    "pickup_occurred_at_utc",
    "pickup_grams",
    "household",
    "zone",
    "programme",
    "country",
    "exported_at_utc",
    "ledger_head_count",
    "ledger_head_hash",
)


def household_pseudonym(secret: str, household_id: int) -> str:
    """A household's id in exports: the same in every export made with the same ``SECRET_KEY``,
    and not to be turned back into the household (nor guessed from its id) without the key."""
    message = f"kolekt.custody.household:{household_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:PSEUDONYM_DIGITS]


@dataclass(frozen=True, slots=True)
class Calibration:
    calibrated_on: date
    valid_until: date
    calibrated_by: str
    certificate: str


@dataclass(frozen=True, slots=True)
class Pickup:
    reference: str | None
    occurred_at: datetime  # UTC
    grams: int  # of the batch's material
    household: str  # pseudonymous
    zone: str | None


@dataclass(frozen=True, slots=True)
class WeighIn:
    id: int
    day: date
    collector_id: int
    collector: str
    grams: int
    scale_code: str | None
    scale_name: str | None
    scale_location: str | None
    calibration: Calibration | None  # the one holding on ``day``, the latest if several
    pickups: tuple[Pickup, ...]  # the collector's pickups of the material that day
    day_weighed_grams: int  # every weigh-in of the collector's material that day, this one included

    @property
    def calibration_status(self) -> str:
        if self.scale_code is None:
            return NO_SCALE
        return UNCALIBRATED if self.calibration is None else CALIBRATED

    @property
    def day_logged_grams(self) -> int:
        return sum(pickup.grams for pickup in self.pickups)


@dataclass(frozen=True, slots=True)
class Batch:
    sale: Sale
    material_name: str
    weigh_ins: tuple[WeighIn, ...]

    @property
    def collectors(self) -> list[tuple[int, str]]:
        return sorted({(w.collector_id, w.collector) for w in self.weigh_ins})

    @property
    def zones(self) -> list[str]:
        return sorted({p.zone for w in self.weigh_ins for p in w.pickups if p.zone})

    @property
    def households(self) -> int:
        return len({p.household for w in self.weigh_ins for p in w.pickups})


@dataclass(frozen=True, slots=True)
class Custody:
    programme: str
    country: str  # ISO 3166 (PHONE_REGION)
    exported_at: datetime  # UTC
    head: ledger.Head
    pending: int  # transfers committed but not yet sealed into the head
    batches: tuple[Batch, ...]


def custody(
    session: Session,
    sold: Sequence[Sale],
    *,
    programme: str,
    country: str,
    secret: str,
    local: tzinfo,
    now: datetime,
) -> Custody:
    """The chain of custody of each batch in ``sold``, and the ledger's head, read together."""
    materials = {
        str(code): str(name) for code, name in session.execute(select(materials_t.c.code, materials_t.c.name))
    }
    batches = tuple(
        Batch(sale, materials.get(sale.material_code, sale.material_code),
              _weigh_ins(session, sale, secret, local))
        for sale in sold
    )  # fmt: skip
    return Custody(programme, country, now, ledger.head(session), ledger.pending_count(session), batches)


def _weigh_ins(session: Session, sale: Sale, secret: str, local: tzinfo) -> tuple[WeighIn, ...]:
    w = weigh_ins_t.c
    columns = (w.id, w.day, w.collector_id, collectors_t.c.name, w.grams, w.scale_id, scales_t.c.code,
               scales_t.c.name.label("scale_name"), scales_t.c.location)  # fmt: skip
    rows = session.execute(
        select(*columns)
        .join(collectors_t, collectors_t.c.id == w.collector_id)
        .outerjoin(scales_t, scales_t.c.id == w.scale_id)
        .where(w.id.in_(sale.weigh_in_ids))
        .order_by(w.day, w.collector_id, w.id)
    ).all()
    if not rows:
        return ()
    first, last = min(row.day for row in rows), max(row.day for row in rows)
    collectors = sorted({int(row.collector_id) for row in rows})
    pickups = _pickups(session, sale.material_code, collectors, first, last, secret, local)
    weighed = _day_weighed(session, sale.material_code, collectors, first, last)
    calibrations = _calibrations(session, {int(row.scale_id) for row in rows if row.scale_id is not None})
    return tuple(
        WeighIn(
            id=row.id,
            day=row.day,
            collector_id=row.collector_id,
            collector=row.name,
            grams=row.grams,
            scale_code=row.code,
            scale_name=row.scale_name,
            scale_location=row.location,
            calibration=_holding(calibrations.get(row.scale_id, ()), row.day),
            pickups=tuple(pickups.get((row.collector_id, row.day), ())),
            day_weighed_grams=weighed.get((row.collector_id, row.day), row.grams),
        )
        for row in rows
    )


def _pickups(
    session: Session,
    material: str,
    collectors: list[int],
    first: date,
    last: date,
    secret: str,
    local: tzinfo,
) -> dict[tuple[int, date], list[Pickup]]:
    """The collectors' credited pickups of ``material``, by collector and local day."""
    c = collections_t.c
    columns = (c.collector_id, c.reference, c.occurred_at, collection_lines_t.c.grams, c.household_id,
               zones_t.c.name)  # fmt: skip
    query = (
        select(*columns)
        .select_from(collection_lines_t)
        .join(collections_t, c.id == collection_lines_t.c.collection_id)
        .join(households_t, households_t.c.id == c.household_id)
        .outerjoin(zones_t, zones_t.c.id == households_t.c.zone_id)
        .where(
            collection_lines_t.c.material_code == material,
            c.status == "credited",
            c.collector_id.in_(collectors),
            c.occurred_at >= at(first, time(0), local),
            c.occurred_at < at(last + timedelta(days=1), time(0), local),
        )
        .order_by(c.occurred_at, c.id)
    )
    found: dict[tuple[int, date], list[Pickup]] = {}
    for collector_id, reference, occurred_at, grams, household_id, zone in session.execute(query):
        moment = occurred_at.astimezone(UTC)
        found.setdefault((int(collector_id), moment.astimezone(local).date()), []).append(
            Pickup(reference, moment, int(grams), household_pseudonym(secret, int(household_id)), zone)
        )
    return found


def _day_weighed(
    session: Session, material: str, collectors: list[int], first: date, last: date
) -> dict[tuple[int, date], int]:
    w = weigh_ins_t.c
    rows = session.execute(
        select(w.collector_id, w.day, func.sum(w.grams))
        .where(w.material_code == material, w.collector_id.in_(collectors), w.day >= first, w.day <= last)
        .group_by(w.collector_id, w.day)
    )
    return {(int(collector_id), day): int(grams) for collector_id, day, grams in rows}


def _calibrations(session: Session, scale_ids: set[int]) -> dict[int, list[tuple[Any, ...]]]:
    """Each scale's calibrations, latest first (by day, then by when recorded)."""
    s = scale_calibrations_t.c
    found: dict[int, list[tuple[Any, ...]]] = {}
    for row in session.execute(
        select(s.scale_id, s.calibrated_on, s.valid_until, s.calibrated_by, s.certificate)
        .where(s.scale_id.in_(scale_ids))
        .order_by(s.calibrated_on.desc(), s.id.desc())
    ):
        found.setdefault(int(row.scale_id), []).append(tuple(row)[1:])
    return found


def _holding(calibrations: Sequence[tuple[Any, ...]], day: date) -> Calibration | None:
    for calibrated_on, valid_until, by, certificate in calibrations:
        if calibrated_on <= day <= valid_until:
            return Calibration(calibrated_on, valid_until, by, certificate)
    return None


# --- the export, as JSON and as CSV ----------------------------------------------------------------


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _calibration_json(weigh_in: WeighIn) -> dict[str, Any]:
    found = weigh_in.calibration
    shown: dict[str, Any] = {"status": weigh_in.calibration_status}
    if found is not None:
        shown |= {
            "calibrated_on": found.calibrated_on.isoformat(),
            "calibrated_by": found.calibrated_by,
            "certificate": found.certificate,
            "valid_until": found.valid_until.isoformat(),
        }
    return shown


def _weigh_in_json(weigh_in: WeighIn) -> dict[str, Any]:
    scale = None
    if weigh_in.scale_code is not None:
        scale = {"code": weigh_in.scale_code, "name": weigh_in.scale_name,
                 "location": weigh_in.scale_location}  # fmt: skip
    return {
        "id": weigh_in.id,
        "day": weigh_in.day.isoformat(),
        "collector_id": weigh_in.collector_id,
        "collector": weigh_in.collector,
        "grams": weigh_in.grams,
        "scale": scale,
        "calibration": _calibration_json(weigh_in),
        "day_weighed_grams": weigh_in.day_weighed_grams,
        "day_logged_grams": weigh_in.day_logged_grams,
        "pickups": [
            {
                "reference": pickup.reference,
                "occurred_at": _utc(pickup.occurred_at),
                "grams": pickup.grams,
                "household": pickup.household,
                "zone": pickup.zone,
            }
            for pickup in weigh_in.pickups
        ],
    }


def _batch_json(batch: Batch) -> dict[str, Any]:
    sale = batch.sale
    return {
        "serial": sale.serial,
        "buyer": sale.buyer,
        "material": sale.material_code,
        "material_name": batch.material_name,
        "sold_on": sale.sold_on.isoformat(),
        "sold_grams": sale.grams,
        "weighed_grams": sale.weighed_grams,
        "price_kobo": sale.price_kobo,
        "currency": CURRENCY,
        "note": sale.note,
        "recorded_by": sale.recorded_by,
        "recorded_at": _utc(sale.recorded_at),
        "collection_zones": batch.zones,
        "collectors": [{"id": i, "name": name} for i, name in batch.collectors],
        "households": batch.households,
        "weigh_ins": [_weigh_in_json(weigh_in) for weigh_in in batch.weigh_ins],
    }


def as_json(found: Custody) -> dict[str, Any]:
    return {
        "programme": found.programme,
        "country": found.country,
        "exported_at": _utc(found.exported_at),
        "ledger_head": {
            "count": found.head.count,
            "hash": found.head.hash,
            "sealed_at": _utc(found.head.sealed_at) if found.head.sealed_at else None,
            "pending": found.pending,
        },
        "units": {"weight": "grams", "price": "kobo (NGN 1 = 100 kobo)", "times": "UTC"},
        "pseudonyms": PSEUDONYM_NOTE,
        "batches": [_batch_json(batch) for batch in found.batches],
    }


def _rows(found: Custody) -> Iterator[list[object]]:
    """One row per pickup (a weigh-in without pickups: one row, its pickup's cells empty)."""
    tail = [cell(found.programme), found.country, _utc(found.exported_at), found.head.count, found.head.hash]
    for batch in found.batches:
        sale = batch.sale
        head = [sale.serial, cell(sale.buyer), sale.material_code, cell(batch.material_name),
                sale.sold_on.isoformat(), sale.grams, sale.weighed_grams, sale.price_kobo]  # fmt: skip
        for w in batch.weigh_ins:
            c = w.calibration
            middle = [
                w.id, w.day.isoformat(), w.collector_id, cell(w.collector), w.grams, w.scale_code or "",
                cell(w.scale_location), w.calibration_status, c.calibrated_on.isoformat() if c else "",
                cell(c.calibrated_by) if c else "", cell(c.certificate) if c else "",
                c.valid_until.isoformat() if c else "",
            ]  # fmt: skip
            for p in w.pickups or (None,):
                picked = (
                    [p.reference or "", _utc(p.occurred_at), p.grams, p.household, cell(p.zone)]
                    if p is not None
                    else ["", "", "", "", ""]
                )
                yield [*head, *middle, *picked, *tail]


def as_csv(found: Custody) -> str:
    return "".join(csv_text(CSV_COLUMNS, [_rows(found)]))
