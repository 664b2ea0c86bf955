"""The ledger's behaviour, example by example, on the store under test (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

import ledger
from ledger import TransferRequest

ISSUANCE = "programme:issuance"
AIRTIME = "rewards:airtime"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def books(session: Session) -> Session:
    ledger.open_account(session, ISSUANCE, "programme")
    ledger.open_account(session, AIRTIME, "rewards")
    for member in ("member:K4821X", "member:K7000A"):
        ledger.open_account(session, member, "member", no_overdraft=True)
    ledger.open_account(session, "collector:7", "collector")
    return session


def credit(member: str, amount: int, key: str, **extra: object) -> TransferRequest:
    return TransferRequest(ISSUANCE, member, amount, "pickup_credit", key, reference="collection:1", **extra)  # type: ignore[arg-type]


def test_posting_moves_both_sides_and_returns_a_short_reference(books: Session) -> None:
    posted = ledger.post(books, credit("member:K4821X", 57, "c1", memo="PET 4.5kg", actor="collector:7"))
    assert posted.id > 0 and posted.seq is None
    assert 4 <= len(posted.human_ref) <= 6 and not set(posted.human_ref) & set("01OI")
    assert ledger.balance(books, "member:K4821X") == ledger.Balance(debits=0, credits=57)
    assert ledger.balance(books, ISSUANCE).debit_balance == 57
    assert ledger.find_by_ref(books, f" {posted.human_ref.lower()} ") == posted
    assert ledger.find_by_ref(books, "0O1I") is None
    assert ledger.get_transfer(books, posted.id) == posted


def test_same_key_same_content_returns_the_original_and_posts_nothing(books: Session) -> None:
    first = ledger.post(books, credit("member:K4821X", 57, "c1"))
    again = ledger.post(books, credit("member:K4821X", 57, "c1"))
    assert again == first
    assert ledger.balance(books, "member:K4821X").credits == 57


def test_same_key_other_content_is_a_conflict(books: Session) -> None:
    ledger.post(books, credit("member:K4821X", 57, "c1"))
    with pytest.raises(ledger.IdempotencyConflict):
        ledger.post(books, credit("member:K4821X", 58, "c1"))
    with pytest.raises(ledger.IdempotencyConflict):
        ledger.post(books, credit("member:K7000A", 57, "c1"))
    assert ledger.balance(books, "member:K4821X").credits == 57


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (TransferRequest(ISSUANCE, "member:K4821X", 0, "pickup_credit", "k"), ledger.InvalidTransfer),
        (TransferRequest(ISSUANCE, "member:K4821X", -5, "pickup_credit", "k"), ledger.InvalidTransfer),
        (TransferRequest(ISSUANCE, "member:K4821X", 1.5, "pickup_credit", "k"), ledger.InvalidTransfer),  # type: ignore[arg-type]
        (TransferRequest(ISSUANCE, "member:K4821X", True, "pickup_credit", "k"), ledger.InvalidTransfer),
        (TransferRequest(ISSUANCE, "member:K4821X", 2**63, "pickup_credit", "k"), ledger.InvalidTransfer),
        (TransferRequest(ISSUANCE, ISSUANCE, 5, "pickup_credit", "k"), ledger.InvalidTransfer),
        (TransferRequest(ISSUANCE, "member:K4821X", 5, "pickup_credit", ""), ledger.InvalidTransfer),
        (TransferRequest(ISSUANCE, "member:NOPE", 5, "pickup_credit", "k"), ledger.UnknownAccount),
        (
            TransferRequest(
                ISSUANCE, "member:K4821X", 5, "pickup_credit", "k", occurred_at=datetime(2026, 1, 1)
            ),
            ledger.InvalidTransfer,
        ),
    ],
)
def test_bad_transfers_are_refused_and_change_nothing(
    books: Session, request_: TransferRequest, error: type[Exception]
) -> None:
    with pytest.raises(error):
        ledger.post(books, request_)
    assert ledger.balance(books, "member:K4821X") == ledger.Balance(0, 0)


def test_a_limited_account_never_goes_below_zero(books: Session) -> None:
    ledger.post(books, credit("member:K4821X", 100, "c1"))
    with pytest.raises(ledger.InsufficientFunds) as refused:
        ledger.post(books, TransferRequest("member:K4821X", AIRTIME, 101, "redemption", "r1"))
    assert (refused.value.account, refused.value.balance, refused.value.amount) == ("member:K4821X", 100, 101)
    ledger.post(books, TransferRequest("member:K4821X", AIRTIME, 100, "redemption", "r2"))
    assert ledger.balance(books, "member:K4821X").credit_balance == 0


def test_unlimited_accounts_may_go_negative(books: Session) -> None:
    ledger.post(books, credit("member:K4821X", 10, "c1"))
    assert ledger.balance(books, ISSUANCE).credit_balance == -10


def test_linked_transfers_post_all_or_none(books: Session) -> None:
    pickup = [
        credit("member:K4821X", 81, "collection:9/member"),
        TransferRequest(
            ISSUANCE, "collector:7", 6, "commission", "collection:9/collector", reference="collection:1"
        ),
    ]
    posted = ledger.post_linked(books, pickup)
    assert [p.amount for p in posted] == [81, 6]
    assert ledger.post_linked(books, pickup) == posted
    # The second transfer would overdraw the household: the first is not posted either.
    spend = [
        TransferRequest("member:K4821X", AIRTIME, 50, "redemption", "r/1"),
        TransferRequest("member:K4821X", AIRTIME, 50, "redemption", "r/2"),
    ]
    with pytest.raises(ledger.InsufficientFunds):
        ledger.post_linked(books, spend)
    assert ledger.balance(books, "member:K4821X").credit_balance == 81
    assert ledger.transfers_for(books, "collection:1") == posted


def test_a_credit_earlier_in_the_same_posting_counts_towards_the_limit(books: Session) -> None:
    ledger.post_linked(
        books,
        [
            credit("member:K4821X", 30, "c1"),
            TransferRequest("member:K4821X", AIRTIME, 30, "redemption", "r1"),
        ],
    )
    assert ledger.balance(books, "member:K4821X").credit_balance == 0


def test_a_reversal_is_the_exact_opposite_and_happens_once(books: Session) -> None:
    original = ledger.post(books, credit("member:K4821X", 57, "c1"))
    reversal = ledger.reverse(books, original.id, idempotency_key="undo:c1", actor="collector:7", memo="UNDO")
    assert (reversal.debit, reversal.credit, reversal.amount, reversal.reverses) == (
        "member:K4821X",
        ISSUANCE,
        57,
        original.id,
    )
    assert ledger.balance(books, "member:K4821X") == ledger.Balance(57, 57)
    # Replaying the same reversal is harmless; a second, different one is refused.
    again = ledger.reverse(books, original.id, idempotency_key="undo:c1", actor="collector:7", memo="UNDO")
    assert again == reversal
    with pytest.raises(ledger.AlreadyReversed):
        ledger.reverse(books, original.id, idempotency_key="undo:c1:again", actor="operator:1")


def test_a_reversal_must_mirror_the_original(books: Session) -> None:
    original = ledger.post(books, credit("member:K4821X", 57, "c1"))
    for wrong in (
        TransferRequest("member:K4821X", ISSUANCE, 50, "reversal", "x1", reverses=original.id),
        TransferRequest(ISSUANCE, "member:K4821X", 57, "reversal", "x2", reverses=original.id),
        TransferRequest("member:K4821X", AIRTIME, 57, "reversal", "x3", reverses=original.id),
    ):
        with pytest.raises(ledger.InvalidReversal):
            ledger.post(books, wrong)
    with pytest.raises(ledger.UnknownTransfer):
        ledger.post(books, TransferRequest("member:K4821X", ISSUANCE, 57, "reversal", "x4", reverses=10**9))


def test_reversing_a_spent_credit_is_refused_by_the_limit(books: Session) -> None:
    original = ledger.post(books, credit("member:K4821X", 57, "c1"))
    ledger.post(books, TransferRequest("member:K4821X", AIRTIME, 50, "redemption", "r1"))
    with pytest.raises(ledger.InsufficientFunds):
        ledger.reverse(books, original.id, idempotency_key="undo", actor="operator:1")


def test_open_account_is_idempotent_and_refuses_a_different_account_under_the_same_code(
    books: Session,
) -> None:
    account = ledger.open_account(books, "member:K4821X", "member", no_overdraft=True)
    assert account == ledger.get_account(books, "member:K4821X")
    with pytest.raises(ledger.AccountConflict):
        ledger.open_account(books, "member:K4821X", "member", no_overdraft=False)
    with pytest.raises(ledger.UnknownAccount):
        ledger.get_account(books, "member:NOBODY")
    with pytest.raises(ledger.UnknownAccount):
        ledger.balance(books, "member:NOBODY")


def test_sealing_numbers_the_transfers_and_chains_them(books: Session) -> None:
    assert ledger.head(books).count == 0
    first = ledger.post(books, credit("member:K4821X", 10, "c1"), now=T0)
    second = ledger.post(books, credit("member:K7000A", 20, "c2"), now=T0)
    sealed = ledger.seal(books, now=T0 + timedelta(seconds=2))
    assert (sealed.sealed, sealed.pending, sealed.head.count) == (2, 0, 2)
    assert [ledger.get_transfer(books, t.id).seq for t in (first, second)] == [1, 2]
    expected = bytes(32)
    for seq, transfer in ((1, first), (2, second)):
        stored = ledger.get_transfer(books, transfer.id)
        row = type(
            "Row",
            (),
            {
                "reverses_id": stored.reverses,
                **{
                    f: getattr(stored, f)
                    for f in (
                        "id",
                        "human_ref",
                        "amount",
                        "code",
                        "reference",
                        "memo",
                        "actor",
                        "occurred_at",
                        "recorded_at",
                        "idempotency_key",
                    )
                },
            },
        )
        expected = ledger.link_hash(expected, ledger.canonical(seq, row, stored.debit, stored.credit))
    assert sealed.head.hash == expected.hex() == ledger.head(books).hash
    assert ledger.seal(books).sealed == 0
    report = ledger.verify(books)
    assert report.ok and report.count == 2 and report.head_hash == expected.hex()


def test_balance_as_of_a_sequence_number_or_a_time(books: Session) -> None:
    ledger.post(books, credit("member:K4821X", 10, "c1"), now=T0)
    ledger.seal(books, now=T0 + timedelta(seconds=1))
    ledger.post(books, credit("member:K4821X", 5, "c2"), now=T0 + timedelta(minutes=1))
    ledger.post(
        books,
        TransferRequest("member:K4821X", AIRTIME, 12, "redemption", "r1"),
        now=T0 + timedelta(minutes=2),
    )
    # Recorded before the next seal: counted as of its recording time though sealed later.
    assert ledger.balance_at(
        books, "member:K4821X", at=T0 + timedelta(minutes=1, seconds=30)
    ) == ledger.Balance(0, 15)
    ledger.seal(books, now=T0 + timedelta(minutes=3))
    assert ledger.balance_at(books, "member:K4821X", seq=0) == ledger.Balance(0, 0)
    assert ledger.balance_at(books, "member:K4821X", seq=1) == ledger.Balance(0, 10)
    assert ledger.balance_at(books, "member:K4821X", seq=2) == ledger.Balance(0, 15)
    assert ledger.balance_at(books, "member:K4821X", seq=3) == ledger.Balance(12, 15)
    assert ledger.balance_at(books, ISSUANCE, seq=3) == ledger.Balance(15, 0)
    assert ledger.balance_at(books, "member:K4821X", at=T0 - timedelta(seconds=1)) == ledger.Balance(0, 0)
    assert ledger.balance_at(books, "member:K4821X", at=T0) == ledger.Balance(0, 10)
    assert ledger.balance_at(
        books, "member:K4821X", at=T0 + timedelta(minutes=1, seconds=30)
    ) == ledger.Balance(0, 15)
    assert ledger.balance_at(books, "member:K4821X", at=T0 + timedelta(hours=1)) == ledger.balance(
        books, "member:K4821X"
    )
    with pytest.raises(ValueError, match="exactly one"):
        ledger.balance_at(books, "member:K4821X")


def test_references_stay_unique_and_short(books: Session) -> None:
    singles = [ledger.post(books, credit("member:K4821X", 1, f"s{i}")) for i in range(30)]
    assert all(len(p.human_ref) == 4 for p in singles)
    # A posting of many at once takes longer references, which concurrent postings will not clash on.
    batch = ledger.post_linked(books, [credit("member:K4821X", 1, f"c{i}") for i in range(300)])
    assert all(len(p.human_ref) == 5 for p in batch)
    assert len({p.human_ref for p in singles + batch}) == 330


def test_opening_accounts_in_bulk(books: Session) -> None:
    new = ledger.open_accounts(
        books,
        [("member:K4821X", "member", True)] + [(f"member:B{i:05d}", "member", True) for i in range(2500)],
    )
    assert new == 2500
    assert ledger.open_accounts(books, [(f"member:B{i:05d}", "member", True) for i in range(10)]) == 0
    assert ledger.get_account(books, "member:B02499").no_overdraft
    ledger.post(books, credit("member:B02499", 3, "b1"))
    assert ledger.balance(books, "member:B02499").credit_balance == 3
    with pytest.raises(ledger.AccountConflict):
        ledger.open_accounts(books, [("member:B00001", "member", False)])


def test_a_batch_with_one_replayed_key_is_a_conflict_and_posts_none_of_it(books: Session) -> None:
    first = ledger.post(books, credit("member:K4821X", 5, "b/2"))
    batch = [credit("member:K4821X", 5, f"b/{i}") for i in range(1, 4)]
    with pytest.raises(ledger.IdempotencyConflict):
        ledger.post_linked(books, batch)
    assert ledger.transfers_for(books, "collection:1") == [first]
    assert ledger.balance(books, "member:K4821X").credits == 5


def test_a_batch_naming_an_unknown_account_posts_none_of_it(books: Session) -> None:
    batch = [
        credit("member:K4821X", 5, "u/1"),
        credit("member:NOPE", 5, "u/2"),
        credit("member:K7000A", 5, "u/3"),
    ]
    with pytest.raises(ledger.UnknownAccount):
        ledger.post_linked(books, batch)
    assert ledger.transfers_for(books, "collection:1") == []
    assert ledger.balance(books, ISSUANCE) == ledger.Balance(0, 0)


def test_a_batch_whose_reference_clashes_still_posts_all_of_it_in_order(
    books: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = ledger.post(books, credit("member:K4821X", 1, "t/0"))
    draws = iter([taken.human_ref] * 5)
    real = ledger.refs.random_ref
    monkeypatch.setattr(ledger.refs, "random_ref", lambda length: next(draws, None) or real(length))
    batch = ledger.post_linked(books, [credit("member:K7000A", n, f"t/{n}") for n in range(1, 6)])
    assert [p.amount for p in batch] == [1, 2, 3, 4, 5]
    assert [p.id for p in batch] == sorted(p.id for p in batch)
    assert taken.human_ref not in {p.human_ref for p in batch}
    assert len({p.human_ref for p in batch}) == 5
    assert ledger.transfers_for(books, "collection:1") == [taken, *batch]
    assert ledger.balance(books, "member:K7000A").credits == 15


def test_latest_transfers_come_newest_first_sealed_or_not(books: Session) -> None:
    member = "member:K4821X"
    assert ledger.latest_transfers(books, member) == []
    first = ledger.post(books, credit(member, 10, "l1"))
    ledger.post(books, credit("member:K7000A", 99, "other"))  # another account's: never shown
    second = ledger.post(books, credit(member, 20, "l2"))
    ledger.seal_all(books)
    spent = ledger.post(books, TransferRequest(member, AIRTIME, 5, "redemption", "l3"))  # not yet sealed
    fourth = ledger.post(books, credit(member, 40, "l4"))
    latest = ledger.latest_transfers(books, member, limit=3)
    assert [t.id for t in latest] == [fourth.id, spent.id, second.id]
    assert latest[1].debit == member and latest[2].seq is not None and latest[0].seq is None
    assert [t.id for t in ledger.latest_transfers(books, member, limit=10)] == [
        fourth.id,
        spent.id,
        second.id,
        first.id,
    ]
    with pytest.raises(ledger.UnknownAccount):
        ledger.latest_transfers(books, "member:K0000X")
