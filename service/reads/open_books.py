"""The open books (issue 23): what anyone may see of the programme without signing in. Totals
only (households, kilos by material, points issued, redeemed, owed and expired), the ledger's head now
and as the daily check published it each day, and how to check a receipt. Never a name, a
phone, a member code or a single household's figure."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from service.accounts import BREAKAGE
from service.models import collection_lines_t, collections_t, households_t, ledger_checks_t
from service.usecases import votes

HISTORY_DAYS = 90


class PublishedHead(NamedTuple):
    """The head the daily check verified and published for a day."""

    day: date
    transfers: int
    hash: str
    verified: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "transfers": self.transfers,
            "hash": self.hash,
            "verified": self.verified,
        }


class OpenBooks(NamedTuple):
    households: int
    kilos: tuple[tuple[str, int], ...]  # (material, grams), most first
    points_credited: int  # every credit to a household's account: pickups, adjustments, refunds
    points_debited: int  # every debit: rewards, cash-outs, reversals
    points_owed: int  # what households hold now
    points_expired: int  # in the breakage account (POINTS_EXPIRE_MONTHS), less any given back
    head: ledger.Head
    pending: int
    published: tuple[PublishedHead, ...]  # newest first
    votes: tuple[votes.Result, ...]  # the latest, newest first; an open one's count only

    def as_json(self, local: tzinfo, now: datetime) -> dict[str, Any]:
        sealed_at = self.head.sealed_at.astimezone(local).isoformat() if self.head.sealed_at else None
        return {
            "households": self.households,
            "kg_by_material": {material: grams / 1000 for material, grams in self.kilos},
            "household_points": {
                "credited": self.points_credited,
                "debited": self.points_debited,
                "owed": self.points_owed,
                "expired": self.points_expired,
            },
            "ledger": {
                "head": {"count": self.head.count, "hash": self.head.hash, "sealed_at": sealed_at},
                "pending": self.pending,
                "published": [row.as_json() for row in self.published],
            },
            "votes": [vote_json(result, local, now) for result in self.votes],
        }


def vote_json(result: votes.Result, local: tzinfo, now: datetime) -> dict[str, Any]:
    """A vote as anyone may see it: while it is open, how many have voted but not for what."""
    vote = result.vote
    shown: dict[str, Any] = {
        "question": vote.question,
        "options": list(vote.options),
        "opened": vote.opened_at.astimezone(local).date().isoformat(),
        "open": vote.is_open(now),
        "votes": result.total,
    }
    if vote.is_open(now):
        shown["last_day"] = vote.last_date(local).isoformat()
    else:
        shown["closed"] = vote.last_date(local).isoformat()
        shown["result"] = dict(zip(vote.options, result.counts, strict=True))
    return shown


def open_books(session: Session, local: tzinfo, *, days: int = HISTORY_DAYS) -> OpenBooks:
    households = session.execute(
        select(func.count()).select_from(households_t).where(households_t.c.member_code.is_not(None))
    ).scalar_one()
    kilos = session.execute(
        select(collection_lines_t.c.material_code, func.sum(collection_lines_t.c.grams))
        .join(collections_t, collections_t.c.id == collection_lines_t.c.collection_id)
        .where(collections_t.c.status == "credited")
        .group_by(collection_lines_t.c.material_code)
    ).all()
    members = ledger.kind_balance(session, "member")
    return OpenBooks(
        int(households),
        tuple(sorted(((code, int(grams)) for code, grams in kilos), key=lambda row: (-row[1], row[0]))),
        int(members.credits),
        int(members.debits),
        int(members.credits - members.debits),
        ledger.balance(session, BREAKAGE).credit_balance,
        ledger.head(session),
        ledger.pending_count(session),
        _published(session, local, days),
        tuple(votes.results(session)),
    )


def _published(session: Session, local: tzinfo, days: int) -> tuple[PublishedHead, ...]:
    """Each day's last daily check that finished, newest first."""
    rows = session.execute(
        select(
            ledger_checks_t.c.finished_at,
            ledger_checks_t.c.transfers,
            ledger_checks_t.c.head_hash,
            ledger_checks_t.c.ok,
        )
        .where(
            ledger_checks_t.c.trigger == "daily",
            ledger_checks_t.c.finished_at.is_not(None),
            ledger_checks_t.c.head_hash.is_not(None),
        )
        .order_by(ledger_checks_t.c.finished_at.desc())
        .limit(days * 2)
    ).all()
    by_day: dict[date, PublishedHead] = {}
    for finished_at, transfers, head_hash, ok in rows:
        day = _day(finished_at, local)
        if day not in by_day:
            by_day[day] = PublishedHead(day, int(transfers or 0), head_hash, bool(ok))
    return tuple(list(by_day.values())[:days])


def _day(moment: datetime, local: tzinfo) -> date:
    return moment.astimezone(local).date()
