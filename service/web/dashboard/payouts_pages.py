"""Cash payouts at the hub: the list by status (keyset pages), the float Paystack last showed and
today's totals against the daily cap; an operator's retry of a failed payout, the CSV export, and
the reconciliation against Paystack's own record; and, on a household's page, its cash-out account
with the form that saves a new one (the name checked with Paystack first).

Paystack is only called with no transaction open: the payouts to ask about are read, the read is
closed, Paystack is asked, and each difference is settled in a unit of work of its own
(``payouts.settle``, as the webhooks and the sweep do).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from service.providers.payouts import AccountNotFound, PayoutError, Transfer, payouts_for
from service.reads import payouts as listed
from service.reads import people
from service.reads.exports import cell, csv_text
from service.unit_of_work import UnitOfWork
from service.usecases import Refused, payout_accounts, payout_sending, payouts
from service.usecases.households import get_member
from service.web import cash_out
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    OPERATORS,
    audit,
    before_arg,
    blueprint,
    keep,
    local,
    now,
    requires,
    runtime,
    settings,
    user,
)
from service.web.dashboard.people_pages import household_page

PAGE = 50
# At most this many payouts are asked about per click (each one call to Paystack).
RECONCILE_LIMIT = 300
RETRY_ACTION = "payout.retry"
EXPORT_ACTION = "payouts.export"
RECONCILE_ACTION = "payouts.reconcile"
ACCOUNT_ACTION = "payout_account.add"
PAYOUTS_PAGE = "dashboard/payouts.html"
HOUSEHOLD_PAGE = "dashboard/household.html"
CSV_COLUMNS = (
    "payout_id", "created", "member_code", "household", "amount_ngn", "points", "bank", "account",
    "status", "reference", "transfer_code", "failure", "receipt_ref", "attempts", "sent", "final",
    "retry_of", "retried_as",
)  # fmt: skip
# What Kolekt makes of Paystack's word for a transfer (anything else is on its way).
KOLEKT_STATUS = {
    **dict.fromkeys(payouts.PAID, "paid"),
    **dict.fromkeys(payouts.FAILED, "failed"),
    **dict.fromkeys(payouts.REVERSED, "reversed"),
}


def ngn(kobo: int | None) -> str:
    return "" if kobo is None else payouts.naira(kobo)


def _by() -> str:
    return f"user:{user().id} {user().email}"


# --- the list ----------------------------------------------------------------------------------------


def _status() -> str | None:
    """``?status=``, one of the payouts' statuses (or none)."""
    status = request.args.get("status", "").strip()
    if status and status not in listed.STATUSES:
        raise ValueError(f"status must be one of {', '.join(listed.STATUSES)}, not {status[:20]!r}")
    return status or None


@dataclass
class Report:
    """What a reconciliation found: each payout asked about is ``agreeing`` (Paystack and Kolekt
    say the same), ``settled`` (Kolekt now says what Paystack does), ``left`` (they differ, and
    Kolekt keeps its own: a failure after a payment, for the hub to look at) or ``unknown`` to
    Paystack (a held payout not sent yet; one that failed before Paystack took it)."""

    checked: int = 0
    agreeing: int = 0
    settled: list[tuple[listed.ToCheck, str, str]] = field(default_factory=list)
    left: list[tuple[listed.ToCheck, str, str]] = field(default_factory=list)
    unknown: list[listed.ToCheck] = field(default_factory=list)
    not_asked: int = 0
    error: str | None = None


def _context(status: str | None = None, **extra: Any) -> dict[str, Any]:
    session, config = db_session(), settings()
    rows = listed.browse(session, status, before=before_arg("a payout number"), limit=PAGE)
    seen = payout_sending.last_float(session)
    today = now().astimezone(config.zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return {
        "rows": rows,
        "status": status,
        "statuses": listed.STATUSES,
        "args": keep({"status": status}),
        "size": PAGE,
        "before": request.args.get("before"),
        "float_seen": seen,
        "float_low": seen is not None and seen[0] < config.payout_float_low_naira * 100,
        "low_kobo": config.payout_float_low_naira * 100,
        "today": listed.totals(session, today),
        "cap_kobo": config.payout_daily_naira * 100,
        "ngn": ngn,
        **extra,
    }


@blueprint.get("/payouts", endpoint="payouts")
@requires(*ANYONE)
def payouts_page() -> ResponseReturnValue:
    try:
        status = _status()
    except ValueError as error:
        return render_template(PAYOUTS_PAGE, error=str(error), **_context()), 422
    return render_template(PAYOUTS_PAGE, **_context(status))


# --- retry -------------------------------------------------------------------------------------------


@blueprint.post("/payouts/<int:payout_id>/retry")
@requires(*OPERATORS)
def retry_payout(payout_id: int) -> ResponseReturnValue:
    """A failed payout sent again: a new payout, its points held again (``payouts.retry``)."""
    if listed.get(db_session(), payout_id) is None:
        abort(404, description=f"there is no payout {payout_id}")
    try:
        with unit_of_work() as uow:
            again = payouts.retry(uow, payout_id, _by())
            audit(
                uow,
                RETRY_ACTION,
                f"payout:{payout_id}",
                {
                    "new_payout": again.payout_id,
                    "naira": ngn(again.amount_kobo),
                    "points": again.points,
                    "bank": again.account.bank_name,
                    "account": again.account.masked,
                },
            )
    except payouts.NotRetried as error:
        return render_template(PAYOUTS_PAGE, error=str(error), **_context()), 422
    waits = f", sent from {local(again.not_before)}" if again.not_before > now() else ""
    flash(
        f"Payout {payout_id} is sent again as payout {again.payout_id}: NGN {ngn(again.amount_kobo)} "
        f"to {again.account.bank} {again.account.masked}{waits}; {again.points:,} points held.",
        "ok",
    )
    return redirect(url_for("dashboard.payouts"), 303)


# --- CSV -----------------------------------------------------------------------------------------------


def _csv_rows(readers: Callable[[], Session], zone: tzinfo, status: str | None) -> Iterator[str]:
    """The export's lines; it needs no request (what it reads is given), so a download dropped
    half-way only ends the generator."""

    def when(moment: Any) -> str:
        return "" if moment is None else moment.astimezone(zone).isoformat()

    with readers() as session:
        yield from csv_text(
            CSV_COLUMNS,
            (
                (
                    (
                        p.id,
                        when(p.created_at),
                        p.member_code or "",
                        cell(p.household),
                        f"{p.amount_kobo // 100}.{p.amount_kobo % 100:02d}",
                        p.points,
                        cell(p.bank),
                        p.masked,
                        p.status,
                        p.reference,
                        cell(p.transfer_code),
                        cell(p.failure),
                        p.human_ref or "",
                        p.attempts,
                        when(p.sent_at),
                        when(p.final_at),
                        p.retry_of or "",
                        p.retried_as or "",
                    )
                    for p in chunk
                )
                for chunk in listed.chunks(session, status)
            ),
        )


@blueprint.get("/payouts.csv", endpoint="payouts_csv")
@requires(*ANYONE)
def payouts_csv() -> ResponseReturnValue:
    try:
        status = _status()
    except ValueError as error:
        abort(422, description=str(error))
    with unit_of_work() as uow:
        audit(uow, EXPORT_ACTION, "payouts", {"status": status})
    name = f"payouts-{local(now(), '%Y%m%d-%H%M')}.csv"
    return Response(
        _csv_rows(runtime().readers, settings().zone, status),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Accel-Buffering": "no"},
    )


# --- reconciliation ---------------------------------------------------------------------------------


def _settler(payout_id: int, reference: str, transfer: Transfer) -> Callable[[UnitOfWork], tuple[str, str]]:
    def work(uow: UnitOfWork) -> tuple[str, str]:
        outcome = payouts.settle(uow, reference, transfer).outcome
        after = listed.get(uow.session, payout_id)
        return outcome, after.status if after else ""

    return work


def reconcile(checks: list[listed.ToCheck]) -> Report:
    """Ask Paystack about each payout (no transaction open meanwhile) and settle each one whose
    status differs, in a unit of work of its own. Stops at the first call Paystack does not answer."""
    report = Report()
    provider = payouts_for(settings())
    try:
        for check in checks:
            try:
                found = provider.verify(check.reference)
            except PayoutError as error:
                report.error = str(error)
                break
            report.checked += 1
            if found is None:
                report.unknown.append(check)
                continue
            said = KOLEKT_STATUS.get(found.status, "pending")
            if said == check.status:
                report.agreeing += 1
                continue
            outcome, status = runtime().transact(_settler(check.id, check.reference, found))
            if status != check.status:
                report.settled.append((check, found.status, outcome))
            else:
                report.left.append((check, found.status, outcome))
    finally:
        provider.close()
    report.not_asked = len(checks) - report.checked
    return report


@blueprint.post("/payouts/reconcile", endpoint="reconcile_payouts")
@requires(*OPERATORS)
def reconcile_payouts() -> ResponseReturnValue:
    """Every payout not final and every payout of the last 7 days, asked of Paystack."""
    checks, total = listed.to_reconcile(db_session(), now(), RECONCILE_LIMIT)
    db_session().close()  # no transaction open while Paystack answers
    report = reconcile(checks)
    report.not_asked += total - len(checks)
    with unit_of_work() as uow:
        audit(
            uow,
            RECONCILE_ACTION,
            "payouts",
            {
                "checked": report.checked,
                "agreeing": report.agreeing,
                "settled": [check.id for check, _, _ in report.settled],
                "differing": [check.id for check, _, _ in report.left],
                "unknown": len(report.unknown),
                "not_asked": report.not_asked,
                "error": report.error,
            },
        )
    return render_template(PAYOUTS_PAGE, report=report, **_context())


# --- a household's cash-out account -----------------------------------------------------------------


@blueprint.context_processor
def _cash_out_helpers() -> dict[str, Any]:
    """The household page's cash-out section; read only by a page that shows it."""
    return {
        "payout_accounts_of": lambda household_id: payout_accounts.accounts_of(db_session(), household_id),
        "payout_banks": lambda: cash_out.bank_choices(db_session(), settings()),
        "masked_account": payout_accounts.masked,
    }


ACCOUNT_FIELDS = ("bank_code", "account_number", "account_name")
SAVE_REFUSALS = {
    "bank_unknown": "That bank is not on Paystack's list any more: choose it again.",
    "bank_bad_number": "An account number (NUBAN) is 10 digits.",
    "bank_not_found": "Paystack gave no name for this account.",
}


def _typed() -> dict[str, str]:
    return {name: request.form.get(name, "").strip()[:80] for name in ACCOUNT_FIELDS}


def _account_page(
    household_id: int, typed: dict[str, str], error: str | None = None, status: int = 200, **extra: Any
) -> ResponseReturnValue:
    return render_template(
        HOUSEHOLD_PAGE,
        payout_form=typed,
        payout_error=error,
        **household_page(household_id),
        **extra,
    ), status


def _checked(household_id: int, typed: dict[str, str]) -> cash_out.Resolved | ResponseReturnValue:
    """The account's name from Paystack, or the page again saying why not (422; 502 when Paystack
    did not answer)."""
    try:
        number = payout_accounts.check_number(typed["account_number"])
    except Refused:
        return _account_page(household_id, typed, "An account number (NUBAN) is 10 digits.", 422)
    bank = cash_out.find_bank(db_session(), settings(), typed["bank_code"])
    if bank is None:
        return _account_page(household_id, typed, "Choose the bank from the list.", 422)
    typed["account_number"] = number
    try:
        resolved = cash_out.resolve(settings(), bank, number)
    except AccountNotFound:
        message = f"{bank.display} has no account {number}. Check the 10 digits and the bank."
        return _account_page(household_id, typed, message, 422)
    except PayoutError as error:
        if not error.transient:
            return _account_page(household_id, typed, f"Paystack refused it: {error}", 422)
        message = f"Paystack could not be asked the name just now; nothing was saved. ({error})"
        return _account_page(household_id, typed, message, 502)
    if not resolved.account_name:
        return _account_page(household_id, typed, "Paystack gave no name for this account.", 422)
    return resolved


def _member_or_404(household_id: int) -> None:
    found = people.household(db_session(), household_id)
    if found is None or not found.member_code:
        abort(404, description=f"there is no member household {household_id}")


@blueprint.post("/households/<int:household_id>/payout-account/check")
@requires(*OPERATORS)
def check_payout_account(household_id: int) -> ResponseReturnValue:
    """The first step: the name Paystack has for the bank and number, shown before saving."""
    _member_or_404(household_id)
    typed = _typed()
    resolved = _checked(household_id, typed)
    if not isinstance(resolved, cash_out.Resolved):
        return resolved
    typed["account_name"] = resolved.account_name
    return _account_page(household_id, typed, resolved=resolved)


@blueprint.post("/households/<int:household_id>/payout-account")
@requires(*OPERATORS)
def save_payout_account(household_id: int) -> ResponseReturnValue:
    """The second step: saved as the name shown (asked of Paystack again: it must not have changed)."""
    _member_or_404(household_id)
    typed = _typed()
    shown = cash_out.as_saved(typed["account_name"])
    if not shown:
        return _account_page(household_id, typed, "Check the name with Paystack first.", 422)
    resolved = _checked(household_id, typed)
    if not isinstance(resolved, cash_out.Resolved):
        return resolved
    if resolved.account_name != shown:
        typed["account_name"] = resolved.account_name
        message = (
            f"Paystack now names this account {resolved.account_name}, not {shown}: "
            "check it with the household, then save again."
        )
        return _account_page(household_id, typed, message, 422, resolved=resolved)
    try:
        with unit_of_work() as uow:
            cash_out.ready_banks(uow)
            member = get_member(uow.session, household_id)
            previous = payout_accounts.active_account(uow.session, household_id)
            saved = payout_accounts.register_by_staff(
                uow, member, resolved.bank.code, resolved.account_number, resolved.account_name, _by()
            )
            audit(
                uow,
                ACCOUNT_ACTION,
                f"member:{member.member_code}",
                {
                    "bank": saved.bank_name,
                    "account": saved.masked,
                    "name": saved.account_name,
                    "replaces": f"{previous.bank} {previous.masked}" if previous else None,
                    "usable_from": saved.usable_from.isoformat() if saved.usable_from else None,
                },
            )
    except Refused as refusal:
        message = SAVE_REFUSALS.get(refusal.template, f"Not saved ({refusal.template}).")
        return _account_page(household_id, typed, message, 422)
    when = local(saved.usable_from) if saved.usable_from else "now"
    flash(
        f"Saved: {saved.account_name}, {saved.bank} {saved.masked}. Cash-out goes to it from {when}; "
        "the household is texted.",
        "ok",
    )
    return redirect(url_for("dashboard.household", household_id=household_id, _anchor="cash-out"), 303)
