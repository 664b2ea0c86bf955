"""Reading the ledger page by page: every transfer, newest first, filtered, paged by id.

Pages are keyset pages (after ``before``, a transfer's id), never OFFSET: the millionth
transfer's page costs what the first one does. Each filter has an index that yields its
transfers already in the view's order (an account's, on each side; a code's; a period's, by
recorded time), so a page reads about ``limit`` rows whatever the ledger's size.
``browse_chunks`` walks a whole filtered view the same way, for an export that starts at once
and holds a chunk in memory at a time; ``statement`` pages one account's with the balance after
each transfer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, tuple_, union_all
from sqlalchemy.orm import Session

from . import refs
from .errors import UnknownAccount
from .models import accounts_t, transfers_t
from .posting import _posted, _select_transfers, balance
from .values import PostedTransfer, StatementLine

PAGE = 50
CHUNK = 2000
# Index ranges are counted up to COUNT_CAP to pick the one a page is led by; by recorded time,
# one of PLENTY or more rows loses to the recorded-time index itself.
PLENTY = 1000
COUNT_CAP = 50_000


@dataclass(frozen=True, slots=True)
class TransferFilter:
    """Which transfers: any combination; None means any.

    ``reference`` is a transfer's human reference (``7KQ2``: that transfer and the others posted
    for the same cause, e.g. a pickup's commission) or a cause as stored (``pickup:41``).
    ``since`` and ``until`` bound the time the ledger recorded it: ``since <= recorded_at < until``.
    """

    account: str | None = None
    code: str | None = None
    reference: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.account or self.code or self.reference or self.since or self.until)


def _reference_of(session: Session, text: str) -> str:
    """The stored cause a typed reference names: a human ref's own cause, else the text itself."""
    human = refs.normalise(text)
    if human is not None:
        found = (
            session.connection()
            .execute(select(transfers_t.c.reference).where(transfers_t.c.human_ref == human))
            .scalar()
        )
        if found:
            return str(found)
    return text.strip()


def _account_id(session: Session, code: str) -> int:
    found = session.connection().execute(select(accounts_t.c.id).where(accounts_t.c.code == code)).scalar()
    if found is None:
        raise UnknownAccount(code)
    return int(found)


def _by_time(wanted: TransferFilter) -> bool:
    """A period's view is in the order the ledger recorded it (its own index), not by id.

    ``recorded_at`` is the time the poster gave, so it need not follow the ids: scanning by id
    for an old month would read every newer transfer first.
    """
    return wanted.since is not None or wanted.until is not None


def _order(columns: Any, by_time: bool) -> list[Any]:
    return [columns.recorded_at.desc(), columns.id.desc()] if by_time else [columns.id.desc()]


def _count_upto(session: Session, condition: Any, cap: int) -> int:
    """How many transfers match ``condition``, counting no further than ``cap`` (an index range)."""
    probe = select(literal(1)).select_from(transfers_t).where(condition).limit(cap).subquery()
    return int(session.connection().execute(select(func.count()).select_from(probe)).scalar_one())


def _equal(column: Any, value: Any, *, lead: bool) -> Any:
    """``column = value``, written so that its index leads the page or stays out of the way.

    A page reads its rows in the view's order from one index. Planners (SQLite's above all,
    which keeps no statistics here) will pick an equality's index even when it matches nearly
    every transfer (``programme:issuance``, ``pickup_credit``) and sort what they find, reading a
    million rows for 50. ``column + 0`` (or ``|| ''``) is the same test that no index answers.
    """
    if lead:
        return column == value
    return (column.concat("") if isinstance(value, str) else column + 0) == value


def _ids(session: Session, wanted: TransferFilter, before: int | None, limit: int) -> Any:
    """A statement for the page's ids: the newest ``limit`` matching transfers after ``before``
    in the view's order (by id, or for a period by recorded time then id).

    Which index leads: a reference's (a handful of rows); else an account's side or a code that
    is rare (bounded counts say which); else one in the view's order: by id, the account's side
    or the code's (both end in id), by time the recorded-time index, with the rest as filters.
    """
    t = transfers_t
    by_time = _by_time(wanted)
    conditions: list[Any] = []
    if before is not None:
        if by_time:
            at_before = select(t.c.recorded_at).where(t.c.id == before).scalar_subquery()
            conditions.append(tuple_(t.c.recorded_at, t.c.id) < tuple_(at_before, before))
        else:
            conditions.append(t.c.id < before)
    if wanted.reference:
        conditions.append(t.c.reference == _reference_of(session, wanted.reference))
    if wanted.since is not None:
        conditions.append(t.c.recorded_at >= wanted.since)
    if wanted.until is not None:
        conditions.append(t.c.recorded_at < wanted.until)
    # A reference's own index leads (a handful of rows); a code's, by id and alone, needs no count.
    counted = wanted.code and not wanted.reference and (by_time or wanted.account)
    code_count = _count_upto(session, t.c.code == wanted.code, COUNT_CAP) if counted else COUNT_CAP

    def code_test(lead: bool) -> list[Any]:
        return [_equal(t.c.code, wanted.code, lead=lead)] if wanted.code else []

    if not wanted.account:
        # By id, the code's index is in the view's order: it leads however many it matches.
        lead = not wanted.reference and (code_count < PLENTY or not by_time)
        return (
            select(t.c.id).where(*conditions, *code_test(lead)).order_by(*_order(t.c, by_time)).limit(limit)
        )
    account = _account_id(session, wanted.account)
    sides = []
    for side in (t.c.debit_account_id, t.c.credit_account_id):
        side_leads = code_leads = False
        if not wanted.reference:
            side_count = _count_upto(session, side == account, COUNT_CAP)
            # The fewer leads (an account's side, or the code); by time only if it is rare,
            # else the recorded-time index does.
            side_leads = side_count <= code_count and (side_count < PLENTY or not by_time)
            code_leads = code_count < side_count and (code_count < PLENTY or not by_time)
        sides.append(
            select(t.c.id, t.c.recorded_at)
            .where(_equal(side, account, lead=side_leads), *conditions, *code_test(code_leads))
            .order_by(*_order(t.c, by_time))
            .limit(limit)
            .subquery()
        )
    # One index scan per side, each already in the view's order, then the first of both.
    both = union_all(*(select(side.c.id, side.c.recorded_at) for side in sides)).subquery()
    return select(both.c.id).order_by(*_order(both.c, by_time)).limit(limit)


def browse(
    session: Session, wanted: TransferFilter, *, before: int | None = None, limit: int = PAGE
) -> list[PostedTransfer]:
    """Up to ``limit`` transfers matching ``wanted`` after transfer ``before``, newest first (by
    id; a period's by recorded time, then id).

    The next page is ``before=<the last one's id>``. ``UnknownAccount`` if the filter names an
    account that does not exist.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    ids = _ids(session, wanted, before, limit).subquery()
    rows = (
        session.connection()
        .execute(
            _select_transfers()
            .where(transfers_t.c.id.in_(select(ids.c.id)))
            .order_by(*_order(transfers_t.c, _by_time(wanted)))
        )
        .all()
    )
    return [_posted(row) for row in rows]


def browse_chunks(
    session: Session, wanted: TransferFilter, *, chunk: int = CHUNK
) -> Iterator[list[PostedTransfer]]:
    """Every transfer matching ``wanted``, newest first, ``chunk`` at a time (keyset again: each
    chunk is a short query of its own, so nothing holds a cursor open while a slow client reads)."""
    before: int | None = None
    while True:
        found = browse(session, wanted, before=before, limit=chunk)
        if not found:
            return
        yield found
        if len(found) < chunk:
            return
        before = found[-1].id


def _signed_sum_from(session: Session, account_id: int, first_id: int) -> int:
    """Credits minus debits of the account over transfers ``first_id`` and later (each side
    summed along its own index)."""
    t = transfers_t

    def side(column: Any) -> Any:
        return (
            select(func.coalesce(func.sum(t.c.amount), 0))
            .where(column == account_id, t.c.id >= first_id)
            .scalar_subquery()
        )

    return int(session.execute(select(side(t.c.credit_account_id) - side(t.c.debit_account_id))).scalar_one())


def statement(
    session: Session, account: str, *, before: int | None = None, limit: int = PAGE
) -> list[StatementLine]:
    """An account's transfers newest first (keyset pages: ``before`` is the last id shown), each
    with its signed amount and the account's balance right after it. Empty for no such account."""
    account_id = session.execute(select(accounts_t.c.id).where(accounts_t.c.code == account)).scalar()
    if account_id is None:
        return []
    rows = browse(session, TransferFilter(account=account), before=before, limit=limit)
    running = balance(session, account).credit_balance
    if before is not None:
        running -= _signed_sum_from(session, int(account_id), before)
    lines = []
    for transfer in rows:
        signed = transfer.amount if transfer.credit == account else -transfer.amount
        lines.append(StatementLine(transfer, signed, running))
        running -= signed
    return lines
