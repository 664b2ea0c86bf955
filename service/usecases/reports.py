"""The programme's daily records: the ledger's verification, and the operators' summary of a day.

Both are written to tables the dashboard reads (``ledger_checks``, ``daily_summaries``); the
summary is also texted to ``OPERATOR_PHONES``. Each is done once a day by a periodic job that
asks "is it due, and not done yet?", so a scheduler that was down at the hour catches up later
and one that runs twice does nothing the second time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

import ledger
import sms
from service.db import insert_ignoring_conflict
from service.models import (
    collections_t,
    daily_summaries_t,
    disputes_t,
    households_t,
    ledger_checks_t,
    outbox_t,
    payouts_t,
    redemptions_t,
    reminders_t,
)
from service.runtime import Runtime
from service.timetable import at, day_label, local_day
from service.unit_of_work import UnitOfWork
from service.usecases import payout_sending, payouts
from sms.templates import BUDGETS

# Local times: the ledger is checked in the quiet of the night; the summary of a day goes out
# when quiet hours end the morning after.
LEDGER_CHECK_AT = time(2, 0)
SUMMARY_AT = time(7, 0)
# The summary's text, with its cash-out sentence, stays within its template's budget.
SUMMARY_SEGMENTS = BUDGETS["daily_summary"]
# A daily check started this long ago and never finished belongs to a worker that died.
CHECK_ABANDONED = timedelta(hours=2)


# --- the ledger's daily check ----------------------------------------------------------------------


def start_check(session: Session, trigger: str, now: datetime) -> int:
    return int(
        session.execute(
            ledger_checks_t.insert().returning(ledger_checks_t.c.id),
            {"trigger": trigger, "started_at": now},
        ).scalar_one()
    )


def problem_of(report: ledger.VerifyReport) -> str | None:
    """What a failed verification found, and where: "balance mismatch [account member:7]"."""
    if report.ok:
        return None
    where = ", ".join(
        f"{name} {value}"
        for name, value in (
            ("transfer", report.bad_transfer_id),
            ("seq", report.bad_seq),
            ("account", report.bad_account),
        )
        if value is not None
    )
    return f"{report.problem}" + (f" [{where}]" if where else "")


def finish_check(session: Session, check_id: int, report: ledger.VerifyReport, now: datetime) -> None:
    problem = problem_of(report)
    session.execute(
        update(ledger_checks_t)
        .where(ledger_checks_t.c.id == check_id)
        .values(
            finished_at=now, ok=report.ok, transfers=report.count, head_hash=report.head_hash, problem=problem
        )
    )


def check_and_record(
    runtime: Runtime, trigger: str, *, seal: bool = True, workers: int = 1
) -> ledger.VerifyReport:
    """Seal what waits (unless told not to), verify the whole ledger, and record the result in
    ``ledger_checks``, each step a transaction of its own: the daily job, the dashboard's "Verify
    ledger" and the CLI's ``ledger verify`` all come here."""
    check_id = runtime.transact(lambda uow: start_check(uow.session, trigger, uow.now))
    if seal:
        runtime.transact(lambda uow: ledger.seal_all(uow.session))
    report = runtime.transact(lambda uow: ledger.verify(uow.session, workers=workers))
    runtime.transact(lambda uow: finish_check(uow.session, check_id, report, datetime.now(UTC)))
    return report


def daily_check_due(session: Session, now: datetime, local: tzinfo) -> bool:
    """Whether today's check is due: past ``LEDGER_CHECK_AT`` local and none started today that
    finished or may still finish."""
    today = local_day(now, local)
    if now < at(today, LEDGER_CHECK_AT, local):
        return False
    started_today = at(today, time(0), local)
    found = session.execute(
        select(func.count()).where(
            ledger_checks_t.c.trigger == "daily",
            ledger_checks_t.c.started_at >= started_today,
            ledger_checks_t.c.finished_at.is_not(None)
            | (ledger_checks_t.c.started_at > now - CHECK_ABANDONED),
        )
    ).scalar_one()
    return found == 0


@dataclass(frozen=True)
class LastCheck:
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    transfers: int | None
    head_hash: str | None
    problem: str | None

    @property
    def word(self) -> str:
        return "unfinished" if self.ok is None else "OK" if self.ok else "BROKEN"


def last_check(session: Session) -> LastCheck | None:
    row = session.execute(
        select(ledger_checks_t)
        .order_by(ledger_checks_t.c.started_at.desc(), ledger_checks_t.c.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return LastCheck(row.started_at, row.finished_at, row.ok, row.transfers, row.head_hash, row.problem)


# --- the day's summary -----------------------------------------------------------------------------


def figures(session: Session, day: date, local: tzinfo) -> dict[str, Any]:
    """What happened on local ``day``: pickups, points in and out, new members, texts, disputes,
    cash payouts (asked for that day; paid and returned that day, in kobo) and the float last seen."""
    start, end = at(day, time(0), local), at(day + timedelta(days=1), time(0), local)

    def during(column: Any) -> Any:
        return (column >= start) & (column < end)

    pickups, grams, points = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(collections_t.c.grams), 0),
            func.coalesce(func.sum(collections_t.c.points), 0),
        ).where(during(collections_t.c.received_at), collections_t.c.status == "credited")
    ).one()
    redeemed = session.execute(
        select(func.coalesce(func.sum(redemptions_t.c.points), 0)).where(
            during(redemptions_t.c.created_at), redemptions_t.c.status != "refunded"
        )
    ).scalar_one()
    members = session.execute(select(func.count()).where(during(households_t.c.created_at))).scalar_one()
    sent_statuses = ("sent", "delivered")
    failed_statuses = ("failed", "undelivered")
    texts = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((outbox_t.c.status.in_(sent_statuses), 1), else_=0)), 0),
            func.coalesce(func.sum(case((outbox_t.c.status.in_(failed_statuses), 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((outbox_t.c.status.in_(sent_statuses), outbox_t.c.segments), else_=0)), 0
            ),
        ).where(during(outbox_t.c.created_at))
    ).one()
    reminders = session.execute(select(func.count()).where(during(reminders_t.c.created_at))).scalar_one()
    disputes_open = session.execute(select(func.count()).where(disputes_t.c.status == "open")).scalar_one()
    cash_asked = session.execute(select(func.count()).where(during(payouts_t.c.created_at))).scalar_one()

    def cash(*statuses: str) -> int:
        return int(
            session.execute(
                select(func.coalesce(func.sum(payouts_t.c.amount_kobo), 0)).where(
                    during(payouts_t.c.final_at), payouts_t.c.status.in_(statuses)
                )
            ).scalar_one()
        )

    seen = payout_sending.last_float(session)
    check = last_check(session)
    return {
        "day": day.isoformat(),
        "pickups": int(pickups),
        "grams": int(grams),
        "points_issued": int(points),
        "points_redeemed": int(redeemed),
        "new_members": int(members),
        "sms_written": int(texts[0]),
        "sms_sent": int(texts[1]),
        "sms_failed": int(texts[2]),
        "sms_segments": int(texts[3]),
        "reminders": int(reminders),
        "disputes_open": int(disputes_open),
        "ledger": "unchecked" if check is None else check.word,
        "payouts": int(cash_asked),
        "payouts_paid_kobo": cash("paid"),
        "payouts_returned_kobo": cash("failed", "reversed"),
        "float_kobo": None if seen is None else seen[0],
    }


def cash_line(numbers: dict[str, Any]) -> str:
    """The summary's cash-out sentence ("" before the programme's first payout)."""
    asked, paid, returned = numbers["payouts"], numbers["payouts_paid_kobo"], numbers["payouts_returned_kobo"]
    float_kobo = numbers["float_kobo"]
    if not (asked or paid or returned) and float_kobo is None:
        return ""
    line = f" Cash: {asked} payouts, NGN {payouts.naira(paid)} paid, NGN {payouts.naira(returned)} returned."
    if float_kobo is not None:
        line += f" Float NGN {payouts.naira(float_kobo)}."
    return line


def summary_due(session: Session, now: datetime, local: tzinfo) -> date | None:
    """Yesterday (local), once ``SUMMARY_AT`` has passed and until its summary is written."""
    today = local_day(now, local)
    if now < at(today, SUMMARY_AT, local):
        return None
    yesterday = today - timedelta(days=1)
    done = session.execute(
        select(daily_summaries_t.c.day).where(daily_summaries_t.c.day == yesterday)
    ).first()
    return None if done else yesterday


def summarise(uow: UnitOfWork, day: date) -> bool:
    """Write ``day``'s summary and text it to the operators, once: False if it was written before."""
    session, settings, now = uow.session, uow.settings, uow.now
    numbers = figures(session, day, settings.zone)
    written = insert_ignoring_conflict(
        session,
        daily_summaries_t,
        {"day": day, "figures": json.dumps(numbers, sort_keys=True), "created_at": now},
        conflict=("day",),
        returning=daily_summaries_t.c.day,
    )
    if written is None:
        return False
    body = sms.render(
        "daily_summary",
        "EN",
        programme=settings.programme_name,
        date=day_label(day),
        count=numbers["pickups"],
        kg=sms.kg(numbers["grams"]),
        points=numbers["points_issued"],
        redeemed=numbers["points_redeemed"],
        members=numbers["new_members"],
        sent=numbers["sms_sent"],
        failed=numbers["sms_failed"],
        disputes=numbers["disputes_open"],
        ledger=numbers["ledger"],
    )
    cash = cash_line(numbers)
    if sms.segments(body + cash).count <= SUMMARY_SEGMENTS:
        body += cash
    for phone in settings.operator_phones:
        uow.outbox.write(phone, body, language="EN", template="daily_summary", kind="report")
    return True
