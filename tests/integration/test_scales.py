"""Hub scales and their calibrations (issue 24), on real stores: what is refused (and writes
nothing), the latest calibration and whether it holds on a day, and weigh-ins that name their
scale, flagged when no calibration of it held that day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import scale_calibrations_t, scales_t, weigh_ins_t
from service.usecases import CatalogueError, scales
from service.usecases.weighins import WeighInError, comparison, record_weigh_in
from tests.integration import test_weighins as weighins_tests
from tests.integration.test_weighins import D1, D2, LAGOS, NOW, Programme, pickup

programme = weighins_tests.programme  # two collectors, a household, rates and a hub user

TODAY = date(2026, 11, 20)


def count(session: Session, table: object) -> int:
    return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def hub_1(session: Session) -> scales.ScaleInfo:
    return scales.add_scale(session, " hub-1 ", "Platform 300kg", "Yaba hub", NOW)


@pytest.mark.parametrize(
    ("code", "name", "message"),
    [
        ("HUB 1", "Platform", "up to 20 letters, digits or dashes"),
        ("-HUB", "Platform", "up to 20 letters, digits or dashes"),
        ("H" * 21, "Platform", "up to 20 letters, digits or dashes"),
        ("HUB-2", "  ", "say the scale's name"),
        ("HUB-2", "x" * 61, "the scale's name is at most 60"),
        ("hub-1", "Another", "there is a scale HUB-1 already"),
    ],
)
def test_a_scale_that_cannot_be_told_apart_is_refused(
    session: Session, code: str, name: str, message: str
) -> None:
    hub_1(session)
    with pytest.raises(CatalogueError, match=message):
        scales.add_scale(session, code, name, None, NOW)
    assert count(session, scales_t) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "HUB-9"}, "there is no scale 'HUB-9'"),
        ({"on": TODAY + timedelta(days=1)}, "is in the future"),
        ({"on": TODAY - timedelta(days=5 * 365 + 1)}, "more than 5 years ago"),
        ({"by": " "}, "say the name of who calibrated it"),
        ({"certificate": ""}, "say the certificate's reference"),
        ({"valid_days": 0}, "from 1 to 1095 days, not 0"),
        ({"valid_days": 1096}, "from 1 to 1095 days, not 1096"),
    ],
)
def test_a_calibration_without_what_an_auditor_asks_for_is_refused(
    session: Session, changes: dict[str, object], message: str
) -> None:
    hub_1(session)
    asked: dict[str, object] = {"code": "HUB-1", "on": TODAY, "by": "Lagos W&M", "certificate": "LWM-1"}
    asked |= changes
    valid_days = int(asked.pop("valid_days", 365))  # type: ignore[call-overload]
    with pytest.raises(CatalogueError, match=message):
        scales.calibrate(session, today=TODAY, valid_days=valid_days, now=NOW, **asked)  # type: ignore[arg-type]
    assert count(session, scale_calibrations_t) == 0


def test_the_latest_calibration_and_the_days_it_holds(session: Session) -> None:
    assert hub_1(session).in_calibration(TODAY) is False  # never calibrated
    scales.calibrate(session, "HUB-1", date(2025, 11, 1), "Lagos W&M", "LWM-2025-7", TODAY, now=NOW)
    later = scales.calibrate(
        session, "hub-1", date(2026, 11, 1), "Lagos W&M", "LWM-2026-9", TODAY, valid_days=30, now=NOW
    )
    assert (later.calibrated_on, later.valid_until, later.certificate) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
        "LWM-2026-9",
    )
    assert later.in_calibration(date(2026, 11, 30)) and not later.in_calibration(date(2026, 12, 1))
    assert [s.code for s in scales.scales(session)] == ["HUB-1"]
    # Any calibration counts for the day it covered: 2025's held on 2026-10-31.
    assert scales.holds_on(session, later.id, date(2026, 10, 31))
    assert not scales.holds_on(session, later.id, date(2025, 10, 31))


def test_a_weigh_in_names_its_scale_and_one_out_of_calibration_is_flagged(
    session: Session, programme: Programme
) -> None:
    hub_1(session)
    scales.add_scale(session, "HUB-2", "Hanging 50kg", None, NOW)
    scales.calibrate(session, "HUB-1", D1, "Lagos W&M", "LWM-2026-9", TODAY, valid_days=1, now=NOW)  # D1 only
    pickup(session, programme, programme.ade, NOW - timedelta(days=2), PET=10_000)  # D1 (18 Nov)
    pickup(session, programme, programme.ade, NOW - timedelta(days=1), PET=10_000)  # D2
    with pytest.raises(WeighInError, match="no scale 'HUB-9'"):
        record_weigh_in(session, programme.ade.id, D1, "PET", 10_000, None, programme.user_id, NOW,
                        local_zone=LAGOS, scale_code="HUB-9")  # fmt: skip
    assert count(session, weigh_ins_t) == 0
    for day, scale, grams in ((D1, "hub-1", 10_000), (D2, "HUB-1", 5_000), (D2, "HUB-2", 5_000)):
        record_weigh_in(session, programme.ade.id, day, "PET", grams, None, programme.user_id, NOW,
                        local_zone=LAGOS, scale_code=scale)  # fmt: skip
    rows = {row.day: row for row in comparison(session, LAGOS, first_day=D1, last_day=D2, gap_percent=10)}
    assert (rows[D1].flagged, rows[D1].uncalibrated) == (False, ())  # the scale held; 10 kg as logged
    assert (rows[D2].flagged, rows[D2].uncalibrated) == (True, ("HUB-1", "HUB-2"))
    assert {scale_id for (scale_id,) in session.execute(select(weigh_ins_t.c.scale_id))} == {
        scales.scale(session, "HUB-1").id,  # type: ignore[union-attr]
        scales.scale(session, "HUB-2").id,  # type: ignore[union-attr]
    }
