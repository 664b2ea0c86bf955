"""Signing in and out, who a token speaks for, and operators' say over collectors' app PINs and
sign-ins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address

import sms
from service.unit_of_work import UnitOfWork
from service.usecases import audit, tokens, users
from service.usecases.roles import get_collector
from service.usecases.zones import get_zone
from service.web.api import schemas as s
from service.web.api.base import (
    ANYONE,
    OPERATORS,
    ApiError,
    api_blueprint,
    authenticated,
    errors,
    holder,
    settings,
    sign_in_allowed,
    sign_in_failed,
    sign_in_succeeded,
)
from service.web.base import db_session, unit_of_work

auth = api_blueprint("auth", "Signing in: a bearer token for a collector (phone + PIN) or a dashboard user.")
collectors = api_blueprint("collectors", "Operators: collectors' PINs and app tokens.")


def _me(who: tokens.Holder) -> dict[str, Any]:
    config = settings()
    zone = get_zone(db_session(), who.zone_id) if who.zone_id is not None else None
    return {
        "token_id": who.token_id,
        "kind": who.kind,
        "role": who.role,
        "name": who.name,
        "zone": None if zone is None else {"id": zone.id, "name": zone.name, "days": zone.describe()},
        "seq_base": who.seq_base,
        "expires_at": who.expires_at,
        "programme": {
            "name": config.programme_name,
            "timezone": config.timezone,
            "sms_number": config.sms_number,
        },
    }


def _sign_in(uow: UnitOfWork, body: Mapping[str, Any]) -> tokens.Issued | None:
    session, moment = uow.session, uow.now
    if "phone" in body:
        phone = sms.normalise_phone(body["phone"], uow.settings.phone_region)
        collector_id = tokens.collector_signing_in(session, phone or "", body["pin"])
        if collector_id is None:
            return None
        return tokens.issue_token(session, moment, collector_id=collector_id, label=body.get("label", ""))
    user = users.sign_in(session, body["email"], body["password"], moment)
    if user is None:
        return None
    issued = tokens.issue_token(
        session, moment, user_id=user.id, label=body.get("label", ""), days=body.get("days")
    )
    audit.record(
        session,
        actor=user.email,
        action="api.token",
        subject=f"user:{user.id}",
        at=moment,
        details={"token_id": issued.holder.token_id, "expires_at": issued.holder.expires_at.isoformat()},
        user_id=user.id,
        address=get_remote_address(),
    )
    return issued


@auth.route("/auth/token", methods=["POST"])
@auth.arguments(s.TokenRequest)
@auth.response(201, s.Issued)
@errors(auth, 401, 422, 429)
@auth.doc(security=[])
def sign_in(body: dict[str, Any]) -> ResponseReturnValue:
    """Sign in: a collector with phone and PIN, a dashboard user with email and password.

    Failed sign-ins are limited per address, and per phone or email; a browser that signed in as
    them before (its device cookie) is limited on its own, so others' guesses do not lock it out."""
    attempt = sign_in_allowed(body)
    with unit_of_work() as uow:
        issued = _sign_in(uow, body)
    if issued is None:
        sign_in_failed(attempt)
        wrong = "phone or PIN" if "phone" in body else "email or password"
        raise ApiError(401, "unauthorized", f"Wrong {wrong}.")
    sign_in_succeeded(attempt.name)
    return {"token": issued.token, "me": _me(issued.holder)}, 201


@auth.route("/auth/token", methods=["DELETE"])
@authenticated(*ANYONE)
@auth.response(204)
@errors(auth, 401)
def sign_out() -> ResponseReturnValue:
    """Sign out: the token presented ends now."""
    who = holder()
    with unit_of_work() as uow:
        tokens.revoke(uow.session, who.token_id, uow.now, by=f"{who.kind}:{who.collector_id or who.user_id}")
    return ""


@auth.route("/me", methods=["GET"])
@authenticated(*ANYONE)
@auth.response(200, s.Me)
@errors(auth, 401)
def me() -> ResponseReturnValue:
    """Who the token speaks for, their zone, their block of #seq numbers and the programme."""
    return _me(holder())


# --- operators ---------------------------------------------------------------------------------------


def _audit(uow: UnitOfWork, action: str, subject: str, details: Mapping[str, Any]) -> None:
    who = holder()
    audit.record(
        uow.session,
        actor=who.name,
        action=action,
        subject=subject,
        at=uow.now,
        details=details,
        user_id=who.user_id,
        address=get_remote_address(),
    )


# A collector's id in a path: a larger number names nobody (404 from the router, not an error
# from the database).
COLLECTOR_ID = f"int(min=1, max={s.MAX_ID})"


def _collector_or_404(uow: UnitOfWork, collector_id: int) -> None:
    if get_collector(uow.session, collector_id) is None:
        raise ApiError(404, "not_found", f"No collector {collector_id}.")


@collectors.route(f"/collectors/<{COLLECTOR_ID}:collector_id>/pin", methods=["PUT"])
@authenticated(*OPERATORS)
@collectors.arguments(s.NewPin)
@collectors.response(204)
@errors(collectors, 401, 403, 404, 422)
def set_pin(body: dict[str, Any], collector_id: int) -> ResponseReturnValue:
    """Give a collector a new app PIN; every app signed in as them is signed out."""
    try:
        with unit_of_work() as uow:
            _collector_or_404(uow, collector_id)
            ended = tokens.set_pin(uow.session, collector_id, body["pin"], uow.now, by=holder().name)
            _audit(
                uow,
                tokens.PIN_ACTION,
                tokens.collector_subject(collector_id),
                {"tokens_ended": ended, "via": "api"},
            )
    except tokens.PinError as error:
        raise ApiError(422, "unprocessable_entity", str(error), fields={"pin": [str(error)]}) from None
    return ""


@collectors.route(f"/collectors/<{COLLECTOR_ID}:collector_id>/tokens", methods=["DELETE"])
@authenticated(*OPERATORS)
@collectors.response(200, s.Revoked)
@errors(collectors, 401, 403, 404)
def revoke_tokens(collector_id: int) -> ResponseReturnValue:
    """Sign the collector's app out on every phone."""
    with unit_of_work() as uow:
        _collector_or_404(uow, collector_id)
        ended = tokens.revoke_collector_tokens(uow.session, collector_id, uow.now, by=holder().name)
        _audit(
            uow,
            tokens.SIGN_OUT_ACTION,
            tokens.collector_subject(collector_id),
            {"tokens_ended": ended, "via": "api"},
        )
    return {"revoked": ended}
