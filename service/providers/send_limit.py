"""How many texts a second the gateway is handed, by every worker together (``SMS_RATE_PER_SECOND``).

Providers cap the messages a second an account may send and queue or refuse the rest; Kolekt
keeps under the cap itself so a fan-out is paced, not bounced. The count lives in Redis (the
``limits`` library's moving window, the same one Flask-Limiter uses), so it holds across worker
processes and machines. A share of every second (``RESERVE``) is kept for answers: a fan-out of
100,000 reminders takes what it can of the rest, and a person who texts BAL is answered at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
T = TypeVar("T")

# The share of each second's sends that bulk texts (reminders, notices) may not take.
RESERVE = 0.2
# A wait is never longer than this, so a worker notices a stop request.
LONGEST_WAIT = 1.0


class SendLimit:
    """The pace at which texts may go to gateway ``name``: ``paced(messages, bulk=...)``."""

    def __init__(
        self,
        connection: Redis,
        name: str,
        per_second: int,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_second < 1:
            raise ValueError("a send limit is at least 1 a second (0 means no SendLimit at all)")
        self.name = name
        self._limiter = MovingWindowRateLimiter(
            RedisStorage("redis://", connection_pool=connection.connection_pool)
        )
        self._all = RateLimitItemPerSecond(per_second)
        self._bulk = RateLimitItemPerSecond(max(1, int(per_second * (1 - RESERVE))))
        # Taken in steps: a moving window never grants more than its limit at once, and steps
        # of about a twentieth of a second keep a big batch from arriving at the provider in one burst.
        self._step = max(1, per_second // 20)
        self._sleep = sleep
        self._clock = clock

    def paced(self, items: Sequence[T], *, bulk: bool) -> Iterator[T]:
        """``items``, each given out only once the limit lets one more text go."""
        for start in range(0, len(items), self._step):
            piece = items[start : start + self._step]
            self._take_step(len(piece), bulk)
            yield from piece

    def _take_step(self, cost: int, bulk: bool) -> None:
        limiter = self._limiter
        whole: tuple[str, ...] = (self.name,)
        share: tuple[str, ...] = ("bulk", self.name)
        while True:
            try:
                # Bulk sends need room in the whole second and in their own smaller share.
                if not limiter.test(self._all, *whole, cost=cost):
                    full = (self._all, whole)
                elif bulk and not limiter.hit(self._bulk, *share, cost=cost):
                    full = (self._bulk, share)
                elif limiter.hit(self._all, *whole, cost=cost):
                    return
                else:  # another worker took the room between the test and the hit
                    full = (self._all, whole)
                item, keys = full
                reset = limiter.get_window_stats(item, *keys).reset_time
            except RedisError as error:
                # The jobs themselves come from Redis: a worker that cannot reach it sends
                # little more; better a text a little too fast than a text not sent.
                log.warning("send limit for %s not checked (%s)", self.name, error)
                return
            self._sleep(min(LONGEST_WAIT, max(0.005, reset - self._clock())))


def send_limit_for(connection: Redis, gateway: str, per_second: int) -> SendLimit | None:
    """The shared limit for ``gateway``, or None when there is none (``SMS_RATE_PER_SECOND=0``)."""
    return SendLimit(connection, gateway, per_second) if per_second else None
