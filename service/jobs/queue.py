"""Enqueueing a job after a commit, losing nothing when Redis is down.

A use case asks for work to be done after its transaction commits (a redemption to fulfil);
the caller enqueues it once the commit is through. If Redis does not take it, nothing is lost:
the database row that asked for the work is still waiting, and a periodic sweep enqueues it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

log = logging.getLogger(__name__)


def enqueue_job(
    connection: Redis,
    function: str,
    *arguments: Any,
    queue: str = "high",
    job_id: str | None = None,
    timeout: int = 120,
    wait: timedelta | None = None,
) -> bool:
    """Enqueue ``function(*arguments)`` (a dotted name), after ``wait`` if given (RQ's scheduler);
    returns whether Redis took it. A job id, when given, makes a second enqueue of the same work
    replace the first rather than add to it."""
    options: dict[str, Any] = {"job_id": job_id, "result_ttl": 300, "failure_ttl": 7 * 24 * 3600}
    try:
        if wait is None:
            Queue(queue, connection=connection).enqueue_call(
                function, args=arguments, timeout=timeout, **options
            )
        else:
            Queue(queue, connection=connection).enqueue_in(
                wait, function, *arguments, job_timeout=timeout, **options
            )
    except RedisError as error:
        log.warning("Redis did not take %s%r (%s); the sweep will enqueue it", function, arguments, error)
        return False
    return True
