"""The programme's own ledger accounts, and the demo data the embedded run starts with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

import ledger
from ledger import TransferRequest

# Every pickup credit and commission is debited here: its debit balance is all points issued.
ISSUANCE = "programme:issuance"
# Where redeemed points go, one account per kind of fulfilment.
REWARD_ACCOUNTS = ("rewards:airtime", "rewards:voucher", "rewards:goods")
# Manual corrections (maker-checker) are posted against this account.
ADJUSTMENTS = "programme:adjustments"


def open_programme_accounts(session: Session) -> None:
    ledger.open_account(session, ISSUANCE, "programme")
    ledger.open_account(session, ADJUSTMENTS, "programme")
    for code in REWARD_ACCOUNTS:
        ledger.open_account(session, code, "rewards")


def member_account(member_code: str) -> str:
    return f"member:{member_code}"


def collector_account(collector_id: int) -> str:
    return f"collector:{collector_id}"


# The demo households: their phones are the simulator's, so "BAL" there shows real points.
DEMO_HOUSEHOLDS = (
    ("+2348031234567", "Ada Okafor", "12 Adeniyi St, Yaba"),
    ("+2348052345678", "Tunde Bakare", "4 Herbert Macaulay Way, Yaba"),
    ("+2348063456789", "Ngozi Eze", "31 Commercial Ave, Sabo"),
)
DEMO_DAYS = 14
DEMO_TRANSFERS = 2 * DEMO_DAYS + 1


def seed_demo_ledger(session: Session, *, now: datetime | None = None) -> int:
    """Three households, a few weeks of their pickups, commissions and a redemption; the same
    every time (idempotent). Returns how many transfers are in the demo books.
    """
    from .households import ensure_phone, member_by_phone, register_household

    now = now or datetime.now(UTC)
    open_programme_accounts(session)
    collector = collector_account(1)
    ledger.open_account(session, collector, "collector")
    codes = []
    for phone, name, address in DEMO_HOUSEHOLDS:
        ensure_phone(session, phone, now)
        member = member_by_phone(session, phone) or register_household(
            session, phone, name, address, "demo", now
        )
        codes.append(member.member_code)
    if ledger.transfers_for(session, "demo-collection:0"):
        return DEMO_TRANSFERS  # seeded before, perhaps on another day: leave it as it is
    posted = 0
    for day in range(DEMO_DAYS):
        occurred = (now - timedelta(days=DEMO_DAYS - day)).replace(hour=9, minute=30, second=0, microsecond=0)
        code = codes[day % len(codes)]
        points = 40 + 7 * day
        batch = [
            TransferRequest(
                ISSUANCE,
                member_account(code),
                points,
                "pickup_credit",
                f"demo:pickup:{day}:member",
                reference=f"demo-collection:{day}",
                memo="PET and sachets",
                actor=collector,
                occurred_at=occurred,
            ),
            TransferRequest(
                ISSUANCE,
                collector,
                points // 10 or 1,
                "commission",
                f"demo:pickup:{day}:collector",
                reference=f"demo-collection:{day}",
                actor=collector,
                occurred_at=occurred,
            ),
        ]
        posted += len(ledger.post_linked(session, batch, now=occurred))
    redemption = TransferRequest(
        member_account(codes[0]),
        "rewards:airtime",
        100,
        "redemption",
        "demo:redemption:1",
        reference="demo-redemption:1",
        memo="Airtime 100",
        actor=member_account(codes[0]),
        occurred_at=(now - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0),
    )
    ledger.post(session, redemption, now=redemption.occurred_at)
    return posted + 1
