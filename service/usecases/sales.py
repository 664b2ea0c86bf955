"""Sales (issue 24): a batch of one material sold to a recycler, made of hub weigh-ins, each sold
once. The batch gets a serial number that buyers and plastic-credit registries quote back, and
``service.reads.custody`` lists everything behind it: weigh-ins, scales and calibrations,
pickups and households.

A batch keeps two weights: the weigh-ins' sum (what the hub's scales read) and the weight sold
(what the buyer weighed and paid for, by default the same). Buyers weigh again and sorted,
dried material weighs less than it did at the hub, so the two may differ; both are kept and
the export shows both rather than one hiding the other.

The serial is ``PREFIX-YEAR-NNNNNN``: the programme's prefix (``serial_prefix``: KLK for Kolekt),
the year of the sale, and the batch's number, which counts every batch ever recorded and is never
reused, so serials are unique and tell the order the batches were recorded in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import materials_t, sales_batch_weigh_ins_t, sales_batches_t, weigh_ins_t
from service.usecases import CatalogueError

MAX_GRAMS = 1_000_000_000  # 1,000 tonnes: more than any batch a programme loads on trucks
MAX_WEIGH_INS = 5_000
MAX_KOBO = 10**15  # NGN 10 trillion: a typing slip, not a sale
BUYER_LENGTH = 80
NOTE_LENGTH = 160
DEFAULT_PREFIX = "KLK"
NAIRA = re.compile(r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?")
VOWELS = frozenset("AEIOU")


class Sale(NamedTuple):
    id: int
    serial: str
    buyer: str
    material_code: str
    grams: int  # as sold
    weighed_grams: int  # the weigh-ins' sum
    price_kobo: int
    sold_on: date
    note: str | None
    recorded_by: str
    recorded_at: datetime
    weigh_in_ids: tuple[int, ...]

    @property
    def gap_percent(self) -> float:
        """How far the weight sold is from the weigh-ins' sum, in percent of the sum."""
        return (self.grams - self.weighed_grams) * 100 / self.weighed_grams


def serial_prefix(programme_name: str) -> str:
    """Three letters for a programme's serials: its first letter, then its next consonants
    (Kolekt -> KLK, Wecyclers -> WCY), topped up with its other letters; KLK for a name with
    fewer than three."""
    letters = [c for c in programme_name.upper() if "A" <= c <= "Z"]
    if len(letters) < 3:
        return DEFAULT_PREFIX
    consonants = [c for c in letters[1:] if c not in VOWELS]
    others = [c for c in letters[1:] if c in VOWELS]
    return "".join([letters[0], *consonants, *others][:3])


def serial_of(prefix: str, sold_on: date, batch_id: int) -> str:
    return f"{prefix}-{sold_on.year}-{batch_id:06d}"


def kobo_of(text: str) -> int:
    """Naira as typed ("150000", "150,000.50", "NGN 2,500") -> kobo."""
    cleaned = text.strip().upper().removeprefix("NGN").strip().removeprefix("\u20a6").strip()
    found = NAIRA.fullmatch(cleaned)
    if found is None:
        raise CatalogueError(f"the price must be naira like 150000 or 150,000.50, not {text.strip()[:20]!r}")
    whole, _, part = cleaned.replace(",", "").partition(".")
    return int(whole) * 100 + int(part.ljust(2, "0"))


def _text(value: str | None, what: str, most: int) -> str | None:
    cleaned = " ".join((value or "").split())
    if len(cleaned) > most:
        raise CatalogueError(f"the {what} is at most {most} characters")
    return cleaned or None


def _material(session: Session, material_code: str) -> str:
    code = material_code.strip().upper()
    if session.execute(select(materials_t.c.code).where(materials_t.c.code == code)).first() is None:
        raise CatalogueError(f"there is no material {material_code.strip()[:12]!r}")
    return code


def unsold_weigh_ins(session: Session, material_code: str, first_day: date, last_day: date) -> list[int]:
    """The weigh-ins of ``material_code`` from ``first_day`` to ``last_day`` (both included) not
    yet sold, oldest first: what an operator sells without typing their ids."""
    code = _material(session, material_code)
    if last_day < first_day:
        raise CatalogueError(f"--to {last_day.isoformat()} is before --from {first_day.isoformat()}")
    sold = select(sales_batch_weigh_ins_t.c.weigh_in_id).where(
        sales_batch_weigh_ins_t.c.weigh_in_id == weigh_ins_t.c.id
    )
    return list(
        session.execute(
            select(weigh_ins_t.c.id)
            .where(
                weigh_ins_t.c.material_code == code,
                weigh_ins_t.c.day >= first_day,
                weigh_ins_t.c.day <= last_day,
                ~sold.exists(),
            )
            .order_by(weigh_ins_t.c.day, weigh_ins_t.c.id)
        ).scalars()
    )


def _checked_weigh_ins(session: Session, ids: Sequence[int], material: str, sold_on: date) -> int:
    """The weigh-ins' sum; ``CatalogueError`` unless each exists, is of ``material``, was weighed
    by ``sold_on`` and is not sold yet."""
    if not ids:
        raise CatalogueError("name the weigh-ins sold (their ids), or a period to take them from")
    if len(ids) > MAX_WEIGH_INS:
        raise CatalogueError(f"a batch holds at most {MAX_WEIGH_INS:,} weigh-ins, not {len(ids):,}")
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CatalogueError(f"weigh-in {twice[0]} is named twice")
    w, sold = weigh_ins_t.c, sales_batch_weigh_ins_t.c
    query = (
        select(w.id, w.material_code, w.day, w.grams, sales_batches_t.c.serial)
        .outerjoin(sales_batch_weigh_ins_t, sold.weigh_in_id == w.id)
        .outerjoin(sales_batches_t, sales_batches_t.c.id == sold.batch_id)
        .where(w.id.in_(ids))
    )
    rows = {row.id: row for row in session.execute(query)}
    for weigh_in_id in ids:
        row = rows.get(weigh_in_id)
        if row is None:
            raise CatalogueError(f"there is no weigh-in {weigh_in_id}")
        if row.material_code != material:
            raise CatalogueError(f"weigh-in {weigh_in_id} is {row.material_code}, not {material}")
        if row.serial is not None:
            raise CatalogueError(f"weigh-in {weigh_in_id} was sold already, in batch {row.serial}")
        if row.day > sold_on:
            raise CatalogueError(
                f"weigh-in {weigh_in_id} was weighed on {row.day.isoformat()}, after the sale "
                f"on {sold_on.isoformat()}"
            )
    return sum(int(row.grams) for row in rows.values())


def record_sale(
    session: Session,
    *,
    buyer: str,
    material_code: str,
    weigh_in_ids: Sequence[int],
    price_kobo: int,
    sold_on: date,
    today: date,
    recorded_by: str,
    now: datetime,
    prefix: str = DEFAULT_PREFIX,
    grams: int | None = None,
    note: str | None = None,
) -> Sale:
    """Record a batch sold to ``buyer``: its weigh-ins, price and day, and the weight sold
    (``grams``; None: the weigh-ins' sum). ``CatalogueError`` (nothing written): no buyer, no
    such material, a weigh-in missing, of another material, weighed after the sale or sold
    already, a day in the future, a weight or price out of range."""
    name = _text(buyer, "buyer's name", BUYER_LENGTH)
    if name is None:
        raise CatalogueError("say who bought it (--buyer)")
    code = _material(session, material_code)
    if sold_on > today:
        raise CatalogueError(f"{sold_on.isoformat()} is in the future (today is {today.isoformat()})")
    if not 0 <= price_kobo <= MAX_KOBO:
        raise CatalogueError("the price must be from NGN 0 to NGN 10 trillion")
    if grams is not None and not 0 < grams <= MAX_GRAMS:
        raise CatalogueError(f"the weight sold must be more than 0 and at most {MAX_GRAMS // 1000:,} kg")
    weighed = _checked_weigh_ins(session, list(weigh_in_ids), code, sold_on)
    if weighed > MAX_GRAMS:
        raise CatalogueError(f"the weigh-ins come to more than {MAX_GRAMS // 1000:,} kg: sell fewer at once")
    batch_id = session.execute(
        sales_batches_t.insert().returning(sales_batches_t.c.id),
        {
            "buyer": name,
            "material_code": code,
            "grams": weighed if grams is None else grams,
            "weighed_grams": weighed,
            "price_kobo": price_kobo,
            "sold_on": sold_on,
            "note": _text(note, "note", NOTE_LENGTH),
            "recorded_by": recorded_by[:80],
            "recorded_at": now,
        },
    ).scalar_one()
    session.execute(
        sales_batches_t.update()
        .where(sales_batches_t.c.id == batch_id)
        .values(serial=serial_of(prefix, sold_on, batch_id))
    )
    session.execute(
        sales_batch_weigh_ins_t.insert(),
        [{"batch_id": batch_id, "weigh_in_id": weigh_in_id} for weigh_in_id in weigh_in_ids],
    )
    found = sales(session, batch_ids=[batch_id])
    return found[0]


def sales(
    session: Session,
    *,
    first_day: date | None = None,
    last_day: date | None = None,
    serial: str | None = None,
    batch_ids: Sequence[int] | None = None,
) -> list[Sale]:
    """The batches sold from ``first_day`` to ``last_day`` (either may be open), or the one with
    ``serial``, in the order they were recorded."""
    columns = [sales_batches_t.c[name] for name in Sale._fields if name != "weigh_in_ids"]
    query = select(*columns).order_by(sales_batches_t.c.id)
    if first_day is not None:
        query = query.where(sales_batches_t.c.sold_on >= first_day)
    if last_day is not None:
        query = query.where(sales_batches_t.c.sold_on <= last_day)
    if serial is not None:
        query = query.where(sales_batches_t.c.serial == serial.strip().upper())
    if batch_ids is not None:
        query = query.where(sales_batches_t.c.id.in_(batch_ids))
    rows = session.execute(query).all()
    members: dict[int, list[int]] = {}
    for batch_id, weigh_in_id in session.execute(
        select(sales_batch_weigh_ins_t.c.batch_id, sales_batch_weigh_ins_t.c.weigh_in_id)
        .where(sales_batch_weigh_ins_t.c.batch_id.in_([row.id for row in rows]))
        .order_by(sales_batch_weigh_ins_t.c.weigh_in_id)
    ):
        members.setdefault(int(batch_id), []).append(int(weigh_in_id))
    return [Sale._make((*row, tuple(members.get(row.id, ())))) for row in rows]
