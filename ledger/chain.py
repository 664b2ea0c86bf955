"""Tamper evidence: a SHA-256 hash chain over every transfer, sealed in sequence order.

Postings never wait for the chain: each committed transfer is left in ``ledger_pending`` by the
database's trigger, and ``seal`` (run every few seconds by a job, one sealer at a time) gives the
waiting transfers their sequence numbers, links each to the previous hash and records every
account's running totals. So the head (count + hash) trails the last commit by seconds, and no
posting ever takes a global lock.

Link ``n`` is ``SHA-256(hash[n-1] || canonical(transfer n))``, the hash before the first being 32
zero bytes. ``canonical`` is compact JSON of the transfer's own fields, with account codes rather
than internal ids and times as integer microseconds since the epoch in UTC, so that anyone holding
an export of the transfers in sequence order can recompute the head without this code.

Balances as of a past moment are ``as_of``; checking the chain and the balances is
``verification`` (its segments walked by ``walk``).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from .errors import UnknownAccount
from .models import accounts_t, chain_t, pending_t, totals_t, transfers_t
from .values import Head, SealResult

GENESIS = bytes(32)
SEAL_BATCH = 5000
# Any constant: it names the sealer's advisory lock on PostgreSQL.
SEAL_LOCK_KEY = 0x4B4F4C4B  # 32 bits: the two-key form of the lock

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(value: datetime) -> int:
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# Compact JSON with non-ASCII kept as is: what json.dumps(list, ensure_ascii=False,
# separators=(",", ":")) writes, built by hand because verify builds it a million times.
_quote = json.encoder.encode_basestring
_FORM = "[%d,%d,%s,%s,%s,%d,%s,%s,%s,%s,%d,%d,%s,%s]"


def _payload(
    seq: int,
    transfer_id: int,
    human_ref: str,
    debit_code: str,
    credit_code: str,
    amount: int,
    code: str,
    reference: str,
    memo: str,
    actor: str,
    occurred_us: int,
    recorded_us: int,
    idempotency_key: str,
    reverses_id: int | None,
) -> bytes:
    """The canonical form, field by field: the one definition the sealer and verify share."""
    return (
        _FORM
        % (
            seq,
            transfer_id,
            _quote(human_ref),
            _quote(debit_code),
            _quote(credit_code),
            amount,
            _quote(code),
            _quote(reference),
            _quote(memo),
            _quote(actor),
            occurred_us,
            recorded_us,
            _quote(idempotency_key),
            "null" if reverses_id is None else str(reverses_id),
        )
    ).encode()


def canonical(seq: int, row: Any, debit_code: str, credit_code: str) -> bytes:
    """The bytes a link hashes: the transfer's own content and its place in the sequence."""
    return _payload(
        seq,
        row.id,
        row.human_ref,
        debit_code,
        credit_code,
        row.amount,
        row.code,
        row.reference,
        row.memo,
        row.actor,
        _micros(row.occurred_at),
        _micros(row.recorded_at),
        row.idempotency_key,
        row.reverses_id,
    )


def link_hash(previous: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(previous + payload).digest()


def head(session: Session) -> Head:
    row = (
        session.connection()
        .execute(
            select(chain_t.c.seq, chain_t.c.hash, chain_t.c.sealed_at).order_by(chain_t.c.seq.desc()).limit(1)
        )
        .first()
    )
    if row is None:
        return Head(0, GENESIS.hex(), None)
    return Head(row.seq, row.hash, row.sealed_at)


def pending_count(session: Session) -> int:
    return int(session.connection().execute(select(func.count()).select_from(pending_t)).scalar_one())


def _take_sealer_lock(session: Session) -> bool:
    """One sealer at a time per ledger. SQLite's write lock already serialises; PostgreSQL takes an
    advisory lock named by the schema too, so ledgers in other schemas of one database never wait."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(
        session.connection()
        .execute(
            text("SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema()))"), {"k": SEAL_LOCK_KEY}
        )
        .scalar_one()
    )


# PostgreSQL: every touched account's totals in one statement (arrays), not one per account.
_PG_UPSERT_TOTALS = text(
    """
    INSERT INTO ledger_sealed_totals AS t (account_id, seq, debits, credits)
    SELECT * FROM unnest(CAST(:account_id AS integer[]), CAST(:seq AS bigint[]),
                         CAST(:debits AS bigint[]), CAST(:credits AS bigint[]))
    ON CONFLICT (account_id)
    DO UPDATE SET seq = EXCLUDED.seq, debits = EXCLUDED.debits, credits = EXCLUDED.credits
    """
)


def _upsert_totals(session: Session, rows: list[dict[str, int]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        columns = {name: [row[name] for row in rows] for name in ("account_id", "seq", "debits", "credits")}
        session.connection().execute(_PG_UPSERT_TOTALS, columns)
        return
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    statement = sqlite_insert(totals_t)
    statement = statement.on_conflict_do_update(
        index_elements=[totals_t.c.account_id],
        set_={
            "seq": statement.excluded.seq,
            "debits": statement.excluded.debits,
            "credits": statement.excluded.credits,
        },
    )
    session.connection().execute(statement, rows)


_LINK_COLUMNS = {
    "seq": "bigint",
    "transfer_id": "bigint",
    "hash": "varchar",
    "debit_account_id": "integer",
    "credit_account_id": "integer",
    "debit_side_debits": "bigint",
    "debit_side_credits": "bigint",
    "credit_side_debits": "bigint",
    "credit_side_credits": "bigint",
}
# PostgreSQL: thousands of links in one statement (arrays); a plain executemany sends one each.
_PG_INSERT_LINKS = text(
    f"""
    INSERT INTO ledger_chain ({", ".join(_LINK_COLUMNS)}, sealed_at)
    SELECT *, CAST(:sealed_at AS timestamptz) FROM unnest(
        {", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _LINK_COLUMNS.items())})
    """
)


def _insert_links(session: Session, links: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        columns = {name: [link[name] for link in links] for name in _LINK_COLUMNS}
        session.connection().execute(_PG_INSERT_LINKS, {**columns, "sealed_at": links[0]["sealed_at"]})
        return
    session.connection().execute(insert(chain_t), links)


def seal(session: Session, *, limit: int = SEAL_BATCH, now: datetime | None = None) -> SealResult:
    """Chain up to ``limit`` committed transfers that wait in ``ledger_pending``. Caller commits.

    Safe to run from several workers at once: a second sealer finds the lock taken and returns.
    """
    if not _take_sealer_lock(session):
        return SealResult(0, head(session), pending_count(session))
    top = head(session)
    db = session.connection()
    # One query: the first waiting transfers, each with its accounts' codes and their totals as
    # of the last seal (by key: index look-ups, whatever the size of the ledger).
    waiting = select(pending_t.c.transfer_id).order_by(pending_t.c.transfer_id).limit(limit).subquery()
    debit, credit = accounts_t.alias("debit"), accounts_t.alias("credit")
    debit_sealed, credit_sealed = totals_t.alias("debit_sealed"), totals_t.alias("credit_sealed")
    rows = db.execute(
        select(
            transfers_t,
            debit.c.code.label("debit_code"),
            credit.c.code.label("credit_code"),
            debit_sealed.c.debits.label("debit_sealed_debits"),
            debit_sealed.c.credits.label("debit_sealed_credits"),
            credit_sealed.c.debits.label("credit_sealed_debits"),
            credit_sealed.c.credits.label("credit_sealed_credits"),
        )
        .join(waiting, waiting.c.transfer_id == transfers_t.c.id)
        .outerjoin(debit, debit.c.id == transfers_t.c.debit_account_id)
        .outerjoin(credit, credit.c.id == transfers_t.c.credit_account_id)
        .outerjoin(debit_sealed, debit_sealed.c.account_id == transfers_t.c.debit_account_id)
        .outerjoin(credit_sealed, credit_sealed.c.account_id == transfers_t.c.credit_account_id)
        .order_by(transfers_t.c.id)
    ).all()
    if not rows:
        return SealResult(0, top, 0)
    totals: dict[int, list[int]] = {}  # each account's running [debits, credits]
    sealed_at = max(now or datetime.now(UTC), top.sealed_at or _EPOCH)
    previous = bytes.fromhex(top.hash)
    seq = top.count
    links = []
    touched: dict[int, int] = {}
    for row in rows:
        if row.debit_code is None or row.credit_code is None:
            # Only a hand-made insert can name an account that does not exist: refuse to seal it.
            missing = row.debit_account_id if row.debit_code is None else row.credit_account_id
            raise UnknownAccount(f"#{missing} (named by transfer {row.id})")
        seq += 1
        previous = link_hash(previous, canonical(seq, row, row.debit_code, row.credit_code))
        # An account's first row here brings its totals as of the last seal (none: never sealed).
        debit_totals = totals.setdefault(
            row.debit_account_id, [row.debit_sealed_debits or 0, row.debit_sealed_credits or 0]
        )
        debit_totals[0] += row.amount
        credit_totals = totals.setdefault(
            row.credit_account_id, [row.credit_sealed_debits or 0, row.credit_sealed_credits or 0]
        )
        credit_totals[1] += row.amount
        touched[row.debit_account_id] = touched[row.credit_account_id] = seq
        links.append(
            {
                "seq": seq,
                "transfer_id": row.id,
                "hash": previous.hex(),
                "debit_account_id": row.debit_account_id,
                "credit_account_id": row.credit_account_id,
                "debit_side_debits": debit_totals[0],
                "debit_side_credits": debit_totals[1],
                "credit_side_debits": credit_totals[0],
                "credit_side_credits": credit_totals[1],
                "sealed_at": sealed_at,
            }
        )
    _insert_links(session, links)
    _upsert_totals(
        session,
        [
            {"account_id": a, "seq": s, "debits": totals[a][0], "credits": totals[a][1]}
            for a, s in touched.items()
        ],
    )
    # What was just chained leaves the queue: named by the new links, not by a list of ids.
    just_sealed = select(chain_t.c.transfer_id).where(chain_t.c.seq > top.count)
    session.connection().execute(delete(pending_t).where(pending_t.c.transfer_id.in_(just_sealed)))
    return SealResult(len(rows), Head(seq, previous.hex(), sealed_at), pending_count(session))


def seal_all(session: Session, *, now: datetime | None = None) -> SealResult:
    """Seal until nothing is pending (within this transaction)."""
    result = seal(session, now=now)
    total = result.sealed
    while result.pending and result.sealed:
        result = seal(session, now=now)
        total += result.sealed
    return SealResult(total, result.head, result.pending)
