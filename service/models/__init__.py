"""The service's own tables (households, collectors, pickups, messages, ...), on one metadata, and
each as a ``Table`` for the queries (``households_t``...).

The ledger keeps its tables on a metadata of its own (``ledger.metadata``); Alembic builds both.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from service.models.base import Base, metadata
from service.models.broadcasts import Broadcast, BroadcastMessage
from service.models.engagement import Ballot, ExpiryNotice, Milestone, MonthlyStatement, Suggestion, Vote
from service.models.field import (
    Collection,
    CollectionLine,
    Dispute,
    Household,
    PickupRequest,
    Rating,
    Redemption,
    RoutePage,
    Scale,
    ScaleCalibration,
    WeighIn,
)
from service.models.holds import CollectorSignal, Hold, PickupSignal, SignalThreshold
from service.models.messages import InboundMessage, OutboxMessage, Phone
from service.models.payouts import Bank, Payout, PayoutAccount, PayoutEvent
from service.models.programme import Collector, DayChange, Material, MaterialWord, Partner, Rate, Reward, Zone
from service.models.records import (
    Adjustment,
    ApiToken,
    AuditEntry,
    DailySummary,
    JobRun,
    LedgerCheck,
    Reminder,
    ReminderRun,
    SignInCount,
    User,
)
from service.models.sales import SalesBatch, SalesBatchWeighIn

phones_t = cast(Table, Phone.__table__)
households_t = cast(Table, Household.__table__)
inbound_t = cast(Table, InboundMessage.__table__)
outbox_t = cast(Table, OutboxMessage.__table__)
zones_t = cast(Table, Zone.__table__)
materials_t = cast(Table, Material.__table__)
material_words_t = cast(Table, MaterialWord.__table__)
rates_t = cast(Table, Rate.__table__)
rewards_t = cast(Table, Reward.__table__)
collectors_t = cast(Table, Collector.__table__)
partners_t = cast(Table, Partner.__table__)
collections_t = cast(Table, Collection.__table__)
collection_lines_t = cast(Table, CollectionLine.__table__)
disputes_t = cast(Table, Dispute.__table__)
ratings_t = cast(Table, Rating.__table__)
pickup_requests_t = cast(Table, PickupRequest.__table__)
route_pages_t = cast(Table, RoutePage.__table__)
redemptions_t = cast(Table, Redemption.__table__)
day_changes_t = cast(Table, DayChange.__table__)
reminders_t = cast(Table, Reminder.__table__)
reminder_runs_t = cast(Table, ReminderRun.__table__)
ledger_checks_t = cast(Table, LedgerCheck.__table__)
daily_summaries_t = cast(Table, DailySummary.__table__)
users_t = cast(Table, User.__table__)
audit_log_t = cast(Table, AuditEntry.__table__)
adjustments_t = cast(Table, Adjustment.__table__)
weigh_ins_t = cast(Table, WeighIn.__table__)
scales_t = cast(Table, Scale.__table__)
scale_calibrations_t = cast(Table, ScaleCalibration.__table__)
api_tokens_t = cast(Table, ApiToken.__table__)
sign_in_counts_t = cast(Table, SignInCount.__table__)
job_runs_t = cast(Table, JobRun.__table__)
broadcasts_t = cast(Table, Broadcast.__table__)
milestones_t = cast(Table, Milestone.__table__)
monthly_statements_t = cast(Table, MonthlyStatement.__table__)
suggestions_t = cast(Table, Suggestion.__table__)
expiry_notices_t = cast(Table, ExpiryNotice.__table__)
votes_t = cast(Table, Vote.__table__)
ballots_t = cast(Table, Ballot.__table__)
broadcast_messages_t = cast(Table, BroadcastMessage.__table__)
banks_t = cast(Table, Bank.__table__)
payout_accounts_t = cast(Table, PayoutAccount.__table__)
payouts_t = cast(Table, Payout.__table__)
payout_events_t = cast(Table, PayoutEvent.__table__)
sales_batches_t = cast(Table, SalesBatch.__table__)
sales_batch_weigh_ins_t = cast(Table, SalesBatchWeighIn.__table__)
pickup_signals_t = cast(Table, PickupSignal.__table__)
signal_thresholds_t = cast(Table, SignalThreshold.__table__)
collector_signals_t = cast(Table, CollectorSignal.__table__)
holds_t = cast(Table, Hold.__table__)

__all__ = [
    "Adjustment",
    "ApiToken",
    "AuditEntry",
    "Bank",
    "Base",
    "Broadcast",
    "BroadcastMessage",
    "Collection",
    "CollectionLine",
    "Collector",
    "CollectorSignal",
    "DailySummary",
    "DayChange",
    "Dispute",
    "Hold",
    "Household",
    "InboundMessage",
    "JobRun",
    "LedgerCheck",
    "Material",
    "MaterialWord",
    "Milestone",
    "MonthlyStatement",
    "OutboxMessage",
    "Partner",
    "Payout",
    "PayoutAccount",
    "PayoutEvent",
    "Phone",
    "PickupRequest",
    "PickupSignal",
    "Rate",
    "Rating",
    "Redemption",
    "Reminder",
    "ReminderRun",
    "Reward",
    "RoutePage",
    "SalesBatch",
    "SalesBatchWeighIn",
    "Scale",
    "ScaleCalibration",
    "SignInCount",
    "SignalThreshold",
    "Suggestion",
    "User",
    "WeighIn",
    "Zone",
    "adjustments_t",
    "api_tokens_t",
    "audit_log_t",
    "ballots_t",
    "banks_t",
    "broadcast_messages_t",
    "broadcasts_t",
    "collection_lines_t",
    "collections_t",
    "collector_signals_t",
    "collectors_t",
    "daily_summaries_t",
    "day_changes_t",
    "disputes_t",
    "expiry_notices_t",
    "holds_t",
    "households_t",
    "inbound_t",
    "job_runs_t",
    "ledger_checks_t",
    "material_words_t",
    "materials_t",
    "metadata",
    "milestones_t",
    "monthly_statements_t",
    "outbox_t",
    "partners_t",
    "payout_accounts_t",
    "payout_events_t",
    "payouts_t",
    "phones_t",
    "pickup_requests_t",
    "pickup_signals_t",
    "rates_t",
    "ratings_t",
    "redemptions_t",
    "reminder_runs_t",
    "reminders_t",
    "rewards_t",
    "route_pages_t",
    "sales_batch_weigh_ins_t",
    "sales_batches_t",
    "scale_calibrations_t",
    "scales_t",
    "sign_in_counts_t",
    "signal_thresholds_t",
    "suggestions_t",
    "users_t",
    "votes_t",
    "weigh_ins_t",
    "zones_t",
]
