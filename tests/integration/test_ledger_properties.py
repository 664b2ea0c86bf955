"""The ledger under random sequences of operations, on the store under test (SQLite or PostgreSQL).

A hypothesis state machine posts (single and linked transfers), reverses (valid, twice, malformed),
makes postings the ledger must refuse (overdrafts, reused idempotency keys, bad amounts), replays
earlier requests and seals, in any order, with times that only move forward. The test keeps its own
model of the books, a plain dict of debits and credits updated only for postings that succeeded,
and works out from the model alone what the ledger must do with each request: post it, replay the
original, or refuse it with one particular error. After every step it checks the invariants:

- conservation: all debits equal all credits, and the issuance account's debit balance equals the
  net points handed out (the credit balances of every other account);
- limits: no member account below zero;
- every balance equals the model's; refused operations and replays change nothing;
- the chain verifies, its head counts the sealed transfers, and balances as of a sequence number or
  a time equal the model's history.

Each state machine run works in one transaction on the shared database, rolled back at teardown.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import ledger
from ledger import Balance, LedgerError, PostedTransfer, TransferRequest
from ledger.models import transfers_t
from ledger.refs import normalise

ISSUANCE = "programme:issuance"
REWARDS = "rewards:airtime"
COLLECTOR = "collector:7"
MEMBER_CODES = ("member:K1000A", "member:K2000B", "member:K3000C", "member:K4000D")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# The ledger must return the original transfers of an earlier, identical posting.
REPLAY = "replay"
# What a posting must do: post (None), replay, or raise this error with these attributes.
Outcome = tuple[type[LedgerError] | str | None, dict[str, object]]
POSTED: Outcome = (None, {})

ACCOUNT = st.integers(0, 7)  # an index into the open accounts, modulo their number
AMOUNT = st.integers(1, 150)
LEG = st.tuples(ACCOUNT, ACCOUNT, AMOUNT)
PICK = st.integers(0, 1_000)  # an index into a list the model keeps, modulo its length

# On PostgreSQL another process may hold the sealer's lock for a moment: how often seal() tries.
LOCK_ATTEMPTS = 100

SETTINGS = settings(max_examples=30, stateful_step_count=40, deadline=None)


@dataclass(frozen=True)
class Posting:
    """A call that posted: how it was made and what it asked, to replay or to reuse its keys."""

    via: str  # "post", "linked" (post_linked) or "reverse"
    requests: tuple[TransferRequest, ...]


def _same_content(request: TransferRequest, posted: PostedTransfer) -> bool:
    return (
        (request.debit, request.credit, request.amount, request.code, request.reference)
        == (posted.debit, posted.credit, posted.amount, posted.code, posted.reference)
        and (request.memo, request.actor, request.reverses) == (posted.memo, posted.actor, posted.reverses)
        and request.occurred_at in (None, posted.occurred_at)
    )


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.connection = engine.connect()
        self.transaction = self.connection.begin()
        self.session = Session(
            bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        self.dialect = engine.dialect.name
        self.ticks = 0
        self.keys_made = 0
        self.codes: list[str] = []
        self.members: list[str] = []
        # The model: (debits, credits) per account, changed only by postings that succeeded.
        self.model: dict[str, list[int]] = {}
        self.net_issued = 0
        self.by_key: dict[str, PostedTransfer] = {}
        self.transfers: dict[int, PostedTransfer] = {}
        self.order: list[int] = []  # transfer ids, in the order they were posted
        self.reversed: set[int] = set()
        self.postings: list[Posting] = []
        self.free_keys: list[str] = []  # keys of refused postings: never used, so free again
        self.refs: set[str] = set()
        # The chain: transfers waiting to be sealed, the seq each sealed one got, and every
        # account's balance after each seq (history[0]: before the first transfer).
        self.pending: list[int] = []
        self.seq_of: dict[int, int] = {}
        self.history: list[dict[str, Balance]] = []
        self.changed = True  # since the chain was last verified

    def teardown(self) -> None:
        self.session.close()
        self.transaction.rollback()
        self.connection.close()

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _time(tick: int) -> datetime:
        # Strictly increasing, with microseconds that vary (they must survive the round trip).
        return T0 + timedelta(seconds=tick, microseconds=(tick * 104_729) % 1_000_000)

    def _tick(self) -> datetime:
        self.ticks += 1
        return self._time(self.ticks)

    def _key(self) -> str:
        self.keys_made += 1
        return f"key:{self.keys_made}"

    def _code(self, index: int) -> str:
        return self.codes[index % len(self.codes)]

    def _points(self, code: str) -> int:
        debits, credits = self.model[code]
        return credits - debits

    def _balances(self) -> dict[str, Balance]:
        return {code: Balance(*totals) for code, totals in self.model.items()}

    def _leg(self, debit: int, credit: int, amount: int, code: str = "transfer") -> TransferRequest:
        debit_code, credit_code = self._code(debit), self._code(credit)
        if debit_code == credit_code:
            credit_code = self._code(credit + 1)
        return TransferRequest(
            debit_code, credit_code, amount, code, self._key(), reference=f"op:{self.ticks}", actor="test"
        )

    def _transfer_count(self) -> int:
        return int(self.session.execute(select(func.count()).select_from(transfers_t)).scalar_one())

    def _snapshot(self) -> tuple[object, ...]:
        return (
            ledger.balances(self.session, self.codes),
            self._transfer_count(),
            ledger.pending_count(self.session),
            ledger.head(self.session),
        )

    def _as_stored(self, key: str) -> PostedTransfer:
        posted = self.by_key[key]
        return dataclasses.replace(posted, seq=self.seq_of.get(posted.id))

    def _predict(self, requests: Sequence[TransferRequest]) -> Outcome:
        """What the ledger must do with this posting, from the model alone, checking in the order
        the ledger does: the requests' shape, idempotency, reversals, then limits."""
        keys = [r.idempotency_key for r in requests]
        if (
            any(r.amount <= 0 or r.debit == r.credit for r in requests)
            or len(set(keys)) != len(keys)
            or not requests
        ):
            return ledger.InvalidTransfer, {}
        if any(key in self.by_key for key in keys):
            for key, r in zip(keys, requests, strict=True):
                if key not in self.by_key or not _same_content(r, self.by_key[key]):
                    return ledger.IdempotencyConflict, {"key": key}
            return REPLAY, {}
        targets = [r.reverses for r in requests if r.reverses is not None]
        if len(set(targets)) != len(targets) or set(targets) & self.reversed:
            return ledger.AlreadyReversed, {}
        for r in requests:
            if r.reverses is None:
                continue
            original = self.transfers.get(r.reverses)
            if original is None:
                return ledger.UnknownTransfer, {"ident": r.reverses}
            if (r.debit, r.credit, r.amount) != (original.credit, original.debit, original.amount):
                return ledger.InvalidReversal, {}
        running = {code: self._points(code) for code in self.members}
        for r in requests:
            if r.credit in running:
                running[r.credit] += r.amount
            if r.debit in running:
                if running[r.debit] < r.amount:
                    detail = {"account": r.debit, "balance": running[r.debit], "amount": r.amount}
                    return ledger.InsufficientFunds, detail
                running[r.debit] -= r.amount
        return POSTED

    def _call(self, via: str, requests: Sequence[TransferRequest], now: datetime) -> list[PostedTransfer]:
        if via == "reverse":
            (r,) = requests
            assert r.reverses is not None
            return [
                ledger.reverse(
                    self.session,
                    r.reverses,
                    idempotency_key=r.idempotency_key,
                    actor=r.actor,
                    memo=r.memo,
                    code=r.code,
                    now=now,
                )
            ]
        if via == "post":
            (r,) = requests
            return [ledger.post(self.session, r, now=now)]
        return ledger.post_linked(self.session, list(requests), now=now)

    def _attempt(self, label: str, via: str, requests: Sequence[TransferRequest]) -> None:
        """Make the call in a savepoint; check it did what the model predicts, and nothing else."""
        expected, detail = self._predict(requests)
        outcome = (
            "posted" if expected is None else expected if isinstance(expected, str) else expected.__name__
        )
        event(f"{label}: {outcome}")
        note(f"{label} via {via}, expecting {outcome}: {list(requests)!r}")
        now = self._tick()
        before = self._snapshot()
        if expected is None:
            with self.session.begin_nested():
                posted = self._call(via, requests, now)
            self._record(via, requests, posted, now)
            return
        if expected == REPLAY:
            with self.session.begin_nested():
                posted = self._call(via, requests, now)
            assert posted == [self._as_stored(r.idempotency_key) for r in requests]
        else:
            assert not isinstance(expected, str)
            with pytest.raises(expected) as refused, self.session.begin_nested():
                self._call(via, requests, now)
            assert type(refused.value) is expected
            assert {name: getattr(refused.value, name) for name in detail} == detail
            for r in requests:
                if r.idempotency_key not in self.by_key and r.idempotency_key not in self.free_keys:
                    self.free_keys.append(r.idempotency_key)
        assert self._snapshot() == before

    def _record(
        self, via: str, requests: Sequence[TransferRequest], posted: list[PostedTransfer], now: datetime
    ) -> None:
        assert len(posted) == len(requests)
        for r, p in zip(requests, posted, strict=True):
            assert p.id not in self.transfers
            assert (p.debit, p.credit, p.amount, p.code, p.reference, p.memo, p.actor) == (
                r.debit,
                r.credit,
                r.amount,
                r.code,
                r.reference,
                r.memo,
                r.actor,
            )
            assert (p.idempotency_key, p.reverses, p.seq) == (r.idempotency_key, r.reverses, None)
            assert p.recorded_at == now and p.occurred_at == (r.occurred_at or now)
            assert normalise(p.human_ref) == p.human_ref and p.human_ref not in self.refs
            self.refs.add(p.human_ref)
            self.transfers[p.id] = p
            self.by_key[p.idempotency_key] = p
            self.order.append(p.id)
            self.pending.append(p.id)
            self.model[p.debit][0] += p.amount
            self.model[p.credit][1] += p.amount
            self.net_issued += p.amount if p.debit == ISSUANCE else -p.amount if p.credit == ISSUANCE else 0
            if p.reverses is not None:
                self.reversed.add(p.reverses)
        self.postings.append(Posting(via, tuple(requests)))
        self.changed = True

    # -- setup -----------------------------------------------------------------------------------

    @initialize(members=st.integers(2, 4))
    def open_the_books(self, members: int) -> None:
        self.members = list(MEMBER_CODES[:members])
        self.codes = [ISSUANCE, *self.members, REWARDS, COLLECTOR]
        with self.session.begin_nested():
            ledger.open_account(self.session, ISSUANCE, "programme", now=T0)
            for member in self.members:
                ledger.open_account(self.session, member, "member", no_overdraft=True, now=T0)
            ledger.open_account(self.session, REWARDS, "rewards", now=T0)
            ledger.open_account(self.session, COLLECTOR, "collector", now=T0)
        self.model = {code: [0, 0] for code in self.codes}
        self.history = [self._balances()]

    # -- postings --------------------------------------------------------------------------------

    @rule(member=ACCOUNT, points=st.integers(1, 200), commission=st.integers(0, 20), backdated=st.booleans())
    def pickup(self, member: int, points: int, commission: int, backdated: bool) -> None:
        """Points for a household and, linked to them, the collector's commission."""
        reference = f"collection:{self.ticks}"
        requests = [
            TransferRequest(
                ISSUANCE,
                self.members[member % len(self.members)],
                points,
                "pickup_credit",
                self._key(),
                reference=reference,
                memo="PET 4.5kg",
                actor=COLLECTOR,
                occurred_at=self._time(self.ticks) - timedelta(minutes=5) if backdated else None,
            )
        ]
        if commission:
            requests.append(
                TransferRequest(
                    ISSUANCE, COLLECTOR, commission, "commission", self._key(), reference=reference
                )
            )
        self._attempt("pickup", "post" if len(requests) == 1 else "linked", requests)

    @rule(legs=st.lists(LEG, min_size=1, max_size=4), linked=st.booleans())
    def transfer(self, legs: list[tuple[int, int, int]], linked: bool) -> None:
        """Any accounts, any amounts: a member debited beyond its points must be refused."""
        requests = [self._leg(*leg) for leg in legs]
        self._attempt("transfer", "linked" if linked or len(requests) > 1 else "post", requests)

    @rule(member=ACCOUNT, short_of=st.integers(-2, 40))
    def redeem(self, member: int, short_of: int) -> None:
        """Spend close to a member's points: all of them, less, or just more (refused)."""
        funded = [code for code in self.members if self._points(code) > 0] or self.members
        code = funded[member % len(funded)]
        amount = max(1, self._points(code) - short_of)
        request = TransferRequest(code, REWARDS, amount, "redemption", self._key(), actor=code)
        self._attempt("redeem", "post", [request])

    @rule(
        legs=st.lists(LEG, min_size=1, max_size=3),
        position=PICK,
        fault=st.sampled_from(["zero", "negative", "same_account", "duplicate_key"]),
        negative=st.integers(-1_000, -1),
    )
    def malformed_posting(
        self, legs: list[tuple[int, int, int]], position: int, fault: str, negative: int
    ) -> None:
        requests = [self._leg(*leg) for leg in legs]
        i = position % len(requests)
        if fault == "zero":
            requests[i] = dataclasses.replace(requests[i], amount=0)
        elif fault == "negative":
            requests[i] = dataclasses.replace(requests[i], amount=negative)
        elif fault == "same_account":
            requests[i] = dataclasses.replace(requests[i], credit=requests[i].debit)
        else:
            requests.append(
                dataclasses.replace(self._leg(0, 1, 1), idempotency_key=requests[i].idempotency_key)
            )
        self._attempt(f"malformed posting ({fault})", "post" if len(requests) == 1 else "linked", requests)

    @precondition(lambda self: bool(self.free_keys))
    @rule(member=ACCOUNT, points=AMOUNT)
    def reuse_a_refused_key(self, member: int, points: int) -> None:
        """A refused posting wrote nothing: its key is free for another posting."""
        request = TransferRequest(
            ISSUANCE, self.members[member % len(self.members)], points, "pickup_credit", self.free_keys.pop()
        )
        self._attempt("refused key reused", "post", [request])

    # -- reversals -------------------------------------------------------------------------------

    @precondition(lambda self: bool(self.order))
    @rule(
        pick=PICK,
        via=st.sampled_from(["reverse", "post", "linked"]),
        extra=AMOUNT,
        extra_first=st.booleans(),
    )
    def reverse(self, pick: int, via: str, extra: int, extra_first: bool) -> None:
        """Reverse any earlier transfer: posted if not yet reversed and the limit allows it."""
        original = self.transfers[self.order[pick % len(self.order)]]
        requests = [
            ledger.reversal_of(original, idempotency_key=self._key(), actor="operator:1", memo="undo")
        ]
        if via == "linked":
            # Points handed to the account the reversal debits, before or after it.
            topup = TransferRequest(ISSUANCE, original.credit, extra, "adjustment", self._key())
            if original.credit == ISSUANCE:
                topup = dataclasses.replace(topup, debit=COLLECTOR)
            requests.insert(0 if extra_first else 1, topup)
        self._attempt("reverse", via, requests)

    @precondition(lambda self: bool(self.reversed))
    @rule(pick=PICK, via=st.sampled_from(["reverse", "post"]))
    def reverse_again(self, pick: int, via: str) -> None:
        """A second reversal under a new key is refused, whatever else holds."""
        original = self.transfers[sorted(self.reversed)[pick % len(self.reversed)]]
        request = ledger.reversal_of(original, idempotency_key=self._key(), actor="operator:2")
        assert self._predict([request])[0] is ledger.AlreadyReversed
        self._attempt("reverse again", via, [request])

    @precondition(lambda self: bool(self.order))
    @rule(
        pick=PICK,
        fault=st.sampled_from(
            ["more", "less", "same_direction", "other_debit", "other_credit", "unknown", "twice"]
        ),
        delta=st.integers(1, 50),
        other=PICK,
    )
    def malformed_reversal(self, pick: int, fault: str, delta: int, other: int) -> None:
        """Not the exact opposite: refused (InvalidReversal), unless the original is already reversed."""
        original = self.transfers[self.order[pick % len(self.order)]]
        exact = ledger.reversal_of(original, idempotency_key=self._key(), actor="operator:1")
        third = [c for c in self.codes if c not in (original.debit, original.credit)]
        requests = [exact]
        if fault == "more":
            requests = [dataclasses.replace(exact, amount=exact.amount + delta)]
        elif fault == "less":
            smaller = exact.amount - delta if exact.amount > delta else exact.amount + delta
            requests = [dataclasses.replace(exact, amount=smaller)]
        elif fault == "same_direction":
            requests = [dataclasses.replace(exact, debit=original.debit, credit=original.credit)]
        elif fault == "other_debit":
            requests = [dataclasses.replace(exact, debit=third[other % len(third)])]
        elif fault == "other_credit":
            requests = [dataclasses.replace(exact, credit=third[other % len(third)])]
        elif fault == "unknown":
            requests = [dataclasses.replace(exact, reverses=10**12 + other)]
        else:
            requests = [exact, dataclasses.replace(exact, idempotency_key=self._key())]
        self._attempt(f"malformed reversal ({fault})", "post" if len(requests) == 1 else "linked", requests)

    # -- idempotency -----------------------------------------------------------------------------

    @precondition(lambda self: bool(self.postings))
    @rule(pick=PICK, how=st.sampled_from(["same", "reordered", "first_only"]))
    def replay(self, pick: int, how: str) -> None:
        """The same request again returns the original transfers (sealed since or not)."""
        posting = self.postings[pick % len(self.postings)]
        requests, via = list(posting.requests), posting.via
        if how == "reordered" and len(requests) > 1:
            requests.reverse()
        elif how == "first_only" and len(requests) > 1:
            requests, via = requests[:1], "post"
        assert self._predict(requests)[0] == REPLAY
        self._attempt(f"replay ({how})", via, requests)

    @precondition(lambda self: bool(self.postings))
    @rule(
        pick=PICK,
        leg=PICK,
        change=st.sampled_from(["amount", "memo", "account", "occurred_at", "reverses", "extra_leg"]),
        other=PICK,
    )
    def reuse_key_with_other_content(self, pick: int, leg: int, change: str, other: int) -> None:
        posting = self.postings[pick % len(self.postings)]
        requests = list(posting.requests)
        i = leg % len(requests)
        r = requests[i]
        if change == "amount":
            requests[i] = dataclasses.replace(r, amount=r.amount + 1)
        elif change == "memo":
            requests[i] = dataclasses.replace(r, memo=r.memo + " (again)")
        elif change == "account":
            others = [c for c in self.codes if c not in (r.debit, r.credit)]
            requests[i] = dataclasses.replace(r, credit=others[other % len(others)])
        elif change == "occurred_at":
            requests[i] = dataclasses.replace(r, occurred_at=T0 - timedelta(days=1))
        elif change == "reverses":
            requests[i] = dataclasses.replace(
                r, reverses=None if r.reverses is not None else self.order[other % len(self.order)]
            )
        else:
            requests.append(self._leg(0, 1, 1))
        assert self._predict(requests)[0] is ledger.IdempotencyConflict
        self._attempt(f"key reused ({change})", "post" if len(requests) == 1 else "linked", requests)

    # -- the chain -------------------------------------------------------------------------------

    @rule(limit=st.none() | st.integers(1, 3), everything=st.booleans())
    def seal(self, limit: int | None, everything: bool) -> None:
        """seal() (all waiting, or at most ``limit``) or seal_all(): in transfer id order."""
        now = self._tick()
        if everything:
            limit = None
        chosen = sorted(self.pending)[:limit]
        previous = len(self.history) - 1
        for _ in range(LOCK_ATTEMPTS):
            with self.session.begin_nested():
                if everything:
                    result = ledger.seal_all(self.session, now=now)
                elif limit is None:
                    result = ledger.seal(self.session, now=now)
                else:
                    result = ledger.seal(self.session, limit=limit, now=now)
            if result.sealed or not chosen or self.dialect != "postgresql":
                break
            # Another process sealing on this PostgreSQL database holds the sealer's advisory lock
            # (one key per database): seal() returns without sealing, as documented. Wait and retry.
            assert (result.pending, result.head.count) == (len(self.pending), previous)
            time.sleep(0.05)
        else:
            event("seal: lock held by another sealer")
            return
        self.changed = True
        event(f"seal: {'none' if not chosen else 'all' if len(chosen) == len(self.pending) else 'some'}")
        assert (result.sealed, result.pending, result.head.count) == (
            len(chosen),
            len(self.pending) - len(chosen),
            previous + len(chosen),
        )
        if chosen:
            assert result.head.sealed_at == now
        for transfer_id in chosen:
            self.seq_of[transfer_id] = len(self.history)
            transfer = self.transfers[transfer_id]
            after = {code: [b.debits, b.credits] for code, b in self.history[-1].items()}
            after[transfer.debit][0] += transfer.amount
            after[transfer.credit][1] += transfer.amount
            self.history.append({code: Balance(*totals) for code, totals in after.items()})
        self.pending = [t for t in self.pending if t not in self.seq_of]
        for transfer_id in chosen:
            assert ledger.get_transfer(self.session, transfer_id).seq == self.seq_of[transfer_id]
        assert self.history[-1] == self._balances() or self.pending

    @rule(n=PICK)
    def balance_as_of_a_sequence_number(self, n: int) -> None:
        count = len(self.history) - 1
        n %= count + 2  # up to one past the head: as of the head
        expected = self.history[min(n, count)]
        for code in self.codes:
            assert ledger.balance_at(self.session, code, seq=n) == expected[code], (code, n)

    @rule(tick=PICK, exact=st.booleans())
    def balance_as_of_a_time(self, tick: int, exact: bool) -> None:
        """As of a time: every transfer recorded by then, whether it is sealed yet or not."""
        at = self._time(tick % (self.ticks + 1)) - timedelta(microseconds=0 if exact else 1)
        expected = {code: [0, 0] for code in self.codes}
        for transfer in self.transfers.values():
            if transfer.recorded_at <= at:
                expected[transfer.debit][0] += transfer.amount
                expected[transfer.credit][1] += transfer.amount
        for code in self.codes:
            assert ledger.balance_at(self.session, code, at=at) == Balance(*expected[code]), (code, at)

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def balances_equal_the_model_and_conserve_points(self) -> None:
        stored = ledger.balances(self.session, self.codes)
        assert stored == self._balances()
        # balance() is balances() for one account: check it for one, in turn.
        code = self.codes[self.ticks % len(self.codes)]
        assert ledger.balance(self.session, code) == stored[code]
        assert sum(b.debits for b in stored.values()) == sum(b.credits for b in stored.values())
        handed_out = sum(b.credit_balance for code, b in stored.items() if code != ISSUANCE)
        assert stored[ISSUANCE].debit_balance == self.net_issued == handed_out
        assert all(stored[code].credit_balance >= 0 for code in self.members)

    @invariant()
    def counts_equal_the_model(self) -> None:
        assert self._transfer_count() == len(self.transfers)
        assert ledger.pending_count(self.session) == len(self.pending)
        assert ledger.head(self.session).count == len(self.seq_of) == len(self.history) - 1

    @invariant()
    def the_chain_verifies(self) -> None:
        if not self.changed:
            return  # refusals and replays are shown to change nothing: the last report stands
        self.changed = False
        report = ledger.verify(self.session)
        assert report.ok, report
        sealed = len(self.seq_of)
        assert (report.count, report.checked, report.pending) == (sealed, sealed, len(self.pending))
        assert report.head_hash == ledger.head(self.session).hash


@pytest.mark.slow
def test_random_operations_keep_every_invariant(shared_engine: Engine) -> None:
    run_state_machine_as_test(lambda: LedgerMachine(shared_engine), settings=SETTINGS)
