"""Rewards: the catalogue, REDEEM (points spent in the text's own transaction, the reward delivered
by a job after it), fulfilment's record, and the partner shops' VERIFY of a voucher.

A redemption moves created -> fulfilled, or created -> refunded when fulfilment fails for good:

1. REDEEM, in the inbound text's transaction: the reward's stock is taken (a conditional UPDATE, so
   two households cannot take the last one), the redemption row is written and the household's
   points are debited to ``rewards:<kind>``, all under one savepoint. The ledger's no-overdraft
   limit on member accounts is the final guard: two REDEEMs racing past the balance check end
   with one of them refused (``InsufficientFunds``) and nothing of it written. The fulfilment job
   is enqueued after the commit.
2. The job (``service.jobs.fulfil_redemption``) claims the row (committed), calls the fulfiller
   outside any transaction, and records the outcome with the household's reply in one transaction.
   A transient failure is tried again later; a permanent one (or the last transient one) is
   refunded: a ledger reversal of the debit, the stock put back, the household told.
3. ``sweep_redemptions`` enqueues rows no job is going to fulfil (Redis was down, a worker died).

Every refusal (``Refused``) leaves nothing behind and names the reply that says why.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import ledger
import sms
from ledger import TransferRequest
from ledger.posting import MAX_AMOUNT
from service.accounts import member_account
from service.channels.conversation import Conversation, handles, not_open
from service.models import collectors_t, households_t, partners_t, phones_t, redemptions_t, rewards_t
from service.outbox import Outbox
from service.providers.fulfilment import (
    KINDS,
    Fulfilled,
    FulfilmentError,
    Order,
    new_voucher_code,
    show_voucher,
    store_unique,
)
from service.settings import Settings
from service.usecases.catalogue import CatalogueError
from service.usecases.households import Member, ensure_phone, mask_code, member_by_phone
from sms import commands
from sms.templates import WIDTHS

log = logging.getLogger(__name__)

# Units a reward may be redeemed in at a time unless the operator says otherwise: naira of
# airtime (what the networks top up), or items.
DEFAULT_UNITS = {"airtime": (100, 5000), "voucher": (1, 5), "goods": (1, 5)}
MAX_PRICE = 1_000_000
# The most one REDEEM may name (what sms.parse reads as an amount).
MAX_UNITS = 10**7
MAX_STOCK = 10**9
# A claim this old belongs to a job that died: another may take the redemption.
CLAIM_TTL = timedelta(minutes=5)
# A created redemption this old with no live claim was never enqueued, or its job was lost.
SWEEP_GRACE = timedelta(seconds=60)
# Tries of a fulfilment in all, and the wait before each retry after a transient failure.
MAX_ATTEMPTS = 5
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30))
SYSTEM_ACTOR = "system:fulfilment"


class Refused(Exception):
    """A REDEEM that cannot be done: ``template`` and its values are the reply that says why."""

    def __init__(self, template: str, **values: object) -> None:
        super().__init__(template)
        self.template = template
        self.values = values


# --- the catalogue -----------------------------------------------------------------------------------


class Reward(NamedTuple):
    code: str
    name: str
    kind: str  # airtime | voucher | goods
    price: int  # points per unit
    min_units: int
    max_units: int
    stock: int | None  # None: unlimited
    position: int  # its number in the REWARDS reply
    active: bool


_REWARD_COLUMNS = (
    rewards_t.c.code,
    rewards_t.c.name,
    rewards_t.c.kind,
    rewards_t.c.price,
    rewards_t.c.min_units,
    rewards_t.c.max_units,
    rewards_t.c.stock,
    rewards_t.c.position,
    rewards_t.c.active,
)


def _whole(label: str, value: object, lowest: int, highest: int) -> int:
    if type(value) is not int or not lowest <= value <= highest:
        raise CatalogueError(f"{label} must be a whole number from {lowest} to {highest}")
    return value


def add_reward(
    session: Session,
    code: str,
    name: str,
    kind: str,
    price: int,
    now: datetime,
    *,
    min_units: int | None = None,
    max_units: int | None = None,
    stock: int | None = None,
) -> int:
    """A new reward at the end of the catalogue; returns its number there. ``price`` is points per
    unit (per naira of airtime, per voucher, per item); the units one REDEEM may ask for default
    to 100-5000 for airtime and 1-5 for the others; ``stock`` None is unlimited."""
    code = code.strip().upper()
    # A code of digits only would read as a catalogue number in REDEEM.
    if not re.fullmatch(r"[A-Z0-9]{2,20}", code) or code.isdigit():
        raise CatalogueError("a reward code is 2 to 20 letters and digits, with a letter, e.g. AIRTIME")
    name = " ".join(name.split())
    if not 1 <= len(name) <= 40:
        raise CatalogueError("a reward needs a name of 1 to 40 characters")
    if kind not in KINDS:
        raise CatalogueError(f"the kind must be one of {', '.join(KINDS)}, not {kind!r}")
    _whole("the price", price, 1, MAX_PRICE)
    lowest, highest = DEFAULT_UNITS[kind]
    low = _whole("the least units", lowest if min_units is None else min_units, 1, MAX_UNITS)
    high = _whole("the most units", max(highest, low) if max_units is None else max_units, low, MAX_UNITS)
    if price * high > MAX_AMOUNT:  # one REDEEM must stay a postable amount
        raise CatalogueError(f"the price times the most units must be at most {MAX_AMOUNT}")
    if stock is not None:
        _whole("the stock", stock, 0, MAX_STOCK)
    if get_reward(session, code) is not None:
        raise CatalogueError(f"there is already a reward {code}")
    position = (session.execute(select(func.max(rewards_t.c.position))).scalar() or 0) + 1
    try:
        with session.begin_nested():
            session.execute(
                rewards_t.insert(),
                {
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "price": price,
                    "min_units": low,
                    "max_units": high,
                    "stock": stock,
                    "position": position,
                    "active": True,
                    "created_at": now,
                },
            )
    except IntegrityError as error:  # another operator added one at the same moment
        raise CatalogueError(f"reward {code} or number {position} was just taken; try again") from error
    return position


def get_reward(session: Session, code: str) -> Reward | None:
    row = session.execute(select(*_REWARD_COLUMNS).where(rewards_t.c.code == code.strip().upper())).first()
    return None if row is None else Reward(*row)


def set_stock(session: Session, code: str, stock: int | None) -> Reward:
    """Set what is left of a reward (None: unlimited)."""
    found = get_reward(session, code)
    if found is None:
        raise CatalogueError(f"no reward {code.strip().upper()}")
    if stock is not None:
        _whole("the stock", stock, 0, MAX_STOCK)
    session.execute(rewards_t.update().where(rewards_t.c.code == found.code).values(stock=stock))
    return found._replace(stock=stock)


def set_price(session: Session, code: str, price: int) -> Reward:
    """A new price per unit; what was redeemed already keeps the points it took."""
    found = get_reward(session, code)
    if found is None:
        raise CatalogueError(f"no reward {code.strip().upper()}")
    _whole("the price", price, 1, MAX_PRICE)
    if price * found.max_units > MAX_AMOUNT:
        raise CatalogueError(
            f"the price times the most units ({found.max_units}) must be at most {MAX_AMOUNT}"
        )
    session.execute(rewards_t.update().where(rewards_t.c.code == found.code).values(price=price))
    return found._replace(price=price)


def set_active(session: Session, code: str, active: bool) -> Reward:
    """Offer a reward again, or take it out of REWARDS and REDEEM; it keeps its number, so the
    others' numbers do not change under the households' feet."""
    found = get_reward(session, code)
    if found is None:
        raise CatalogueError(f"no reward {code.strip().upper()}")
    session.execute(rewards_t.update().where(rewards_t.c.code == found.code).values(active=active))
    return found._replace(active=active)


def all_rewards(session: Session) -> list[Reward]:
    """Every reward, offered or not, by its number."""
    return [Reward(*row) for row in session.execute(select(*_REWARD_COLUMNS).order_by(rewards_t.c.position))]


def catalogue(session: Session) -> list[Reward]:
    """The active rewards, by their number."""
    rows = session.execute(
        select(*_REWARD_COLUMNS).where(rewards_t.c.active.is_(True)).order_by(rewards_t.c.position)
    )
    return [Reward(*row) for row in rows]


def find_reward(session: Session, item: str) -> Reward | None:
    """The active reward a household named: by its code or its number in the catalogue."""
    query = select(*_REWARD_COLUMNS).where(rewards_t.c.active.is_(True))
    typed = item.strip().upper()
    if typed.isdigit():
        query = query.where(rewards_t.c.position == int(typed))
    else:
        query = query.where(rewards_t.c.code == typed)
    row = session.execute(query).first()
    return None if row is None else Reward(*row)


def price_label(reward: Reward) -> str:
    points = "1 pt" if reward.price == 1 else f"{reward.price} pts"
    return f"{points}/NGN" if reward.kind == "airtime" else points


def describe_catalogue(rewards: list[Reward], width: int = WIDTHS["list"]) -> str:
    """ "1 Airtime 1 pt/NGN, 2 Rice 5kg 4500 pts": whole items only, as many as fit the reply (the
    numbers stay right when the tail is left out). What is out of stock is not offered."""
    shown: list[str] = []
    used = 0
    for reward in rewards:
        if reward.stock == 0:
            continue
        name = " ".join(sms.to_gsm7(reward.name).split())[:20]
        entry = f"{reward.position} {name} {price_label(reward)}"
        cost = len(entry) + (2 if shown else 0)
        if used + cost > width:
            break
        shown.append(entry)
        used += cost
    return ", ".join(shown)


# --- partner shops ----------------------------------------------------------------------------------


class Partner(NamedTuple):
    id: int
    phone: str
    name: str
    status: str


PARTNER_STATUSES = ("active", "suspended")
_PARTNER_COLUMNS = (partners_t.c.id, partners_t.c.phone, partners_t.c.name, partners_t.c.status)


def partner_by_phone(session: Session, phone: str) -> Partner | None:
    row = session.execute(select(*_PARTNER_COLUMNS).where(partners_t.c.phone == phone)).first()
    return None if row is None else Partner(*row)


def add_partner(session: Session, phone: str, name: str, now: datetime) -> Partner:
    """A shop that takes vouchers: its phone (E.164) may text VERIFY. One number, one role: not a
    collector's, another shop's or a household's."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 80:
        raise CatalogueError("a partner shop needs a name of 1 to 80 characters")
    if session.execute(select(collectors_t.c.id).where(collectors_t.c.phone == phone)).first():
        raise CatalogueError(f"{phone} is a collector's phone; a shop needs its own")
    if partner_by_phone(session, phone) is not None:
        raise CatalogueError(f"{phone} is already a partner shop")
    if (
        member_by_phone(session, phone) is not None
        or session.execute(select(households_t.c.id).where(households_t.c.phone == phone)).first()
    ):
        raise CatalogueError(f"{phone} is a member household's phone; a shop needs its own")
    ensure_phone(session, phone, now)
    partner_id = session.execute(
        partners_t.insert().returning(partners_t.c.id),
        {"phone": phone, "name": name, "status": "active", "created_at": now},
    ).scalar_one()
    return Partner(partner_id, phone, name, "active")


def set_partner_status(session: Session, phone: str, status: str) -> Partner:
    if status not in PARTNER_STATUSES:
        raise CatalogueError(f"status must be one of {', '.join(PARTNER_STATUSES)}")
    found = partner_by_phone(session, phone)
    if found is None:
        raise CatalogueError(f"no partner shop with phone {phone}")
    session.execute(partners_t.update().where(partners_t.c.id == found.id).values(status=status))
    return found._replace(status=status)


# --- REDEEM -------------------------------------------------------------------------------------------


def _points_of(session: Session, member_code: str) -> int:
    return ledger.balance(session, member_account(member_code)).credit_balance


def redeem(
    session: Session,
    household: Member,
    item: str,
    amount: int | None,
    now: datetime,
    *,
    inbound_id: int | None = None,
) -> int:
    """Spend a household's points on a reward, in the caller's transaction; returns the new
    redemption's id (fulfil it after the commit). ``amount``: naira of airtime or how many
    items (default the reward's least). ``Refused`` when it cannot be done: nothing written."""
    if household.status != "active":
        raise Refused("account_suspended")
    reward = find_reward(session, item)
    if reward is None:
        raise Refused("unknown_reward", item=item)
    units = reward.min_units if amount is None else amount
    if units < reward.min_units:
        raise Refused("below_minimum", reward=reward.name, min=reward.min_units, item=reward.code)
    if units > reward.max_units:
        raise Refused("above_maximum", reward=reward.name, max=reward.max_units)
    if reward.stock is not None and reward.stock < units:
        raise Refused("out_of_stock", reward=reward.name)
    points = reward.price * units
    balance = _points_of(session, household.member_code)
    if balance < points:
        raise Refused("not_enough_points", reward=reward.name, need=points, balance=balance)
    try:
        with session.begin_nested():
            redemption_id = _take(session, household, reward, units, points, now, inbound_id)
    except ledger.InsufficientFunds:
        # Another debit got there between the check and the posting; the ledger's limit held.
        balance = _points_of(session, household.member_code)
        raise Refused("not_enough_points", reward=reward.name, need=points, balance=balance) from None
    return redemption_id


def _take(
    session: Session,
    household: Member,
    reward: Reward,
    units: int,
    points: int,
    now: datetime,
    inbound_id: int | None,
) -> int:
    """The stock, the redemption row and the debit (under the caller's savepoint)."""
    taken: Any = session.execute(
        update(rewards_t)
        .where(
            rewards_t.c.code == reward.code,
            or_(rewards_t.c.stock.is_(None), rewards_t.c.stock >= units),
        )
        .values(stock=rewards_t.c.stock - units)  # NULL (unlimited) stays NULL
    )
    if taken.rowcount != 1:  # the last ones went to someone else a moment ago
        raise Refused("out_of_stock", reward=reward.name)
    redemption_id = session.execute(
        redemptions_t.insert().returning(redemptions_t.c.id),
        {
            "household_id": household.id,
            "reward_code": reward.code,
            "units": units,
            "points": points,
            "status": "created",
            "attempts": 0,
            "inbound_id": inbound_id,
            "created_at": now,
        },
    ).scalar_one()
    account = member_account(household.member_code)
    memo = f"{reward.name}: NGN {units}" if reward.kind == "airtime" else f"{reward.name} x {units}"
    debit = ledger.post(
        session,
        TransferRequest(
            account,
            f"rewards:{reward.kind}",
            points,
            "redemption",
            f"redemption:{redemption_id}",
            reference=f"redemption:{redemption_id}",
            memo=memo,
            actor=account,
            occurred_at=now,
        ),
        now=now,
    )
    session.execute(
        redemptions_t.update().where(redemptions_t.c.id == redemption_id).values(reference=debit.human_ref)
    )
    return int(redemption_id)


# --- fulfilment: claim, record, refund, sweep -----------------------------------------------------


def claim_redemption(session: Session, redemption_id: int, now: datetime) -> Order | None:
    """Take a created redemption for fulfilment (its claim and attempt, committed by the caller);
    None when there is nothing to do: done already, or another job holds a live claim."""
    claimed: Any = session.execute(
        update(redemptions_t)
        .where(
            redemptions_t.c.id == redemption_id,
            redemptions_t.c.status == "created",
            or_(redemptions_t.c.claimed_at.is_(None), redemptions_t.c.claimed_at <= now - CLAIM_TTL),
        )
        .values(claimed_at=now, attempts=redemptions_t.c.attempts + 1)
    )
    if claimed.rowcount != 1:
        return None
    row = session.execute(_ORDER.where(redemptions_t.c.id == redemption_id)).one()
    return Order(
        redemption_id=row.id,
        kind=row.kind,
        reward_code=row.reward_code,
        reward_name=row.name,
        units=row.units,
        phone=row.phone,
        reference=row.reference or "",
        attempt=row.attempts,
    )


_ORDER = (
    select(
        redemptions_t.c.id,
        redemptions_t.c.reward_code,
        redemptions_t.c.units,
        redemptions_t.c.points,
        redemptions_t.c.status,
        redemptions_t.c.attempts,
        redemptions_t.c.reference,
        redemptions_t.c.inbound_id,
        rewards_t.c.kind,
        rewards_t.c.name,
        households_t.c.phone,
        households_t.c.member_code,
        phones_t.c.language,
    )
    .join(rewards_t, rewards_t.c.code == redemptions_t.c.reward_code)
    .join(households_t, households_t.c.id == redemptions_t.c.household_id)
    .join(phones_t, phones_t.c.number == households_t.c.phone)
)


def _locked(session: Session, redemption_id: int) -> Any:
    """The redemption with what its reply needs, its row locked (PostgreSQL) until the commit."""
    return session.execute(
        _ORDER.where(redemptions_t.c.id == redemption_id).with_for_update(of=redemptions_t)
    ).one()


@dataclass(frozen=True)
class Recorded:
    """What became of a fulfilment attempt: ``outcome`` for the job's record, the replies to send
    after the commit, and the wait before the next try (transient failures only)."""

    outcome: str
    to_send: tuple[int, ...] = ()
    retry_in: timedelta | None = None


def _reply(
    session: Session, settings: Settings, row: Any, now: datetime, template: str, **values: object
) -> list[int]:
    outbox = Outbox(session, now)
    body = sms.render(template, row.language, programme=settings.programme_name, **values)
    # The answer to the household's own REDEEM: it goes even in quiet hours.
    outbox.write(
        row.phone,
        body,
        language=row.language,
        template=template,
        inbound_id=row.inbound_id,
        reply=row.inbound_id is not None,
    )
    return outbox.to_send


def record_fulfilled(
    session: Session, settings: Settings, redemption_id: int, done: Fulfilled, now: datetime
) -> Recorded:
    """The reward was delivered: the redemption fulfilled and the household told, together."""
    row = _locked(session, redemption_id)
    if row.status != "created":
        return Recorded(f"already {row.status}")
    session.execute(
        redemptions_t.update()
        .where(redemptions_t.c.id == redemption_id)
        .values(status="fulfilled", fulfilled_at=now, provider_ref=done.provider_ref)
    )
    balance = _points_of(session, row.member_code)
    said: dict[str, object] = {"points": row.points, "balance": balance}
    if row.kind == "voucher":
        drawn = iter([done.voucher_code] if done.voucher_code else [])
        code = store_unique(
            lambda candidate: _store_voucher(session, redemption_id, candidate),
            lambda: next(drawn, None) or new_voucher_code(),
        )
        template, said = "voucher_issued", {**said, "voucher": show_voucher(code), "reward": row.name}
    elif row.kind == "airtime":
        template, said = "airtime_sent", {**said, "units": row.units, "ref": row.reference}
    else:
        template, said = (
            "goods_ordered",
            {**said, "units": row.units, "reward": row.name, "ref": row.reference},
        )
    to_send = _reply(session, settings, row, now, template, **said)
    return Recorded("fulfilled", tuple(to_send))


def _store_voucher(session: Session, redemption_id: int, code: str) -> bool:
    """Give the redemption this code; False when another voucher has it (the unique constraint)."""
    try:
        with session.begin_nested():
            session.execute(
                redemptions_t.update().where(redemptions_t.c.id == redemption_id).values(voucher_code=code)
            )
    except IntegrityError:
        return False
    return True


def record_failure(
    session: Session, settings: Settings, redemption_id: int, error: FulfilmentError, now: datetime
) -> Recorded:
    """Fulfilment failed. Transient, with tries left: the claim lapses when the retry is due (so
    neither the sweep nor another job takes it sooner). Otherwise: refunded and the household told."""
    row = _locked(session, redemption_id)
    if row.status != "created":
        return Recorded(f"already {row.status}")
    message = str(error)[:200]
    if error.transient and row.attempts < MAX_ATTEMPTS:
        wait = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        session.execute(
            redemptions_t.update()
            .where(redemptions_t.c.id == redemption_id)
            .values(claimed_at=now + wait - CLAIM_TTL, failure=message)
        )
        return Recorded(f"retry in {int(wait.total_seconds())}s: {message}", retry_in=wait)
    return Recorded(f"refunded: {message}", tuple(refund(session, settings, row, message, now)))


def refund(session: Session, settings: Settings, row: Any, reason: str, now: datetime) -> list[int]:
    """Give the points back (a reversal of the debit: nothing is deleted), put the stock back and
    tell the household. The row is locked and still "created"."""
    debit = next(
        t
        for t in ledger.transfers_for(session, f"redemption:{row.id}")
        if t.idempotency_key == f"redemption:{row.id}"
    )
    ledger.post(
        session,
        ledger.reversal_of(
            debit,
            idempotency_key=f"redemption:{row.id}:refund",
            actor=SYSTEM_ACTOR,
            memo=f"refund: {reason}"[:500],
            code="refund",
            occurred_at=now,
        ),
        now=now,
    )
    # Failed, and refunded in the same breath: "refunded" is the failure's final state.
    session.execute(
        redemptions_t.update().where(redemptions_t.c.id == row.id).values(status="refunded", failure=reason)
    )
    session.execute(
        update(rewards_t)
        .where(rewards_t.c.code == row.reward_code, rewards_t.c.stock.is_not(None))
        .values(stock=rewards_t.c.stock + row.units)
    )
    log.warning("redemption %d refunded: %s", row.id, reason)
    balance = _points_of(session, row.member_code)
    return _reply(
        session, settings, row, now, "redeem_refunded", reward=row.name, points=row.points, balance=balance
    )


def redemptions_to_sweep(session: Session, now: datetime, *, limit: int = 500) -> list[int]:
    """Created redemptions no job is going to fulfil: older than a minute, with no live claim."""
    return [
        int(i)
        for i in session.execute(
            select(redemptions_t.c.id)
            .where(
                redemptions_t.c.status == "created",
                redemptions_t.c.created_at < now - SWEEP_GRACE,
                or_(redemptions_t.c.claimed_at.is_(None), redemptions_t.c.claimed_at <= now - CLAIM_TTL),
            )
            .order_by(redemptions_t.c.id)
            .limit(limit)
        ).scalars()
    ]


# --- VERIFY -------------------------------------------------------------------------------------------


class VoucherCheck(NamedTuple):
    """What a VERIFY found: ``ok`` (now used by this shop), ``used`` (before), or ``unknown``."""

    result: str
    reward: str = ""
    member_code: str = ""
    used_at: datetime | None = None


def use_voucher(session: Session, code: str, partner_id: int, now: datetime) -> VoucherCheck:
    """Use a voucher up, once: of two shops checking the same code at once, one gets ``ok``."""
    code = "".join(code.split()).replace("-", "").upper()
    used: Any = session.execute(
        update(redemptions_t)
        .where(
            redemptions_t.c.voucher_code == code,
            redemptions_t.c.status == "fulfilled",
            redemptions_t.c.voucher_used_at.is_(None),
        )
        .values(voucher_used_at=now, voucher_used_by=partner_id)
    )
    row = session.execute(
        select(
            rewards_t.c.name,
            households_t.c.member_code,
            redemptions_t.c.voucher_used_at,
            redemptions_t.c.status,
        )
        .select_from(redemptions_t)
        .join(rewards_t, rewards_t.c.code == redemptions_t.c.reward_code)
        .join(households_t, households_t.c.id == redemptions_t.c.household_id)
        .where(redemptions_t.c.voucher_code == code)
    ).first()
    if used.rowcount == 1 and row is not None:
        return VoucherCheck("ok", row.name, row.member_code, now)
    if row is not None and row.voucher_used_at is not None:
        return VoucherCheck("used", row.name, row.member_code, row.voucher_used_at)
    return VoucherCheck("unknown")


# --- the SMS handlers ----------------------------------------------------------------------------


@handles(commands.Rewards)
def rewards_command(conversation: Conversation, _command: commands.Rewards) -> None:
    listed = describe_catalogue(catalogue(conversation.session))
    if not listed:
        conversation.reply("rewards_empty")
        return
    conversation.reply("rewards_list", list=listed)


@handles(commands.Redeem)
def redeem_command(conversation: Conversation, command: commands.Redeem) -> None:
    household = conversation.household
    if household is None:
        conversation.reply("not_member")
        return
    try:
        redemption_id = redeem(
            conversation.session,
            household,
            command.item,
            command.amount,
            conversation.now,
            inbound_id=conversation.inbound_id,
        )
    except Refused as refusal:
        conversation.reply(refusal.template, **refusal.values)
        return
    # The reply (the voucher, the top-up) comes from the job, once the reward is delivered.
    conversation.after_commit("service.jobs.sending.fulfil_redemption", redemption_id)


@handles(commands.Verify)
def verify_command(conversation: Conversation, command: commands.Verify) -> None:
    if conversation.role != "partner" or conversation.actor_id is None:
        not_open(conversation, command)
        return
    status = conversation.session.execute(
        select(partners_t.c.status).where(partners_t.c.id == conversation.actor_id)
    ).scalar()
    if status != "active":
        conversation.reply("account_suspended")
        return
    found = use_voucher(conversation.session, command.code, conversation.actor_id, conversation.now)
    shown = show_voucher(command.code)
    if found.result == "ok":
        conversation.reply(
            "verify_ok", voucher=shown, reward=found.reward, member=mask_code(found.member_code)
        )
    elif found.result == "used" and found.used_at is not None:
        day = found.used_at.astimezone(conversation.settings.zone).strftime("%d/%m/%Y")
        conversation.reply("verify_used", voucher=shown, date=day)
    else:
        conversation.reply("verify_unknown", voucher=shown)
