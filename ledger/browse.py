"""Reading the ledger page by page: every transfer, newest first, filtered, paged by id.

Pages are keyset pages (``id < before``), never OFFSET: the millionth transfer's page costs what
the first one does. Each filter has an index that yields its transfers already in id order (an
account's, on each side; a code's; a period's), so a page reads about ``limit`` rows whatever the
ledger's size. ``browse_chunks`` walks a whole filtered view the same way, for an export that starts at
once and holds a chunk in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, union_all
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


def _ids(session: Session, wanted: TransferFilter, before: int | None, limit: int) -> Any:
    """A statement for the ids of the page: the newest ``limit`` matching transfers below ``before``."""
    t = transfers_t
    conditions: list[Any] = []
    if before is not None:
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
        return select(t.c.id).where(*conditions).order_by(t.c.id.desc()).limit(limit)
    account = _account_id(session, wanted.account)
    # One index scan per side, each already newest first, then the newest of both.
    sides = [
        select(t.c.id.label("id")).where(side == account, *conditions).order_by(t.c.id.desc()).limit(limit)
        for side in (t.c.debit_account_id, t.c.credit_account_id)
    ]
    both = union_all(*(select(side.subquery().c.id) for side in sides)).subquery()
    return select(both.c.id).order_by(both.c.id.desc()).limit(limit)


def browse(
    session: Session, wanted: TransferFilter, *, before: int | None = None, limit: int = PAGE
) -> list[PostedTransfer]:
    """Up to ``limit`` transfers matching ``wanted`` with ids below ``before``, newest first.

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
            .order_by(transfers_t.c.id.desc())
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
