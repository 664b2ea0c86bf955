"""What the dashboard and the collector app's API share when someone at the hub or at the door
saves a household's cash-out account: the banks to choose from, the account's name asked of
Paystack in the request (outside any transaction: the request's read-only session is closed
first), and the bank list made ready before ``payout_accounts.register_by_staff`` saves it.

With the ``console`` provider the bank list is its fixed one, offered even before the daily
refresh job has cached it (as ``payout_accounts.register`` does for BANK by SMS)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

import sms
from service.providers.payouts import ConsolePayouts, payouts_for
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import banks, payout_accounts
from service.web.base import db_session

COUNTRY = payout_accounts.COUNTRY


def _console(settings: Settings) -> list[banks.Found]:
    if settings.payout_provider != "console":
        return []
    listed = ConsolePayouts().banks(COUNTRY)
    return sorted(
        (banks.Found(bank.code, bank.name, banks.display(bank.name)) for bank in listed),
        key=lambda bank: (bank.name, bank.code),
    )


def bank_choices(session: Session, settings: Settings) -> list[banks.Found]:
    """The banks a form offers: the cached list (refreshed daily from Paystack)."""
    return banks.listed(session, COUNTRY) or _console(settings)


def find_bank(session: Session, settings: Settings, code: str) -> banks.Found | None:
    """The active bank with this code, or None."""
    code = code.strip()
    if not code or len(code) > 20:
        return None
    found = banks.by_code(session, code, COUNTRY)
    if found is None and not banks.listed(session, COUNTRY):
        found = next((bank for bank in _console(settings) if bank.code == code), None)
    return found


def ready_banks(uow: UnitOfWork) -> None:
    """The console's banks cached, if they are not yet, so ``register_by_staff`` finds them."""
    if uow.settings.payout_provider == "console" and banks.stale(uow.session, COUNTRY, uow.now):
        banks.refresh(uow.session, ConsolePayouts().banks(COUNTRY), COUNTRY, uow.now)


def as_saved(name: str) -> str:
    """An account name as ``register_by_staff`` keeps it (upper case, GSM-7, at most 40)."""
    return sms.to_gsm7(" ".join(name.split()).upper())[:40]


@dataclass(frozen=True)
class Resolved:
    bank: banks.Found
    account_number: str
    account_name: str  # as it will be saved

    @property
    def masked(self) -> str:
        return payout_accounts.masked(self.account_number)


def resolve(settings: Settings, bank: banks.Found, account_number: str) -> Resolved:
    """The account's name, asked of Paystack now (its time-out: ``PAYSTACK_TIMEOUT_SECONDS``).
    The request's read-only session is closed first: no transaction stays open while Paystack
    answers. Raises ``AccountNotFound`` or ``PayoutError`` (``transient``: try again later)."""
    db_session().close()
    provider = payouts_for(settings)
    try:
        name = provider.resolve(account_number, bank.code)
    finally:
        provider.close()
    return Resolved(bank, account_number, as_saved(name))
