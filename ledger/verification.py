"""Verification: the whole chain and every balance recomputed, the first thing that is wrong
reported; and a transfer's proof (its link, the one before, and whether they hold).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .chain import GENESIS, canonical, head, link_hash, pending_count
from .models import accounts_t, chain_t, pending_t, transfers_t
from .values import Proof, VerifyReport
from .walk import (
    ZERO,
    account_codes,
    driver_rows,
    finish_walk_elsewhere,
    start_walk_elsewhere,
    stop_walk_elsewhere,
    walk_segment,
)


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


# The fewest links worth a process of its own when verify walks the chain in segments.
MIN_SEGMENT = 50_000


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

    accounts = account_codes(session.connection())
    codes = {account_id: code for account_id, code, _ in accounts}
    limited = [account_id for account_id, _, no_overdraft in accounts if no_overdraft]
    # Segments of the chain, the first walked here, the others (PostgreSQL) elsewhere at once.
    parts = max(1, min(workers, top.count // MIN_SEGMENT)) if snapshot is not None else 1
    bounds = [(top.count * i // parts + 1, top.count * (i + 1) // parts) for i in range(parts)]
    elsewhere = []
    if parts > 1:
        assert snapshot is not None
        url = session.connection().engine.url.render_as_string(hide_password=False)
        elsewhere = [start_walk_elsewhere(url, snapshot, low, high) for low, high in bounds[1:]]
    try:
        walked_here = walk_segment(session.connection(), *bounds[0], GENESIS, codes)
    except BaseException:
        for worker in elsewhere:
            stop_walk_elsewhere(worker)
        raise
    segments = [walked_here, *(finish_walk_elsewhere(worker) for worker in elsewhere)]
    # Join the segments: each account's totals as its first link in a segment implies them must
    # be what the segments before added up to. The first problem anywhere is the one reported.
    problems = [segment.problem for segment in segments if segment.problem is not None]
    running: dict[int, tuple[int, int]] = {}
    last_link: dict[int, int] = {}
    for segment in segments:
        for account_id, (first, start_d, start_c, end_d, end_c, last) in segment.accounts.items():
            if running.get(account_id, ZERO) != (start_d, start_c):
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
        debits, credits = sums.get(debit_id, ZERO)
        sums[debit_id] = (debits + amount, credits)
        debits, credits = sums.get(credit_id, ZERO)
        sums[credit_id] = (debits, credits + amount)
    # Compared whole first (fast); searched account by account only when they differ.
    stored = {
        account_id: (int(debits), int(credits))
        for account_id, debits, credits in driver_rows(
            db,
            "SELECT account_id, sum(debits), sum(credits) FROM ledger_balances GROUP BY account_id"
            " HAVING sum(debits) <> 0 OR sum(credits) <> 0",
        )
    }
    moved = {account_id: pair for account_id, pair in sums.items() if pair != ZERO}
    if moved != stored:
        for account_id in sorted(moved.keys() | stored.keys()):
            if moved.get(account_id, ZERO) != stored.get(account_id, ZERO):
                code = codes.get(account_id, str(account_id))
                return report(
                    checked,
                    f"stored balance of {code} is {list(stored.get(account_id, ZERO))} (debits, credits) "
                    f"but its transfers sum to {list(moved.get(account_id, ZERO))}",
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
        for account_id, seq, debits, credits in driver_rows(
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
