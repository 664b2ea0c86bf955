"""Cash-out's jobs: asking Paystack an account's name, sending one payout, the sweep that sends
what no job is going to and asks Paystack about payouts whose outcome has not come, and the daily
refresh of the bank list. Paystack is only ever called between transactions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from service import runtime
from service.jobs.runs import recorded
from service.providers.payouts import AccountNotFound, PayoutError, Payouts, Transfer, payouts_for
from service.unit_of_work import Job, UnitOfWork
from service.usecases import banks, payout_accounts, payout_sending, payouts

log = logging.getLogger(__name__)

COUNTRY = "nigeria"


def _now() -> datetime:
    return datetime.now(UTC)


def resolve_payout_account(account_id: int) -> str:
    """Ask Paystack the name of an account a household texted (BANK), and text it back with the
    question; once."""
    current = runtime.current()
    account = current.transact(lambda uow: payout_accounts.get_account(uow.session, account_id))
    if account is None or account.status != "resolving":
        return "nothing to do"
    provider = payouts_for(current.settings)
    try:
        name: str | None = provider.resolve(account.account_number, account.bank_code)
        failure = None
    except AccountNotFound as error:
        name, failure = None, str(error)
    except PayoutError as error:
        if error.transient:
            # Left resolving: the sweep asks again within a couple of minutes.
            log.warning("payout account %d: Paystack could not be asked (%s)", account_id, error)
            return f"asked again later: {error}"
        name, failure = None, str(error)
    finally:
        provider.close()
    return current.transact(lambda uow: payout_accounts.record_resolved(uow, account_id, name, failure))


class FloatShort(PayoutError):
    """The programme's Paystack balance is short of the payout: it waits for a top-up, however
    long (never given back for this alone)."""

    def __init__(self, available_kobo: int) -> None:
        super().__init__(f"the float is NGN {available_kobo // 100:,}, short of this payout", transient=True)


def send_payout(payout_id: int) -> str:
    """Send one payout, once: claim (committed); ask Paystack first if a claim was left or this
    is a retry, and adopt the transfer it has under the payout's reference; else make sure the
    account is a Paystack recipient, check the float, and send; then record what came back."""
    current = runtime.current()
    claimed = current.transact(lambda uow: payout_sending.claim(uow.session, payout_id, uow.now))
    if claimed is None:
        return "nothing to do"
    provider = payouts_for(current.settings)
    unsure = False
    try:
        outcome = _send(current, provider, claimed)
    except PayoutError as error:
        message, transient = str(error), error.transient
        unsure = isinstance(error, FloatShort)  # waits for the top-up, is never given back for it
        if transient and not unsure and claimed.attempt >= payout_sending.MAX_ATTEMPTS:
            # The last try gives the points back; but a transfer that timed out may have been
            # taken: ask Paystack first, and adopt what it holds (else: paid and refunded).
            try:
                found = provider.verify(claimed.reference)
            except PayoutError as asking:
                log.warning("payout %d: Paystack could not be asked (%s): held", payout_id, asking)
                found, unsure = None, True
            if found is not None:
                return current.transact(_settler(claimed.reference, found))
        recorded_failure = current.transact(
            lambda uow: payout_sending.record_attempt_failed(
                uow, payout_id, message, transient=transient, unsure=unsure
            )
        )
        if recorded_failure.retry_in is not None:
            current.queue.enqueue(
                Job.SEND_PAYOUT,
                payout_id,
                job_id=f"payout-{payout_id}-{claimed.attempt}",
                wait=recorded_failure.retry_in,
            )
        return recorded_failure.outcome
    finally:
        provider.close()
    return outcome


def _send(current: runtime.Runtime, provider: Payouts, claimed: payout_sending.Claimed) -> str:
    if claimed.resumed:
        found = provider.verify(claimed.reference)
        if found is not None:  # it went before: adopt it, never send twice
            return current.transact(lambda uow: payouts.settle(uow, claimed.reference, found).outcome)
    recipient = claimed.recipient_code
    if recipient is None:
        recipient = provider.recipient(claimed.account_name, claimed.account_number, claimed.bank_code)
        code = recipient
        current.transact(lambda uow: payout_accounts.store_recipient(uow.session, claimed.account_id, code))
    available = provider.balance()
    current.transact(lambda uow: payout_sending.watch_float(uow, claimed.payout_id, available))
    if available < claimed.amount_kobo:
        raise FloatShort(available)
    transfer: Transfer = provider.transfer(claimed.amount_kobo, recipient, claimed.reference, claimed.reason)
    return current.transact(lambda uow: payouts.settle(uow, claimed.reference, transfer).outcome)


@recorded(60)
def sweep_payouts() -> int:
    """Enqueue held payouts no job will send (Redis was down, a worker died, a cooling-off ended)
    and accounts still waiting for their name, and ask Paystack about payouts it took whose
    outcome has not come; how many were looked at."""
    current = runtime.current()
    now = _now()
    due = current.transact(lambda uow: payout_sending.to_send(uow.session, now))
    for payout_id in due:
        if not current.queue.enqueue(
            Job.SEND_PAYOUT, payout_id, job_id=f"payout-{payout_id}-sweep{int(now.timestamp())}"
        ):
            break  # Redis is down: the next sweep tries again
    unnamed = current.transact(lambda uow: payout_accounts.to_resolve(uow.session, now))
    for account_id in unnamed:
        if not current.queue.enqueue(
            Job.RESOLVE_PAYOUT_ACCOUNT,
            account_id,
            job_id=f"payout-account-{account_id}-sweep{int(now.timestamp())}",
        ):
            break
    waiting = current.transact(lambda uow: payout_sending.to_reconcile(uow.session, now))
    if waiting:
        provider = payouts_for(current.settings)
        try:
            for reference in waiting:
                found = provider.verify(reference)
                if found is None:
                    log.error("payout %s: Paystack has no transfer with this reference", reference)
                    continue
                current.transact(_settler(reference, found))
        except PayoutError as error:
            log.warning("payout reconciliation stopped: %s", error)
        finally:
            provider.close()
    return len(due) + len(unnamed) + len(waiting)


def _settler(reference: str, transfer: Transfer) -> Callable[[UnitOfWork], str]:
    return lambda uow: payouts.settle(uow, reference, transfer).outcome


@recorded(3600)
def refresh_banks() -> int:
    """Paystack's bank list, cached: refreshed when a day old (asked every hour)."""
    current = runtime.current()
    if not current.transact(lambda uow: banks.stale(uow.session, COUNTRY, uow.now)):
        return 0
    provider = payouts_for(current.settings)
    try:
        listed = provider.banks(COUNTRY)
    finally:
        provider.close()
    refreshed = current.transact(lambda uow: banks.refresh(uow.session, listed, COUNTRY, uow.now))
    return int(refreshed.added + refreshed.changed + refreshed.retired)
