"""Spreadsheets in and out: households imported from a CSV (a dry run first, then the good rows
written together), and households, collectors and pickups exported as CSV, streamed.

The import's dry run writes nothing; its good rows travel to the write in the page itself, signed
with ``SECRET_KEY`` (itsdangerous) and bound to the user who checked them, so any web process can
take the write and nothing is kept on the server between the two steps. The write checks every
row again (``service.usecases.household_import``): a number taken since the dry run is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, time, timedelta
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import RequestEntityTooLarge

import sms
from service.reads import exports
from service.timetable import at
from service.usecases import household_import
from service.usecases.household_import import MAX_BYTES, MAX_ROWS, Checked, RawRow
from service.web.base import db_session, json_error, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    OPERATORS,
    SESSION_HOURS,
    audit,
    blueprint,
    local,
    now,
    page_error,
    requires,
    runtime,
    settings,
    user,
)

TEMPLATE = "dashboard/import.html"
IMPORT_ACTION = "households.import"
EXPORT_ACTIONS = {
    "households": "households.export",
    "collectors": "collectors.export",
    "pickups": "pickups.export",
}
SALT = "kolekt.household-import"
# The requests of the import, bigger than the app's usual limit (``MAX_CONTENT_LENGTH``): the file
# (and the form around it), and the checked rows carried back (at most ``MAX_ROWS`` rows of at
# most 6 short cells, compressed: well under this even when every cell is as long as allowed).
UPLOAD_LIMIT = MAX_BYTES + 64 * 1024
ROWS_LIMIT = 4 * 1024 * 1024
SHOWN_LEFT_OUT = 3
TOO_BIG = (
    f"The file is larger than {MAX_BYTES // 1024 // 1024} MB. Split it into files of at most "
    f"{MAX_ROWS:,} rows and import each."
)


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings().secret_key, salt=SALT)


@blueprint.url_value_preprocessor
def _import_limits(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """The import's own size limits, set before anything reads the form (the CSRF check does,
    first of all): they run before every ``before_request``."""
    if endpoint == "dashboard.import_households":
        request.max_content_length = UPLOAD_LIMIT
    elif endpoint == "dashboard.import_households_write":
        request.max_content_length = ROWS_LIMIT + 64 * 1024
        request.max_form_memory_size = ROWS_LIMIT


@blueprint.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    """A file over the limit is refused on the import's page, in words; any other page's 413 is
    answered as the app answers every error."""
    if (
        request.endpoint == "dashboard.import_households"
        and current_user.is_authenticated
        and user().can_operate
    ):
        return render_template(TEMPLATE, error=TOO_BIG, **_page()), 413
    page = page_error(error)
    return page if page is not None else json_error(error)


# --- import -----------------------------------------------------------------------------------------


def _page(**context: Any) -> dict[str, Any]:
    return {"max_bytes": MAX_BYTES, "max_rows": MAX_ROWS, "language_names": sms.LANGUAGE_NAMES, **context}


def _file_name(text: str | None) -> str:
    """The uploaded file's own name (a browser may send its whole path), for the page and the audit."""
    name = (text or "").replace("\\", "/").rsplit("/", 1)[-1]
    return " ".join(name.split())[:80] or "the file"


@blueprint.route("/households/import", methods=["GET", "POST"], endpoint="import_households")
@requires(*OPERATORS)
def import_households() -> ResponseReturnValue:
    """The form (GET), and the dry run of an uploaded file (POST): every row's result, nothing
    written."""
    if request.method == "GET":
        return render_template(TEMPLATE, **_page())
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refused("Choose a CSV file to check.")
    name = _file_name(upload.filename)
    data = upload.stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return _refused(TOO_BIG)
    reading = household_import.read_csv(data)
    if reading.problem is not None:
        return _refused(f"{name}: {reading.problem}")
    checked = household_import.dry_run(db_session(), reading.rows, settings().phone_region)
    good = [result.row for result in checked if result.ok]
    token = _signer().dumps(
        {"user": user().id, "file": name, "rows": household_import.to_plain(good), "read": len(checked)}
    )
    return render_template(
        TEMPLATE,
        **_page(file=name, reading=reading, checked=checked, good=len(good), token=token if good else None),
    )


def _refused(message: str, **context: Any) -> ResponseReturnValue:
    return render_template(TEMPLATE, error=message, **_page(**context)), 422


def _carried() -> tuple[str, int, tuple[RawRow, ...]] | str:
    """The checked rows the form carries back: (file name, rows read, good rows), or why not."""
    try:
        payload = _signer().loads(request.form.get("rows", ""), max_age=SESSION_HOURS * 3600)
    except SignatureExpired:
        return f"This check is more than {SESSION_HOURS} hours old. Check the file again."
    except BadSignature:
        return "This check could not be read (the page was changed). Check the file again."
    if not isinstance(payload, dict) or payload.get("user") != user().id:
        return "This check was made by someone else. Check the file again."
    try:
        rows = household_import.from_plain(payload.get("rows"))
    except ValueError:
        return "This check could not be read. Check the file again."
    return _file_name(str(payload.get("file"))), int(payload.get("read") or 0), rows


def _left_out_words(left_out: Sequence[Checked]) -> str:
    shown = [f"row {result.row.line}: {'; '.join(result.errors)}" for result in left_out[:SHOWN_LEFT_OUT]]
    more = len(left_out) - SHOWN_LEFT_OUT
    return ". ".join(shown) + (f". And {more} more." if more > 0 else ".")


@blueprint.post("/households/import/write", endpoint="import_households_write")
@requires(*OPERATORS)
def import_households_write() -> ResponseReturnValue:
    """The good rows of a dry run, checked again and written together (one transaction); a row
    that no longer passes is left out and named."""
    carried = _carried()
    if isinstance(carried, str):
        return _refused(carried)
    name, read, rows = carried
    if not rows:
        return _refused("There is no row to import. Check the file again.")
    try:
        with unit_of_work() as uow:
            done = household_import.import_households(uow, rows, settings().phone_region)
            if done.added:
                codes = [member.member_code for _, member in done.added]
                audit(
                    uow,
                    IMPORT_ACTION,
                    "households",
                    {
                        "file": name,
                        "rows_read": read,
                        "checked_good": len(rows),
                        "added": len(done.added),
                        "left_out": len(done.left_out),
                        "first_code": codes[0],
                        "last_code": codes[-1],
                    },
                )
    except IntegrityError:
        return _refused(
            "Another change took one of these numbers while the import was written; nothing was "
            "imported. Check the file again."
        )
    if not done.added:
        return _refused(
            f"Nothing was imported from {name}: every row changed since the check. "
            + _left_out_words(done.left_out),
            file=name,
            checked=list(done.left_out),
            good=0,
        )
    first, last = done.added[0][1].member_code, done.added[-1][1].member_code
    count = len(done.added)
    flash(
        f"Imported {count} household{'s' if count != 1 else ''} from {name} "
        f"({first}{' to ' + last if count > 1 else ''}); each is texted a welcome.",
        "ok",
    )
    if done.left_out:
        flash(
            f"{len(done.left_out)} left out, changed since the check: {_left_out_words(done.left_out)}",
            "error",
        )
    return redirect(url_for("dashboard.households"), 303)


# --- exports ----------------------------------------------------------------------------------------


def _day(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(422, description=f"{name} must be a date like 2026-11-24, not {text[:20]!r}")


def _export(
    what: str,
    columns: Sequence[str],
    rows: Callable[[Session], Iterable[Iterable[exports.Row]]],
    details: dict[str, Any] | None = None,
) -> Response:
    """The export's audit entry, then its rows streamed, read in a session of their own."""
    with unit_of_work() as uow:
        audit(uow, EXPORT_ACTIONS[what], what, details or {})

    def generate() -> Iterator[str]:
        with runtime().readers() as session:
            yield from exports.csv_text(columns, rows(session))

    name = f"{what}-{local(now(), '%Y%m%d-%H%M')}.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Accel-Buffering": "no"},
    )


@blueprint.get("/households.csv", endpoint="export_households")
@requires(*ANYONE)
def export_households() -> ResponseReturnValue:
    zone = settings().zone
    return _export("households", exports.HOUSEHOLD_COLUMNS, lambda s: exports.household_rows(s, zone))


@blueprint.get("/collectors.csv", endpoint="export_collectors")
@requires(*ANYONE)
def export_collectors() -> ResponseReturnValue:
    return _export("collectors", exports.COLLECTOR_COLUMNS, exports.collector_rows)


@blueprint.get("/pickups.csv", endpoint="export_pickups")
@requires(*ANYONE)
def export_pickups() -> ResponseReturnValue:
    """Pickups that happened from ``from`` to ``to`` (local days, both included; either may be left out)."""
    zone = settings().zone
    first_text, last_text = request.args.get("from", "").strip(), request.args.get("to", "").strip()
    first = _day("From", first_text) if first_text else None
    last = _day("To", last_text) if last_text else None
    if first and last and last < first:
        abort(422, description="To is before From")
    since = at(first, time(0), zone) if first else None
    until = at(last + timedelta(days=1), time(0), zone) if last else None
    return _export(
        "pickups",
        exports.PICKUP_COLUMNS,
        lambda s: exports.pickup_rows(s, zone, since=since, until=until),
        {"from": first_text or None, "to": last_text or None},
    )
