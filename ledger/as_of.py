"""Balances as of a past moment: a sequence number of the chain, or a time; and what is left,
first in first out, of the credits before a time (what expires).

The sealer records every account's running totals with each link, so a balance at link ``seq`` is
one look-up; one at a time adds what was recorded by then but sealed later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, union_all
from sqlalchemy.orm import Session

from .errors import UnknownAccount
from .models import accounts_t, balances_t, chain_t, pending_t, transfers_t
from .values import Balance


def _last_link_totals() -> Any:
    """Built once: an account's last link on either side at or before a sequence number (two
    index seeks into the running totals, one round trip)."""
    sides = (
        (chain_t.c.debit_account_id, chain_t.c.debit_side_debits, chain_t.c.debit_side_credits),
        (chain_t.c.credit_account_id, chain_t.c.credit_side_debits, chain_t.c.credit_side_credits),
    )
    last_links = [
        select(chain_t.c.seq, debits.label("debits"), credits.label("credits"))
        .where(account == bindparam("account_id"), chain_t.c.seq <= bindparam("seq"))
        .order_by(chain_t.c.seq.desc())
        .limit(1)
        .subquery()
        for account, debits, credits in sides
    ]
    return union_all(*(select(link) for link in last_links))


_LAST_LINK_TOTALS = _last_link_totals()
_ACCOUNT_BY_CODE = select(accounts_t.c.id).where(accounts_t.c.code == bindparam("code"))


def _totals_at_seq(session: Session, code: str, seq: int) -> tuple[int, int, int]:
    """(account id, debits, credits) as of link ``seq``."""
    db = session.connection()
    account_id = db.execute(_ACCOUNT_BY_CODE, {"code": code}).scalar()
    if account_id is None:
        raise UnknownAccount(code)
    rows = db.execute(_LAST_LINK_TOTALS, {"account_id": account_id, "seq": seq}).all()
    latest = max(rows, key=lambda row: row[0], default=None)
    return (int(account_id), 0, 0) if latest is None else (int(account_id), int(latest[1]), int(latest[2]))


def balance_at(session: Session, code: str, *, seq: int | None = None, at: datetime | None = None) -> Balance:
    """The balance of an account as of sequence number ``seq``, or as of the time ``at``.

    As of a time it counts the transfers recorded at or before it: those sealed by then (two index
    seeks into the running totals), plus the few recorded by then but sealed after (the seal lag).
    """
    if (seq is None) == (at is None):
        raise ValueError("give exactly one of seq or at")
    if seq is not None:
        _, debits, credits = _totals_at_seq(session, code, seq)
        return Balance(debits, credits)
    assert at is not None
    sealed_by = (
        session.connection()
        .execute(select(func.max(chain_t.c.seq)).where(chain_t.c.sealed_at <= at))
        .scalar()
        or 0
    )
    account_id, debits, credits = _totals_at_seq(session, code, sealed_by)
    # Recorded by then but sealed after (or not yet): this account's later links, and what waits.
    mine = (chain_t.c.debit_account_id == account_id) | (chain_t.c.credit_account_id == account_id)
    later = select(chain_t.c.transfer_id).where(mine, chain_t.c.seq > sealed_by)
    waiting = select(pending_t.c.transfer_id)
    late = select(transfers_t.c.debit_account_id, transfers_t.c.amount).where(
        transfers_t.c.id.in_(union_all(later, waiting)),
        (transfers_t.c.debit_account_id == account_id) | (transfers_t.c.credit_account_id == account_id),
        transfers_t.c.recorded_at <= at,
    )
    for debit_account_id, amount in session.connection().execute(late):
        if debit_account_id == account_id:
            debits += amount
        else:
            credits += amount
    return Balance(debits, credits)


# The chain walk reads every transfer once: plain SQL on the driver's cursor (server-side on
# PostgreSQL), times as integer microseconds, so verify runs at the speed of hashing.


def unspent_before(
    session: Session, kind: str, before: datetime, *, codes: Iterable[str] | None = None, lock: bool = False
) -> dict[str, int]:
    """First in, first out: what is left of each account's credits that occurred before ``before``,
    after every debit posted so far (a debit spends the oldest credits first). Accounts of ``kind``
    (or only ``codes``, each read through its own index) with something left; one query.

    ``lock`` (with ``codes``): first take the accounts' limit rows, as a posting against them does,
    so no debit lands between this answer and what the caller posts on it (PostgreSQL)."""
    accounts = select(accounts_t.c.id).where(accounts_t.c.kind == kind)
    if codes is not None:
        accounts = accounts.where(accounts_t.c.code.in_(sorted(set(codes))))
        if lock:
            session.connection().execute(
                select(balances_t.c.account_id)
                .where(balances_t.c.account_id.in_(accounts.scalar_subquery()), balances_t.c.slot == 0)
                .with_for_update()
            )
    mine = accounts.scalar_subquery()
    early = (
        select(
            transfers_t.c.credit_account_id.label("account_id"),
            func.sum(transfers_t.c.amount).label("credits"),
        )
        .where(transfers_t.c.occurred_at < before, transfers_t.c.credit_account_id.in_(mine))
        .group_by(transfers_t.c.credit_account_id)
        .subquery()
    )
    spent = (
        select(balances_t.c.account_id, func.sum(balances_t.c.debits).label("debits"))
        .where(balances_t.c.account_id.in_(mine))
        .group_by(balances_t.c.account_id)
        .subquery()
    )
    left = early.c.credits - func.coalesce(spent.c.debits, 0)
    query = (
        select(accounts_t.c.code, left)
        .join(early, early.c.account_id == accounts_t.c.id)
        .outerjoin(spent, spent.c.account_id == accounts_t.c.id)
        .where(left > 0)
    )
    return {code: int(points) for code, points in session.connection().execute(query)}
