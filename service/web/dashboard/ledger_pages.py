"""The ledger: every transfer newest first (keyset pages), filters, a transfer's page with its
proof, "Verify ledger", and a streamed CSV export of any filtered view."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, time, timedelta
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue

import ledger
from service.reads.causes import cause_of
from service.reads.exports import cell, csv_text
from service.reads.names import account_names
from service.timetable import at
from service.usecases import reports
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    audit,
    before_arg,
    blueprint,
    keep,
    local,
    now,
    requires,
    runtime,
    settings,
)

PAGE = 50
VERIFY_WORKERS = 2
CODES = (
    "pickup_credit",
    "commission",
    "pickup_held",
    "commission_held",
    "redemption",
    "refund",
    "reversal",
    "adjustment",
)
FILTERS = ("account", "code", "reference", "from", "to")
CSV_COLUMNS = (
    "id", "ref", "recorded_at", "occurred_at", "debit", "credit", "amount", "code",
    "reference", "memo", "actor", "reverses", "seq",
)  # fmt: skip


class FilterError(ValueError):
    pass


def _day(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{name} must be a date like 2026-11-24, not {text[:20]!r}") from None


def _account(text: str) -> str:
    """An account code as typed, or a member's code (K12X) for their account."""
    text = text.strip()
    if ":" in text:
        return text
    return f"member:{text.upper()}"


def read_filter(args: Any) -> ledger.TransferFilter:
    zone = settings().zone
    first = _day("From", args["from"]) if args.get("from") else None
    last = _day("To", args["to"]) if args.get("to") else None
    if first and last and last < first:
        raise FilterError("To is before From")
    code = args.get("code", "").strip()
    if code and (len(code) > 32 or not code.replace("_", "").isalnum()):
        raise FilterError(f"{code[:32]!r} is not a transfer code")
    return ledger.TransferFilter(
        account=_account(args["account"]) if args.get("account", "").strip() else None,
        code=code or None,
        reference=args.get("reference", "").strip()[:128] or None,
        since=at(first, time(0), zone) if first else None,
        until=at(last + timedelta(days=1), time(0), zone) if last else None,
    )


@blueprint.get("/ledger", endpoint="ledger")
@requires(*ANYONE)
def ledger_page() -> ResponseReturnValue:
    session = db_session()
    args = keep({name: request.args.get(name, "").strip() for name in FILTERS})
    rows: list[ledger.PostedTransfer] = []
    error = None
    try:
        rows = ledger.browse(session, read_filter(request.args), before=before_arg(), limit=PAGE)
    except FilterError as refused:
        error = str(refused)
    except ledger.UnknownAccount as unknown:
        error = f"There is no account {unknown.code!r}."
    return render_template(
        "dashboard/ledger.html",
        rows=rows,
        names=account_names(session, [side for row in rows for side in (row.debit, row.credit)]),
        args=args,
        error=error,
        codes=CODES,
        size=PAGE,
        before=request.args.get("before"),
        head=ledger.head(session),
        pending=ledger.pending_count(session),
        check=reports.last_check(session),
    ), (422 if error else 200)


@blueprint.get("/ledger/<int:transfer_id>")
@requires(*ANYONE)
def transfer_page(transfer_id: int) -> ResponseReturnValue:
    session = db_session()
    try:
        transfer = ledger.get_transfer(session, transfer_id)
    except ledger.UnknownTransfer:
        abort(404, description=f"there is no transfer {transfer_id}")
    reversed_by = ledger.reversed_by(session, transfer_id)
    return render_template(
        "dashboard/transfer.html",
        t=transfer,
        names=account_names(session, [transfer.debit, transfer.credit]),
        proof=ledger.proof(session, transfer_id),
        cause=cause_of(session, transfer.reference),
        linked=[
            other for other in ledger.transfers_for(session, transfer.reference) if other.id != transfer.id
        ]
        if transfer.reference
        else [],
        reversed_by=reversed_by,
    )


@blueprint.post("/ledger/verify")
@requires(*ANYONE)
def verify_ledger() -> ResponseReturnValue:
    """Seal what waits, verify the whole chain, record the result (an auditor may do this too:
    it changes no balance, it only checks them)."""
    # Two segments at once on PostgreSQL (a million transfers in a few seconds); one on SQLite.
    report = reports.check_and_record(runtime(), "dashboard", workers=VERIFY_WORKERS)
    with unit_of_work() as uow:
        audit(
            uow,
            "ledger.verify",
            "ledger",
            {"ok": report.ok, "transfers": report.count, "head": report.head_hash},
        )
    if report.ok:
        flash(f"Ledger verified: {report.count:,} transfers, head {report.head_hash[:16]}…", "ok")
    else:
        flash(f"Ledger verification FAILED: {reports.problem_of(report)}", "error")
    return redirect(url_for("dashboard.ledger"))


def _csv_rows(wanted: ledger.TransferFilter) -> Iterator[str]:
    zone = settings().zone
    with runtime().readers() as session:
        # Only the free text (reference, memo, actor) can hold what a person typed.
        yield from csv_text(
            CSV_COLUMNS,
            (
                (
                    (
                        t.id,
                        t.human_ref,
                        t.recorded_at.astimezone(zone).isoformat(),
                        t.occurred_at.astimezone(zone).isoformat(),
                        t.debit,
                        t.credit,
                        t.amount,
                        t.code,
                        cell(t.reference),
                        cell(t.memo),
                        cell(t.actor),
                        t.reverses,
                        t.seq,
                    )
                    for t in chunk
                )
                for chunk in ledger.browse_chunks(session, wanted)
            ),
        )


@blueprint.get("/ledger.csv")
@requires(*ANYONE)
def ledger_csv() -> ResponseReturnValue:
    try:
        wanted = read_filter(request.args)
        if wanted.account:
            ledger.get_account(db_session(), wanted.account)
    except FilterError as refused:
        abort(422, description=str(refused))
    except ledger.UnknownAccount as unknown:
        abort(422, description=f"there is no account {unknown.code!r}")
    name = f"ledger-{local(now(), '%Y%m%d-%H%M')}.csv"
    return Response(
        stream_with_context(_csv_rows(wanted)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Accel-Buffering": "no"},
    )
