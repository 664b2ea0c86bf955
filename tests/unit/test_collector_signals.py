"""A collector's own signals (``service.usecases.collector_signals``), pure: the binomial limit
checked against the exact binomial (``math.comb`` on fractions, not the module's ``lgamma``), and
``judge``: a collector far above their peers is flagged with the counts in words, one at the
peers' rate is not, too few to say is never flagged, and each collector is judged against the
*other* collectors' rate of the same kind."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from service.usecases.collector_signals import (
    KINDS,
    MIN_COUNT,
    MIN_OUT_OF,
    MIN_REGISTRATIONS,
    WORDS,
    Judged,
    Tally,
    binomial_limit,
    judge,
)

P = 99.5
# The module sums float terms; the exact sum may sit a rounding error either side of p/100.
SLACK = Fraction(1, 10**9)

rates = st.floats(0, 1, allow_nan=False)
percentiles = st.floats(0.5, 99.99, allow_nan=False)


def cdf(n: int, rate: float, k: int) -> Fraction:
    """P(X <= k) for X ~ Binomial(n, rate), exactly (0 for k < 0)."""
    r = Fraction(rate)
    return sum((math.comb(n, i) * r**i * (1 - r) ** (n - i) for i in range(k + 1)), Fraction(0))


def _one(judged: list[Judged], collector_id: int, name: str) -> Judged:
    (found,) = [j for j in judged if j.collector_id == collector_id and j.name == name]
    return found


# --- binomial_limit ------------------------------------------------------------------------------


@given(st.integers(0, 3000), rates, percentiles)
def test_the_limit_is_a_count_of_at_most_n(n: int, rate: float, p: float) -> None:
    assert 0 <= binomial_limit(n, rate, p) <= n


@given(st.integers(0, 40), rates, percentiles)
def test_the_limit_is_the_smallest_count_at_or_past_the_percentile(n: int, rate: float, p: float) -> None:
    limit = binomial_limit(n, rate, p)
    target = Fraction(p) / 100
    assert cdf(n, rate, limit) >= target - SLACK
    assert cdf(n, rate, limit - 1) < target + SLACK


def test_the_limit_on_known_binomials() -> None:
    # Binomial(10, 0.5): P(X <= 7) = 968/1024 = 0.945, P(X <= 8) = 1013/1024 = 0.989.
    assert binomial_limit(10, 0.5, 94) == 7
    assert binomial_limit(10, 0.5, 95) == 8
    assert binomial_limit(10, 0.5, 99.5) == 9
    # The module's own example: at the peers' 12%, 15 whole kilos in 100 is chance, 40 is not.
    limit = binomial_limit(100, 0.12, P)
    assert 15 <= limit < 40
    assert cdf(100, 0.12, limit) >= Fraction(P) / 100 > cdf(100, 0.12, limit - 1)


@given(st.integers(0, 500), rates, rates, percentiles)
def test_the_limit_rises_with_the_rate(n: int, a: float, b: float, p: float) -> None:
    low, high = sorted((a, b))
    assert binomial_limit(n, low, p) <= binomial_limit(n, high, p)


@given(st.integers(0, 500), rates, percentiles, percentiles)
def test_the_limit_rises_with_the_percentile(n: int, rate: float, a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert binomial_limit(n, rate, low) <= binomial_limit(n, rate, high)


@given(st.integers(0, 3000), percentiles)
def test_a_rate_of_nothing_allows_nothing_and_a_certainty_everything(n: int, p: float) -> None:
    assert binomial_limit(n, 0.0, p) == 0
    assert binomial_limit(n, 1.0, p) == n


# --- judge --------------------------------------------------------------------------------------


def test_a_collector_far_above_their_peers_is_flagged_with_the_counts_in_words() -> None:
    tallies = [Tally(1, "round", 40, 100), Tally(2, "round", 12, 100), Tally(3, "round", 12, 100)]
    judged = judge(tallies, P)
    cheat = _one(judged, 1, "round")
    limit = binomial_limit(100, 0.12, P)  # the peers' 24 of 200
    assert cheat.limit == limit and cheat.flagged
    assert cheat.reason == f"40 of 100 pickups of whole kilos (40%); peers 12%, unusual above {limit}"
    # The honest two, each at the peers' rate, are not.
    assert [j.flagged for j in judged if j.collector_id != 1] == [False, False]
    assert (cheat.collector_id, cheat.name, cheat.hits, cheat.out_of) == (1, "round", 40, 100)


@given(st.sampled_from(KINDS), st.integers(1, 9), st.integers(2, 10), st.integers(1, 8), st.integers(1, 8))
def test_a_collector_at_their_peers_rate_is_not_flagged(
    kind: str, hits: int, per: int, theirs: int, peers: int
) -> None:
    # A rate of hits/per: the collector has theirs*per, two peers share peers*per between them.
    hits = min(hits, per)
    mine = Tally(1, kind, hits * theirs, per * theirs)
    others = [Tally(2, kind, hits * peers, per * peers), Tally(3, kind, hits * peers, per * peers)]
    judged = _one(judge([mine, *others], P), 1, kind)
    assert judged.hits <= judged.limit and not judged.flagged


def test_a_lone_cheat_does_not_raise_the_rate_they_are_judged_against() -> None:
    # 60 whole kilos in 300 against a peer's 1 in 50 (2%). Counted in with their own 60, the rate
    # would be 61/350 (17%) and 60 would be within chance.
    cheat, peer = Tally(1, "round", 60, 300), Tally(2, "round", 1, 50)
    assert binomial_limit(300, 61 / 350, P) >= 60  # what judging against everyone would allow
    judged = _one(judge([cheat, peer], P), 1, "round")
    assert judged.limit == binomial_limit(300, 1 / 50, P) < 60
    assert judged.flagged and "peers 2%" in judged.reason
    # The peer, in turn, is judged against the cheat's 20%: their 1 in 50 is nothing.
    honest = _one(judge([cheat, peer], P), 2, "round")
    assert honest.limit == binomial_limit(50, 60 / 300, P) and not honest.flagged


tallies_st = st.lists(
    st.builds(
        lambda c, kind, hits, extra: Tally(c, kind, hits, hits + extra),
        st.integers(1, 6),
        st.sampled_from(KINDS),
        st.integers(0, 60),
        st.integers(0, 200),
    ),
    max_size=14,
    unique_by=lambda t: (t.collector_id, t.name),
)


@given(tallies_st, percentiles)
def test_each_tally_is_judged_against_the_other_collectors_of_its_kind(
    tallies: list[Tally], p: float
) -> None:
    judged = judge(tallies, p)
    assert [tuple(j[:4]) for j in judged] == [tuple(t) for t in tallies]
    for tally, found in zip(tallies, judged, strict=True):
        others = [t for t in tallies if t.name == tally.name and t.collector_id != tally.collector_id]
        out_of = sum(t.out_of for t in others)
        rate = sum(t.hits for t in others) / out_of if out_of else 0.0
        assert found.limit == binomial_limit(tally.out_of, rate, p)
        enough = MIN_REGISTRATIONS if tally.name == "ghost" else MIN_OUT_OF
        assert found.flagged == (
            tally.out_of >= enough
            and out_of >= enough
            and tally.hits >= MIN_COUNT
            and tally.hits > found.limit
        )
        assert found.reason.startswith(f"{tally.hits} of {tally.out_of} {WORDS[tally.name]} (")
        assert len(found.reason) <= 160


def _honest(kind: str) -> list[Tally]:
    """Peers who never: a rate of 0, so any hits are beyond chance."""
    return [Tally(2, kind, 0, 500), Tally(3, kind, 0, 500)]


def test_too_few_pickups_are_never_judged() -> None:
    for kind in ("round", "disputes", "low_rating", "weigh_gap"):
        few = _one(judge([Tally(1, kind, MIN_OUT_OF - 1, MIN_OUT_OF - 1), *_honest(kind)], P), 1, kind)
        assert few.limit == 0 and not few.flagged, kind
        enough = _one(judge([Tally(1, kind, MIN_OUT_OF, MIN_OUT_OF), *_honest(kind)], P), 1, kind)
        assert enough.flagged, kind
    # Registrations: judged from MIN_REGISTRATIONS (fewer than MIN_OUT_OF).
    few = _one(
        judge([Tally(1, "ghost", MIN_REGISTRATIONS - 1, MIN_REGISTRATIONS - 1), *_honest("ghost")], P),
        1,
        "ghost",
    )
    assert not few.flagged
    enough = _one(
        judge([Tally(1, "ghost", MIN_REGISTRATIONS, MIN_REGISTRATIONS), *_honest("ghost")], P), 1, "ghost"
    )
    assert enough.flagged
    # ... and only registrations: five whole kilos of five pickups are too few to say.
    assert not _one(judge([Tally(1, "round", 5, 5), *_honest("round")], P), 1, "round").flagged


@given(st.sampled_from(KINDS), st.integers(0, MIN_COUNT - 1), st.integers(MIN_OUT_OF, 2000))
def test_fewer_than_min_count_hits_are_never_a_habit(kind: str, hits: int, out_of: int) -> None:
    judged = _one(judge([Tally(1, kind, hits, out_of), *_honest(kind)], P), 1, kind)
    assert not judged.flagged


def test_min_count_hits_against_peers_who_never_are_a_habit() -> None:
    judged = _one(judge([Tally(1, "disputes", MIN_COUNT, 200), *_honest("disputes")], P), 1, "disputes")
    assert judged.flagged and judged.reason.startswith(f"{MIN_COUNT} of 200 pickups disputed")


def test_kinds_are_judged_apart() -> None:
    # Peers who round often do not excuse disputes.
    tallies = [
        Tally(1, "disputes", 20, 100),
        Tally(2, "round", 80, 100),
        Tally(2, "disputes", 0, 100),
        Tally(3, "round", 80, 100),
        Tally(3, "disputes", 0, 100),
    ]
    judged = _one(judge(tallies, P), 1, "disputes")
    assert judged.limit == 0 and judged.flagged


def test_a_collector_without_enough_peers_is_not_judged() -> None:
    """A programme's only collector (or one whose peers have logged next to nothing) has no
    rate to be judged against: nothing is flagged, whatever their share."""
    alone = _one(judge([Tally(1, "round", 30, 30)], P), 1, "round")
    assert not alone.flagged
    few_peers = judge([Tally(1, "round", 30, 30), Tally(2, "round", 0, MIN_OUT_OF - 1)], P)
    assert not _one(few_peers, 1, "round").flagged
    enough_peers = judge([Tally(1, "round", 30, 30), Tally(2, "round", 0, MIN_OUT_OF)], P)
    assert _one(enough_peers, 1, "round").flagged
