"""What needs an operator today, for the overview's first list: open disputes, held pickups, corrections and
broadcasts waiting for a second operator, texts that could not be sent or acted on, cash payouts
that failed (and were not sent again) or that Paystack has had for over an hour without an outcome,
weigh-ins the scale disagrees with, rewards running out. Each with how many and where to deal with
them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import ColumnElement, Table, exists, func, select
from sqlalchemy.orm import Session

from service.models import (
    adjustments_t,
    broadcasts_t,
    disputes_t,
    holds_t,
    inbound_t,
    outbox_t,
    payouts_t,
    rewards_t,
)
from service.usecases import weighins

RECENT = timedelta(days=7)
FLAG_DAYS = 14
LOW_STOCK = 5
# A transfer Paystack took is usually settled in seconds, at worst in some minutes.
PAYSTACK_SLOW = timedelta(hours=1)


@dataclass(frozen=True)
class Item:
    label: str
    count: int
    endpoint: str
    args: dict[str, str] = field(default_factory=dict)


def needs_action(session: Session, now: datetime, local: tzinfo, gap_percent: int) -> list[Item]:
    """The items with something in them, in the order they are usually dealt with."""

    def count(table: Table, *where: ColumnElement[bool]) -> int:
        return int(session.execute(select(func.count()).select_from(table).where(*where)).scalar_one())

    today = now.astimezone(local).date()
    retried = payouts_t.alias("retried")
    flagged = sum(
        1
        for row in weighins.comparison(
            session,
            local,
            first_day=today - timedelta(days=FLAG_DAYS - 1),
            last_day=today,
            gap_percent=gap_percent,
        )
        if row.flagged
    )
    items = [
        Item("disputes to decide", count(disputes_t, disputes_t.c.status == "open"), "dashboard.disputes"),
        Item("held pickups to check", count(holds_t, holds_t.c.status == "held"), "dashboard.holds"),
        Item(
            "corrections waiting for a second operator",
            count(adjustments_t, adjustments_t.c.status == "proposed"),
            "dashboard.adjustments",
        ),
        Item(
            "broadcasts waiting for a second operator",
            count(broadcasts_t, broadcasts_t.c.status == "proposed"),
            "dashboard.broadcasts",
        ),
        Item(
            "texts that could not be sent this week",
            count(outbox_t, outbox_t.c.status == "failed", outbox_t.c.created_at >= now - RECENT),
            "dashboard.messages",
            {"status": "failed"},
        ),
        Item(
            "texts Kolekt could not act on this week",
            count(inbound_t, inbound_t.c.status == "failed", inbound_t.c.received_at >= now - RECENT),
            "dashboard.messages",
        ),
        Item(
            "payouts that failed this week",
            count(
                payouts_t,
                payouts_t.c.status == "failed",
                payouts_t.c.final_at >= now - RECENT,
                ~exists().where(retried.c.retry_of == payouts_t.c.id),
            ),
            "dashboard.payouts",
            {"status": "failed"},
        ),
        Item(
            "payouts waiting on Paystack for over an hour",
            count(payouts_t, payouts_t.c.status == "pending", payouts_t.c.sent_at <= now - PAYSTACK_SLOW),
            "dashboard.payouts",
            {"status": "pending"},
        ),
        Item(f"weigh-ins flagged in the last {FLAG_DAYS} days", flagged, "dashboard.weigh_ins"),
        Item(
            f"rewards with {LOW_STOCK} or fewer left",
            count(
                rewards_t,
                rewards_t.c.active.is_(True),
                rewards_t.c.stock.is_not(None),
                rewards_t.c.stock <= LOW_STOCK,
            ),
            "dashboard.programme",
        ),
    ]
    return [item for item in items if item.count]
