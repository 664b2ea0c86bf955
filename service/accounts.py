"""The programme's own ledger accounts, and the names of its members' and collectors' accounts."""

from __future__ import annotations

from sqlalchemy.orm import Session

import ledger

# Every pickup credit and commission is debited here: its debit balance is all points issued.
ISSUANCE = "programme:issuance"
# Where redeemed points go, one account per kind of fulfilment.
REWARD_ACCOUNTS = ("rewards:airtime", "rewards:voucher", "rewards:goods")
# Manual corrections (maker-checker) are posted against this account.
ADJUSTMENTS = "programme:adjustments"
# Cash-out: points held while the money travels (its balance is the cash in flight), then paid.
PAYOUTS_PENDING = "payouts:pending"
PAYOUTS_PAID = "payouts:paid"
# Points that expired (POINTS_EXPIRE_MONTHS): its credit balance is all points expired. An
# adjustment gives any back to a household.
BREAKAGE = "programme:breakage"
# Held pickups (issue 24): their points and commission wait here, spendable by nobody, until an
# operator approves (they go on to the household and the collector) or rejects them (back to
# issuance), or the hold is released. Its balance is all credit under review.
HOLDS = "holds:pickups"


def open_programme_accounts(session: Session) -> None:
    ledger.open_account(session, ISSUANCE, "programme")
    ledger.open_account(session, ADJUSTMENTS, "programme")
    for code in REWARD_ACCOUNTS:
        ledger.open_account(session, code, "rewards")
    open_payout_accounts(session)
    open_breakage_account(session)
    open_holds_account(session)


def open_holds_account(session: Session) -> None:
    ledger.open_account(session, HOLDS, "holds", no_overdraft=True)


def open_breakage_account(session: Session) -> None:
    ledger.open_account(session, BREAKAGE, "programme")


def open_payout_accounts(session: Session) -> None:
    for code in (PAYOUTS_PENDING, PAYOUTS_PAID):
        ledger.open_account(session, code, "payouts")


def member_account(member_code: str) -> str:
    return f"member:{member_code}"


def collector_account(collector_id: int) -> str:
    return f"collector:{collector_id}"
