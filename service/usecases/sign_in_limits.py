"""Sign-in limits, shared by the dashboard's sign-in form and the API's ``POST /auth/token``: what
a failed sign-in counts against, when an attempt is refused, and the device cookies that keep a
user's own browser out of a lockout aimed at them (OWASP's "Slow Down Online Guessing Attacks with
Device Cookies").

- A failed sign-in counts against the address it came from, whoever tries.
- From a browser holding a valid device cookie for the name tried (the email, or the phone in
  E.164), it counts against that cookie alone; from anywhere else (untrusted), against the name.
  So a flood of wrong passwords for someone's email, from elsewhere, locks that email out for
  untrusted browsers only: its owner, on a browser they signed in from before, still signs in.
  A stolen or guessed-at device cookie gets its own few tries, and is then locked out itself.
- Only failures count; an attempt is refused (before its password is even checked) while any
  limit it is held to is used up, and told how long to wait.
- A device cookie is issued after each successful sign-in: when it was issued, a random nonce,
  and an HMAC-SHA256 under the app's ``SECRET_KEY`` over those, the area and the name. It is good
  for that name in that area for ``DEVICE_DAYS`` (a new ``SECRET_KEY`` ends every one).

The counts are kept in Redis (moving windows, as Flask-Limiter keeps the other limits) while it
answers, and in the database (``sign_in_counts``, fixed windows) when it does not or when there
is no ``REDIS_URL``: a Redis that is down neither lets guesses through nor locks everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, TypeVar

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db import transaction
from service.models import sign_in_counts_t
from service.runtime import Runtime

T = TypeVar("T")


@dataclass(frozen=True)
class Policy:
    """An area's limits on failed sign-ins (``limits``' notation, ``;`` between several)."""

    area: str  # counted apart from other areas; a device cookie of one is no good in another
    per_address: str
    per_name: str  # untrusted attempts: no valid device cookie for the name tried
    per_device: str  # attempts with a valid device cookie for the name tried


DASHBOARD = Policy(
    "dashboard", per_address="10 per minute;30 per hour", per_name="10 per hour", per_device="10 per hour"
)
API = Policy(
    "api",
    per_address="30 per hour",
    per_name="5 per 15 minutes;20 per day",
    per_device="5 per 15 minutes;20 per day",
)

DEVICE_DAYS = 180
# A cookie issued a little "in the future" (another web process's clock) is still good.
CLOCK_SKEW = timedelta(minutes=5)
MAX_COOKIE = 200


class Attempt(NamedTuple):
    """One sign-in attempt: the name tried (normalised), where from, and the nonce of the device
    cookie it presented if that cookie is valid for this name (``trusted_device``)."""

    name: str
    address: str
    device: str | None


class Refusal(NamedTuple):
    """The attempt is refused: wait ``retry_after`` seconds."""

    retry_after: int

    def wait(self) -> str:
        """How long to wait, in words: "1 minute", "14 minutes", "3 hours"."""
        minutes = max(1, math.ceil(self.retry_after / 60))
        if minutes < 120:
            return f"{minutes} minute" + ("" if minutes == 1 else "s")
        return f"{math.ceil(minutes / 60)} hours"


# --- device cookies ------------------------------------------------------------------------------------


def _signature(secret: str, area: str, name: str, issued: int, nonce: str) -> str:
    message = json.dumps(["kolekt-device", area, name, issued, nonce]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def device_cookie(secret: str, area: str, name: str, now: datetime) -> str:
    """A new device cookie for ``name`` in ``area``: ``issued.nonce.signature``."""
    issued = int(now.timestamp())
    nonce = secrets.token_urlsafe(18)
    return f"{issued}.{nonce}.{_signature(secret, area, name, issued, nonce)}"


def trusted_device(secret: str, area: str, name: str, cookie: str | None, now: datetime) -> str | None:
    """The nonce of ``cookie`` if it is a device cookie issued for ``name`` in ``area`` in the last
    ``DEVICE_DAYS``; None for anything else (no cookie, another name's, forged, too old)."""
    if not cookie or not name or len(cookie) > MAX_COOKIE:
        return None
    issued_text, _, rest = cookie.partition(".")
    nonce, _, signature = rest.partition(".")
    if not issued_text.isdigit() or not nonce or not signature:
        return None
    issued = int(issued_text)
    if not hmac.compare_digest(signature, _signature(secret, area, name, issued, nonce)):
        return None
    age = now - datetime.fromtimestamp(issued, UTC)
    if not -CLOCK_SKEW <= age <= timedelta(days=DEVICE_DAYS):
        return None
    return nonce


# --- what is counted ----------------------------------------------------------------------------------


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def counted_against(policy: Policy, attempt: Attempt) -> list[tuple[RateLimitItem, str]]:
    """Each limit the attempt is held to, with what it counts: the address always; the device
    cookie if it presented a valid one for the name, else the name. (What is counted is hashed:
    the counters hold no email, phone or nonce.)"""
    subjects = [("address", attempt.address, policy.per_address)]
    if attempt.device is not None:
        subjects.append(("device", attempt.device, policy.per_device))
    else:
        subjects.append(("name", attempt.name, policy.per_name))
    return [
        (item, f"{policy.area}:{kind}:{_digest(value)}")
        for kind, value, text in subjects
        for item in parse_many(text)
    ]


# --- where it is counted ------------------------------------------------------------------------------

# After Redis failed, the database counts for this long before Redis is asked again: a Redis that
# hangs costs one sign-in its time-out, not every one.
REDIS_PAUSE_SECONDS = 30.0
# In Redis, beside Flask-Limiter's own counts (one ``reset`` empties both).
REDIS_NAMESPACE = "kolekt-sign-in"
# Rows of windows that ended this long ago are deleted (the longest window is a day).
KEEP_ROWS = timedelta(days=2)


class Counts:
    """Failed sign-ins, counted in Redis (``storage``, a ``limits`` storage) while it answers, else
    in the database of ``runtime``."""

    def __init__(self, storage: Storage | None, runtime: Runtime) -> None:
        self._storage = storage
        self._windows = MovingWindowRateLimiter(storage) if storage is not None else None
        self._runtime = runtime
        self._redis_away_until = 0.0
        self._lock = threading.Lock()
        base = storage.base_exceptions if storage is not None else ()
        self._errors: tuple[type[Exception], ...] = (
            StorageError,
            *(base if isinstance(base, tuple) else (base,)),
        )

    def refused(self, policy: Policy, attempt: Attempt, now: datetime) -> Refusal | None:
        """A refusal if any limit the attempt is held to is used up (the longest wait), else None."""
        counted = counted_against(policy, attempt)
        waits = self._in_redis(lambda windows: [_redis_wait(windows, item, key) for item, key in counted])
        if waits is None:
            with transaction(self._runtime.readers) as session:
                waits = [_database_wait(session, item, key, now) for item, key in counted]
        longest = max((wait for wait in waits if wait is not None), default=None)
        return None if longest is None else Refusal(longest)

    def failed(self, policy: Policy, attempt: Attempt, now: datetime) -> None:
        """Count a failed sign-in against everything the attempt is held to."""
        counted = counted_against(policy, attempt)
        hits = self._in_redis(
            lambda windows: [windows.hit(item, REDIS_NAMESPACE, key) for item, key in counted]
        )
        if hits is not None:
            return
        with transaction(self._runtime.sessions) as session:
            for item, key in counted:
                _database_hit(session, item, key, now)
            session.execute(delete(sign_in_counts_t).where(sign_in_counts_t.c.window_start < now - KEEP_ROWS))

    def _in_redis(self, work: Callable[[MovingWindowRateLimiter], T]) -> T | None:
        """``work`` on Redis, or None if there is none, it failed just now, or it fails now."""
        if self._windows is None or time.monotonic() < self._redis_away_until:
            return None
        try:
            return work(self._windows)
        except self._errors:
            with self._lock:
                self._redis_away_until = time.monotonic() + REDIS_PAUSE_SECONDS
            return None


def _redis_wait(windows: MovingWindowRateLimiter, item: RateLimitItem, key: str) -> int | None:
    if windows.test(item, REDIS_NAMESPACE, key):
        return None
    reset = windows.get_window_stats(item, REDIS_NAMESPACE, key).reset_time
    return max(1, math.ceil(reset - time.time()))


def _window(item: RateLimitItem, key: str, now: datetime) -> tuple[str, datetime, int]:
    """The row's key (the limit and what it counts), the start of the fixed window ``now`` is in,
    and the window's length in seconds."""
    seconds = item.get_expiry()
    moment = int(now.timestamp())
    start = datetime.fromtimestamp(moment - moment % seconds, UTC)
    return f"{key}:{item.amount}/{item.multiples}{item.GRANULARITY.name}", start, seconds


def _database_wait(session: Session, item: RateLimitItem, key: str, now: datetime) -> int | None:
    row_key, start, seconds = _window(item, key, now)
    hits = session.execute(
        select(sign_in_counts_t.c.hits).where(
            sign_in_counts_t.c.key == row_key, sign_in_counts_t.c.window_start == start
        )
    ).scalar()
    if hits is None or hits < item.amount:
        return None
    return max(1, math.ceil((start + timedelta(seconds=seconds) - now).total_seconds()))


def _database_hit(session: Session, item: RateLimitItem, key: str, now: datetime) -> None:
    row_key, start, _ = _window(item, key, now)
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(sign_in_counts_t)
    session.execute(
        insert.values(key=row_key, window_start=start, hits=1).on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"hits": sign_in_counts_t.c.hits + 1}
        )
    )
