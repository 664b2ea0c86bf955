"""The dashboard's CSV exports: households, collectors and pickups, read a chunk at a time (keyset
on the id: each chunk is a short query of its own, so nothing holds a cursor open while a slow
client downloads), each row ready for ``csv.writer``; and what every export shares: cells that a
spreadsheet would run as formulas are quoted (``cell``), and the text streamed a chunk at a time
(``csv_text``).

Counts and kg are of credited pickups (an undone or reversed pickup counts for nothing); weights
are written as the texts write them (``sms.kg``: 2250 g is "2.25"), never through a float; times
in the programme's zone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
import sms
from service.accounts import collector_account, member_account
from service.models import collections_t, collectors_t, households_t, phones_t, zones_t
from service.reads.people import lines_of

CHUNK = 500
TIME = "%Y-%m-%d %H:%M"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HOUSEHOLD_COLUMNS = (
    "member_code",
    "name",
    "phone",
    "zone",
    "address",
    "language",
    "status",
    "joined",
    "balance_points",
    "pickups",
    "kg",
)
COLLECTOR_COLUMNS = ("name", "phone", "zone", "status", "pickups", "kg", "commission_balance")
PICKUP_COLUMNS = (
    "pickup_id",
    "receipt_ref",
    "time",
    "household_code",
    "collector",
    "zone",
    "material",
    "kg",
    "points",
    "status",
)

Row = Sequence[object]


def cell(text: str | None) -> str:
    """A spreadsheet must not run what someone typed into a name or a memo (CSV formula
    injection): a cell that would start a formula starts with an apostrophe instead."""
    text = text or ""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def csv_text(columns: Sequence[str], chunks: Iterable[Iterable[Row]]) -> Iterator[str]:
    """The header line, then each chunk's lines as one piece of text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(columns)
    yield flush()
    for chunk in chunks:
        writer.writerows(chunk)
        yield flush()


def _local(moment: datetime | None, zone: tzinfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime(TIME)


def _credit_balances(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """Each account's points (credits less debits); 0 for an account not opened."""
    try:
        return {code: found.credit_balance for code, found in ledger.balances(session, codes).items()}
    except ledger.UnknownAccount:
        pass
    balances = {}
    for code in codes:
        try:
            balances[code] = ledger.balance(session, code).credit_balance
        except ledger.UnknownAccount:
            balances[code] = 0
    return balances


def _credited_totals(session: Session, column: Any, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Credited pickups and their grams, by household or collector (``column``)."""
    rows = session.execute(
        select(column, func.count(), func.coalesce(func.sum(collections_t.c.grams), 0))
        .where(column.in_(ids), collections_t.c.status == "credited")
        .group_by(column)
    )
    return {int(owner): (int(count), int(grams)) for owner, count, grams in rows}


def _keyset(session: Session, query: Any, id_column: Any, chunk: int) -> Iterator[Sequence[Any]]:
    """``query``'s rows in id order, ``chunk`` at a time, each chunk a query of its own."""
    after = 0
    while True:
        found = session.execute(query.where(id_column > after).order_by(id_column).limit(chunk)).all()
        if not found:
            return
        yield found
        if len(found) < chunk:
            return
        after = found[-1][0]


def household_rows(session: Session, zone: tzinfo, *, chunk: int = CHUNK) -> Iterator[list[Row]]:
    """Every household, oldest first: its code, name, phone, zone, address, language, status,
    when it joined, its points, and its credited pickups and kg."""
    h = households_t.c
    query = (
        select(
            h.id,
            h.member_code,
            h.name,
            h.phone,
            zones_t.c.name,
            h.address,
            phones_t.c.language,
            h.status,
            h.created_at,
        )
        .outerjoin(zones_t, zones_t.c.id == h.zone_id)
        .outerjoin(phones_t, phones_t.c.number == h.phone)
    )
    for found in _keyset(session, query, h.id, chunk):
        totals = _credited_totals(session, collections_t.c.household_id, [row[0] for row in found])
        points = _credit_balances(session, [member_account(row[1]) for row in found if row[1]])
        yield [
            (
                cell(code),
                cell(name),
                cell(phone),
                cell(zone_name),
                cell(address),
                language or "",
                status,
                _local(joined, zone),
                points.get(member_account(code), 0) if code else 0,
                totals.get(household_id, (0, 0))[0],
                sms.kg(totals.get(household_id, (0, 0))[1]),
            )
            for household_id, code, name, phone, zone_name, address, language, status, joined in found
        ]


def collector_rows(session: Session, *, chunk: int = CHUNK) -> Iterator[list[Row]]:
    """Every collector: name, phone, zone, status, credited pickups and kg (all time), and the
    commission they hold now (their ledger account's balance)."""
    c = collectors_t.c
    query = select(c.id, c.name, c.phone, zones_t.c.name, c.status).outerjoin(
        zones_t, zones_t.c.id == c.zone_id
    )
    for found in _keyset(session, query, c.id, chunk):
        ids = [row[0] for row in found]
        totals = _credited_totals(session, collections_t.c.collector_id, ids)
        commission = _credit_balances(session, [collector_account(collector_id) for collector_id in ids])
        yield [
            (
                cell(name),
                cell(phone),
                cell(zone_name),
                status,
                totals.get(collector_id, (0, 0))[0],
                sms.kg(totals.get(collector_id, (0, 0))[1]),
                commission[collector_account(collector_id)],
            )
            for collector_id, name, phone, zone_name, status in found
        ]


def pickup_rows(
    session: Session,
    zone: tzinfo,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    chunk: int = CHUNK,
) -> Iterator[list[Row]]:
    """Every pickup that happened in [since, until), in the order recorded, a row per material: its id,
    its receipt's reference, when, the household's code, the collector, the household's zone, the
    material, its kg and points, and the pickup's status (credited, undone, reversed)."""
    p = collections_t.c
    query = (
        select(
            p.id,
            p.reference,
            p.occurred_at,
            households_t.c.member_code,
            collectors_t.c.name,
            zones_t.c.name,
            p.status,
        )
        .join(households_t, households_t.c.id == p.household_id)
        .join(collectors_t, collectors_t.c.id == p.collector_id)
        .outerjoin(zones_t, zones_t.c.id == households_t.c.zone_id)
    )
    if since is not None:
        query = query.where(p.occurred_at >= since)
    if until is not None:
        query = query.where(p.occurred_at < until)
    for found in _keyset(session, query, p.id, chunk):
        lines = lines_of(session, [int(row[0]) for row in found])
        yield [
            (
                pickup_id,
                cell(reference),
                _local(occurred, zone),
                cell(code),
                cell(collector),
                cell(zone_name),
                cell(line.material_code),
                sms.kg(line.grams),
                line.points,
                status,
            )
            for pickup_id, reference, occurred, code, collector, zone_name, status in found
            for line in lines[int(pickup_id)]
        ]
