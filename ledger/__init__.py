"""Kolekt's append-only double-entry ledger (standard library and SQLAlchemy only).

Accounts, transfers (one debit account, one credit account, an integer amount above zero),
idempotency keys, reversals, balance limits, balances now and as of any past sequence number or
time, a SHA-256 hash chain over every transfer and ``verify``. The database itself refuses to
change or delete posted history (triggers installed by the migrations).
"""

from .as_of import balance_at
from .browse import TransferFilter, browse, browse_chunks, statement
from .chain import canonical, head, link_hash, pending_count, seal, seal_all
from .errors import (
    AccountConflict,
    AlreadyReversed,
    AppendOnlyViolation,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidReversal,
    InvalidTransfer,
    LedgerError,
    RetryablePostingError,
    UnknownAccount,
    UnknownTransfer,
)
from .models import LedgerBase, metadata
from .posting import (
    balance,
    balances,
    find_by_ref,
    get_account,
    get_transfer,
    kind_balance,
    latest_transfers,
    open_account,
    open_accounts,
    post,
    post_linked,
    reversal_of,
    reverse,
    reversed_by,
    transfers_for,
    translate_integrity_error,
)
from .values import (
    AccountInfo,
    Balance,
    Head,
    PostedTransfer,
    Proof,
    SealResult,
    StatementLine,
    TransferRequest,
    VerifyReport,
)
from .verification import proof, verify

__all__ = [
    "AccountConflict",
    "AccountInfo",
    "AlreadyReversed",
    "AppendOnlyViolation",
    "Balance",
    "Head",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidReversal",
    "InvalidTransfer",
    "LedgerBase",
    "LedgerError",
    "PostedTransfer",
    "Proof",
    "RetryablePostingError",
    "SealResult",
    "StatementLine",
    "TransferFilter",
    "TransferRequest",
    "UnknownAccount",
    "UnknownTransfer",
    "VerifyReport",
    "balance",
    "balance_at",
    "balances",
    "browse",
    "browse_chunks",
    "canonical",
    "find_by_ref",
    "get_account",
    "get_transfer",
    "head",
    "kind_balance",
    "latest_transfers",
    "link_hash",
    "metadata",
    "open_account",
    "open_accounts",
    "pending_count",
    "post",
    "post_linked",
    "proof",
    "reversal_of",
    "reverse",
    "reversed_by",
    "seal",
    "seal_all",
    "statement",
    "transfers_for",
    "translate_integrity_error",
    "verify",
]
