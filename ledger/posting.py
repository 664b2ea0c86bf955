"""Posting: accounts, transfers, linked transfers, reversals and balances.

Every function takes the caller's SQLAlchemy ``Session`` and never commits: the caller's use case
owns the transaction. ``post_linked`` checks everything it can before it writes anything, so a
refusal (a ``LedgerError``) leaves the session as it was. The database's triggers are the final
guard: should two postings race past the checks, the loser gets ``InsufficientFunds`` or
``RetryablePostingError`` and its transaction must be rolled back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    bindparam,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import refs
from .errors import (
    AccountConflict,
    AlreadyReversed,
    AppendOnlyViolation,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidReversal,
    InvalidTransfer,
    RetryablePostingError,
    UnknownAccount,
    UnknownTransfer,
)
from .models import accounts_t, balances_t, chain_t, driver_cursor, pending_t, transfers_t
from .values import AccountInfo, Balance, PostedTransfer, TransferRequest

MAX_KEY_LENGTH = 200
# Far above any real posting, far below where sums of them could overflow 64-bit counters.
MAX_AMOUNT = 10**12
MAX_MEMO_LENGTH = 500


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def open_account(
    session: Session, code: str, kind: str, *, no_overdraft: bool = False, now: datetime | None = None
) -> AccountInfo:
    """Open an account, or return it if it is already open with the same kind and limit."""
    open_accounts(session, [(code, kind, no_overdraft)], now=now)
    return get_account(session, code)


_INSERT_ACCOUNT = insert(accounts_t).returning(accounts_t.c.id)
_INSERT_EMPTY_BALANCE = insert(balances_t).values(slot=0, debits=0, credits=0)


def open_accounts(
    session: Session, accounts: Sequence[tuple[str, str, bool]], *, now: datetime | None = None
) -> int:
    """Open many accounts at once (an import): ``(code, kind, no_overdraft)`` each.

    Accounts already open with the same kind and limit are left alone; returns how many were new.
    """
    wanted = {code: (kind, no_overdraft) for code, kind, no_overdraft in accounts}
    for code, kind, _ in accounts:
        if not code or len(code) > 64 or not kind or len(kind) > 32:
            raise InvalidTransfer("an account needs a code (1-64 characters) and a kind (1-32)")
    codes = list(wanted)
    for start in range(0, len(codes), 1000):
        chunk = codes[start : start + 1000]
        for row in session.connection().execute(
            select(accounts_t.c.code, accounts_t.c.kind, accounts_t.c.no_overdraft).where(
                accounts_t.c.code.in_(chunk)
            )
        ):
            if (row.kind, bool(row.no_overdraft)) != wanted[row.code]:
                raise AccountConflict(row.code)
            del wanted[row.code]
    if not wanted:
        return 0
    created_at = _now(now)
    if len(wanted) == 1:  # one account (a household joining): the plain single-row statements
        [(code, (kind, no_overdraft))] = wanted.items()
        values = {"code": code, "kind": kind, "no_overdraft": no_overdraft, "created_at": created_at}
        connection = session.connection()
        account_id = connection.execute(_INSERT_ACCOUNT, values).scalar_one()
        connection.execute(_INSERT_EMPTY_BALANCE, {"account_id": account_id})
        return 1
    ids = (
        session.connection()
        .execute(
            insert(accounts_t).returning(accounts_t.c.id, sort_by_parameter_order=True),
            [
                {"code": code, "kind": kind, "no_overdraft": no_overdraft, "created_at": created_at}
                for code, (kind, no_overdraft) in wanted.items()
            ],
        )
        .scalars()
    )
    session.connection().execute(
        insert(balances_t), [{"account_id": i, "slot": 0, "debits": 0, "credits": 0} for i in ids]
    )
    return len(wanted)


def get_account(session: Session, code: str) -> AccountInfo:
    row = session.connection().execute(select(accounts_t).where(accounts_t.c.code == code)).first()
    if row is None:
        raise UnknownAccount(code)
    return AccountInfo(row.id, row.code, row.kind, bool(row.no_overdraft))


def _validate(requests: Sequence[TransferRequest]) -> None:
    if not requests:
        raise InvalidTransfer("nothing to post")
    keys = set()
    for r in requests:
        if type(r.amount) is not int or not 0 < r.amount <= MAX_AMOUNT:
            raise InvalidTransfer(f"amount must be a whole number from 1 to {MAX_AMOUNT}, not {r.amount!r}")
        if r.debit == r.credit:
            raise InvalidTransfer(f"a transfer needs two different accounts, not {r.debit!r} twice")
        if not r.idempotency_key or len(r.idempotency_key) > MAX_KEY_LENGTH:
            raise InvalidTransfer(f"an idempotency key of 1 to {MAX_KEY_LENGTH} characters is required")
        if r.idempotency_key in keys:
            raise InvalidTransfer(f"idempotency key {r.idempotency_key!r} appears twice in one posting")
        keys.add(r.idempotency_key)
        if not r.code or len(r.code) > 32:
            raise InvalidTransfer("a transfer needs a code (1-32 characters)")
        if len(r.reference) > 128 or len(r.memo) > MAX_MEMO_LENGTH or not r.actor or len(r.actor) > 128:
            raise InvalidTransfer("reference (128), memo (500) or actor (1-128) too long or missing")
        if r.occurred_at is not None and r.occurred_at.tzinfo is None:
            raise InvalidTransfer("occurred_at must be an aware datetime")


def _same_content(request: TransferRequest, posted: PostedTransfer) -> bool:
    return (
        request.debit == posted.debit
        and request.credit == posted.credit
        and request.amount == posted.amount
        and request.code == posted.code
        and request.reference == posted.reference
        and request.memo == posted.memo
        and request.actor == posted.actor
        and request.reverses == posted.reverses
        and (request.occurred_at is None or request.occurred_at == posted.occurred_at)
    )


def _select_transfers() -> Any:
    debit = accounts_t.alias("debit")
    credit = accounts_t.alias("credit")
    return (
        select(
            transfers_t, debit.c.code.label("debit_code"), credit.c.code.label("credit_code"), chain_t.c.seq
        )
        .join(debit, debit.c.id == transfers_t.c.debit_account_id)
        .join(credit, credit.c.id == transfers_t.c.credit_account_id)
        .outerjoin(chain_t, chain_t.c.transfer_id == transfers_t.c.id)
    )


def _posted(row: Any) -> PostedTransfer:
    return PostedTransfer(
        id=row.id,
        human_ref=row.human_ref,
        debit=row.debit_code,
        credit=row.credit_code,
        amount=row.amount,
        code=row.code,
        reference=row.reference,
        memo=row.memo,
        actor=row.actor,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        idempotency_key=row.idempotency_key,
        reverses=row.reverses_id,
        seq=row.seq,
    )


def _originals(session: Session, requests: Sequence[TransferRequest]) -> list[PostedTransfer]:
    """The transfers an earlier, identical posting made; ``IdempotencyConflict`` if it differed."""
    keys = [r.idempotency_key for r in requests]
    rows = (
        session.connection().execute(_select_transfers().where(transfers_t.c.idempotency_key.in_(keys))).all()
    )
    by_key = {row.idempotency_key: _posted(row) for row in rows}
    for request in requests:
        original = by_key.get(request.idempotency_key)
        if original is None or not _same_content(request, original):
            raise IdempotencyConflict(request.idempotency_key)
    return [by_key[k] for k in keys]


def _look_up(
    session: Session, requests: Sequence[TransferRequest]
) -> tuple[list[str] | None, dict[str, AccountInfo]]:
    """One round trip for three questions: was this posted before (then None), which references
    are free, and which accounts do the codes name?"""
    keys = {r.idempotency_key for r in requests}
    codes = {r.debit for r in requests} | {r.credit for r in requests}
    wanted = [refs.candidates() for _ in requests]
    earlier = select(
        literal("transfer").label("source"),
        transfers_t.c.idempotency_key.label("name"),
        transfers_t.c.human_ref.label("detail"),
        cast(null(), Integer).label("account_id"),
        cast(null(), Boolean).label("no_overdraft"),
    ).where(
        transfers_t.c.idempotency_key.in_(keys)
        | transfers_t.c.human_ref.in_([ref for group in wanted for ref in group])
    )
    named = select(
        literal("account"),
        accounts_t.c.code,
        accounts_t.c.kind,
        accounts_t.c.id,
        accounts_t.c.no_overdraft,
    ).where(accounts_t.c.code.in_(codes))
    rows = session.connection().execute(union_all(earlier, named)).all()
    accounts = {
        row.name: AccountInfo(row.account_id, row.name, row.detail, bool(row.no_overdraft))
        for row in rows
        if row.source == "account"
    }
    claimed = [row for row in rows if row.source == "transfer"]
    if any(row.name in keys for row in claimed):
        return None, accounts
    for code in sorted(codes - accounts.keys()):
        raise UnknownAccount(code)
    return _pick_refs(session, wanted, {row.detail for row in claimed}), accounts


def _check_reversals(session: Session, requests: Sequence[TransferRequest]) -> None:
    reversed_ids = [r.reverses for r in requests if r.reverses is not None]
    if not reversed_ids:
        return
    if len(set(reversed_ids)) != len(reversed_ids):
        raise AlreadyReversed(reversed_ids[0])
    originals = {
        row.id: _posted(row)
        for row in session.connection()
        .execute(_select_transfers().where(transfers_t.c.id.in_(reversed_ids)))
        .all()
    }
    already = (
        session.connection()
        .execute(select(transfers_t.c.reverses_id).where(transfers_t.c.reverses_id.in_(reversed_ids)))
        .first()
    )
    if already is not None:
        raise AlreadyReversed(already.reverses_id)
    for r in requests:
        if r.reverses is None:
            continue
        original = originals.get(r.reverses)
        if original is None:
            raise UnknownTransfer(r.reverses)
        if (r.debit, r.credit, r.amount) != (original.credit, original.debit, original.amount):
            raise InvalidReversal(
                f"a reversal of transfer {original.id} must debit {original.credit}, credit "
                f"{original.debit} and move {original.amount}"
            )


def _check_limits(
    session: Session, requests: Sequence[TransferRequest], accounts: dict[str, AccountInfo]
) -> None:
    """Lock every limited account this posting debits (in id order) and check it stays >= 0."""
    limited = sorted(
        {accounts[r.debit].id for r in requests if accounts[r.debit].no_overdraft},
    )
    if not limited:
        return
    rows = (
        session.connection()
        .execute(
            select(balances_t.c.account_id, balances_t.c.debits, balances_t.c.credits)
            .where(balances_t.c.account_id.in_(limited), balances_t.c.slot == 0)
            .order_by(balances_t.c.account_id)
            .with_for_update()
        )
        .all()
    )
    running = {row.account_id: row.credits - row.debits for row in rows}
    code_of = {info.id: code for code, info in accounts.items()}
    for r in requests:
        credit_id, debit_id = accounts[r.credit].id, accounts[r.debit].id
        if credit_id in running:
            running[credit_id] += r.amount
        if debit_id in running:
            before = running[debit_id]
            running[debit_id] -= r.amount
            if running[debit_id] < 0:
                raise InsufficientFunds(code_of[debit_id], before, r.amount)


# A length is used only while its free codes outnumber this many times the square of the
# references one posting needs: two postings of n drawing from F free codes at once clash with
# a chance of about n*n/F (a birthday bound), which this keeps near 1%.
_HEADROOM = 100


def _roomy_lengths(wanted: list[list[str]], taken: set[str]) -> set[int]:
    """The candidate lengths with room to spare, judged by how many sampled codes were taken."""
    roomy = set()
    for length in set(refs.CANDIDATE_LENGTHS):
        sampled = [ref for group in wanted for ref in group if len(ref) == length]
        share_taken = sum(ref in taken for ref in sampled) / len(sampled)
        if len(refs.ALPHABET) ** length * (1 - share_taken) >= _HEADROOM * len(wanted) ** 2:
            roomy.add(length)
    return roomy or {refs.MAX_LENGTH}


def _pick_refs(session: Session, wanted: list[list[str]], taken: set[str]) -> list[str]:
    """One unused reference per transfer: the shortest free candidate of a length with room to
    spare; more candidates if all were taken."""
    while True:
        roomy = _roomy_lengths(wanted, taken)
        chosen: list[str] = []
        for group in wanted:
            choice = next(
                (ref for ref in group if len(ref) in roomy and ref not in taken and ref not in chosen), None
            )
            if choice is None:
                break
            chosen.append(choice)
        if len(chosen) == len(wanted):
            return chosen
        wanted = [refs.candidates() for _ in wanted]
        flat = [ref for group in wanted for ref in group]
        taken = set(
            session.connection()
            .execute(select(transfers_t.c.human_ref).where(transfers_t.c.human_ref.in_(flat)))
            .scalars()
        )


def translate_integrity_error(error: IntegrityError, limited_debits: Sequence[str] = ()) -> Exception:
    """Map what the database's constraints and triggers say to the ledger's typed errors.

    PostgreSQL's trigger names the overdrawn account; SQLite's cannot (its messages are constant),
    so there the account is the limited account the posting debits, when there is just one.
    """
    text = str(error.orig)
    if "ledger_insufficient_funds" in text:
        named = re.search(r"ledger_insufficient_funds: (\S+) would go below zero", text)
        if named:
            return InsufficientFunds(named.group(1))
        return InsufficientFunds(limited_debits[0] if len(set(limited_debits)) == 1 else "a limited account")
    if "ledger_append_only" in text:
        return AppendOnlyViolation(text)
    if "reverses_id" in text:
        return AlreadyReversed(None)
    return RetryablePostingError(text)


# The length the fast path tries for a new reference: what the careful path last found free.
_reference_length = [refs.MIN_LENGTH]


def _as_posted(
    request: TransferRequest, transfer_id: int, human_ref: str, recorded_at: datetime
) -> PostedTransfer:
    """What was just written for ``request``, as the ledger hands it out."""
    return PostedTransfer(
        id=transfer_id,
        human_ref=human_ref,
        debit=request.debit,
        credit=request.credit,
        amount=request.amount,
        code=request.code,
        reference=request.reference,
        memo=request.memo,
        actor=request.actor,
        occurred_at=request.occurred_at or recorded_at,
        recorded_at=recorded_at,
        idempotency_key=request.idempotency_key,
        reverses=request.reverses,
    )


# The everyday posting, written once per dialect and sent straight to the driver: it runs
# thousands of times a second, and SQLAlchemy's statement machinery would cost more than the
# database's own work. Any unique constraint (key, reference) that clashes makes it insert nothing.
_FAST_INSERT = """
INSERT INTO ledger_transfers (human_ref, debit_account_id, credit_account_id, amount, code, reference,
                              memo, actor, occurred_at, recorded_at, idempotency_key)
SELECT {human_ref}, debit.id, credit.id, {amount}, {code}, {reference}, {memo}, {actor}, {occurred_at},
       {recorded_at}, {idempotency_key}
FROM ledger_accounts AS debit JOIN ledger_accounts AS credit ON credit.code = {credit}
WHERE debit.code = {debit} AND NOT debit.no_overdraft
ON CONFLICT DO NOTHING
RETURNING id
"""
_FIELDS: tuple[str, ...] = (
    *("human_ref", "amount", "code", "reference", "memo", "actor", "occurred_at", "recorded_at"),
    *("idempotency_key", "credit", "debit"),
)
_FAST_SQL = {
    "postgresql": _FAST_INSERT.format(**{name: f"%({name})s" for name in _FIELDS}),
    "sqlite": _FAST_INSERT.format(**{name: f":{name}" for name in _FIELDS}),
}


def _sqlite_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy keeps it in SQLite (what ``UTCDateTime`` reads back)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _post_fast(session: Session, request: TransferRequest, recorded_at: datetime) -> PostedTransfer | None:
    """The everyday posting (a pickup: no limit on the debited account, not a reversal, a new key)
    in one round trip: INSERT ... SELECT the accounts by code, doing nothing on any conflict.

    None when no row went in (a replay, a clash of references, an unknown or limited account):
    nothing was written, and the careful path finds out which and answers.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect not in _FAST_SQL:
        return None
    human_ref = refs.random_ref(_reference_length[0])
    occurred_at = request.occurred_at or recorded_at
    times = (
        (occurred_at, recorded_at)
        if dialect == "postgresql"
        else map(_sqlite_time, (occurred_at, recorded_at))
    )
    params = dict(
        zip(
            _FIELDS,
            (
                human_ref,
                request.amount,
                request.code,
                request.reference,
                request.memo,
                request.actor,
                *times,
                request.idempotency_key,
                request.credit,
                request.debit,
            ),
            strict=True,
        )
    )
    with closing(driver_cursor(connection)) as cursor:
        cursor.execute(_FAST_SQL[dialect], params)
        row = cursor.fetchone()
    if row is None:
        return None
    return _as_posted(request, row[0], human_ref, recorded_at)


# A batch (a list of pickups posted together) in one statement: the requests as arrays, joined to
# their accounts by code. All or none: a savepoint undoes the rows that went in when any did not.
_BATCH_INSERT = """
INSERT INTO ledger_transfers (human_ref, debit_account_id, credit_account_id, amount, code, reference,
                              memo, actor, occurred_at, recorded_at, idempotency_key)
SELECT r.human_ref, debit.id, credit.id, r.amount, r.code, r.reference, r.memo, r.actor, r.occurred_at,
       %(recorded_at)s, r.idempotency_key
FROM unnest(%(human_ref)s::varchar[], %(amount)s::bigint[], %(code)s::varchar[], %(reference)s::varchar[],
            %(memo)s::varchar[], %(actor)s::varchar[], %(occurred_at)s::timestamptz[],
            %(idempotency_key)s::varchar[], %(debit)s::varchar[], %(credit)s::varchar[])
     WITH ORDINALITY AS r(human_ref, amount, code, reference, memo, actor, occurred_at, idempotency_key,
                          debit, credit, n)
JOIN ledger_accounts AS debit ON debit.code = r.debit AND NOT debit.no_overdraft
JOIN ledger_accounts AS credit ON credit.code = r.credit
ORDER BY r.n
ON CONFLICT DO NOTHING
RETURNING id, idempotency_key
"""


def _batch_length(count: int) -> int:
    """The shortest reference length whose codes outnumber a batch's square with room to spare
    (the birthday bound of ``_roomy_lengths``, with the space assumed half taken)."""
    for length in range(refs.MIN_LENGTH, refs.MAX_LENGTH):
        if len(refs.ALPHABET) ** length >= 2 * _HEADROOM * count * count:
            return length
    return refs.MAX_LENGTH


def _post_batch_fast(
    session: Session, requests: Sequence[TransferRequest], recorded_at: datetime
) -> list[PostedTransfer] | None:
    """Pickups in bulk (no limited debit, no reversal, new keys) in one statement on PostgreSQL.

    None when any row did not go in (a replay, a clash of references, an unknown or limited
    account): the savepoint is rolled back, nothing was written, and the careful path answers.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return None
    length = max(_reference_length[0], _batch_length(len(requests)))
    human_refs = [refs.random_ref(length) for _ in requests]
    params = {
        "recorded_at": recorded_at,
        "human_ref": human_refs,
        "amount": [r.amount for r in requests],
        "code": [r.code for r in requests],
        "reference": [r.reference for r in requests],
        "memo": [r.memo for r in requests],
        "actor": [r.actor for r in requests],
        "occurred_at": [r.occurred_at or recorded_at for r in requests],
        "idempotency_key": [r.idempotency_key for r in requests],
        "debit": [r.debit for r in requests],
        "credit": [r.credit for r in requests],
    }
    with closing(driver_cursor(connection)) as cursor:
        cursor.execute("SAVEPOINT ledger_batch")
        cursor.execute(_BATCH_INSERT, params)
        ids = {key: transfer_id for transfer_id, key in cursor.fetchall()}
        if len(ids) < len(requests):
            cursor.execute("ROLLBACK TO SAVEPOINT ledger_batch")
            return None
        cursor.execute("RELEASE SAVEPOINT ledger_batch")
    return [
        _as_posted(r, ids[r.idempotency_key], human_ref, recorded_at)
        for r, human_ref in zip(requests, human_refs, strict=True)
    ]


def post_linked(
    session: Session, requests: Sequence[TransferRequest], *, now: datetime | None = None
) -> list[PostedTransfer]:
    """Post a list of transfers atomically, all or none, in order.

    Replaying the same requests (same idempotency keys, same content) returns the original
    transfers and writes nothing; the same keys with other content raise ``IdempotencyConflict``.
    """
    _validate(requests)
    recorded_at = _now(now)
    if all(r.reverses is None for r in requests):
        if len(requests) == 1:
            fast = _post_fast(session, requests[0], recorded_at)
            posted = None if fast is None else [fast]
        else:
            posted = _post_batch_fast(session, requests, recorded_at)
        if posted is not None:
            return posted
    human_refs, accounts = _look_up(session, requests)
    if human_refs is None:
        return _originals(session, requests)
    _check_reversals(session, requests)
    _check_limits(session, requests, accounts)
    _reference_length[0] = len(human_refs[-1])
    rows: list[dict[str, Any]] = [
        {
            "human_ref": human_ref,
            "debit_account_id": accounts[r.debit].id,
            "credit_account_id": accounts[r.credit].id,
            "amount": r.amount,
            "code": r.code,
            "reference": r.reference,
            "memo": r.memo,
            "actor": r.actor,
            "occurred_at": r.occurred_at or recorded_at,
            "recorded_at": recorded_at,
            "idempotency_key": r.idempotency_key,
            "reverses_id": r.reverses,
        }
        for r, human_ref in zip(requests, human_refs, strict=True)
    ]
    try:
        ids = (
            session.connection()
            .execute(insert(transfers_t).returning(transfers_t.c.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
    except IntegrityError as error:
        limited = [r.debit for r in requests if accounts[r.debit].no_overdraft]
        raise translate_integrity_error(error, limited) from error
    return [
        _as_posted(r, transfer_id, row["human_ref"], recorded_at)
        for transfer_id, row, r in zip(ids, rows, requests, strict=True)
    ]


def post(session: Session, request: TransferRequest, *, now: datetime | None = None) -> PostedTransfer:
    return post_linked(session, [request], now=now)[0]


def reversal_of(
    original: PostedTransfer,
    *,
    idempotency_key: str,
    actor: str,
    memo: str = "",
    code: str = "reversal",
    occurred_at: datetime | None = None,
) -> TransferRequest:
    """The exact opposite of ``original``, to post alone or linked with others."""
    return TransferRequest(
        debit=original.credit,
        credit=original.debit,
        amount=original.amount,
        code=code,
        idempotency_key=idempotency_key,
        reference=original.reference,
        memo=memo,
        actor=actor,
        occurred_at=occurred_at,
        reverses=original.id,
    )


def reverse(
    session: Session,
    transfer_id: int,
    *,
    idempotency_key: str,
    actor: str,
    memo: str = "",
    code: str = "reversal",
    now: datetime | None = None,
) -> PostedTransfer:
    return post(
        session,
        reversal_of(
            get_transfer(session, transfer_id),
            idempotency_key=idempotency_key,
            actor=actor,
            memo=memo,
            code=code,
        ),
        now=now,
    )


def get_transfer(session: Session, transfer_id: int) -> PostedTransfer:
    row = session.connection().execute(_select_transfers().where(transfers_t.c.id == transfer_id)).first()
    if row is None:
        raise UnknownTransfer(transfer_id)
    return _posted(row)


def find_by_ref(session: Session, text: str) -> PostedTransfer | None:
    """The transfer a person's typed reference names, or None (forgiving of case and spaces)."""
    ref = refs.normalise(text)
    if ref is None:
        return None
    row = session.connection().execute(_select_transfers().where(transfers_t.c.human_ref == ref)).first()
    return None if row is None else _posted(row)


def transfers_for(session: Session, reference: str) -> list[PostedTransfer]:
    """Every transfer posted for one cause (a pickup, a redemption), oldest first."""
    rows = (
        session.connection()
        .execute(_select_transfers().where(transfers_t.c.reference == reference).order_by(transfers_t.c.id))
        .all()
    )
    return [_posted(row) for row in rows]


def reversed_by(session: Session, transfer_id: int) -> int | None:
    """The id of the transfer that reverses this one, if any (at most one can)."""
    found = session.execute(select(transfers_t.c.id).where(transfers_t.c.reverses_id == transfer_id)).scalar()
    return None if found is None else int(found)


def _latest_statement() -> Any:
    """One statement: the newest ``limit`` transfer ids on each side of the account's chain
    (its per-account indexes), and among those waiting for the sealer, then those transfers."""
    account = select(accounts_t.c.id).where(accounts_t.c.code == bindparam("code")).scalar_subquery()
    limit: Any = bindparam("limit", type_=Integer)
    parts = [
        select(chain_t.c.transfer_id.label("id"))
        .where(column == account)
        .order_by(chain_t.c.seq.desc())
        .limit(limit)
        .subquery()
        for column in (chain_t.c.debit_account_id, chain_t.c.credit_account_id)
    ]
    parts.append(
        select(pending_t.c.transfer_id.label("id"))
        .join(transfers_t, transfers_t.c.id == pending_t.c.transfer_id)
        .where((transfers_t.c.debit_account_id == account) | (transfers_t.c.credit_account_id == account))
        .order_by(pending_t.c.transfer_id.desc())
        .limit(limit)
        .subquery()
    )
    candidates = union_all(*(select(part.c.id) for part in parts)).subquery()
    return (
        _select_transfers()
        .where(transfers_t.c.id.in_(select(candidates.c.id)))
        .order_by(transfers_t.c.id.desc())
        .limit(limit)
    )


_LATEST = _latest_statement()


def latest_transfers(session: Session, code: str, *, limit: int = 3) -> list[PostedTransfer]:
    """An account's most recent transfers, newest first (a statement, a BAL's "Last: +57").

    Sealed transfers are found through the chain's per-account indexes; those still waiting for
    the sealer (a few seconds' worth) through the pending list. One round trip.
    """
    rows = session.connection().execute(_LATEST, {"code": code, "limit": limit}).all()
    if not rows:
        get_account(session, code)  # none, or no such account (UnknownAccount)
    return [_posted(row) for row in rows]


# Built once (a statement built per call costs more than the database's two index look-ups).
_BALANCES = (
    select(
        accounts_t.c.code,
        func.coalesce(func.sum(balances_t.c.debits), 0).label("debits"),
        func.coalesce(func.sum(balances_t.c.credits), 0).label("credits"),
    )
    .select_from(accounts_t)
    .outerjoin(balances_t, balances_t.c.account_id == accounts_t.c.id)
    .where(accounts_t.c.code.in_(bindparam("codes", expanding=True)))
    .group_by(accounts_t.c.code)
)


def balances(session: Session, codes: Iterable[str]) -> dict[str, Balance]:
    """Current balances, read from the counters: a fixed number of rows however long the history."""
    wanted = set(codes)
    rows = session.connection().execute(_BALANCES, {"codes": sorted(wanted)}).all()
    found = {row.code: Balance(int(row.debits), int(row.credits)) for row in rows}
    for code in sorted(wanted - found.keys()):
        raise UnknownAccount(code)
    return found


def balance(session: Session, code: str) -> Balance:
    return balances(session, [code])[code]


def kind_balance(session: Session, kind: str) -> Balance:
    """All accounts of one kind together (e.g. every member's points: what is owed to them)."""
    row = (
        session.connection()
        .execute(
            select(
                func.coalesce(func.sum(balances_t.c.debits), 0),
                func.coalesce(func.sum(balances_t.c.credits), 0),
            )
            .select_from(balances_t)
            .join(accounts_t, accounts_t.c.id == balances_t.c.account_id)
            .where(accounts_t.c.kind == kind)
        )
        .one()
    )
    return Balance(int(row[0]), int(row[1]))
