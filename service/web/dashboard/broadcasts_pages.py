"""Broadcasts: an operator writes a text for a zone, a list of households or everyone, previews who
gets it (per language, after opt-outs) and what it costs, and sends it; above
``BROADCAST_APPROVAL_ABOVE`` households a different operator approves it first (which sends it),
or rejects it; its proposer may cancel it. Auditors read."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

import sms
from service.reads import broadcasts as reads
from service.usecases import broadcasts as use
from service.usecases.zones import zones
from service.web.base import db_session, unit_of_work
from service.web.dashboard.base import (
    ANYONE,
    OPERATORS,
    audit,
    blueprint,
    now,
    refused,
    requires,
    settings,
    user,
)

LIST = "dashboard/broadcasts.html"
PAGE = "dashboard/broadcast.html"


def _form() -> dict[str, Any]:
    """The compose form as sent (or empty, with a new key, for a new broadcast)."""
    values = request.form
    key = values.get("key", "")[:32]
    if not use.KEY.fullmatch(key) and values.get("action") != "send":
        key = uuid.uuid4().hex  # a send without the form's own key is refused: it could be a repeat
    return {
        "audience": values.get("audience", "")[:10],
        "zone": values.get("zone", "")[:12],
        "members": values.get("members", "")[:40_000],
        "texts": {language: values.get(f"text_{language}", "")[:2000] for language in use.LANGUAGES},
        "key": key,
    }


def _context(form: dict[str, Any], **extra: Any) -> dict[str, Any]:
    session = db_session()
    recent = reads.broadcasts(session, limit=50)
    return {
        "form": form,
        "zones": zones(session),
        "language_names": sms.LANGUAGE_NAMES,
        "languages": use.LANGUAGES,
        "others_written": any(form["texts"][language].strip() for language in use.LANGUAGES[1:]),
        "waiting": [b for b in recent if b.status == "proposed"],
        "recent": [b for b in recent if b.status != "proposed"],
        "approval_above": settings().broadcast_approval_above,
        **extra,
    }


@blueprint.get("/broadcasts")
@requires(*ANYONE)
def broadcasts() -> ResponseReturnValue:
    return render_template(LIST, **_context(_form()))


@blueprint.post("/broadcasts")
@requires(*OPERATORS)
def compose_broadcast() -> ResponseReturnValue:
    """Preview (the page again, with who gets what), use the suggested GSM-7 texts, or send."""
    form, action = _form(), request.form.get("action", "preview")
    if action == "fix":
        form["texts"] = {language: sms.to_gsm7(text) for language, text in form["texts"].items()}
    session = db_session()
    try:
        draft = use.compose(
            session,
            settings(),
            audience=form["audience"],
            texts=form["texts"],
            zone=form["zone"],
            members=form["members"],
        )
    except use.BroadcastError as error:
        return refused(LIST, str(error), **_context(form, fixed=error.fixed))
    seen = use.preview(session, settings(), draft, now())
    shown = _context(form, preview=seen, seen=draft.digest)
    if action != "send":
        return render_template(LIST, **shown)
    if request.form.get("seen") != draft.digest:
        return refused(
            LIST, "the text or who gets it changed since the preview: check this one, then send", **shown
        )
    try:
        with unit_of_work() as uow:
            done = use.submit(uow, draft, user().id, form["key"])
            if not done.repeated:
                action_done = "broadcast.send" if done.status == "sent" else "broadcast.propose"
                audit(uow, action_done, f"broadcast:{done.broadcast_id}", _details(draft, seen))
    except use.BroadcastError as error:
        return refused(LIST, str(error), **shown)
    if done.repeated:
        flash(
            f"Broadcast {done.broadcast_id} was made by this form already ({done.status}): nothing new.",
            "info",
        )
    elif done.status == "sent":
        flash(f"Broadcast {done.broadcast_id} sent to {done.recipients:,} households.", "ok")
    else:
        flash(
            f"Broadcast {done.broadcast_id} to {done.recipients:,} households proposed: "
            "another operator must approve it before it is sent.",
            "ok",
        )
    return redirect(url_for("dashboard.broadcast", broadcast_id=done.broadcast_id), 303)


def _details(draft: use.Draft, seen: use.Preview) -> dict[str, Any]:
    audience = draft.audience
    return {
        "audience": audience.kind,
        "zone": audience.zone_id,
        "households_listed": len(audience.members) or None,
        "texts": draft.texts,
        "recipients": seen.recipients,
        "segments": seen.segments,
        "cost_kobo": seen.cost_kobo,
    }


def _known(broadcast_id: int) -> reads.Broadcast:
    found = reads.get_broadcast(db_session(), broadcast_id)
    if found is None:
        abort(404, description=f"there is no broadcast {broadcast_id}")
    return found


def _page(broadcast_id: int) -> dict[str, Any]:
    found = _known(broadcast_id)
    session = db_session()
    return {
        "b": found,
        "language_names": sms.LANGUAGE_NAMES,
        "segments_of": sms.segments,
        # Waiting: who would get it if it were approved now (households join, opt out, move).
        "preview": use.preview(session, settings(), found.draft, now())
        if found.status == "proposed"
        else None,
        "delivery": reads.delivery(session, broadcast_id) if found.status == "sent" else {},
    }


@blueprint.get("/broadcasts/<int:broadcast_id>")
@requires(*ANYONE)
def broadcast(broadcast_id: int) -> ResponseReturnValue:
    return render_template(PAGE, **_page(broadcast_id))


@blueprint.post("/broadcasts/<int:broadcast_id>/approve")
@requires(*OPERATORS)
def approve_broadcast(broadcast_id: int) -> ResponseReturnValue:
    _known(broadcast_id)
    try:
        with unit_of_work() as uow:
            sent = use.approve(uow, broadcast_id, user().id)
            audit(
                uow,
                "broadcast.approve",
                f"broadcast:{broadcast_id}",
                {"recipients": sent.recipients, "segments": sent.segments, "cost_kobo": sent.cost_kobo},
            )
    except use.BroadcastError as error:
        return refused(PAGE, str(error), **_page(broadcast_id))
    flash(f"Broadcast {broadcast_id} approved and sent to {sent.recipients:,} households.", "ok")
    return redirect(url_for("dashboard.broadcast", broadcast_id=broadcast_id), 303)


@blueprint.post("/broadcasts/<int:broadcast_id>/reject")
@requires(*OPERATORS)
def reject_broadcast(broadcast_id: int) -> ResponseReturnValue:
    _known(broadcast_id)
    note = request.form.get("note", "")
    try:
        with unit_of_work() as uow:
            use.reject(uow.session, broadcast_id, user().id, note, uow.now)
            audit(
                uow, "broadcast.reject", f"broadcast:{broadcast_id}", {"note": " ".join(note.split())[:160]}
            )
    except use.BroadcastError as error:
        return refused(PAGE, str(error), **_page(broadcast_id))
    flash(f"Broadcast {broadcast_id} rejected: nothing was sent.", "ok")
    return redirect(url_for("dashboard.broadcast", broadcast_id=broadcast_id), 303)


@blueprint.post("/broadcasts/<int:broadcast_id>/cancel")
@requires(*OPERATORS)
def cancel_broadcast(broadcast_id: int) -> ResponseReturnValue:
    _known(broadcast_id)
    try:
        with unit_of_work() as uow:
            use.cancel(uow.session, broadcast_id, user().id, uow.now)
            audit(uow, "broadcast.cancel", f"broadcast:{broadcast_id}")
    except use.BroadcastError as error:
        return refused(PAGE, str(error), **_page(broadcast_id))
    flash(f"Broadcast {broadcast_id} cancelled: nothing was sent.", "ok")
    return redirect(url_for("dashboard.broadcast", broadcast_id=broadcast_id), 303)
