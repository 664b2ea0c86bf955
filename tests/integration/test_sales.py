"""Sales and their chain of custody (issue 24), on real stores: a batch recorded from weigh-ins
with its serial; every refusal writes nothing; a weigh-in is sold once; and the export (CSV and
JSON) names the pickups, households (by a pseudonymous id), collectors, scales and calibrations
behind each batch, with the ledger's head as it stood."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from service.models import households_t, sales_batch_weigh_ins_t, sales_batches_t
from service.reads import custody
from service.usecases import CatalogueError, sales, scales
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import pickup_by_reference, reverse_pickup
from service.usecases.weighins import record_weigh_in
from service.usecases.zones import add_zone
from tests.integration import test_weighins as weighins_tests
from tests.integration.test_weighins import D0, D1, D2, LAGOS, NOW, Programme, pickup, weigh

programme = weighins_tests.programme  # two collectors (Ade, Bola), a household, rates and a hub user

TODAY = NOW.date()
SECRET = "the programme's secret key"
HUB_1_ON_D1 = {"calibrated_on": "2026-11-18", "calibrated_by": "Lagos W&M", "certificate": "LWM-2026-9",
               "valid_until": "2026-11-18"}  # fmt: skip


def count(session: Session, table: object) -> int:
    return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def sell(session: Session, weigh_in_ids: list[int], **changes: Any) -> sales.Sale:
    asked: dict[str, Any] = {
        "buyer": " GreenCycle   Ltd ",
        "material_code": "pet",
        "weigh_in_ids": weigh_in_ids,
        "price_kobo": 450_000,
        "sold_on": D2,
        "today": TODAY,
        "recorded_by": "cli:hub",
        "now": NOW,
        "prefix": "KLK",
    }
    return sales.record_sale(session, **(asked | changes))


def at_utc(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- recording -------------------------------------------------------------------------------------


def test_a_batch_gets_a_serial_and_keeps_its_weigh_ins(session: Session, programme: Programme) -> None:
    first = weigh(session, programme, programme.ade, D1, "PET", 10_000)
    second = weigh(session, programme, programme.bola, D2, "PET", 5_500)
    sold = sell(session, [second, first], note="  ticket   WB-77 ")
    assert sold.serial == f"KLK-2026-{sold.id:06d}"
    assert (sold.buyer, sold.material_code, sold.grams, sold.weighed_grams, sold.price_kobo) == (
        "GreenCycle Ltd", "PET", 15_500, 15_500, 450_000
    )  # fmt: skip
    assert (sold.sold_on, sold.note, sold.recorded_by, sold.weigh_in_ids) == (
        D2, "ticket WB-77", "cli:hub", (first, second)
    )  # fmt: skip
    assert sales.sales(session, serial=sold.serial.lower()) == [sold]
    assert sales.sales(session, first_day=D2, last_day=D2) == [sold]
    assert sales.sales(session, first_day=TODAY) == []


def test_the_buyers_weight_is_kept_beside_the_weigh_ins(session: Session, programme: Programme) -> None:
    weighed = weigh(session, programme, programme.ade, D1, "PET", 10_000)
    sold = sell(session, [weighed], grams=9_400)
    assert (sold.grams, sold.weighed_grams, round(sold.gap_percent, 1)) == (9_400, 10_000, -6.0)
    row = session.execute(select(sales_batches_t)).one()
    assert (row.grams, row.weighed_grams) == (9_400, 10_000)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"buyer": "   "}, "say who bought it"),
        ({"buyer": "x" * 81}, "the buyer's name is at most 80"),
        ({"material_code": "GOLD"}, "there is no material 'GOLD'"),
        ({"weigh_in_ids": []}, "name the weigh-ins sold"),
        ({"weigh_in_ids": [999_999]}, "there is no weigh-in 999999"),
        ({"weigh_in_ids": "twice"}, "is named twice"),
        ({"weigh_in_ids": "sachet"}, "is SACHET, not PET"),
        ({"sold_on": D0}, "was weighed on 2026-11-18, after the sale on 2026-11-17"),
        ({"sold_on": TODAY + timedelta(days=1)}, "is in the future"),
        ({"price_kobo": -1}, "the price must be from NGN 0"),
        ({"grams": 0}, "the weight sold must be more than 0"),
        ({"grams": sales.MAX_GRAMS + 1}, "at most 1,000,000 kg"),
        ({"note": "n" * 161}, "the note is at most 160"),
    ],
)
def test_a_refused_sale_writes_nothing(
    session: Session, programme: Programme, changes: dict[str, Any], message: str
) -> None:
    pet = weigh(session, programme, programme.ade, D1, "PET", 10_000)
    sachet = weigh(session, programme, programme.ade, D1, "SACHET", 3_000)
    named = {"twice": [pet, pet], "sachet": [pet, sachet]}
    asked = {"weigh_in_ids": [pet]} | changes
    if isinstance(asked["weigh_in_ids"], str):
        asked["weigh_in_ids"] = named[asked["weigh_in_ids"]]
    with pytest.raises(CatalogueError, match=message):
        sell(session, **asked)
    assert (count(session, sales_batches_t), count(session, sales_batch_weigh_ins_t)) == (0, 0)


def test_a_weigh_in_is_sold_once(session: Session, programme: Programme) -> None:
    first = weigh(session, programme, programme.ade, D1, "PET", 10_000)
    second = weigh(session, programme, programme.ade, D2, "PET", 2_000)
    sold = sell(session, [first])
    with pytest.raises(CatalogueError, match=f"weigh-in {first} was sold already, in batch {sold.serial}"):
        sell(session, [second, first], buyer="Another Recycler")
    assert (count(session, sales_batches_t), count(session, sales_batch_weigh_ins_t)) == (1, 1)
    assert sell(session, [second]).weigh_in_ids == (second,)


def test_the_unsold_weigh_ins_of_a_material_and_days(session: Session, programme: Programme) -> None:
    p = programme
    early = weigh(session, p, p.ade, D0, "PET", 1_000)
    first = weigh(session, p, p.ade, D1, "PET", 2_000)
    second = weigh(session, p, p.bola, D1, "PET", 3_000)
    weigh(session, p, p.ade, D1, "SACHET", 4_000)
    last = weigh(session, p, p.ade, D2, "PET", 5_000)
    assert sales.unsold_weigh_ins(session, " pet ", D1, D2) == [first, second, last]
    sell(session, [second])
    assert sales.unsold_weigh_ins(session, "PET", D0, D2) == [early, first, last]
    assert sales.unsold_weigh_ins(session, "PET", D2 + timedelta(days=1), TODAY) == []
    with pytest.raises(CatalogueError, match="before --from"):
        sales.unsold_weigh_ins(session, "PET", D2, D1)
    with pytest.raises(CatalogueError, match="no material 'GOLD'"):
        sales.unsold_weigh_ins(session, "GOLD", D1, D2)


@pytest.mark.parametrize(
    ("name", "prefix"),
    [("Kolekt", "KLK"), ("Wecyclers", "WCY"), ("Aba Eco", "ABC"), ("Ioe", "IOE"), ("K2", "KLK"), ("", "KLK")],
)
def test_the_serials_prefix_comes_from_the_programmes_name(name: str, prefix: str) -> None:
    assert sales.serial_prefix(name) == prefix


@pytest.mark.parametrize(
    ("typed", "kobo"),
    [("150000", 15_000_000), ("150,000.50", 15_000_050), ("NGN 2,500", 250_000), (" 0.5 ", 50), ("0", 0)],
)
def test_naira_as_typed_become_kobo(typed: str, kobo: int) -> None:
    assert sales.kobo_of(typed) == kobo


@pytest.mark.parametrize("typed", ["", "12,5", "1.234", "-5", "1e6", "15,00,000", "abc"])
def test_a_price_that_is_not_naira_is_refused(typed: str) -> None:
    with pytest.raises(CatalogueError, match="the price must be naira like"):
        sales.kobo_of(typed)


# --- the chain of custody ---------------------------------------------------------------------------


class Sold(NamedTuple):
    sale: sales.Sale
    chi: int  # the household of Ade's pickups, in Yaba
    dayo: int  # Bola's, in no zone
    reversed_ref: str


@pytest.fixture
def sold(session: Session, programme: Programme) -> Sold:
    """Ade's PET of D1 and of D2 on HUB-1, calibrated for D1 only and again since (not covering
    D2), and Bola's of D1 on no scale, sold together; the pickups behind them, and some that are
    not."""
    p, ade = programme, programme.ade
    yaba = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", NOW)
    session.execute(households_t.update().values(zone_id=yaba.id))
    ensure_phone(session, "+2348031110002", NOW)
    dayo = register_household(session, "+2348031110002", "Dayo Ade", None, "test", NOW)
    scales.add_scale(session, "HUB-1", "Platform 300kg", "Yaba hub", NOW)
    scales.calibrate(session, "HUB-1", D1, "Lagos W&M", "LWM-2026-9", TODAY, valid_days=1, now=NOW)
    scales.calibrate(session, "HUB-1", TODAY, "Lagos W&M", "LWM-2026-10", TODAY, now=NOW)  # the latest
    pickup(session, p, ade, at_utc(D0, 23), PET=6_000, SACHET=1_000)  # 00:00 on D1 in Lagos
    pickup(session, p, ade, at_utc(D1, 12), PET=4_000)
    pickup(session, p, ade, at_utc(D0, 22), PET=9_000)  # 23:00 on D0: another day
    pickup(session, p, ade, at_utc(D1, 14), SACHET=5_000)  # another material
    reversed_ref = pickup(session, p, ade, at_utc(D1, 13), PET=3_000)
    found = pickup_by_reference(session, reversed_ref)
    assert found is not None
    reverse_pickup(session, found, status="reversed", actor="test", now=NOW)
    pickup(session, p, ade, at_utc(D2, 9), PET=2_000)
    pickup(session, p._replace(member=dayo), p.bola, at_utc(D1, 9), PET=2_500)
    ids = [
        record_weigh_in(
            session, who.id, day, "PET", grams, None, p.user_id, NOW, local_zone=LAGOS, scale_code=code
        )
        for who, day, grams, code in (
            (ade, D1, 10_200, "HUB-1"),
            (ade, D2, 2_000, "HUB-1"),
            (p.bola, D1, 2_500, None),
        )
    ]
    weigh(session, p, ade, D1, "PET", 800)  # a second load of the day, not sold
    ledger.seal_all(session, now=NOW)
    return Sold(sell(session, ids, grams=14_000), p.member.id, dayo.id, reversed_ref)


def export(session: Session, found: list[sales.Sale], secret: str = SECRET) -> custody.Custody:
    return custody.custody(session, found, programme="Kolekt Yaba", country="NG", secret=secret, local=LAGOS,
                           now=NOW)  # fmt: skip


def pseudonym(household_id: int, secret: str = SECRET) -> str:
    return custody.household_pseudonym(secret, household_id)


def test_each_weigh_in_with_its_scale_calibration_and_pickups(session: Session, sold: Sold) -> None:
    found = export(session, [sold.sale])
    assert (found.programme, found.country, found.exported_at) == ("Kolekt Yaba", "NG", NOW)
    assert found.head == ledger.head(session) and found.head.count > 0
    (batch,) = found.batches
    assert (batch.sale, batch.material_name) == (sold.sale, "PET bottles")
    ade_d1, bola_d1, ade_d2 = batch.weigh_ins  # by day, then collector
    assert (ade_d1.day, ade_d1.collector, ade_d1.grams, ade_d1.scale_code, ade_d1.scale_location) == (
        D1, "Ade Able", 10_200, "HUB-1", "Yaba hub"
    )  # fmt: skip
    assert ade_d1.calibration == custody.Calibration(D1, D1, "Lagos W&M", "LWM-2026-9")  # not the latest
    assert ade_d1.calibration_status == "calibrated"
    chi, dayo = pseudonym(sold.chi), pseudonym(sold.dayo)
    assert [(p.occurred_at, p.grams, p.household, p.zone) for p in ade_d1.pickups] == [
        (at_utc(D0, 23), 6_000, chi, "Yaba"),  # its PET line only, not the sachets
        (at_utc(D1, 12), 4_000, chi, "Yaba"),
    ]  # neither 23:00 on D0, nor the reversed pickup, nor the sachets
    assert (ade_d1.day_logged_grams, ade_d1.day_weighed_grams) == (10_000, 11_000)
    assert sold.reversed_ref not in {p.reference for w in batch.weigh_ins for p in w.pickups}
    for pickup_found in ade_d1.pickups:
        logged = pickup_by_reference(session, pickup_found.reference or "")
        assert logged is not None and logged.collector_id == ade_d1.collector_id
    assert (bola_d1.collector, bola_d1.scale_code, bola_d1.calibration, bola_d1.calibration_status) == (
        "Bola Bee", None, None, "no scale"
    )  # fmt: skip
    assert [(p.grams, p.household, p.zone) for p in bola_d1.pickups] == [(2_500, dayo, None)]
    assert (ade_d2.scale_code, ade_d2.calibration_status, ade_d2.calibration) == (
        "HUB-1",
        "uncalibrated",
        None,
    )
    assert [(p.occurred_at, p.grams) for p in ade_d2.pickups] == [(at_utc(D2, 9), 2_000)]
    assert batch.collectors == [(ade_d1.collector_id, "Ade Able"), (bola_d1.collector_id, "Bola Bee")]
    assert (batch.zones, batch.households) == (["Yaba"], 2)


def test_a_pseudonym_is_the_documented_hmac_of_the_households_id() -> None:
    digest = hmac.new(SECRET.encode(), b"kolekt.custody.household:42", hashlib.sha256).hexdigest()
    assert pseudonym(42) == digest[:16]
    assert pseudonym(42, "another key") != pseudonym(42) != pseudonym(43)


def test_households_are_known_by_a_stable_pseudonym_only(session: Session, sold: Sold) -> None:
    first, again = export(session, [sold.sale]), export(session, [sold.sale])
    ids = {p.household for w in first.batches[0].weigh_ins for p in w.pickups}
    assert ids == {p.household for w in again.batches[0].weigh_ins for p in w.pickups}
    assert ids == {pseudonym(sold.chi), pseudonym(sold.dayo)}
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    other_key = export(session, [sold.sale], secret="another programme's key")
    assert not ids & {p.household for w in other_key.batches[0].weigh_ins for p in w.pickups}
    texts = json.dumps(custody.as_json(first)) + custody.as_csv(first)
    for household in session.execute(select(households_t)).all():
        for private in (household.member_code, household.phone, household.phone[4:], household.name):
            assert private not in texts


def test_the_json_export(session: Session, sold: Sold) -> None:
    shown = json.loads(json.dumps(custody.as_json(export(session, [sold.sale]))))
    head = ledger.head(session)
    assert shown["ledger_head"] == {
        "count": head.count,
        "hash": head.hash,
        "sealed_at": head.sealed_at.isoformat() if head.sealed_at else None,
        "pending": 0,
    }
    assert (shown["programme"], shown["country"], shown["exported_at"]) == (
        "Kolekt Yaba", "NG", "2026-11-20T10:00:00+00:00"
    )  # fmt: skip
    (batch,) = shown["batches"]
    fields = ("serial", "buyer", "material", "sold_on", "sold_grams", "weighed_grams")
    assert {k: batch[k] for k in fields} == {
        "serial": sold.sale.serial, "buyer": "GreenCycle Ltd", "material": "PET", "sold_on": "2026-11-19",
        "sold_grams": 14_000, "weighed_grams": 14_700,
    }  # fmt: skip
    assert (batch["price_kobo"], batch["currency"], batch["collection_zones"], batch["households"]) == (
        450_000, "NGN", ["Yaba"], 2
    )  # fmt: skip
    assert [c["name"] for c in batch["collectors"]] == ["Ade Able", "Bola Bee"]
    ade_d1, bola_d1, ade_d2 = batch["weigh_ins"]
    assert ade_d1["scale"] == {"code": "HUB-1", "name": "Platform 300kg", "location": "Yaba hub"}
    assert ade_d1["calibration"] == {"status": "calibrated", **HUB_1_ON_D1}
    assert ade_d1["pickups"][0] | {"reference": None} == {
        "reference": None,
        "occurred_at": "2026-11-17T23:00:00+00:00",
        "grams": 6_000,
        "household": pseudonym(sold.chi),
        "zone": "Yaba",
    }
    assert (ade_d1["day_logged_grams"], ade_d1["day_weighed_grams"]) == (10_000, 11_000)
    assert (bola_d1["scale"], bola_d1["calibration"]) == (None, {"status": "no scale"})
    assert ade_d2["calibration"] == {"status": "uncalibrated"}


def test_the_csv_export_has_a_row_per_pickup(session: Session, sold: Sold, programme: Programme) -> None:
    lone = weigh(session, programme, programme.bola, D2, "PET", 700)  # no pickup behind it
    sell(session, [lone], buyer="=HYPERLINK(evil)", sold_on=TODAY)
    found = export(session, sales.sales(session))
    rows = list(csv.DictReader(io.StringIO(custody.as_csv(found))))
    assert list(rows[0]) == list(custody.CSV_COLUMNS)
    head = ledger.head(session)
    assert {(r["ledger_head_count"], r["ledger_head_hash"], r["exported_at_utc"]) for r in rows} == {
        (str(head.count), head.hash, "2026-11-20T10:00:00+00:00")
    }
    first = [r for r in rows if r["serial"] == sold.sale.serial]
    shown = [
        (r["collector"], r["weigh_in_day"], r["scale"], r["calibration"], r["pickup_grams"]) for r in first
    ]
    assert shown == [
        ("Ade Able", "2026-11-18", "HUB-1", "calibrated", "6000"),
        ("Ade Able", "2026-11-18", "HUB-1", "calibrated", "4000"),
        ("Bola Bee", "2026-11-18", "", "no scale", "2500"),
        ("Ade Able", "2026-11-19", "HUB-1", "uncalibrated", "2000"),
    ]
    assert {k: first[0][k] for k in HUB_1_ON_D1} == HUB_1_ON_D1
    assert (first[0]["pickup_occurred_at_utc"], first[0]["household"], first[0]["zone"]) == (
        "2026-11-17T23:00:00+00:00", pseudonym(sold.chi), "Yaba"
    )  # fmt: skip
    assert [first[0][k] for k in ("sold_grams", "weighed_grams", "price_kobo")] == [
        "14000",
        "14700",
        "450000",
    ]
    (last,) = [r for r in rows if r["serial"] != sold.sale.serial]
    assert (last["buyer"], last["weigh_in_grams"], last["pickup_ref"], last["household"]) == (
        "'=HYPERLINK(evil)", "700", "", ""
    )  # fmt: skip
