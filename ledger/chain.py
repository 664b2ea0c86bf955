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
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, create_engine, delete, func, insert, select, text, union_all
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from .errors import UnknownAccount
from .models import accounts_t, chain_t, driver_cursor, pending_t, totals_t, transfers_t
from .values import Balance, Head, Proof, SealResult, VerifyReport

GENESIS = bytes(32)
# The fewest links worth a process of its own when verify walks the chain in segments.
_MIN_SEGMENT = 50_000
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
_CHAIN_WALK = """
SELECT c.seq, c.hash, c.debit_account_id, c.credit_account_id,
       c.debit_side_debits, c.debit_side_credits, c.credit_side_debits, c.credit_side_credits,
       t.id, t.human_ref, t.debit_account_id, t.credit_account_id, t.amount, t.code, t.reference,
       t.memo, t.actor, {occurred}, {recorded}, t.idempotency_key, t.reverses_id
FROM ledger_chain c LEFT JOIN ledger_transfers t ON t.id = c.transfer_id
WHERE c.seq BETWEEN {low} AND {high}
ORDER BY c.seq
"""
_PG_MICROS = "(extract(epoch FROM t.{0}) * 1000000)::bigint"
# SQLite keeps 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds by strftime, microseconds by hand.
# (SQLite's date functions round to milliseconds: the whole seconds come from the text without
# its fraction, the microseconds by hand.)
_SQLITE_MICROS = (
    "CAST(strftime('%s', substr(t.{0}, 1, 19)) AS INTEGER) * 1000000 + CAST(substr(t.{0}, 21, 6) AS INTEGER)"
)


def _chain_rows(
    connection: Connection, low: int, high: int, batch: int = 20_000
) -> Iterator[tuple[Any, ...]]:
    dialect = connection.dialect.name
    micros = _PG_MICROS if dialect == "postgresql" else _SQLITE_MICROS
    sql = _CHAIN_WALK.format(
        occurred=micros.format("occurred_at"),
        recorded=micros.format("recorded_at"),
        low=int(low),
        high=int(high),
    )
    cursor = driver_cursor(connection, "ledger_verify" if dialect == "postgresql" else None)
    try:
        cursor.arraysize = batch
        if dialect == "postgresql":
            cursor.itersize = batch
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


@dataclass
class _Segment:
    """What one walk over links ``low``..``high`` found.

    ``accounts`` maps each account the segment touches to ``[first seq, debits and credits just
    before that link (as its stored totals imply), debits and credits after the segment, last
    seq]``: the segments are joined by checking each one's implied start against the totals the
    segments before it add up to. ``problem`` is the first bad link inside the segment, if any.
    """

    accounts: dict[int, list[int]] = field(default_factory=dict)
    problem: tuple[int, int | None, str] | None = None  # (seq, transfer id, what)


def _walk(connection: Connection, low: int, high: int, previous: bytes, codes: dict[int, str]) -> _Segment:
    """Check links ``low``..``high``: sequence, transfer, accounts, hash (from ``previous``, the
    hash of link ``low - 1``) and running totals, up to the first that is wrong."""
    found = _Segment()
    accounts = found.accounts
    expected = low
    sha256 = hashlib.sha256
    for (
        seq, stored_hash, link_debit, link_credit, dd, dc, cd, cc,
        transfer_id, human_ref, debit_id, credit_id, amount, code, reference, memo, actor,
        occurred, recorded, key, reverses,
    ) in _chain_rows(connection, low, high):  # fmt: skip
        if seq != expected:
            found.problem = (expected, None, f"link {expected} is missing")
            return found
        expected += 1
        if transfer_id is None:
            found.problem = (seq, None, f"link {seq} names no transfer")
            return found
        if link_debit != debit_id or link_credit != credit_id:
            found.problem = (seq, transfer_id, "link's accounts differ from its transfer's")
            return found
        debit_code, credit_code = codes.get(debit_id), codes.get(credit_id)
        if debit_code is None or credit_code is None:
            found.problem = (
                seq,
                transfer_id,
                f"transfer {transfer_id} (link {seq}) names an account that does not exist",
            )
            return found
        previous = sha256(
            previous
            + _payload(
                seq,
                transfer_id,
                human_ref,
                debit_code,
                credit_code,
                amount,
                code,
                reference,
                memo,
                actor,
                occurred,
                recorded,
                key,
                reverses,
            )
        ).digest()
        if previous.hex() != stored_hash:
            found.problem = (
                seq,
                transfer_id,
                f"transfer {transfer_id} (link {seq}) does not match its hash: changed after it was sealed",
            )
            return found
        debit = accounts.get(debit_id)
        if debit is None:
            accounts[debit_id] = [seq, dd - amount, dc, dd, dc, seq]
        else:
            debit[3] += amount
            debit[5] = seq
        credit = accounts.get(credit_id)
        if credit is None:
            accounts[credit_id] = [seq, cd, cc - amount, cd, cc, seq]
        else:
            credit[4] += amount
            credit[5] = seq
        if (debit is not None and (debit[3], debit[4]) != (dd, dc)) or (
            credit is not None and (credit[3], credit[4]) != (cd, cc)
        ):
            found.problem = (seq, transfer_id, f"running totals wrong at link {seq}")
            return found
    if expected <= high:
        found.problem = (expected, None, f"link {expected} is missing")
    return found


_ZERO = (0, 0)


def _driver_rows(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    """All rows of a plain query as the driver's tuples: verify reads whole tables of them."""
    with closing(driver_cursor(connection)) as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def _account_codes(connection: Connection) -> list[tuple[int, str, bool]]:
    return _driver_rows(connection, "SELECT id, code, no_overdraft FROM ledger_accounts")


def _stored_hash(connection: Connection, seq: int) -> bytes:
    """The hash of link ``seq`` as stored (the chain starts from GENESIS); empty if it is missing,
    which the walk over that link reports."""
    if seq == 0:
        return GENESIS
    stored = connection.execute(select(chain_t.c.hash).where(chain_t.c.seq == seq)).scalar()
    return bytes.fromhex(stored) if stored else b""


def walk_in_snapshot(url: str, snapshot: str, low: int, high: int) -> _Segment:
    """Walk a segment on a connection of its own, in the snapshot another transaction exported."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            codes = {account_id: code for account_id, code, _ in _account_codes(connection)}
            return _walk(connection, low, high, _stored_hash(connection, low - 1), codes)
    finally:
        engine.dispose()


def _start_walk_elsewhere(url: str, snapshot: str, low: int, high: int) -> subprocess.Popen[bytes]:
    """A segment walked by another Python process (``ledger.verify_worker``); the task (with the
    database URL, so never on the command line) goes in on stdin, the segment comes back pickled."""
    package_root = str(Path(__file__).resolve().parent.parent)
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "ledger.verify_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=environment,
    )
    assert worker.stdin is not None
    worker.stdin.write(pickle.dumps((url, snapshot, low, high)))
    worker.stdin.close()
    return worker


def _finish_walk_elsewhere(worker: subprocess.Popen[bytes]) -> _Segment:
    assert worker.stdout is not None
    with worker.stdout:
        output = worker.stdout.read()
    if worker.wait() != 0:
        raise RuntimeError(f"a verify worker failed (exit {worker.returncode})")
    accounts, problem = pickle.loads(output)  # noqa: S301 (our own child, on our own pipe)
    return _Segment(accounts, problem)


def _stop_walk_elsewhere(worker: subprocess.Popen[bytes]) -> None:
    worker.kill()
    assert worker.stdout is not None
    worker.stdout.close()
    worker.wait()


def _in_one_snapshot(session: Session) -> str | None:
    """On PostgreSQL, when nothing has run yet in this transaction, make it a snapshot (REPEATABLE
    READ) that other connections can share, so that a verify running beside postings and the
    sealer sees one moment of the books; returns the snapshot's name, else None. (On SQLite the
    transaction's BEGIN IMMEDIATE already holds every writer off.)"""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    dbapi = connection.connection.dbapi_connection
    if getattr(getattr(dbapi, "info", None), "transaction_status", None) != 0:  # 0: idle
        return None
    connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    return str(connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one())


def verify(session: Session, *, workers: int = 1) -> VerifyReport:
    """Recompute the chain and every total; report the first thing that is wrong.

    Checks, in order: each link's hash, sequence and accounts; each link's running totals; that
    every transfer is sealed or pending; every stored balance equals the sum of its transfers;
    all debits equal all credits; no limited account is overdrawn; every reversal is an exact
    opposite; the sealed totals match the chain.

    Call it first thing in a transaction of its own: then on PostgreSQL it reads one snapshot
    whatever is posted meanwhile, and with ``workers`` > 1 walks the chain in that many segments
    at once (other processes sharing the snapshot). Link ``n`` is checked against the stored hash
    of link ``n - 1``, so every link checks exactly when the recomputed chain does, and the first
    bad one is named whichever segment finds it.
    """
    snapshot = _in_one_snapshot(session)
    top = head(session)
    pending = pending_count(session)

    def report(checked: int, problem: str, **where: Any) -> VerifyReport:
        return VerifyReport(False, top.count, top.hash, pending, checked, problem, **where)

    accounts = _account_codes(session.connection())
    codes = {account_id: code for account_id, code, _ in accounts}
    limited = [account_id for account_id, _, no_overdraft in accounts if no_overdraft]
    # Segments of the chain, the first walked here, the others (PostgreSQL) elsewhere at once.
    parts = max(1, min(workers, top.count // _MIN_SEGMENT)) if snapshot is not None else 1
    bounds = [(top.count * i // parts + 1, top.count * (i + 1) // parts) for i in range(parts)]
    elsewhere = []
    if parts > 1:
        assert snapshot is not None
        url = session.connection().engine.url.render_as_string(hide_password=False)
        elsewhere = [_start_walk_elsewhere(url, snapshot, low, high) for low, high in bounds[1:]]
    try:
        walked_here = _walk(session.connection(), *bounds[0], GENESIS, codes)
    except BaseException:
        for worker in elsewhere:
            _stop_walk_elsewhere(worker)
        raise
    segments = [walked_here, *(_finish_walk_elsewhere(worker) for worker in elsewhere)]
    # Join the segments: each account's totals as its first link in a segment implies them must
    # be what the segments before added up to. The first problem anywhere is the one reported.
    problems = [segment.problem for segment in segments if segment.problem is not None]
    running: dict[int, tuple[int, int]] = {}
    last_link: dict[int, int] = {}
    for segment in segments:
        for account_id, (first, start_d, start_c, end_d, end_c, last) in segment.accounts.items():
            if running.get(account_id, _ZERO) != (start_d, start_c):
                problems.append((first, None, f"running totals wrong at link {first}"))
            running[account_id] = (end_d, end_c)
            last_link[account_id] = last
    if problems:
        seq, transfer_id, problem = min(problems, key=lambda found: found[0])
        if transfer_id is None and "running totals" in problem:
            transfer_id = (
                session.connection()
                .execute(select(chain_t.c.transfer_id).where(chain_t.c.seq == seq))
                .scalar()
            )
        return report(seq - 1, problem, bad_seq=seq, bad_transfer_id=transfer_id)
    checked = top.count

    db = session.connection()
    # Every transfer is sealed or waiting, never both: counted first, searched only when needed.
    both = db.execute(
        select(func.min(pending_t.c.transfer_id)).join(
            chain_t, chain_t.c.transfer_id == pending_t.c.transfer_id
        )
    ).scalar()
    if both is not None:
        return report(checked, f"transfer {both} is both sealed and waiting to be", bad_transfer_id=both)
    transfers = int(db.execute(select(func.count()).select_from(transfers_t)).scalar_one())
    if transfers != checked + pending:
        orphan = db.execute(
            select(transfers_t.c.id)
            .outerjoin(chain_t, chain_t.c.transfer_id == transfers_t.c.id)
            .outerjoin(pending_t, pending_t.c.transfer_id == transfers_t.c.id)
            .where(chain_t.c.seq.is_(None), pending_t.c.transfer_id.is_(None))
            .order_by(transfers_t.c.id)
            .limit(1)
        ).scalar()
        if orphan is not None:
            return report(
                checked, f"transfer {orphan} is neither sealed nor waiting to be", bad_transfer_id=orphan
            )
        return report(
            checked, f"{transfers} transfers but {checked} links and {pending} waiting to be sealed"
        )

    # So every transfer is counted once: the chain's totals plus what waits to be sealed.
    sums = dict(running)
    waiting = db.execute(
        select(
            transfers_t.c.id,
            transfers_t.c.debit_account_id,
            transfers_t.c.credit_account_id,
            transfers_t.c.amount,
        )
        .join(pending_t, pending_t.c.transfer_id == transfers_t.c.id)
        .order_by(transfers_t.c.id)
    ).all()
    for transfer_id, debit_id, credit_id, amount in waiting:
        if debit_id not in codes or credit_id not in codes:
            return report(
                checked,
                f"transfer {transfer_id} names an account that does not exist",
                bad_transfer_id=transfer_id,
            )
        debits, credits = sums.get(debit_id, _ZERO)
        sums[debit_id] = (debits + amount, credits)
        debits, credits = sums.get(credit_id, _ZERO)
        sums[credit_id] = (debits, credits + amount)
    # Compared whole first (fast); searched account by account only when they differ.
    stored = {
        account_id: (int(debits), int(credits))
        for account_id, debits, credits in _driver_rows(
            db,
            "SELECT account_id, sum(debits), sum(credits) FROM ledger_balances GROUP BY account_id"
            " HAVING sum(debits) <> 0 OR sum(credits) <> 0",
        )
    }
    moved = {account_id: pair for account_id, pair in sums.items() if pair != _ZERO}
    if moved != stored:
        for account_id in sorted(moved.keys() | stored.keys()):
            if moved.get(account_id, _ZERO) != stored.get(account_id, _ZERO):
                code = codes.get(account_id, str(account_id))
                return report(
                    checked,
                    f"stored balance of {code} is {list(stored.get(account_id, _ZERO))} (debits, credits) "
                    f"but its transfers sum to {list(moved.get(account_id, _ZERO))}",
                    bad_account=code,
                )
    all_debits = sum(d for d, _ in sums.values())
    all_credits = sum(c for _, c in sums.values())
    if all_debits != all_credits:
        return report(checked, f"debits {all_debits} do not equal credits {all_credits}")
    overdrawn = sorted(codes[a] for a in limited if a in sums and sums[a][0] > sums[a][1])
    if overdrawn:
        return report(checked, f"account {overdrawn[0]} is below zero", bad_account=overdrawn[0])

    original = transfers_t.alias("original")
    bad_reversal = db.execute(
        select(transfers_t.c.id)
        .join(original, original.c.id == transfers_t.c.reverses_id)
        .where(
            (transfers_t.c.debit_account_id != original.c.credit_account_id)
            | (transfers_t.c.credit_account_id != original.c.debit_account_id)
            | (transfers_t.c.amount != original.c.amount)
        )
        .order_by(transfers_t.c.id)
        .limit(1)
    ).scalar()
    if bad_reversal is not None:
        return report(
            checked,
            f"transfer {bad_reversal} is not the exact opposite of what it reverses",
            bad_transfer_id=bad_reversal,
        )

    sealed = {
        account_id: (seq, debits, credits)
        for account_id, seq, debits, credits in _driver_rows(
            db, "SELECT account_id, seq, debits, credits FROM ledger_sealed_totals"
        )
    }
    chained = {account_id: (last_link[account_id], *pair) for account_id, pair in running.items()}
    if sealed != chained:
        for account_id in sorted(sealed.keys() | chained.keys()):
            if sealed.get(account_id) != chained.get(account_id):
                code = codes.get(account_id, str(account_id))
                return report(checked, f"sealed totals of {code} differ from the chain", bad_account=code)
    return VerifyReport(True, top.count, top.hash, pending, checked)


def proof(session: Session, transfer_id: int) -> Proof | None:
    """The transfer's link recomputed from its stored content; None while it waits for the sealer."""
    connection = session.connection()
    link = connection.execute(select(chain_t).where(chain_t.c.transfer_id == transfer_id)).first()
    if link is None:
        return None
    previous = (
        GENESIS.hex()
        if link.seq == 1
        else str(connection.execute(select(chain_t.c.hash).where(chain_t.c.seq == link.seq - 1)).scalar_one())
    )
    debit, credit = accounts_t.alias("debit"), accounts_t.alias("credit")
    row = connection.execute(
        select(transfers_t, debit.c.code.label("debit_code"), credit.c.code.label("credit_code"))
        .join(debit, debit.c.id == transfers_t.c.debit_account_id)
        .join(credit, credit.c.id == transfers_t.c.credit_account_id)
        .where(transfers_t.c.id == transfer_id)
    ).one()
    payload = canonical(link.seq, row, row.debit_code, row.credit_code)
    holds = link_hash(bytes.fromhex(previous), payload).hex() == link.hash
    return Proof(link.seq, link.hash, previous, payload.decode(), link.sealed_at, holds)
