"""The inbox's second chances: a stored text whose first try failed is tried again by a job a
little later, and the sweep tries every text stored over a minute ago that nobody acted on (the
web process died mid-way, Redis did not take the job). Acting on a text locks its row and marks
it ``processed`` in the same commit as its effects, so however many try, it is acted on once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from service import runtime
from service.channels import inbox
from service.jobs.runs import recorded

log = logging.getLogger(__name__)


def act_on_text(inbound_id: int) -> str:
    """Try again to act on one stored text; what became of it (for RQ's record)."""
    done = inbox.act_on_stored(runtime.current(), inbound_id)
    if done is None:
        return "nothing to do"
    if done.given_up:
        return "given up: its sender was told"
    return "tried again later" if done.failed else f"acted on: {done.command}"


@recorded(60)
def sweep_inbox(after_outage: bool = False) -> int:
    """Every stored text nobody acted on, oldest first: acted on now. How many were tried.
    ``after_outage``: also those stored less than a minute ago (their retry job may be lost)."""
    current = runtime.current()
    now = datetime.now(UTC)
    waiting = inbox.waiting(current, now + inbox.SWEEP_AFTER if after_outage else now)
    for inbound_id in waiting:
        inbox.act_on_stored(current, inbound_id)
    if waiting:
        log.warning("inbox sweep: %d stored texts acted on late", len(waiting))
    return len(waiting)
