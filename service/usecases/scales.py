"""Hub scales and their calibrations (issue 24's "weigh-ins with equipment"): each scale has the
code written on it, and each calibration says when, by whom, on which certificate and until when
its readings hold. A weigh-in names the scale that read it; one on a scale with no calibration
holding that day is flagged (``service.usecases.weighins``). What a buyer or an auditor is shown
of where each kilo was weighed."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from service.models import scale_calibrations_t, scales_t
from service.usecases import CatalogueError

CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,19}")
DEFAULT_VALID_DAYS = 365  # OIML and most weights-and-measures offices re-verify hub scales yearly
MAX_VALID_DAYS = 3 * 365
MAX_AGE_DAYS = 5 * 365  # a certificate older than this is no use to a buyer


class ScaleInfo(NamedTuple):
    id: int
    code: str
    name: str
    location: str | None
    calibrated_on: date | None  # the latest calibration
    valid_until: date | None
    calibrated_by: str | None
    certificate: str | None

    def in_calibration(self, day: date) -> bool:
        """Whether the latest calibration holds on ``day`` (``holds_on`` asks about any of them)."""
        return (
            self.calibrated_on is not None
            and self.valid_until is not None
            and (self.calibrated_on <= day <= self.valid_until)
        )


def _text(value: str | None, what: str, most: int, *, required: bool = True) -> str | None:
    cleaned = " ".join((value or "").split())
    if not cleaned:
        if required:
            raise CatalogueError(f"say the {what}")
        return None
    if len(cleaned) > most:
        raise CatalogueError(f"the {what} is at most {most} characters")
    return cleaned


def add_scale(session: Session, code: str, name: str, location: str | None, now: datetime) -> ScaleInfo:
    """A new scale; ``CatalogueError`` for a code that is not letters, digits and dashes (up to
    20), one already used, or a missing name."""
    wanted = code.strip().upper()
    if not CODE.fullmatch(wanted):
        raise CatalogueError(
            f"a scale's code is up to 20 letters, digits or dashes, like HUB-1, not {code[:24]!r}"
        )
    if session.execute(select(scales_t.c.id).where(scales_t.c.code == wanted)).first() is not None:
        raise CatalogueError(f"there is a scale {wanted} already")
    session.execute(
        scales_t.insert(),
        {
            "code": wanted,
            "name": _text(name, "scale's name", 60),
            "location": _text(location, "location", 80, required=False),
            "created_at": now,
        },
    )
    found = scale(session, wanted)
    assert found is not None
    return found


def calibrate(
    session: Session,
    code: str,
    on: date,
    by: str,
    certificate: str,
    today: date,
    *,
    valid_days: int = DEFAULT_VALID_DAYS,
    now: datetime,
) -> ScaleInfo:
    """Record a calibration of the scale ``code`` on ``on``, holding ``valid_days`` days.
    ``CatalogueError``: no such scale, a day in the future or too long ago, a missing name or
    certificate, or a validity out of range."""
    found = scale(session, code)
    if found is None:
        raise CatalogueError(f"there is no scale {code.strip().upper()[:20]!r}")
    if on > today:
        raise CatalogueError(f"{on.isoformat()} is in the future (today is {today.isoformat()})")
    if on < today - timedelta(days=MAX_AGE_DAYS):
        raise CatalogueError(f"{on.isoformat()} is more than {MAX_AGE_DAYS // 365} years ago")
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise CatalogueError(f"a calibration holds from 1 to {MAX_VALID_DAYS} days, not {valid_days}")
    session.execute(
        scale_calibrations_t.insert(),
        {
            "scale_id": found.id,
            "calibrated_on": on,
            "valid_until": on + timedelta(days=valid_days - 1),
            "calibrated_by": _text(by, "name of who calibrated it", 80),
            "certificate": _text(certificate, "certificate's reference", 80),
            "recorded_at": now,
        },
    )
    refreshed = scale(session, found.code)
    assert refreshed is not None
    return refreshed


def _latest() -> object:
    """Each scale with its latest calibration (by day, then by when it was recorded)."""
    newest = (
        select(
            scale_calibrations_t,
            func.row_number()
            .over(
                partition_by=scale_calibrations_t.c.scale_id,
                order_by=(scale_calibrations_t.c.calibrated_on.desc(), scale_calibrations_t.c.id.desc()),
            )
            .label("n"),
        )
    ).subquery()
    return (
        select(
            scales_t.c.id,
            scales_t.c.code,
            scales_t.c.name,
            scales_t.c.location,
            newest.c.calibrated_on,
            newest.c.valid_until,
            newest.c.calibrated_by,
            newest.c.certificate,
        )
        .outerjoin(newest, and_(newest.c.scale_id == scales_t.c.id, newest.c.n == 1))
        .order_by(scales_t.c.code)
    )


def scales(session: Session) -> list[ScaleInfo]:
    return [ScaleInfo(*row) for row in session.execute(_latest())]  # type: ignore[call-overload]


def scale(session: Session, code: str) -> ScaleInfo | None:
    query = _latest().where(scales_t.c.code == code.strip().upper())  # type: ignore[attr-defined]
    row = session.execute(query).first()
    return None if row is None else ScaleInfo(*row)


def holds_on(session: Session, scale_id: int, day: date) -> bool:
    """Whether any calibration of the scale holds on ``day``."""
    return (
        session.execute(
            select(scale_calibrations_t.c.id).where(
                scale_calibrations_t.c.scale_id == scale_id,
                scale_calibrations_t.c.calibrated_on <= day,
                scale_calibrations_t.c.valid_until >= day,
            )
        ).first()
        is not None
    )
