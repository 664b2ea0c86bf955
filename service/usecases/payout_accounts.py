"""A household's payout account: where its cash-out goes.

By SMS, ``BANK <bank> <account number>``: the bank is matched forgivingly against Paystack's list
(``service.usecases.banks``), the account is written ``resolving`` and a job asks Paystack for its
name after the commit (``resolve_account``: never an HTTP call inside a transaction). The name is
texted back ("Account name ADA OKAFOR at GTBank ****6789. Text YES to save it."), and only YES
from the household's own phone, within ``CONFIRM_WINDOW``, makes it ``active``.

A collector (the app) or an operator (the dashboard) may register it too: the caller resolves the
name first and shows it to them, and ``register_by_staff`` saves it at once, audited by the caller.
Whenever an account is saved by someone other than the household, or replaces another one, the
household's phone is told, and cash-out to it waits ``PAYOUT_COOLING_OFF_HOURS`` (``usable_from``):
a stolen phone or a dishonest helper cannot send the points to a new account the same minute.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import sms
from service.models import payout_accounts_t
from service.providers.payouts import ConsolePayouts
from service.unit_of_work import Job, UnitOfWork
from service.usecases import Refused, banks
from service.usecases.households import Member

log = logging.getLogger(__name__)

# How long after the name is texted a YES saves the account.
CONFIRM_WINDOW = timedelta(minutes=30)
NUBAN_LENGTH = 10
COUNTRY = "nigeria"


@dataclass(frozen=True)
class Account:
    id: int
    household_id: int
    bank_code: str
    bank_name: str
    account_number: str
    account_name: str | None
    recipient_code: str | None
    status: str
    registered_by: str
    usable_from: datetime | None

    @property
    def masked(self) -> str:
        return masked(self.account_number)

    @property
    def bank(self) -> str:
        """The bank's short name, as texts write it ("GTBank")."""
        return banks.display(self.bank_name)


def masked(account_number: str) -> str:
    """The account as a text shows it: ``****6789``."""
    return "****" + account_number[-4:]


def _account(row: Any) -> Account:
    return Account(
        row.id,
        row.household_id,
        row.bank_code,
        row.bank_name,
        row.account_number,
        row.account_name,
        row.recipient_code,
        row.status,
        row.registered_by,
        row.usable_from,
    )


def get_account(session: Session, account_id: int) -> Account | None:
    row = session.execute(select(payout_accounts_t).where(payout_accounts_t.c.id == account_id)).first()
    return _account(row) if row else None


def active_account(session: Session, household_id: int) -> Account | None:
    row = session.execute(
        select(payout_accounts_t).where(
            payout_accounts_t.c.household_id == household_id, payout_accounts_t.c.status == "active"
        )
    ).first()
    return _account(row) if row else None


def accounts_of(session: Session, household_id: int) -> list[Account]:
    """Every account the household has had, newest first (the dashboard)."""
    rows = session.execute(
        select(payout_accounts_t)
        .where(payout_accounts_t.c.household_id == household_id)
        .order_by(payout_accounts_t.c.id.desc())
    ).all()
    return [_account(row) for row in rows]


def check_number(account_number: str) -> str:
    """A NUBAN: exactly 10 digits (spaces and dashes typed inside it are dropped)."""
    digits = "".join(character for character in account_number if character not in " -")
    if len(digits) != NUBAN_LENGTH or not (digits.isascii() and digits.isdigit()):
        raise Refused("bank_bad_number")
    return digits


def find_bank(session: Session, words: str, country: str = "nigeria") -> banks.Found:
    """The bank ``words`` name, or ``Refused`` saying there is none or which ones it could be."""
    found = banks.match(session, words, country)
    if found.bank is not None:
        return found.bank
    shown = " ".join(words.split())[:20]
    if found.choices:
        raise Refused(
            "bank_ambiguous", word=shown, choices=", ".join(choice.display for choice in found.choices)
        )
    raise Refused("bank_unknown", word=shown)


def ready_banks(uow: UnitOfWork) -> None:
    """The bank list cached, to match a bank's words against. The console's banks are a fixed list
    (Paystack's codes of 20 banks): no need to wait for the refresh job, and before its first run
    with Paystack they stand in for its list."""
    console = uow.settings.payout_provider == "console"
    if (console and banks.stale(uow.session, COUNTRY, uow.now)) or not banks.listed(uow.session, COUNTRY):
        banks.refresh(uow.session, ConsolePayouts().banks(COUNTRY), COUNTRY, uow.now)


def register(uow: UnitOfWork, household: Member | None, bank_words: str, account_number: str) -> Account:
    """BANK by SMS: the account written ``resolving``, its name asked of Paystack by a job after
    the commit (``Job.RESOLVE_PAYOUT_ACCOUNT``); the household is told to wait for the name."""
    if household is None:
        raise Refused("not_member")
    session = uow.session
    number = check_number(account_number)
    ready_banks(uow)
    bank = find_bank(session, bank_words)
    account_id = session.execute(
        payout_accounts_t.insert().returning(payout_accounts_t.c.id),
        {
            "household_id": household.id,
            "bank_code": bank.code,
            "bank_name": bank.name,
            "account_number": number,
            "status": "resolving",
            "registered_by": "household",
            "created_at": uow.now,
        },
    ).scalar_one()
    uow.after_commit(Job.RESOLVE_PAYOUT_ACCOUNT, int(account_id), job_id=f"payout-account-{account_id}")
    found = get_account(session, int(account_id))
    assert found is not None
    return found


def record_resolved(uow: UnitOfWork, account_id: int, name: str | None, failure: str | None = None) -> str:
    """Paystack's answer to a ``resolving`` account: its name texted with the question (YES to
    save), or ``refused`` and the household told no such account was found. Once."""
    session = uow.session
    row = session.execute(
        select(payout_accounts_t).where(payout_accounts_t.c.id == account_id).with_for_update()
    ).first()
    if row is None or row.status != "resolving":
        return "nothing to do"
    account = _account(row)
    phone = _phone_of(session, account.household_id)
    if name is None:
        session.execute(
            update(payout_accounts_t)
            .where(payout_accounts_t.c.id == account_id)
            .values(status="refused", failure=(failure or "no such account")[:300])
        )
        uow.outbox.text(phone, "bank_not_found", bank=account.bank, masked=account.masked)
        return f"refused: {failure or 'no such account'}"
    shown = sms.to_gsm7(" ".join(name.split()).upper())[:40]
    session.execute(
        update(payout_accounts_t)
        .where(payout_accounts_t.c.id == account_id)
        .values(status="awaiting_yes", account_name=shown, confirmed_at=None)
    )
    uow.outbox.text(phone, "bank_confirm", account_name=shown, bank=account.bank, masked=account.masked)
    return "name texted"


def awaiting_yes(session: Session, household_id: int, now: datetime) -> Account | None:
    """The household's newest account whose name was texted within ``CONFIRM_WINDOW``."""
    row = session.execute(
        select(payout_accounts_t)
        .where(
            payout_accounts_t.c.household_id == household_id,
            payout_accounts_t.c.status == "awaiting_yes",
            payout_accounts_t.c.created_at >= now - CONFIRM_WINDOW,
        )
        .order_by(payout_accounts_t.c.id.desc())
        .limit(1)
    ).first()
    return _account(row) if row else None


def confirm(uow: UnitOfWork, household: Member, account: Account) -> Account:
    """YES from the household's own phone: the account is its active one. Its first account is
    usable at once; one that replaces another waits the cooling-off period."""
    session, now = uow.session, uow.now
    previous = active_account(session, household.id)
    usable_from = now if previous is None else now + _cooling_off(uow)
    _activate(session, account.id, previous, now, usable_from)
    saved = get_account(session, account.id)
    assert saved is not None
    if previous is None:
        uow.outbox.text(household.phone, "bank_saved", bank=saved.bank, masked=saved.masked)
    else:
        uow.outbox.text(
            household.phone,
            "bank_changed_notice",
            bank=saved.bank,
            masked=saved.masked,
            when=when(uow, usable_from),
        )
    return saved


def register_by_staff(
    uow: UnitOfWork, household: Member, bank_code: str, account_number: str, account_name: str, by: str
) -> Account:
    """A collector or an operator saves an account whose name they were shown (resolved by the
    caller, outside the transaction): active at once, usable after the cooling-off period, and the
    household's phone told. ``by``: "collector:<id>" or "user:<id> <email>"."""
    session, now = uow.session, uow.now
    number = check_number(account_number)
    bank = banks.by_code(session, bank_code)
    if bank is None:
        raise Refused("bank_unknown", word=bank_code[:20])
    name = sms.to_gsm7(" ".join(account_name.split()).upper())[:40]
    if not name:
        raise Refused("bank_not_found", bank=bank.display, masked=masked(number))
    previous = active_account(session, household.id)
    account_id = int(
        session.execute(
            payout_accounts_t.insert().returning(payout_accounts_t.c.id),
            {
                "household_id": household.id,
                "bank_code": bank.code,
                "bank_name": bank.name,
                "account_number": number,
                "account_name": name,
                "status": "awaiting_yes",
                "registered_by": by[:160],
                "created_at": now,
            },
        ).scalar_one()
    )
    usable_from = now + _cooling_off(uow)
    _activate(session, account_id, previous, now, usable_from)
    saved = get_account(session, account_id)
    assert saved is not None
    uow.outbox.text(
        household.phone,
        "bank_changed_notice",
        bank=saved.bank,
        masked=saved.masked,
        when=when(uow, usable_from),
    )
    return saved


def _activate(
    session: Session, account_id: int, previous: Account | None, now: datetime, usable_from: datetime
) -> None:
    if previous is not None:
        session.execute(
            update(payout_accounts_t).where(payout_accounts_t.c.id == previous.id).values(status="replaced")
        )
    session.execute(
        update(payout_accounts_t)
        .where(payout_accounts_t.c.id == account_id)
        .values(status="active", confirmed_at=now, usable_from=usable_from)
    )


def to_resolve(session: Session, now: datetime, *, limit: int = 100) -> list[int]:
    """Accounts still waiting for their name a minute after BANK (Redis was down, a worker died,
    Paystack could not be reached): the sweep asks again. After ``CONFIRM_WINDOW`` they are left:
    the household will have texted BANK again."""
    return [
        int(account_id)
        for account_id in session.execute(
            select(payout_accounts_t.c.id)
            .where(
                payout_accounts_t.c.status == "resolving",
                payout_accounts_t.c.created_at <= now - timedelta(minutes=1),
                payout_accounts_t.c.created_at > now - CONFIRM_WINDOW,
            )
            .order_by(payout_accounts_t.c.id)
            .limit(limit)
        ).scalars()
    ]


def store_recipient(session: Session, account_id: int, recipient_code: str) -> None:
    """Paystack's recipient code for the account, kept so the next payout need not ask again."""
    session.execute(
        update(payout_accounts_t)
        .where(payout_accounts_t.c.id == account_id)
        .values(recipient_code=recipient_code[:60])
    )


def _cooling_off(uow: UnitOfWork) -> timedelta:
    return timedelta(hours=uow.settings.payout_cooling_off_hours)


def when(uow: UnitOfWork, moment: datetime) -> sms.Moment:
    """A moment as a text writes it, in the programme's zone and the reader's language: "3 Dec 14:00"."""
    local = moment.astimezone(uow.settings.zone)
    return sms.Moment(local.date(), local.strftime("%H:%M"))


def _phone_of(session: Session, household_id: int) -> str:
    from service.models import households_t

    return str(
        session.execute(select(households_t.c.phone).where(households_t.c.id == household_id)).scalar_one()
    )
