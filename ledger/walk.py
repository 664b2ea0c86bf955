"""Walking the chain: every link recomputed from its transfer and the link before it, and every
account's running totals from the transfers, over a segment of sequence numbers; here, or in a
process of its own (``ledger.verify_worker``) on a snapshot the verifying transaction exported.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, select
from sqlalchemy.pool import NullPool

from .chain import GENESIS, _payload
from .models import chain_t, driver_cursor

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
class Segment:
    """What one walk over links ``low``..``high`` found.

    ``accounts`` maps each account the segment touches to ``[first seq, debits and credits just
    before that link (as its stored totals imply), debits and credits after the segment, last
    seq]``: the segments are joined by checking each one's implied start against the totals the
    segments before it add up to. ``problem`` is the first bad link inside the segment, if any.
    """

    accounts: dict[int, list[int]] = field(default_factory=dict)
    problem: tuple[int, int | None, str] | None = None  # (seq, transfer id, what)


def walk_segment(
    connection: Connection, low: int, high: int, previous: bytes, codes: dict[int, str]
) -> Segment:
    """Check links ``low``..``high``: sequence, transfer, accounts, hash (from ``previous``, the
    hash of link ``low - 1``) and running totals, up to the first that is wrong."""
    found = Segment()
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


ZERO = (0, 0)


def driver_rows(connection: Connection, sql: str) -> list[tuple[Any, ...]]:
    """All rows of a plain query as the driver's tuples: verify reads whole tables of them."""
    with closing(driver_cursor(connection)) as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def account_codes(connection: Connection) -> list[tuple[int, str, bool]]:
    return driver_rows(connection, "SELECT id, code, no_overdraft FROM ledger_accounts")


def stored_hash(connection: Connection, seq: int) -> bytes:
    """The hash of link ``seq`` as stored (the chain starts from GENESIS); empty if it is missing,
    which the walk over that link reports."""
    if seq == 0:
        return GENESIS
    stored = connection.execute(select(chain_t.c.hash).where(chain_t.c.seq == seq)).scalar()
    return bytes.fromhex(stored) if stored else b""


def walk_in_snapshot(url: str, snapshot: str, low: int, high: int) -> Segment:
    """Walk a segment on a connection of its own, in the snapshot another transaction exported."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            codes = {account_id: code for account_id, code, _ in account_codes(connection)}
            return walk_segment(connection, low, high, stored_hash(connection, low - 1), codes)
    finally:
        engine.dispose()


def start_walk_elsewhere(url: str, snapshot: str, low: int, high: int) -> subprocess.Popen[bytes]:
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


def finish_walk_elsewhere(worker: subprocess.Popen[bytes]) -> Segment:
    assert worker.stdout is not None
    with worker.stdout:
        output = worker.stdout.read()
    if worker.wait() != 0:
        raise RuntimeError(f"a verify worker failed (exit {worker.returncode})")
    accounts, problem = pickle.loads(output)  # noqa: S301 (our own child, on our own pipe)
    return Segment(accounts, problem)


def stop_walk_elsewhere(worker: subprocess.Popen[bytes]) -> None:
    worker.kill()
    assert worker.stdout is not None
    worker.stdout.close()
    worker.wait()
