"""``ledger.unspent_before``: what is left of each account's credits before a time, first in first
out, against a model of lots, for random credits and debits on the store under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

import ledger

ISSUANCE = "test:issuance"
SPENT = "test:spent"
MEMBERS = ("member:U1", "member:U2")
T0 = datetime(2026, 1, 1, tzinfo=UTC)

# (member index, +credit or -debit, days after T0)
MOVES = st.lists(
    st.tuples(st.integers(0, 1), st.integers(-50, 80).filter(bool), st.integers(0, 90)), max_size=25
)


def fifo_left(moves: list[tuple[str, int, datetime]], before: datetime) -> dict[str, int]:
    """The model: each credit a lot dated when it occurred; all the debits spend the oldest lots
    first (a credit that came in late, dated earlier, is among the oldest)."""
    left = {}
    for code in MEMBERS:
        lots = sorted((when, amount) for member, amount, when in moves if member == code and amount > 0)
        spent = -sum(amount for member, amount, _ in moves if member == code and amount < 0)
        kept = 0
        for when, amount in lots:
            taken = min(spent, amount)
            spent -= taken
            if when < before:
                kept += amount - taken
        if kept:
            left[code] = kept
    return left


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=MOVES, cut=st.integers(0, 95))
def test_unspent_before_is_first_in_first_out(
    session: Session, moves: list[tuple[int, int, int]], cut: int
) -> None:
    with session.begin_nested() as savepoint:
        ledger.open_account(session, ISSUANCE, "test")
        ledger.open_account(session, SPENT, "test")
        for code in MEMBERS:
            ledger.open_account(session, code, "member", no_overdraft=True)
        done: list[tuple[str, int, datetime]] = []
        balance = dict.fromkeys(MEMBERS, 0)
        for index, (member, amount, days) in enumerate(moves):
            code, when = MEMBERS[member], T0 + timedelta(days=days)
            if amount < 0 and balance[code] < -amount:
                continue  # the ledger would refuse it: the model skips it too
            debit, credit = (ISSUANCE, code) if amount > 0 else (code, SPENT)
            ledger.post(
                session,
                ledger.TransferRequest(
                    debit, credit, abs(amount), "test", f"unspent:{index}", occurred_at=when
                ),
                now=when,
            )
            balance[code] += amount
            done.append((code, amount, when))
        before = T0 + timedelta(days=cut)
        found = ledger.unspent_before(session, "member", before)
        assert {code: points for code, points in found.items() if code in MEMBERS} == fifo_left(done, before)
        assert ledger.unspent_before(session, "member", before, codes=[MEMBERS[0]]) == {
            code: points for code, points in fifo_left(done, before).items() if code == MEMBERS[0]
        }
        savepoint.rollback()
