"""The hub records the batches it sells and exports their chain of custody, run as an operator
runs them: ``flask --app wsgi sales record|list|export`` in a process of its own.

Every refusal must exit non-zero (2: the arguments are wrong; 1: the programme refuses) with a
one-line reason and leave every table as it was."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

import ledger
from service.accounts import open_programme_accounts
from service.db import make_session_factory, transaction
from service.models import audit_log_t
from service.settings import Settings
from service.timetable import at
from service.usecases import scales, users
from service.usecases.catalogue import set_rate
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup
from service.usecases.roles import add_collector
from service.usecases.weighins import record_weigh_in
from service.usecases.zones import add_zone
from sms.commands import Line
from tests.conftest import run_cli
from tests.e2e.conftest import columns, ok, snapshot

LAGOS = ZoneInfo("Africa/Lagos")


class Hub(NamedTuple):
    yesterday: date
    pet: tuple[int, int]  # Tunde's PET weigh-ins of yesterday: 10 kg on HUB-1, 4 kg on no scale
    sachet: int


def a_hub(engine: Engine) -> Hub:
    """Yaba, its collector Tunde, its member Ada, a pickup of hers yesterday, and the hub's weigh-ins
    of it on a calibrated scale; the ledger sealed."""
    now = datetime.now(UTC)
    yesterday = now.astimezone(LAGOS).date() - timedelta(days=1)
    with transaction(make_session_factory(engine)) as session:
        open_programme_accounts(session)
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        tunde = add_collector(session, "+2348030000001", "Tunde", zone.id, now)
        ensure_phone(session, "+2348031234567", now)
        ada = register_household(session, "+2348031234567", "Ada Okafor", None, "sms", now, zone_id=zone.id)
        for material in ("PET", "SACHET"):
            set_rate(session, material, 10, 2, datetime(2026, 1, 1, tzinfo=UTC), "test", now)
        moment = at(yesterday, time(10), LAGOS)
        log_pickup(
            session, collector=tunde, household=ada, lines=(Line("PET", 14_000), Line("SACHET", 2_000)),
            occurred_at=moment, received_at=moment, channel="demo", dedupe_key=f"test:{uuid.uuid4().hex}",
        )  # fmt: skip
        user = users.add_user(session, "hub@sales.example", "correct horse battery staple", "operator", now)
        scales.add_scale(session, "HUB-1", "Platform 300kg", "Yaba hub", now)
        scales.calibrate(session, "HUB-1", yesterday, "Lagos W&M", "LWM-1", yesterday, now=now)
        pet = tuple(
            record_weigh_in(
                session,
                tunde.id,
                yesterday,
                "PET",
                grams,
                None,
                user.id,
                now,
                local_zone=LAGOS,
                scale_code=scale,
            )
            for grams, scale in ((10_000, "HUB-1"), (4_000, None))
        )
        sachet = record_weigh_in(session, tunde.id, yesterday, "SACHET", 2_000, None, user.id, now,
                                 local_zone=LAGOS)  # fmt: skip
        ledger.seal_all(session, now=now)
    return Hub(yesterday, (pet[0], pet[1]), sachet)


def test_the_hub_records_lists_and_exports_a_sale(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    hub = a_hub(engine)
    today = (hub.yesterday + timedelta(days=1)).isoformat()
    assert ok(settings, "sales", "list") == ["no batches sold yet"]
    told = ok(settings, "sales", "record", "--buyer", "GreenCycle  Ltd", "--material", "pet", "--weigh-ins",
              str(hub.pet[0]), "--price-naira", "1,500.50", "--weight-kg", "9.5", "--note", "WB")  # fmt: skip
    serial = f"KLK-{today[:4]}-000001"  # the year it was sold
    assert told == [
        f"batch {serial}: PET 9.5 kg to GreenCycle Ltd on {today} for 1,500.50 naira; 1 weigh-in, "
        "10 kg weighed (sold 5.0% less than weighed)"
    ]
    day = hub.yesterday.isoformat()
    second = ok(settings, "sales", "record", "--buyer", "Lagos Recyclers", "--material", "PET", "--from", day,
                "--to", day, "--price-kobo", "0", "--sold-on", day)  # fmt: skip
    assert second == [
        f"batch KLK-{day[:4]}-000002: PET 4 kg to Lagos Recyclers on {day} for 0 naira; 1 weigh-in, "
        "4 kg weighed"
    ]
    assert columns(ok(settings, "sales", "list")) == [
        ["serial", "sold on", "buyer", "material", "weigh-ins", "kg weighed", "kg sold", "NGN"],
        [serial, today, "GreenCycle Ltd", "PET", "1", "10", "9.5", "1,500.50"],
        [f"KLK-{day[:4]}-000002", day, "Lagos Recyclers", "PET", "1", "4", "4", "0"],
    ]
    assert columns(ok(settings, "sales", "list", "--from", today))[1:] == [
        [serial, today, "GreenCycle Ltd", "PET", "1", "10", "9.5", "1,500.50"]
    ]

    # the chain of custody, with the ledger's head as `ledger head` says it
    count, head_hash = ok(settings, "ledger", "head")[0].split()[:2]
    shown = json.loads("\n".join(ok(settings, "sales", "export", serial.lower(), "--format", "json")))
    assert (shown["ledger_head"]["count"], shown["ledger_head"]["hash"]) == (int(count), head_hash)
    (batch,) = shown["batches"]
    assert (batch["serial"], batch["sold_grams"], batch["weighed_grams"], batch["price_kobo"]) == (
        serial, 9_500, 10_000, 150_050
    )  # fmt: skip
    (weigh_in,) = batch["weigh_ins"]
    assert (weigh_in["collector"], weigh_in["scale"]["code"], weigh_in["calibration"]["certificate"]) == (
        "Tunde", "HUB-1", "LWM-1"
    )  # fmt: skip
    (pickup,) = weigh_in["pickups"]
    assert (pickup["grams"], pickup["zone"]) == (14_000, "Yaba")
    assert re.fullmatch(r"[0-9a-f]{16}", pickup["household"]) and "K0001" not in json.dumps(shown)

    out = tmp_path / "custody.csv"
    written = ok(settings, "sales", "export", "--format", "csv", "--out", str(out))
    assert written == [f"{out}: 2 batches, 2 weigh-ins, 2 pickups; ledger head {count} {head_hash}"]
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert [(r["serial"], r["scale"], r["calibration"], r["pickup_grams"], r["household"]) for r in rows] == [
        (serial, "HUB-1", "calibrated", "14000", pickup["household"]),
        (f"KLK-{day[:4]}-000002", "", "no scale", "14000", pickup["household"]),
    ]  # the same day's pickups are behind both weigh-ins of that day
    assert ok(settings, "sales", "export", "--from", today, "--to", today)[0].startswith("serial,buyer,")

    # each sale is in the audit log once, by its serial; an export writes nothing there
    with engine.connect() as connection:
        a = audit_log_t.c
        logged = connection.execute(select(a.action, a.subject, a.details))
        entries = [(action, subject, json.loads(details)) for action, subject, details in logged]
    assert [(action, subject) for action, subject, _ in entries] == [
        ("cli.sales.record", serial),
        ("cli.sales.record", f"KLK-{day[:4]}-000002"),
    ]
    assert entries[0][2]["weigh_ins"] == [hub.pet[0]] and entries[0][2]["grams"] == 9_500

    refused = run_cli(settings, "sales", "record", "--buyer", "Again", "--material", "PET", "--weigh-ins",
                      f"{hub.pet[0]}", "--price-kobo", "1")  # fmt: skip
    assert (refused.returncode, refused.stdout) == (1, "")
    assert refused.stderr == f"Error: weigh-in {hub.pet[0]} was sold already, in batch {serial}\n"
    unwritable = run_cli(settings, "sales", "export", serial, "--out", str(tmp_path / "no" / "such.csv"))
    assert unwritable.returncode == 1 and unwritable.stderr.startswith("Error: cannot write ")


RECORD = ("sales", "record", "--buyer", "GreenCycle Ltd", "--material", "PET")
PRICED = (*RECORD, "--price-kobo", "5")
ONE = (*PRICED, "--weigh-ins", "{pet}")

# (arguments, the exit status, what stderr says); "{pet}", "{sachet}" and "{day}" filled in
REFUSALS = [
    ((*RECORD, "--weigh-ins", "{pet}"), 2, "give the price, once"),
    ((*ONE, "--price-naira", "5"), 2, "give the price, once"),
    ((*RECORD, "--weigh-ins", "{pet}", "--price-naira", "five"), 2, "the price must be naira like 150000"),
    ((*RECORD, "--weigh-ins", "{pet}", "--price-kobo", "1.5"), 2, "--price-kobo must be a whole number"),
    (PRICED, 2, "name the weigh-ins sold"),
    ((*ONE, "--from", "{day}", "--to", "{day}"), 2, "name the weigh-ins sold"),
    ((*PRICED, "--from", "{day}"), 2, "name the weigh-ins sold"),
    ((*PRICED, "--weigh-ins", "1,x"), 2, "--weigh-ins must be weigh-in ids like 12,13,20"),
    ((*ONE, "--weight-kg", "lots"), 2, "--weight-kg: kg must be a number"),
    ((*ONE, "--sold-on", "soon"), 2, "--sold-on must be a day"),
    ((*PRICED, "--from", "soon", "--to", "{day}"), 2, "--from must be a day"),
    ((*PRICED, "--weigh-ins", "999999"), 1, "there is no weigh-in 999999"),
    ((*PRICED, "--weigh-ins", "{pet},{sachet}"), 1, "is SACHET, not PET"),
    ((*ONE, "--weight-kg", "0"), 1, "the weight sold must be more than 0"),
    ((*ONE, "--sold-on", "2099-01-01"), 1, "2099-01-01 is in the future"),
    ((*PRICED, "--from", "2020-01-01", "--to", "2020-01-31"), 1, "no unsold PET weigh-ins from 2020-01-01"),
    (("sales", "record", "--buyer", " ", *ONE[4:]), 1, "say who bought it"),
    (("sales", "record", "--buyer", "B", "--material", "GOLD", *ONE[6:]), 1, "there is no material 'GOLD'"),
    (("sales", "list", "--from", "soon"), 2, "--from must be a day"),
    (("sales", "export", "KLK-2026-000009"), 1, "there is no batch 'KLK-2026-000009'"),
    (("sales", "export"), 1, "no batches sold in those days"),
    (("sales", "export", "KLK-2026-000009", "--from", "{day}"), 2, "a batch's serial or the days"),
    (("sales", "export", "--format", "xml"), 2, "--format is csv or json, not 'xml'"),
]


def test_every_refusal_exits_non_zero_says_why_and_changes_nothing(
    settings: Settings, engine: Engine, subtests: pytest.Subtests
) -> None:
    hub = a_hub(engine)
    before = snapshot(engine)
    values = {"pet": str(hub.pet[0]), "sachet": str(hub.sachet), "day": hub.yesterday.isoformat()}
    for arguments, status, reason in REFUSALS:
        filled = tuple(argument.format(**values) for argument in arguments)
        with subtests.test(command=" ".join(filled)):
            result = run_cli(settings, *filled)
            told = re.fullmatch(r"Error: ([^\n]+)\n", result.stderr)  # one line
            assert (result.returncode, result.stdout, told is not None) == (status, "", True), result.stderr
            assert told is not None and reason in told.group(1)
            assert snapshot(engine) == before
