"""The ledger under concurrent writers, on the store under test (SQLite or PostgreSQL).

Every worker thread has an engine of its own (``service.db.make_engine``) and its own session
factory, opens its connection, waits at a barrier so that all start together, and runs each
posting in a transaction of its own through the service's ``transact`` or ``transaction``,
committing. Every error any engine sees is counted (``Store.errors``), so that a
retried deadlock or a "database is locked" cannot hide behind a successful retry.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import ledger
import ledger.posting
from ledger import Balance, PostedTransfer, SealResult, TransferRequest
from ledger.models import balances_t, chain_t, transfers_t
from service.db import make_engine, make_session_factory, transact, transaction

ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql"))

ISSUANCE = "programme:issuance"
AIRTIME = "rewards:airtime"
MEMBER = "member:K4821X"
JOIN_TIMEOUT = 120.0

T = TypeVar("T")


def clock() -> datetime:
    return datetime.now(UTC)


def post(session: Session, request: TransferRequest) -> PostedTransfer:
    return ledger.post(session, request, now=clock())


def error_kind(context: ExceptionContext) -> str:
    """A short name for what the database said: the retryable kinds by name, the rest by class."""
    error = context.original_exception
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate == "40P01":
        return "deadlock"
    if sqlstate == "40001":
        return "serialization failure"
    if "database is locked" in str(error):
        return "database is locked"
    # SQLAlchemy's class (IntegrityError, OperationalError, ...), the same on every driver.
    return type(context.sqlalchemy_exception or error).__name__


class Store:
    """The database under test, and every engine a test opens on it (all disposed at the end)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self.errors: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._engines: list[Engine] = []

    def factory(self) -> sessionmaker[Session]:
        engine = make_engine(self.url)
        event.listen(engine, "handle_error", self._count_error)
        self._engines.append(engine)
        return make_session_factory(engine)

    def factories(self, count: int) -> list[sessionmaker[Session]]:
        return [self.factory() for _ in range(count)]

    def _count_error(self, context: ExceptionContext) -> None:
        with self._lock:
            self.errors[error_kind(context)] += 1

    def dispose(self) -> None:
        for engine in self._engines:
            engine.dispose()


@pytest.fixture
def store(fresh_database: Callable[[], str]) -> Iterator[Store]:
    made = Store(fresh_database())
    yield made
    made.dispose()


def run_together(
    factories: Sequence[sessionmaker[Session]], work: Callable[[int, sessionmaker[Session]], T]
) -> list[T | BaseException]:
    """Run ``work(i, factories[i])`` in one thread per factory, all released at once by a barrier.

    Each thread connects before the barrier, so the work itself (not the connecting) overlaps.
    Returns what each thread returned or raised, in thread order.
    """
    barrier = threading.Barrier(len(factories))
    outcomes: list[Any] = [None] * len(factories)

    def runner(index: int) -> None:
        factory = factories[index]
        try:
            with factory.kw["bind"].connect():
                pass
            barrier.wait(timeout=JOIN_TIMEOUT)
        except BaseException as error:  # noqa: BLE001 - handed back to the test, which asserts on it
            barrier.abort()
            outcomes[index] = error
            return
        try:
            outcomes[index] = work(index, factory)
        except BaseException as error:  # noqa: BLE001 - handed back to the test, which asserts on it
            outcomes[index] = error

    threads = [threading.Thread(target=runner, args=(i,), name=f"worker-{i}") for i in range(len(factories))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not [thread.name for thread in threads if thread.is_alive()], "workers did not finish"
    return outcomes


def failures(outcomes: Sequence[object]) -> list[BaseException]:
    return [outcome for outcome in outcomes if isinstance(outcome, BaseException)]


def open_books(factory: sessionmaker[Session], members: Sequence[str] = (MEMBER,)) -> None:
    with transaction(factory) as session:
        ledger.open_account(session, ISSUANCE, "programme")
        ledger.open_account(session, AIRTIME, "rewards")
        for member in members:
            ledger.open_account(session, member, "member", no_overdraft=True)


def seal_everything(factory: sessionmaker[Session]) -> SealResult:
    """``seal_all`` (committed) until nothing waits.

    On PostgreSQL the sealer's advisory lock is taken per database, not per schema, so a sealer of
    another schema (another run of the suite on the same database) may hold it for a moment and
    ``seal_all`` then returns having sealed nothing: try again shortly.
    """
    deadline = time.monotonic() + 30
    total = 0
    while True:
        with transaction(factory) as session:
            result = ledger.seal_all(session)
        total += result.sealed
        if result.pending == 0 or time.monotonic() > deadline:
            return SealResult(total, result.head, result.pending)
        time.sleep(0.05)


def seal_and_verify(factory: sessionmaker[Session]) -> ledger.VerifyReport:
    """Seal everything that waits (committed), then verify in a transaction of its own."""
    assert seal_everything(factory).pending == 0
    with transaction(factory) as session:
        report = ledger.verify(session)
    assert report.ok, report
    assert report.pending == 0 and report.checked == report.count
    return report


def count_transfers(session: Session, *where: Any) -> int:
    return int(session.execute(select(func.count()).select_from(transfers_t).where(*where)).scalar_one())


# --- the limit holds ------------------------------------------------------------------------------


def no_pre_check(*_args: object) -> None:
    """Stands in for ``ledger.posting._check_limits``: leaves the database trigger as the only guard."""


@pytest.mark.parametrize("guard", ["pre-check", "trigger alone"])
def test_fifty_concurrent_debits_never_take_a_limited_account_below_zero(
    store: Store, guard: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = store.factory()
    open_books(setup)
    with transaction(setup) as session:
        post(session, TransferRequest(ISSUANCE, MEMBER, 3, "pickup_credit", "c1"))
    if guard == "trigger alone":
        # Every racer now gets past Python and the AFTER INSERT trigger alone must refuse 47 of them.
        monkeypatch.setattr(ledger.posting, "_check_limits", no_pre_check)

    def redeem(i: int, factory: sessionmaker[Session]) -> PostedTransfer:
        request = TransferRequest(MEMBER, AIRTIME, 1, "redemption", f"r{i}")
        return transact(lambda: transaction(factory), lambda session: post(session, request))

    outcomes = run_together(store.factories(50), redeem)

    posted = [o for o in outcomes if isinstance(o, PostedTransfer)]
    refused = [o for o in outcomes if isinstance(o, ledger.InsufficientFunds)]
    assert [o for o in failures(outcomes) if not isinstance(o, ledger.InsufficientFunds)] == []
    assert (len(posted), len(refused)) == (3, 47)
    assert len({p.id for p in posted}) == 3
    # Which guard refused: the pre-check refuses before writing (the database sees no error);
    # the trigger refuses the INSERT (one IntegrityError per refusal, translated by the ledger).
    expected_errors = {"pre-check": {}, "trigger alone": {"IntegrityError": 47}}[guard]
    assert dict(store.errors) == expected_errors
    monkeypatch.undo()

    with transaction(setup) as session:
        assert ledger.balance(session, MEMBER) == Balance(debits=3, credits=3)
        assert ledger.balance(session, MEMBER).credit_balance == 0
        assert ledger.balance(session, AIRTIME) == Balance(debits=0, credits=3)
        keys = session.execute(
            select(transfers_t.c.idempotency_key).where(transfers_t.c.code == "redemption")
        ).scalars()
        assert sorted(keys) == sorted(p.idempotency_key for p in posted)
    assert seal_and_verify(setup).count == 4


def test_the_triggers_refusal_names_the_overdrawn_account(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = store.factory()
    open_books(setup)
    monkeypatch.setattr(ledger.posting, "_check_limits", no_pre_check)
    with pytest.raises(ledger.InsufficientFunds) as refused, transaction(setup) as session:
        post(session, TransferRequest(MEMBER, AIRTIME, 1, "redemption", "r1"))
    assert store.errors == Counter({"IntegrityError": 1})  # the trigger refused, not the pre-check
    assert refused.value.account == MEMBER


# --- many credits from the one issuance account ---------------------------------------------------


def test_concurrent_credits_from_the_one_issuance_account_all_land(store: Store) -> None:
    threads, per_thread = 8, 50
    members = [f"member:M{n:03d}" for n in range(20)]
    setup = store.factory()
    open_books(setup, members)

    def request(t: int, j: int) -> TransferRequest:
        # Threads share members, in different orders; amounts vary.
        member = members[(t * 7 + j) % len(members)]
        return TransferRequest(
            ISSUANCE, member, 1 + (t * per_thread + j) % 9, "pickup_credit", f"p{t}-{j}", reference=f"c:{t}"
        )

    def credit_many(t: int, factory: sessionmaker[Session]) -> list[PostedTransfer]:
        posted = []
        for j in range(per_thread):
            wanted = request(t, j)
            posted.append(
                transact(lambda: transaction(factory), lambda session, r=wanted: post(session, r), attempts=5)
            )
        return posted

    outcomes = run_together(store.factories(threads), credit_many)

    assert failures(outcomes) == []
    # The only errors a database may have raised are ones transact retries (and did).
    assert set(store.errors) <= {"deadlock", "serialization failure"}, store.errors
    print(f"\n[{store.dialect}] retried while crediting: {dict(store.errors) or 'nothing'}")
    wanted = [request(t, j) for t in range(threads) for j in range(per_thread)]
    expected: Counter[str] = Counter()
    for r in wanted:
        expected[r.credit] += r.amount
    with transaction(setup) as session:
        assert count_transfers(session) == threads * per_thread
        assert ledger.balance(session, ISSUANCE) == Balance(debits=sum(expected.values()), credits=0)
        assert ledger.balances(session, members) == {m: Balance(0, expected[m]) for m in members}
        issuance_slots = session.execute(
            select(func.count())
            .select_from(balances_t)
            .where(balances_t.c.account_id == ledger.get_account(session, ISSUANCE).id)
        ).scalar_one()
    # PostgreSQL spreads the unlimited issuance account over several counter rows; SQLite keeps one.
    assert issuance_slots > 1 if store.dialect == "postgresql" else issuance_slots == 1
    assert seal_and_verify(setup).count == threads * per_thread


# --- sealers racing each other and the postings ---------------------------------------------------


def test_concurrent_sealers_keep_one_contiguous_chain_while_postings_continue(store: Store) -> None:
    posters, per_poster, sealers = 4, 40, 2
    members = [f"member:S{n:02d}" for n in range(6)]
    setup = store.factory()
    open_books(setup, members)
    running = [posters]
    running_lock = threading.Lock()
    done = threading.Event()

    def post_some(i: int, factory: sessionmaker[Session]) -> int:
        try:
            for j in range(per_poster):
                wanted = TransferRequest(
                    ISSUANCE, members[(i + j) % len(members)], 2, "pickup_credit", f"{i}-{j}"
                )
                transact(lambda: transaction(factory), lambda session, r=wanted: post(session, r), attempts=5)
            return per_poster
        finally:
            with running_lock:
                running[0] -= 1
                if running[0] == 0:
                    done.set()

    def seal_repeatedly(factory: sessionmaker[Session]) -> list[SealResult]:
        results = []
        while True:
            last_round = done.is_set()
            with transaction(factory) as session:
                results.append(ledger.seal(session, limit=7))
            if last_round:
                return results
            time.sleep(0.002)

    def work(i: int, factory: sessionmaker[Session]) -> Any:
        return post_some(i, factory) if i < posters else seal_repeatedly(factory)

    outcomes = run_together(store.factories(posters + sealers), work)

    assert failures(outcomes) == []
    assert set(store.errors) <= {"deadlock", "serialization failure"}, store.errors
    total = posters * per_poster
    seal_rounds: list[list[SealResult]] = [o for o in outcomes[posters:] if isinstance(o, list)]
    for rounds in seal_rounds:
        heads = [r.head.count for r in rounds]
        assert heads == sorted(heads), "a sealer saw the head go backwards"
    sealed_by_threads = sum(r.sealed for rounds in seal_rounds for r in rounds)
    lock_taken = sum(1 for rounds in seal_rounds for r in rounds if r.sealed == 0 and r.pending > 0)
    print(
        f"\n[{store.dialect}] sealers sealed {sealed_by_threads}/{total}; found the lock taken {lock_taken}x"
    )
    final = seal_everything(setup)
    assert sealed_by_threads + final.sealed == total
    assert final.head.count == total and final.pending == 0
    with transaction(setup) as session:
        links = session.execute(
            select(chain_t.c.seq, chain_t.c.transfer_id, chain_t.c.sealed_at).order_by(chain_t.c.seq)
        ).all()
        transfer_ids = set(session.execute(select(transfers_t.c.id)).scalars())
    assert [link.seq for link in links] == list(range(1, total + 1))
    assert (
        len({link.transfer_id for link in links}) == total
        and {link.transfer_id for link in links} == transfer_ids
    )
    assert [link.sealed_at for link in links] == sorted(link.sealed_at for link in links)
    assert seal_and_verify(setup).count == total


def seal_taking_the_lock(session: Session, *, limit: int) -> SealResult:
    """``seal`` in this transaction, waiting (briefly) for a sealer of another schema to finish."""
    deadline = time.monotonic() + 30
    while True:
        result = ledger.seal(session, limit=limit)
        if result.sealed or not result.pending or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def post_credits(factory: sessionmaker[Session], count: int) -> None:
    with transaction(factory) as session:
        for n in range(count):
            post(session, TransferRequest(ISSUANCE, MEMBER, 1, "pickup_credit", f"c{n}"))


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the sealer's advisory lock is PostgreSQL's")
def test_a_second_sealer_finds_the_advisory_lock_taken_and_seals_nothing(store: Store) -> None:
    setup = store.factory()
    open_books(setup)
    post_credits(setup, 5)
    first, second = store.factory(), store.factory()
    with transaction(first) as holding:
        assert seal_taking_the_lock(holding, limit=2).sealed == 2
        with transaction(second) as other:
            refused = ledger.seal(other)
        assert (refused.sealed, refused.head.count, refused.pending) == (0, 0, 5)
    after = seal_everything(second)
    assert (after.sealed, after.head.count, after.pending) == (3, 5, 0)
    assert seal_and_verify(setup).count == 5


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the sealer's advisory lock is PostgreSQL's")
def test_a_sealer_of_another_schema_does_not_block_this_ledgers_sealer(
    fresh_database: Callable[[], str],
) -> None:
    here, elsewhere = Store(fresh_database()), Store(fresh_database())
    try:
        mine, theirs = here.factory(), elsewhere.factory()
        for factory in (mine, theirs):
            open_books(factory)
            post_credits(factory, 2)
        with transaction(theirs) as holding:
            assert seal_taking_the_lock(holding, limit=1).sealed == 1
            with transaction(mine) as session:
                result = ledger.seal(session)
        assert (result.sealed, result.pending) == (2, 0)
    finally:
        here.dispose()
        elsewhere.dispose()


@pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite's write lock is what serialises its sealers")
def test_a_second_sealer_waits_for_the_first_on_sqlite(store: Store) -> None:
    setup = store.factory()
    open_books(setup)
    post_credits(setup, 5)
    first, second = store.factory(), store.factory()
    results: list[SealResult] = []

    def second_sealer() -> None:
        with transaction(second) as session:
            results.append(ledger.seal(session))

    with transaction(first) as holding:
        assert ledger.seal(holding, limit=2).sealed == 2
        thread = threading.Thread(target=second_sealer)
        thread.start()
        thread.join(0.3)
        assert thread.is_alive(), "the second sealer should wait for the first one's write lock"
    thread.join(JOIN_TIMEOUT)
    assert [(r.sealed, r.head.count, r.pending) for r in results] == [(3, 5, 0)]
    assert store.errors == Counter()
    assert seal_and_verify(setup).count == 5


# --- idempotency under concurrency ----------------------------------------------------------------


def test_ten_concurrent_identical_postings_make_one_transfer(store: Store) -> None:
    setup = store.factory()
    open_books(setup)
    request = TransferRequest(
        ISSUANCE, MEMBER, 25, "pickup_credit", "pickup:42", reference="collection:42", memo="PET 2kg"
    )

    def post_once(_i: int, factory: sessionmaker[Session]) -> tuple[PostedTransfer, Exception | None]:
        try:
            with transaction(factory) as session:
                return post(session, request), None
        except (ledger.RetryablePostingError, IntegrityError) as error:
            raced: Exception = error
        return transact(lambda: transaction(factory), lambda session: post(session, request)), raced

    outcomes = run_together(store.factories(10), post_once)

    assert failures(outcomes) == []
    results = [o for o in outcomes if isinstance(o, tuple)]
    with transaction(setup) as session:
        ids = session.execute(
            select(transfers_t.c.id).where(transfers_t.c.idempotency_key == request.idempotency_key)
        ).scalars()
        (only,) = ids
        original = ledger.get_transfer(session, only)
        assert count_transfers(session) == 1
        assert ledger.balance(session, MEMBER) == Balance(debits=0, credits=25)
    assert [posted for posted, _ in results] == [original] * 10
    raced = [error for _, error in results if error is not None]
    # A loser of the race hit the unique idempotency key (translated to RetryablePostingError).
    assert all(isinstance(e, ledger.RetryablePostingError) and "idempotency_key" in str(e) for e in raced)
    if store.dialect == "sqlite":
        # BEGIN IMMEDIATE serialises: every later poster already sees the winner's commit.
        assert raced == []
    print(f"\n[{store.dialect}] identical postings that lost the race and were retried: {len(raced)}")
    assert seal_and_verify(setup).count == 1


@pytest.mark.parametrize(
    "workers",
    [1, pytest.param(2, marks=pytest.mark.skipif(not ON_POSTGRESQL, reason="segments are PostgreSQL's"))],
)
def test_verify_beside_postings_and_the_sealer_sees_one_moment_and_says_ok(
    store: Store, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verify reads counters, chain, queue and transfers in several statements; postings and the
    sealer committing between them must not look like a broken ledger."""
    monkeypatch.setattr("ledger.verification.MIN_SEGMENT", 5)
    members = [MEMBER, *(f"member:V{n}" for n in range(3))]
    setup = store.factory()
    open_books(setup, members)
    post_credits(setup, 30)
    seal_everything(setup)
    done = threading.Event()

    def post_and_seal(i: int, factory: sessionmaker[Session]) -> int:
        posted = 0
        while not done.is_set():
            wanted = TransferRequest(ISSUANCE, members[posted % 4], 1, "pickup_credit", f"v{i}-{posted}")
            transact(lambda: transaction(factory), lambda session, r=wanted: post(session, r), attempts=5)
            posted += 1
            if posted % 3 == 0:
                with transaction(factory) as session:
                    ledger.seal(session)
        return posted

    def verify_repeatedly(i: int, factory: sessionmaker[Session]) -> list[ledger.VerifyReport]:
        try:
            reports = []
            for _ in range(8):
                with transaction(factory) as session:
                    reports.append(ledger.verify(session, workers=workers))
            return reports
        finally:
            done.set()

    def work(i: int, factory: sessionmaker[Session]) -> Any:
        return verify_repeatedly(i, factory) if i == 0 else post_and_seal(i, factory)

    outcomes = run_together(store.factories(3), work)
    assert failures(outcomes) == []
    reports = outcomes[0]
    assert isinstance(reports, list)
    assert [r.problem for r in reports if not r.ok] == []
    assert sum(o for o in outcomes[1:] if isinstance(o, int)) > 0
    assert seal_and_verify(setup).ok
