"""Rewards: what points buy (airtime, vouchers, goods), each with a number in the REWARDS reply,
a price in points per unit, the units one REDEEM may ask for, and a stock. Spending points on one
is ``redemptions``.

Plain functions on the caller's session; each refuses bad values with ``CatalogueError`` (its
message is what a CLI or a form shows) and writes nothing then.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import sms
from ledger.posting import MAX_AMOUNT
from service.models import rewards_t
from service.providers.fulfilment import KINDS
from service.usecases import CatalogueError
from sms.templates import WIDTHS

# Units a reward may be redeemed in at a time unless the operator says otherwise: naira of
# airtime (what the networks top up), or items.
DEFAULT_UNITS = {"airtime": (100, 5000), "voucher": (1, 5), "goods": (1, 5)}
MAX_PRICE = 1_000_000
# The most one REDEEM may name (what sms.parse reads as an amount).
MAX_UNITS = 10**7
MAX_STOCK = 10**9


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


def describe_catalogue(rewards: list[Reward], width: int = WIDTHS["list"], *, cash: str | None = None) -> str:
    """ "1 Airtime 1 pt/NGN, 2 Rice 5kg 4500 pts": whole items only, as many as fit the reply (the
    numbers stay right when the tail is left out). What is out of stock is not offered. ``cash``
    ("CASH NGN 100-20,000"), when cash-out is offered, comes first."""
    shown: list[str] = [cash] if cash else []
    used = len(cash) if cash else 0
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
