"""The names people read for the ledger's account codes and the audit log's subjects: "Ada Okafor
(K0001E)" for ``member:K0001E``, "Musa Bello, collector" for ``collector:1``, "points issued" for
``programme:issuance``, a user's email for ``user:3``. The codes stay where a person must type
or match them (filters, CSV)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import ADJUSTMENTS, ISSUANCE
from service.models import collectors_t, households_t, users_t

FIXED = {
    ISSUANCE: "points issued (programme)",
    ADJUSTMENTS: "corrections (programme)",
    "rewards:airtime": "airtime rewards",
    "rewards:voucher": "voucher rewards",
    "rewards:goods": "goods rewards",
}


def account_names(session: Session, accounts: Iterable[str]) -> dict[str, str]:
    """A readable name for each account code (the code itself for one Kolekt cannot name)."""
    wanted = set(accounts)
    codes = {account.partition(":")[2] for account in wanted if account.startswith("member:")}
    ids = {
        int(rest)
        for account in wanted
        if account.startswith("collector:") and (rest := account.partition(":")[2]).isdigit()
    }
    names = {account: FIXED.get(account, account) for account in wanted}
    if codes:
        for code, name in session.execute(
            select(households_t.c.member_code, households_t.c.name).where(
                households_t.c.member_code.in_(codes)
            )
        ):
            names[f"member:{code}"] = f"{name} ({code})"
    if ids:
        for collector_id, name in session.execute(
            select(collectors_t.c.id, collectors_t.c.name).where(collectors_t.c.id.in_(ids))
        ):
            names[f"collector:{collector_id}"] = f"{name}, collector"
    users = {
        int(rest)
        for account in wanted
        if account.startswith("user:") and (rest := account.partition(":")[2]).isdigit()
    }
    if users:
        for user_id, email in session.execute(
            select(users_t.c.id, users_t.c.email).where(users_t.c.id.in_(users))
        ):
            names[f"user:{user_id}"] = email
    return names
