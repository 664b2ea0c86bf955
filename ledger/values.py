"""Plain values the ledger hands out and takes in: no session, no ORM state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """What a caller asks the ledger to post. ``debit`` and ``credit`` are account codes."""

    debit: str
    credit: str
    amount: int
    code: str
    idempotency_key: str
    reference: str = ""
    memo: str = ""
    actor: str = "system"
    occurred_at: datetime | None = None
    reverses: int | None = None


@dataclass(frozen=True, slots=True)
class PostedTransfer:
    """A transfer as it stands in the ledger. ``seq`` is None until the sealer has chained it."""

    id: int
    human_ref: str
    debit: str
    credit: str
    amount: int
    code: str
    reference: str
    memo: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    idempotency_key: str
    reverses: int | None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """Debits and credits posted to one account. Member points are ``credits - debits``."""

    debits: int = 0
    credits: int = 0

    @property
    def credit_balance(self) -> int:
        return self.credits - self.debits

    @property
    def debit_balance(self) -> int:
        return self.debits - self.credits


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    code: str
    kind: str
    no_overdraft: bool


@dataclass(frozen=True, slots=True)
class Head:
    """The published head of the chain: how many transfers it covers and the hash of the last."""

    count: int
    hash: str
    sealed_at: datetime | None


@dataclass(frozen=True, slots=True)
class SealResult:
    sealed: int
    head: Head
    pending: int


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    count: int
    head_hash: str
    pending: int
    checked: int
    problem: str | None = None
    bad_transfer_id: int | None = None
    bad_seq: int | None = None
    bad_account: str | None = None


@dataclass(frozen=True, slots=True)
class Proof:
    """A sealed transfer's link in the chain, and whether it holds: ``hash`` is SHA-256 of the
    previous link's hash (its 32 bytes) followed by ``payload``, the transfer's canonical form."""

    seq: int
    hash: str
    previous_hash: str
    payload: str
    sealed_at: datetime
    holds: bool


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A transfer on an account, with what it did to the account and the balance after it."""

    transfer: PostedTransfer
    amount: int  # + credited to the account, - debited from it
    balance: int

    @property
    def id(self) -> int:
        return self.transfer.id
