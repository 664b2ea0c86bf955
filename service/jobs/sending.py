"""Sending the outbox: each row handed to the gateway once, paced by the send limit, held back in
quiet hours unless it answers the recipient's own text; and the sweep that enqueues rows no job is
going to send (Redis was down, a worker died).

Claim (committed), send, record (committed): a second job for the same row finds it claimed or
sent and does nothing. A transient failure puts the row back with a later due time and schedules
the retry; a permanent one fails it for good (``service.usecases.messages``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from service import runtime
from service.jobs.runs import recorded
from service.providers.sms import status_callback_url
from service.unit_of_work import Job, UnitOfWork
from service.usecases import messages
from sms.gateways import FindsSent, OutgoingMessage, SendError, Sent

log = logging.getLogger(__name__)
T = TypeVar("T")

# Rows claimed, sent and recorded at a time. A worker killed mid-batch leaves at most this many
# "sending": the sweep looks for each at the provider (``settle_stale``) and adopts those it
# took, sending the others again; only where the provider cannot be asked (Africa's Talking has no
# such API) may one of them go twice.
SEND_CHUNK = 25
# How far before a cut-short hand-over began the provider is searched for the message (clocks).
LOOK_BACK = timedelta(minutes=1)
# How long the provider's answer is kept trying to be recorded while the database is away.
RECORD_WAITS = (0.5, 1, 2, 4, 8, 15)


def _now() -> datetime:
    return datetime.now(UTC)


def send_message(message_id: int) -> str:
    """Hand one outbox row to the gateway, once; returns what became of it (for RQ's record)."""
    return send_outbox([message_id], bulk=False).get(message_id, "nothing to send")


def send_messages(message_ids: list[int], bulk: bool = True) -> str:
    """Hand a batch of outbox rows to the gateway, each once (as ``send_message``), paced by the
    shared send limit; returns a count of what became of them."""
    outcomes = send_outbox(message_ids, bulk=bulk)
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        word = outcome.split(" ")[0].rstrip(":")
        counts[word] = counts.get(word, 0) + 1
    return ", ".join(f"{count} {word}" for word, count in sorted(counts.items())) or "nothing to send"


def send_outbox(
    message_ids: Sequence[int], *, bulk: bool, clock: Callable[[], datetime] = _now
) -> dict[int, str]:
    """Claim, send and record the rows among ``message_ids`` that are due, ``SEND_CHUNK`` at a
    time: what became of each. In quiet hours, rows that do not answer the recipient's own text
    wait for the morning."""
    current = runtime.current()
    outcomes: dict[int, str] = {}
    for start in range(0, len(message_ids), SEND_CHUNK):
        outcomes.update(_send_chunk(current, message_ids[start : start + SEND_CHUNK], bulk, clock()))
    return outcomes


def _send_chunk(current: runtime.Runtime, ids: Sequence[int], bulk: bool, now: datetime) -> dict[int, str]:
    quiet = current.settings.quiet
    quiet_until = quiet.until(now, current.settings.zone) if quiet else None
    batch = current.transact(lambda uow: messages.claim_many(uow.session, ids, now, quiet_until=quiet_until))
    outcomes = dict.fromkeys(batch.deferred, "waits for quiet hours to end")
    if batch.deferred and quiet_until is not None:
        current.queue.send_bulk(batch.deferred, tag=f"quiet{int(quiet_until.timestamp())}", due=quiet_until)
    limit = current.send_limit
    claimed = batch.claimed if limit is None else list(limit.paced(batch.claimed, bulk=bulk))
    if claimed:
        outcomes.update(_hand_over(current, claimed))
    return outcomes


def _hand_over(current: runtime.Runtime, chunk: Sequence[messages.Claimed]) -> dict[int, str]:
    gateway = current.gateway
    sent: list[tuple[int, str, str]] = []
    failures: list[tuple[messages.Claimed, SendError]] = []
    for claimed in chunk:
        message = OutgoingMessage(
            to=claimed.to,
            body=claimed.body,
            reference=str(claimed.id),
            status_callback=status_callback_url(current.settings, claimed.id),
        )
        try:
            result = _taken_before(current, claimed) or gateway.send(message)
        except SendError as error:
            failures.append((claimed, error))
        except Exception as error:  # a bug or a library's surprise: retried like a time-out
            log.exception("gateway %s raised on outbox %d", gateway.name, claimed.id)
            failures.append(
                (claimed, SendError(f"{type(error).__name__}: {error}", transient=True, code="error"))
            )
        else:
            sent.append((claimed.id, result.provider_id, result.status))

    def record(uow: UnitOfWork) -> list[timedelta | None]:
        moment = _now()
        messages.record_sent_many(uow.session, gateway.name, sent, moment)
        return [
            messages.record_failure(
                uow.session,
                claimed.id,
                transient=failure.transient,
                code=failure.code,
                error=str(failure),
                opted_out=failure.opted_out,
                now=moment,
            )
            for claimed, failure in failures
        ]

    waits = _record(current, record)
    outcomes = {message_id: f"{status} {provider_id}" for message_id, provider_id, status in sent}
    for (claimed, failure), wait in zip(failures, waits, strict=True):
        if wait is None:
            outcomes[claimed.id] = f"failed: {failure}"
        else:
            # The next try; refused by Redis, the sweep retries it.
            current.queue.enqueue(
                Job.SEND_MESSAGE, claimed.id, job_id=f"send-{claimed.id}-{claimed.attempt}", wait=wait
            )
            outcomes[claimed.id] = f"retry in {int(wait.total_seconds())}s: {failure}"
    return outcomes


@recorded(60)
def sweep_outbox(after_outage: bool = False) -> int:
    """Enqueue outbox rows that no job will send (Redis was down, a worker died). Returns how many.
    ``after_outage``: every row due, at once (the clock asks so when Redis comes back)."""
    current = runtime.current()
    now = _now()
    swept = current.transact(lambda uow: messages.rows_to_sweep(uow.session, now, after_outage=after_outage))
    again = [stale.id for stale in swept.stale if settle_stale(current, stale) == "queued"]
    count = len(swept.transactional) + len(swept.bulk) + len(again)
    if count:
        log.debug("outbox sweep: enqueuing %d rows", count)
        tag = f"sweep{int(now.timestamp())}"
        current.queue.send([*swept.transactional, *again], tag=tag)
        current.queue.send_bulk(swept.bulk, tag=tag)
    return count


def _taken_before(current: runtime.Runtime, claimed: messages.Claimed) -> Sent | None:
    """Before a row is sent again (its last try failed, perhaps after the provider had taken it:
    the connection dropped before its answer came), the provider is asked whether it has it; if
    so, that is adopted rather than sent twice. Only providers that can be asked, only retries."""
    gateway = current.gateway
    if claimed.attempt <= 1 or claimed.created_at is None or not isinstance(gateway, FindsSent):
        return None
    found = gateway.find_sent(claimed.to, claimed.body, claimed.created_at - LOOK_BACK)
    with current.sessions() as session:
        adopted = messages.adoptable(session, gateway.name, found)
    if adopted is not None:
        log.warning(
            "outbox %d: %s had it already (%s); adopted", claimed.id, gateway.name, adopted.provider_id
        )
    return adopted


def _record(current: runtime.Runtime, record: Callable[[UnitOfWork], T]) -> T:
    """What the provider answered, recorded even if the database is away for a while (up to
    ``RECORD_WAITS``): a row left "sending" is looked for at the provider later, but one recorded
    now needs no looking."""
    for wait in (*RECORD_WAITS, None):
        try:
            return current.transact(record)
        except DBAPIError as error:
            if wait is None or not (error.connection_invalidated or isinstance(error, OperationalError)):
                raise
            log.warning("could not record what the provider answered (%s); again in %s s", error, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")


def settle_stale(current: runtime.Runtime, stale: messages.Stale) -> str:
    """A row a cut-short hand-over left "sending": looked for at the provider first (from a
    minute before its hand-over began), adopted if it is there, else sent again. A provider that
    cannot be asked just now leaves it for the next sweep; one that cannot be asked at all (no
    such API) leaves the one residual chance of a duplicate."""
    gateway = current.gateway
    found = None
    if isinstance(gateway, FindsSent):
        try:
            found = gateway.find_sent(stale.to, stale.body, stale.sending_at - LOOK_BACK)
        except SendError as error:
            log.warning("could not ask %s about outbox %d (%s); next sweep", gateway.name, stale.id, error)
            return "left"
    outcome = current.transact(
        lambda uow: messages.settle_stale(uow.session, stale, gateway.name, found, _now())
    )
    if outcome.startswith("adopted"):
        log.warning("outbox %d: found at %s after a cut-short hand-over: %s", stale.id, gateway.name, outcome)
    elif found is None and outcome == "queued":
        log.warning("outbox %d: %s cannot say if it has it; sending again", stale.id, gateway.name)
    return outcome
