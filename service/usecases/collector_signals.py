"""A collector's own signals (issue 24): habits no single pickup shows, each a count of theirs out
of how many, against the rate of the other collectors.

- ``round``: pickups of whole kilos. A scale reads 4.3 kg; a collector who writes 5 writes whole
  kilos far more often than their peers.
- ``ghost``: households they registered (``GHOST_AGE`` ago or more) with at most one pickup and
  never a text: registrations that are never seen again.
- ``disputes``: their pickups a household said NO to.
- ``low_rating``: their ratings of 1 or 2 stars.
- ``weigh_gap``: their days at the hub where the scale read less than they logged by more than
  ``WEIGH_GAP_PERCENT``.

A count is unusual above the ``SIGNAL_PERCENTILE`` of a binomial at the peers' rate: with the
peers' 12% of whole kilos, 40 whole kilos in 100 pickups is far beyond chance, 15 is not. No
number is guessed: the rate is the programme's own. A collector with fewer than ``MIN_OUT_OF``
(``MIN_REGISTRATIONS`` of registrations) is not judged (too few to say).

``round`` and ``ghost`` hold pickups (``service.usecases.screening``): a flagged collector's
whole-kilo pickups, and pickups at households they registered that never texted. The others are
shown on the scorecard, for the hub to look into.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import NamedTuple

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from service.models import (
    collections_t,
    disputes_t,
    households_t,
    inbound_t,
    ratings_t,
    weigh_ins_t,
)

WINDOW = timedelta(days=90)
# A registration three weeks old (two or three collection rounds missed) with at most one pickup
# and no text: never seen again.
GHOST_AGE = timedelta(days=21)
MIN_OUT_OF = 10
MIN_REGISTRATIONS = 5  # a collector registers a few households a month: judged from five
MIN_COUNT = 3  # fewer than this is never a habit
KINDS = ("round", "ghost", "disputes", "low_rating", "weigh_gap")
HOLDING = frozenset({"round", "ghost"})
WORDS = {
    "round": "pickups of whole kilos",
    "ghost": "households registered, never seen again",
    "disputes": "pickups disputed",
    "low_rating": "ratings of 1 or 2 stars",
    "weigh_gap": "hub days short of what was logged",
}


class Tally(NamedTuple):
    """One collector's count of a kind out of how many."""

    collector_id: int
    name: str  # the kind
    hits: int
    out_of: int


class Judged(NamedTuple):
    collector_id: int
    name: str
    hits: int
    out_of: int
    limit: int
    flagged: bool
    reason: str


def binomial_limit(n: int, rate: float, p: float) -> int:
    """The smallest k with P(X <= k) >= p/100 for X ~ Binomial(n, rate): more than k is beyond
    the ``p``-th percentile of chance."""
    if rate <= 0:
        return 0
    if rate >= 1:
        return n
    target, total = p / 100, 0.0
    log_q, log_r = math.log1p(-rate), math.log(rate)
    for k in range(n + 1):
        total += math.exp(
            math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_r + (n - k) * log_q
        )
        if total >= target:
            return k
    return n


def judge(tallies: Iterable[Tally], p: float) -> list[Judged]:
    """Each tally against a binomial at the other collectors' rate of the same kind."""
    tallies = list(tallies)
    counts: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for tally in tallies:
        counts[tally.name] += tally.hits
        totals[tally.name] += tally.out_of
    judged = []
    for tally in tallies:
        peers_out_of = totals[tally.name] - tally.out_of
        rate = (counts[tally.name] - tally.hits) / peers_out_of if peers_out_of else 0.0
        limit = binomial_limit(tally.out_of, rate, p)
        enough = MIN_REGISTRATIONS if tally.name == "ghost" else MIN_OUT_OF
        # Too few of theirs, or of their peers' (a programme's only collector): nothing to say.
        flagged = (
            tally.out_of >= enough
            and peers_out_of >= enough
            and tally.hits >= MIN_COUNT
            and tally.hits > limit
        )
        share = tally.hits / tally.out_of if tally.out_of else 0.0
        reason = (
            f"{tally.hits} of {tally.out_of} {WORDS[tally.name]} ({share:.0%}); "
            f"peers {rate:.0%}, unusual above {limit}"
        )
        judged.append(Judged(*tally, limit, flagged, reason[:160]))
    return judged


def tallies(session: Session, now: datetime, local: tzinfo, gap_percent: int) -> list[Tally]:
    """Every collector's tallies of every kind over the last ``WINDOW``."""
    since = now - WINDOW
    found: list[Tally] = []
    credited = collections_t.c.status.in_(("credited", "held"))
    whole = func.sum(case((collections_t.c.grams % 1000 == 0, 1), else_=0))
    rows = session.execute(
        select(collections_t.c.collector_id, func.coalesce(whole, 0), func.count())
        .where(credited, collections_t.c.occurred_at >= since)
        .group_by(collections_t.c.collector_id)
    ).all()
    found += [Tally(int(c), "round", int(k), int(n)) for c, k, n in rows]
    found += _ghosts(session, now)
    rows = session.execute(
        select(collections_t.c.collector_id, func.count(disputes_t.c.id), func.count(collections_t.c.id))
        .select_from(collections_t.outerjoin(disputes_t, disputes_t.c.collection_id == collections_t.c.id))
        .where(collections_t.c.occurred_at >= since)
        .group_by(collections_t.c.collector_id)
    ).all()
    found += [Tally(int(c), "disputes", int(k), int(n)) for c, k, n in rows]
    low = func.sum(case((ratings_t.c.stars <= 2, 1), else_=0))
    rows = session.execute(
        select(ratings_t.c.collector_id, func.coalesce(low, 0), func.count())
        .where(ratings_t.c.rated_at >= since)
        .group_by(ratings_t.c.collector_id)
    ).all()
    found += [Tally(int(c), "low_rating", int(k), int(n)) for c, k, n in rows]
    found += _weigh_gaps(session, now, local, gap_percent)
    return found


def _ghosts(session: Session, now: datetime) -> list[Tally]:
    """Households each collector registered between ``WINDOW`` and ``GHOST_AGE`` ago; those with at
    most one pickup and never a text are never seen again."""
    pickups = (
        select(func.count())
        .where(collections_t.c.household_id == households_t.c.id, collections_t.c.status != "undone")
        .scalar_subquery()
    )
    texted = select(inbound_t.c.id).where(inbound_t.c.sender == households_t.c.phone).exists()
    rows = session.execute(
        select(households_t.c.registered_by, pickups, texted).where(
            households_t.c.registered_by.is_not(None),
            households_t.c.created_at >= now - WINDOW,
            households_t.c.created_at <= now - GHOST_AGE,
        )
    ).all()
    count: Counter[int] = Counter()
    out_of: Counter[int] = Counter()
    for collector_id, pickup_count, has_texted in rows:
        out_of[collector_id] += 1
        count[collector_id] += int(pickup_count <= 1 and not has_texted)
    return [Tally(c, "ghost", count[c], n) for c, n in out_of.items()]


def _weigh_gaps(session: Session, now: datetime, local: tzinfo, gap_percent: int) -> list[Tally]:
    """Each collector's days at the hub (all materials together) against what they logged those
    days: a day short by more than ``gap_percent`` counts."""
    since = now - WINDOW
    weighed: Counter[tuple[int, object]] = Counter()
    for collector_id, day, grams in session.execute(
        select(weigh_ins_t.c.collector_id, weigh_ins_t.c.day, func.sum(weigh_ins_t.c.grams))
        .where(weigh_ins_t.c.day >= since.astimezone(local).date())
        .group_by(weigh_ins_t.c.collector_id, weigh_ins_t.c.day)
    ):
        weighed[(int(collector_id), day)] = int(grams)
    if not weighed:
        return []
    logged: Counter[tuple[int, object]] = Counter()
    for collector_id, occurred_at, grams in session.execute(
        select(collections_t.c.collector_id, collections_t.c.occurred_at, collections_t.c.grams).where(
            collections_t.c.status.in_(("credited", "held")),
            collections_t.c.occurred_at >= since - timedelta(days=1),
        )
    ):
        key = (int(collector_id), occurred_at.astimezone(local).date())
        if key in weighed:
            logged[key] += int(grams)
    count: Counter[int] = Counter()
    out_of: Counter[int] = Counter()
    for (collector_id, day), grams in weighed.items():
        out_of[collector_id] += 1
        count[collector_id] += int(logged[(collector_id, day)] * (100 - gap_percent) > grams * 100)
    return [Tally(c, "weigh_gap", count[c], n) for c, n in out_of.items()]
