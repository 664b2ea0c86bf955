"""Typed errors of the ledger: each one says what was refused and why, so callers can answer a person."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every refusal the ledger makes. Nothing was written when one is raised by ``post``."""


class UnknownAccount(LedgerError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no ledger account {code!r}")
        self.code = code


class AccountConflict(LedgerError):
    """An account with this code exists with another kind or limit."""

    def __init__(self, code: str) -> None:
        super().__init__(f"ledger account {code!r} already exists with different settings")
        self.code = code


class InvalidTransfer(LedgerError):
    """The transfer is malformed: amount not a positive integer, same account on both sides, ..."""


class InsufficientFunds(LedgerError):
    def __init__(self, account: str, balance: int | None = None, amount: int | None = None) -> None:
        detail = "" if balance is None else f": balance {balance}, debit {amount}"
        super().__init__(f"account {account!r} may not go below zero{detail}")
        self.account = account
        self.balance = balance
        self.amount = amount


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for a transfer with different content."""

    def __init__(self, key: str) -> None:
        super().__init__(f"idempotency key {key!r} was already used for a different transfer")
        self.key = key


class UnknownTransfer(LedgerError):
    def __init__(self, ident: object) -> None:
        super().__init__(f"no transfer {ident!r}")
        self.ident = ident


class AlreadyReversed(LedgerError):
    def __init__(self, transfer_id: int | None) -> None:
        which = "the transfer" if transfer_id is None else f"transfer {transfer_id}"
        super().__init__(f"{which} has already been reversed")
        self.transfer_id = transfer_id


class InvalidReversal(LedgerError):
    """A reversal must be the exact opposite of the transfer it reverses."""


class AppendOnlyViolation(LedgerError):
    """The database refused to change posted history (its triggers fired)."""


class RetryablePostingError(LedgerError):
    """Two postings raced (the same idempotency key or a reference clash); run the transaction again."""
