"""Reading the ledger page by page: every transfer, newest first, filtered, paged by id.

Pages are keyset pages (after ``before``, a transfer's id), never OFFSET: the millionth
transfer's page costs what the first one does. Each filter has an index that yields its
transfers already in the view's order (an account's, on each side; a code's; a period's, by
recorded time), so a page reads about ``limit`` rows whatever the ledger's size.
``browse_chunks`` walks a whole filtered view the same way, for an export that starts at once
and holds a chunk in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, union_all
from sqlalchemy.orm import Session

from . import refs
from .errors import UnknownAccount
from .models import accounts_t, transfers_t
from .posting import _posted, _select_transfers
from .values import PostedTransfer

PAGE = 50
CHUNK = 2000


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


def _ids(session: Session, wanted: TransferFilter, before: int | None, limit: int) -> Any:
    """A statement for the page's ids: the newest ``limit`` matching transfers after ``before``
    in the view's order (by id, or for a period by recorded time then id)."""
    t = transfers_t
    by_time = _by_time(wanted)
    conditions: list[Any] = []
    if before is not None:
        if by_time:
            at_before = select(t.c.recorded_at).where(t.c.id == before).scalar_subquery()
            conditions.append(tuple_(t.c.recorded_at, t.c.id) < tuple_(at_before, before))
        else:
            conditions.append(t.c.id < before)
    if wanted.code:
        conditions.append(t.c.code == wanted.code)
    if wanted.reference:
        conditions.append(t.c.reference == _reference_of(session, wanted.reference))
    if wanted.since is not None:
        conditions.append(t.c.recorded_at >= wanted.since)
    if wanted.until is not None:
        conditions.append(t.c.recorded_at < wanted.until)
    if not wanted.account:
        return select(t.c.id).where(*conditions).order_by(*_order(t.c, by_time)).limit(limit)
    account = _account_id(session, wanted.account)
    # One index scan per side, each already in the view's order, then the first of both.
    sides = [
        select(t.c.id, t.c.recorded_at)
        .where(side == account, *conditions)
        .order_by(*_order(t.c, by_time))
        .limit(limit)
        .subquery()
        for side in (t.c.debit_account_id, t.c.credit_account_id)
    ]
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
