"""Posted history cannot be changed in place, and a change made behind the triggers' back is found.

Part one, against committed data: the database's own triggers refuse every UPDATE and DELETE (and
on PostgreSQL every TRUNCATE) of posted history, and any hand-made change to the balance counters
(on SQLite: any change that is not an increase). Part two: with a guard trigger dropped, as only
someone holding DDL rights could, ``ledger.verify`` must say what was changed: the first bad link,
by transfer id and sequence number, or the account whose counters no longer add up.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import Engine, Executable, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import ledger
from ledger import PostedTransfer, TransferRequest, VerifyReport
from ledger.models import accounts_t, balances_t, chain_t, pending_t, totals_t, transfers_t
from service.db import make_engine, make_session_factory, transaction

ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql"))
postgresql_only = pytest.mark.skipif(not ON_POSTGRESQL, reason="only PostgreSQL's triggers guard this")
sqlite_only = pytest.mark.skipif(ON_POSTGRESQL, reason="what SQLite's triggers let through")

ISSUANCE = "programme:issuance"
AIRTIME = "rewards:airtime"
MEMBERS = ("member:A1", "member:B2", "member:C3")
LENGTH = 20  # transfers in the chain
MIDDLE = 10  # the sequence number tampered with


def clock() -> datetime:
    return datetime.now(UTC)


def post(session: Session, request: TransferRequest) -> PostedTransfer:
    return ledger.post(session, request, now=clock())


def history() -> list[TransferRequest]:
    """Pickups credited to three members in turn; now and then a member redeems 2 points."""
    requests = []
    for n in range(LENGTH):
        member = MEMBERS[n % len(MEMBERS)]
        if n >= 6 and n % 4 == 3:
            requests.append(TransferRequest(member, AIRTIME, 2, "redemption", f"r{n}", reference=f"r:{n}"))
        else:
            requests.append(
                TransferRequest(
                    ISSUANCE,
                    member,
                    5 + n,
                    "pickup_credit",
                    f"p{n}",
                    reference=f"collection:{n}",
                    memo=f"PET {n} kg",
                    actor="collector:7",
                )
            )
    return requests


@dataclass
class Books:
    """A committed, sealed ledger of ``LENGTH`` transfers, and ways to go behind its back."""

    engine: Engine
    factory: sessionmaker[Session]
    transfers: list[PostedTransfer]  # in sequence order: transfers[seq - 1]
    workers: int = 1  # verify's chain walk in this many segments at once (PostgreSQL)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def at(self, seq: int) -> PostedTransfer:
        return self.transfers[seq - 1]

    def account_id(self, code: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(select(accounts_t.c.id).where(accounts_t.c.code == code)).scalar_one()
            )

    def run(self, statement: Executable | str, **params: Any) -> None:
        """One statement in a transaction of its own, committed."""
        with self.engine.begin() as connection:
            connection.execute(text(statement) if isinstance(statement, str) else statement, params)

    def unguard(self, table: str, operation: str) -> None:
        """Drop the trigger that refuses ``operation`` (update, delete, insert) on ``table``."""
        if self.dialect == "postgresql":
            self.run(f"DROP TRIGGER {table}_refuse_change ON {table}")
        elif (table, operation) != ("ledger_balances", "insert"):  # SQLite has no INSERT guard to drop
            self.run(f"DROP TRIGGER {table}_refuse_{operation}")

    def verify(self) -> VerifyReport:
        with transaction(self.factory) as session:
            return ledger.verify(session, workers=self.workers)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every ledger table, to show that a refused statement changed nothing."""
        tables = (accounts_t, transfers_t, balances_t, pending_t, chain_t, totals_t)
        with self.engine.connect() as connection:
            return {
                table.name: [
                    tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key))
                ]
                for table in tables
            }


def seal_everything(factory: sessionmaker[Session]) -> None:
    """``seal_all`` until nothing waits. On PostgreSQL the sealer's advisory lock is database-wide
    (not per schema): another run of the suite on the same database may hold it for a moment."""
    deadline = time.monotonic() + 30
    while True:
        with transaction(factory) as session:
            result = ledger.seal_all(session)
        if result.pending == 0:
            return
        assert time.monotonic() < deadline, "could not take the sealer's lock"
        time.sleep(0.05)


def make_books(url: str) -> Books:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        ledger.open_account(session, ISSUANCE, "programme")
        ledger.open_account(session, AIRTIME, "rewards")
        for member in MEMBERS:
            ledger.open_account(session, member, "member", no_overdraft=True)
        posted = [post(session, request) for request in history()]
    seal_everything(factory)
    with transaction(factory) as session:
        transfers = [ledger.get_transfer(session, p.id) for p in posted]
    assert [t.seq for t in transfers] == list(range(1, LENGTH + 1))
    books = Books(engine, factory, transfers)
    assert books.verify().ok
    return books


class MakesDatabases(Protocol):
    def new(self) -> str: ...


# On PostgreSQL every tamper is also found by verify walking the chain in segments (in other
# processes, sharing one snapshot), here 20 links in three segments of 6 or 7.
WALKS = [1, pytest.param(3, id="3-segments", marks=postgresql_only)]


@pytest.fixture(params=WALKS)
def books(
    fresh_database: Callable[[], str], request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Books]:
    monkeypatch.setattr("ledger.verification.MIN_SEGMENT", 1)
    made = make_books(fresh_database())
    made.workers = request.param
    yield made
    made.engine.dispose()


@pytest.fixture(scope="module")
def guarded_books(databases: MakesDatabases) -> Iterator[Books]:
    """One ledger for every refusal: a refused statement leaves it as it was (which each test checks)."""
    made = make_books(databases.new())
    yield made
    made.engine.dispose()


# --- part one: the database refuses ---------------------------------------------------------------

MEMBER_ID = "(SELECT id FROM ledger_accounts WHERE code = :member)"

REFUSED = [
    pytest.param(
        "UPDATE ledger_transfers SET amount = amount + 1 WHERE id = :transfer", id="transfer-amount"
    ),
    pytest.param("UPDATE ledger_transfers SET memo = 'edited' WHERE id = :transfer", id="transfer-memo"),
    pytest.param(
        "UPDATE ledger_transfers SET credit_account_id = :other WHERE id = :transfer", id="transfer-credit"
    ),
    pytest.param("UPDATE ledger_transfers SET memo = ''", id="transfers-all-memos"),
    pytest.param("DELETE FROM ledger_transfers WHERE id = :transfer", id="transfer-delete"),
    pytest.param("DELETE FROM ledger_transfers", id="transfers-delete-all"),
    pytest.param("UPDATE ledger_chain SET hash = :zeros WHERE seq = :seq", id="chain-hash"),
    pytest.param(
        "UPDATE ledger_chain SET credit_side_credits = credit_side_credits + 1 WHERE seq = :seq",
        id="chain-running-totals",
    ),
    pytest.param("UPDATE ledger_chain SET sealed_at = sealed_at WHERE seq = :seq", id="chain-no-op-update"),
    pytest.param("DELETE FROM ledger_chain WHERE seq = :last", id="chain-delete-head"),
    pytest.param("DELETE FROM ledger_chain", id="chain-delete-all"),
    pytest.param("UPDATE ledger_accounts SET code = 'member:Z9' WHERE code = :member", id="account-code"),
    pytest.param("UPDATE ledger_accounts SET no_overdraft = FALSE WHERE code = :member", id="account-limit"),
    pytest.param("DELETE FROM ledger_accounts WHERE code = :member", id="account-delete"),
    pytest.param(f"DELETE FROM ledger_balances WHERE account_id = {MEMBER_ID}", id="balances-delete"),
    pytest.param("DELETE FROM ledger_balances", id="balances-delete-all"),
    pytest.param(
        f"UPDATE ledger_balances SET credits = credits - 1 WHERE account_id = {MEMBER_ID}",
        id="balances-credits-down",
    ),
    pytest.param(
        f"UPDATE ledger_balances SET debits = debits - 1 WHERE account_id = {MEMBER_ID}",
        id="balances-debits-down",
    ),
    pytest.param(
        f"UPDATE ledger_balances SET slot = slot + 7 WHERE account_id = {MEMBER_ID}", id="balances-move-slot"
    ),
    # PostgreSQL only: TRUNCATE (of the accounts with CASCADE: a plain one already fails on the
    # counters' foreign keys, see below), and any hand-made change of a counter, an increase included.
    pytest.param("TRUNCATE ledger_transfers", id="truncate-transfers", marks=postgresql_only),
    pytest.param("TRUNCATE ledger_chain", id="truncate-chain", marks=postgresql_only),
    pytest.param("TRUNCATE ledger_accounts CASCADE", id="truncate-accounts", marks=postgresql_only),
    pytest.param("TRUNCATE ledger_balances", id="truncate-balances", marks=postgresql_only),
    pytest.param(
        f"UPDATE ledger_balances SET credits = credits + 1 WHERE account_id = {MEMBER_ID}",
        id="balances-credits-up",
        marks=postgresql_only,
    ),
    pytest.param(
        f"UPDATE ledger_balances SET debits = debits + 1 WHERE account_id = {MEMBER_ID}",
        id="balances-debits-up",
        marks=postgresql_only,
    ),
    pytest.param(
        f"UPDATE ledger_balances SET credits = credits WHERE account_id = {MEMBER_ID}",
        id="balances-no-op-update",
        marks=postgresql_only,
    ),
    pytest.param(
        f"INSERT INTO ledger_balances (account_id, slot, debits, credits) VALUES ({MEMBER_ID}, 9, 0, 50)",
        id="balances-extra-slot",
        marks=postgresql_only,
    ),
]


def params_for(sql: str, books: Books) -> dict[str, Any]:
    victim = books.at(MIDDLE)
    known = {
        "transfer": victim.id,
        "other": books.account_id(MEMBERS[1]),  # on neither side of the victim
        "seq": MIDDLE,
        "last": LENGTH,
        "zeros": "0" * 64,
        "member": MEMBERS[1],  # credited and debited: both its counters are above zero
    }
    assert MEMBERS[1] not in (victim.debit, victim.credit)
    return {name: known[name] for name in re.findall(r"(?<![:\w]):(\w+)", sql)}


@pytest.mark.parametrize("sql", REFUSED)
def test_the_database_refuses_to_change_posted_history(guarded_books: Books, sql: str) -> None:
    before = guarded_books.snapshot()
    with pytest.raises(IntegrityError, match="ledger_append_only"):
        guarded_books.run(sql, **params_for(sql, guarded_books))
    assert guarded_books.snapshot() == before
    assert guarded_books.verify().ok


@postgresql_only
def test_a_plain_truncate_of_the_accounts_fails_too(guarded_books: Books) -> None:
    before = guarded_books.snapshot()
    with pytest.raises(DBAPIError, match="foreign key"):
        guarded_books.run("TRUNCATE ledger_accounts")
    assert guarded_books.snapshot() == before


# --- part two: verify finds what got past a dropped trigger -------------------------------------


def other_member(transfer: PostedTransfer) -> str:
    return next(m for m in MEMBERS if m not in (transfer.debit, transfer.credit))


TRANSFER_TAMPERS: dict[str, Callable[[Books, PostedTransfer], dict[str, Any]]] = {
    "amount": lambda books, t: {"amount": t.amount + 1},
    "memo": lambda books, t: {"memo": t.memo + "."},
    "credit account": lambda books, t: {"credit_account_id": books.account_id(other_member(t))},
    "debit account": lambda books, t: {"debit_account_id": books.account_id(other_member(t))},
    "reference": lambda books, t: {"reference": "collection:999"},
    "actor": lambda books, t: {"actor": "collector:8"},
    "occurred_at": lambda books, t: {"occurred_at": t.occurred_at - timedelta(minutes=1)},
    "recorded_at": lambda books, t: {"recorded_at": t.recorded_at + timedelta(microseconds=1)},
    "idempotency key": lambda books, t: {"idempotency_key": t.idempotency_key + "x"},
    "human ref": lambda books, t: {"human_ref": "ZZZZZZ"},
    "reverses": lambda books, t: {"reverses_id": books.at(1).id},
}


@pytest.mark.parametrize("field", sorted(TRANSFER_TAMPERS))
def test_a_transfer_changed_after_sealing_is_named_with_its_link(books: Books, field: str) -> None:
    victim = books.at(MIDDLE)
    books.unguard("ledger_transfers", "update")
    changes = TRANSFER_TAMPERS[field](books, victim)
    books.run(update(transfers_t).where(transfers_t.c.id == victim.id).values(changes))
    report = books.verify()
    assert not report.ok
    assert (report.bad_transfer_id, report.bad_seq, report.checked) == (victim.id, MIDDLE, MIDDLE - 1)
    assert report.count == LENGTH and report.problem


CHAIN_TAMPERS: dict[str, Callable[[Books], dict[str, Any]]] = {
    "hash": lambda books: {"hash": "0" * 64},
    "running totals": lambda books: {"credit_side_credits": chain_t.c.credit_side_credits + 1},
    "accounts": lambda books: {"credit_account_id": books.account_id(other_member(books.at(MIDDLE)))},
}


@pytest.mark.parametrize("field", sorted(CHAIN_TAMPERS))
def test_a_changed_link_is_named(books: Books, field: str) -> None:
    books.unguard("ledger_chain", "update")
    books.run(update(chain_t).where(chain_t.c.seq == MIDDLE).values(CHAIN_TAMPERS[field](books)))
    report = books.verify()
    assert not report.ok
    assert (report.bad_transfer_id, report.bad_seq) == (books.at(MIDDLE).id, MIDDLE)


@pytest.mark.parametrize("seq", [1, MIDDLE])
def test_a_deleted_link_is_named(books: Books, seq: int) -> None:
    books.unguard("ledger_chain", "delete")
    books.run(delete(chain_t).where(chain_t.c.seq == seq))
    report = books.verify()
    assert not report.ok
    assert (report.bad_seq, report.checked) == (seq, seq - 1)
    assert report.problem == f"link {seq} is missing"


def test_deleting_the_head_link_leaves_its_transfer_neither_sealed_nor_pending(books: Books) -> None:
    books.unguard("ledger_chain", "delete")
    books.run(delete(chain_t).where(chain_t.c.seq == LENGTH))
    report = books.verify()
    assert not report.ok
    assert (report.count, report.checked) == (LENGTH - 1, LENGTH - 1)
    assert report.bad_transfer_id == books.at(LENGTH).id


def test_a_renamed_account_is_caught_at_the_first_link_that_names_it(books: Books) -> None:
    renamed = MEMBERS[2]
    first = next(t for t in books.transfers if renamed in (t.debit, t.credit))
    books.unguard("ledger_accounts", "update")
    books.run(update(accounts_t).where(accounts_t.c.code == renamed).values(code="member:Z9"))
    report = books.verify()
    assert not report.ok
    assert (report.bad_transfer_id, report.bad_seq) == (first.id, first.seq)


def _member_counters(books: Books, code: str) -> Any:
    return balances_t.c.account_id == books.account_id(code)


BALANCE_TAMPERS: dict[str, tuple[str, str, Callable[[Books], Executable]]] = {
    # kind: (the guard to drop, the account named, the statement)
    "credits raised": (
        "update",
        MEMBERS[1],
        lambda b: (
            update(balances_t).where(_member_counters(b, MEMBERS[1])).values(credits=balances_t.c.credits + 5)
        ),
    ),
    "debits lowered": (
        "update",
        MEMBERS[1],
        lambda b: (
            update(balances_t).where(_member_counters(b, MEMBERS[1])).values(debits=balances_t.c.debits - 1)
        ),
    ),
    "issuance debits lowered": (
        "update",
        ISSUANCE,
        lambda b: (
            update(balances_t)
            .where(_member_counters(b, ISSUANCE), balances_t.c.debits > 0)
            .values(debits=balances_t.c.debits - 1)
        ),
    ),
    "counters deleted": (
        "delete",
        MEMBERS[1],
        lambda b: delete(balances_t).where(_member_counters(b, MEMBERS[1])),
    ),
    "extra counter row": (
        "insert",
        MEMBERS[1],
        lambda b: insert(balances_t).values(
            account_id=b.account_id(MEMBERS[1]), slot=9, debits=0, credits=50
        ),
    ),
}


@pytest.mark.parametrize("kind", sorted(BALANCE_TAMPERS))
def test_a_tampered_balance_counter_is_named_by_its_account(books: Books, kind: str) -> None:
    operation, account, statement = BALANCE_TAMPERS[kind]
    books.unguard("ledger_balances", operation)
    books.run(statement(books))
    report = books.verify()
    assert not report.ok
    assert report.bad_account == account
    assert report.checked == LENGTH  # the chain itself is whole: the counters are what lie
    assert report.problem is not None and report.problem.startswith(f"stored balance of {account}")


@sqlite_only
@pytest.mark.parametrize("kind", ["credits raised", "extra counter row"])
def test_on_sqlite_a_raised_counter_gets_past_the_triggers_but_not_past_verify(
    books: Books, kind: str
) -> None:
    _, account, statement = BALANCE_TAMPERS[kind]
    books.run(statement(books))  # no trigger dropped: SQLite's guard refuses only decreases
    report = books.verify()
    assert (report.ok, report.bad_account) == (False, account)


def test_changed_sealed_totals_are_caught(books: Books) -> None:
    # ledger_sealed_totals has no guard: the sealer itself upserts it. verify compares it with the chain.
    books.run(
        update(totals_t)
        .where(totals_t.c.account_id == books.account_id(MEMBERS[0]))
        .values(credits=totals_t.c.credits + 1)
    )
    report = books.verify()
    assert (report.ok, report.bad_account) == (False, MEMBERS[0])
    assert report.problem == f"sealed totals of {MEMBERS[0]} differ from the chain"


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("DELETE FROM ledger_pending", id="delete"),
        pytest.param("TRUNCATE ledger_pending", id="truncate", marks=postgresql_only),
    ],
)
def test_a_transfer_dropped_from_the_queue_before_sealing_is_caught(books: Books, statement: str) -> None:
    # ledger_pending has no guard either (the sealer deletes from it).
    with transaction(books.factory) as session:
        waiting = post(session, TransferRequest(ISSUANCE, MEMBERS[0], 3, "pickup_credit", "late"))
    assert books.verify().ok
    books.run(statement)
    report = books.verify()
    assert (report.ok, report.bad_transfer_id, report.pending) == (False, waiting.id, 0)


def _insert_stray_transfer(books: Books, debit_account_id: int) -> int:
    """A transfer written by hand (INSERT is what posting does, so no trigger refuses it) whose
    debit account does not exist: posted history has no foreign keys (see ``ledger.models``)."""
    now, member = clock(), books.account_id(MEMBERS[0])
    with books.engine.begin() as connection:
        return int(
            connection.execute(
                insert(transfers_t).returning(transfers_t.c.id),
                {
                    "human_ref": "STRAY",
                    "debit_account_id": debit_account_id,
                    "credit_account_id": member,
                    "amount": 5,
                    "code": "pickup_credit",
                    "reference": "stray",
                    "memo": "",
                    "actor": "someone",
                    "occurred_at": now,
                    "recorded_at": now,
                    "idempotency_key": "stray",
                },
            ).scalar_one()
        )


@sqlite_only
def test_on_sqlite_a_transfer_naming_no_account_is_refused_by_its_counters_key(books: Books) -> None:
    before = books.snapshot()
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        _insert_stray_transfer(books, debit_account_id=987_654)
    assert books.snapshot() == before


@postgresql_only
def test_a_waiting_transfer_naming_no_account_is_caught_and_never_sealed(books: Books) -> None:
    stray = _insert_stray_transfer(books, debit_account_id=987_654)
    report = books.verify()
    assert (report.ok, report.bad_transfer_id, report.pending) == (False, stray, 1)
    assert "does not exist" in report.problem
    with (
        pytest.raises(ledger.UnknownAccount, match=f"named by transfer {stray}"),
        transaction(books.factory) as session,
    ):
        ledger.seal(session)
    assert books.verify().count == LENGTH  # the refused seal left the chain as it was


def test_a_sealed_transfer_whose_account_vanished_is_named_with_its_link(books: Books) -> None:
    victim = books.at(MIDDLE)
    books.unguard("ledger_transfers", "update")
    books.unguard("ledger_chain", "update")
    books.run(update(transfers_t).where(transfers_t.c.id == victim.id).values(debit_account_id=987_654))
    books.run(update(chain_t).where(chain_t.c.seq == MIDDLE).values(debit_account_id=987_654))
    report = books.verify()
    assert (report.ok, report.bad_transfer_id, report.bad_seq) == (False, victim.id, MIDDLE)
    assert "does not exist" in report.problem


def test_verify_names_the_first_bad_link_however_many_follow(books: Books) -> None:
    early, late, head = books.at(5), books.at(15), books.at(LENGTH)
    with books.engine.connect() as connection:
        head_hash = connection.execute(select(chain_t.c.hash).where(chain_t.c.seq == LENGTH)).scalar_one()
    books.unguard("ledger_transfers", "update")
    books.unguard("ledger_chain", "update")
    # Latest first: the order of the tampering must not matter, only the order of the chain.
    books.run(update(chain_t).where(chain_t.c.seq == LENGTH).values(hash="f" * 64))
    books.run(update(transfers_t).where(transfers_t.c.id == late.id).values(amount=late.amount + 100))
    books.run(update(transfers_t).where(transfers_t.c.id == early.id).values(memo="edited"))

    first = books.verify()
    assert (first.ok, first.bad_seq, first.bad_transfer_id, first.checked) == (False, 5, early.id, 4)
    # verify repairs nothing and remembers nothing: asked again, on a new connection, the same answer.
    again_engine = make_engine(books.engine.url.render_as_string(hide_password=False))
    try:
        with transaction(make_session_factory(again_engine)) as session:
            assert ledger.verify(session) == first
    finally:
        again_engine.dispose()
    assert books.verify() == first

    # Put each back in turn: the next bad link is named, then the next, then none.
    books.run(update(transfers_t).where(transfers_t.c.id == early.id).values(memo=early.memo))
    report = books.verify()
    assert (report.bad_seq, report.bad_transfer_id) == (15, late.id)
    books.run(update(transfers_t).where(transfers_t.c.id == late.id).values(amount=late.amount))
    report = books.verify()
    assert (report.bad_seq, report.bad_transfer_id) == (LENGTH, head.id)
    books.run(update(chain_t).where(chain_t.c.seq == LENGTH).values(hash=head_hash))
    assert books.verify().ok


# --- and no false alarms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "microsecond",
    [
        0,
        999_499,
        999_500,
        999_999,
    ],
)
@pytest.mark.parametrize("which", ["recorded_at", "occurred_at"])
def test_an_untouched_transfer_verifies_whatever_its_microseconds(
    fresh_database: Callable[[], str], which: str, microsecond: int
) -> None:
    moment = datetime(2026, 11, 2, 9, 0, 59, microsecond, tzinfo=UTC)
    plain = datetime(2026, 11, 2, 8, 0, 0, 250_000, tzinfo=UTC)
    recorded_at, occurred_at = (moment, plain) if which == "recorded_at" else (plain, moment)
    engine = make_engine(fresh_database())
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            ledger.open_account(session, ISSUANCE, "programme")
            ledger.open_account(session, MEMBERS[0], "member", no_overdraft=True)
            request = TransferRequest(ISSUANCE, MEMBERS[0], 5, "pickup_credit", "p1", occurred_at=occurred_at)
            posted = ledger.post(session, request, now=recorded_at)
        seal_everything(factory)
        with transaction(factory) as session:
            assert ledger.get_transfer(session, posted.id).recorded_at == recorded_at
            report = ledger.verify(session)
        assert report.ok, report
    finally:
        engine.dispose()
