"""Browsing the ledger (``ledger.browse``, ``ledger.browse_chunks``): every filtered view, read
page by page through the keyset, is exactly the brute-force list of matching transfers, newest
first, on the store under test."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

import ledger
from ledger import PostedTransfer, TransferFilter, TransferRequest

ISSUANCE = "programme:issuance"
ACCOUNTS = ("member:KA", "member:KB", "collector:901", "rewards:browse")
CODES = ("pickup_credit", "commission", "redemption", "adjustment")
T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def history(session: Session) -> list[PostedTransfer]:
    """60 transfers over 30 days (not in id order) between five accounts, 20 causes, four codes."""
    ledger.open_account(session, ISSUANCE, "programme")
    for code in ACCOUNTS:
        ledger.open_account(session, code, code.partition(":")[0])
    posted = []
    for n in range(60):
        credit = ACCOUNTS[n % 4]
        debit = ISSUANCE if n % 5 else ACCOUNTS[(n + 1) % 4]
        if debit == credit:
            debit = ISSUANCE
        posted.append(
            ledger.post(
                session,
                TransferRequest(
                    debit,
                    credit,
                    1 + n,
                    CODES[n % 4] if n % 7 else "adjustment",
                    f"browse:{n}",
                    reference=f"pickup:{n // 3}",
                    memo=f"m{n}",
                ),
                # Recorded times out of id order, two transfers at each: a period's view is by time.
                now=T0 + timedelta(hours=24 * ((n * 7) % 30)),
            )
        )
    return posted


def _matches(t: PostedTransfer, wanted: TransferFilter, reference: str | None) -> bool:
    return (
        (wanted.account is None or wanted.account in (t.debit, t.credit))
        and (wanted.code is None or t.code == wanted.code)
        and (reference is None or t.reference == reference)
        and (wanted.since is None or t.recorded_at >= wanted.since)
        and (wanted.until is None or t.recorded_at < wanted.until)
    )


def _read_all(session: Session, wanted: TransferFilter, size: int) -> list[int]:
    ids: list[int] = []
    before = None
    while True:
        page = ledger.browse(session, wanted, before=before, limit=size)
        assert len(page) <= size
        ids.extend(t.id for t in page)
        if len(page) < size:
            return ids
        before = page[-1].id


FILTERS = st.builds(
    TransferFilter,
    account=st.none() | st.sampled_from((ISSUANCE, *ACCOUNTS)),
    code=st.none() | st.sampled_from(CODES),
    reference=st.none() | st.integers(0, 21).map(lambda n: f"pickup:{n}"),
    since=st.none() | st.integers(0, 30).map(lambda d: T0 + timedelta(days=d)),
    until=st.none() | st.integers(0, 31).map(lambda d: T0 + timedelta(days=d, hours=6)),
)


@pytest.fixture(params=[(1000, 50_000), (4, 8)], ids=["rare", "plentiful"])
def plenty(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many matches make an account's side or a code "plentiful", and how far they are
    counted: with 4 and 8 most are, counts tie, and pages are led by other indexes (the view's
    order, the code's, the recorded-time one) than with 1000, where none is."""
    module = sys.modules["ledger.browse"]
    monkeypatch.setattr(module, "PLENTY", request.param[0])
    monkeypatch.setattr(module, "COUNT_CAP", request.param[1])
    return int(request.param[0])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wanted=FILTERS, size=st.integers(1, 25))
def test_paged_views_are_the_brute_force_lists(
    session: Session, history: list[PostedTransfer], plenty: int, wanted: TransferFilter, size: int
) -> None:
    matching = [t for t in history if _matches(t, wanted, wanted.reference)]
    by_time = wanted.since is not None or wanted.until is not None
    expected = [
        t.id
        for t in sorted(
            matching, key=(lambda t: (t.recorded_at, t.id)) if by_time else (lambda t: t.id), reverse=True
        )
    ]
    assert _read_all(session, wanted, size) == expected
    chunked = [t.id for chunk in ledger.browse_chunks(session, wanted, chunk=size) for t in chunk]
    assert chunked == expected


def test_a_human_reference_finds_every_transfer_of_its_cause(
    session: Session, history: list[PostedTransfer]
) -> None:
    third = history[3]  # reference pickup:1, shared with history[4] and history[5]
    found = ledger.browse(session, TransferFilter(reference=third.human_ref.lower()))
    assert [t.id for t in found] == [history[5].id, history[4].id, history[3].id]
    assert ledger.browse(session, TransferFilter(reference="pickup:1")) == found


def test_an_unknown_account_is_refused(session: Session, history: list[PostedTransfer]) -> None:
    with pytest.raises(ledger.UnknownAccount):
        ledger.browse(session, TransferFilter(account="member:NOPE"))


def test_a_page_has_the_transfers_as_posted(session: Session, history: list[PostedTransfer]) -> None:
    newest = ledger.browse(session, TransferFilter(), limit=2)
    assert [dataclass_fields(t) for t in newest] == [dataclass_fields(t) for t in history[:-3:-1]]
    with pytest.raises(ValueError, match="limit"):
        ledger.browse(session, TransferFilter(), limit=0)


def dataclass_fields(t: PostedTransfer) -> tuple[object, ...]:
    return (t.id, t.human_ref, t.debit, t.credit, t.amount, t.code, t.reference, t.memo, t.recorded_at)


def test_proof_of_a_sealed_transfer_holds(session: Session, history: list[PostedTransfer]) -> None:
    assert ledger.proof(session, history[0].id) is None  # not sealed yet
    ledger.seal_all(session)
    first, later = ledger.proof(session, history[0].id), ledger.proof(session, history[7].id)
    assert first is not None and later is not None
    assert first.holds and later.holds
    assert first.previous_hash == "0" * 64
    previous = ledger.proof(session, history[6].id)
    assert previous is not None and later.previous_hash == previous.hash
    assert f'"{history[7].human_ref}"' in later.payload


def test_kind_balance_sums_the_accounts_of_a_kind(session: Session, history: list[PostedTransfer]) -> None:
    members = ledger.kind_balance(session, "member")
    each = [ledger.balance(session, code) for code in ACCOUNTS if code.startswith("member")]
    assert members.credit_balance == sum(b.credit_balance for b in each)
    assert ledger.kind_balance(session, "nobody") == ledger.Balance(0, 0)
