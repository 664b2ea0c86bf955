"""The API's endpoints: each reads its input with a schema, calls one use case, and shapes the
answer with a schema. Rules live in ``service.sync``, ``service.fieldwork`` and ``service.tokens``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import IntegrityError

import sms
from service.outbox import Outbox, enqueue_sends
from service.reads import fieldwork
from service.usecases import audit, sync, tokens, users
from service.usecases.catalogue import get_collector, get_zone
from service.usecases.households import Member
from service.usecases.pickups import lock_collector
from service.web.api import (
    ANYONE,
    API_LIMITS,
    COLLECTORS,
    OPERATORS,
    PREFIX,
    SIGN_IN_LIMITS_PER_ADDRESS,
    SIGN_IN_LIMITS_PER_NAME,
    SYNC_LIMITS,
    ApiError,
    Blueprint,
    authenticated,
    failed_sign_in,
    holder,
    now,
    settings,
    sign_in_name_key,
    token_key,
)
from service.web.api import schemas as s
from service.web.dashboard import limiter
from service.web.public import db_session, flatten_messages, kolekt_runtime
from sms import commands


def _blueprint(name: str, description: str) -> Blueprint:
    made = Blueprint(name, __name__, url_prefix=PREFIX, description=description)
    limiter.limit(API_LIMITS, key_func=token_key)(made)
    return made


auth = _blueprint("auth", "Signing in: a bearer token for a collector (phone + PIN) or a dashboard user.")
households = _blueprint(
    "households", "Households: the collector's zone, searched and downloaded for offline use."
)
catalogue = _blueprint("materials", "Materials and the rates in force.")
syncing = _blueprint("sync", "What the collector app did offline, each operation accepted once.")
pickups = _blueprint("pickups", "Pickups as recorded, and totals.")
collectors = _blueprint("collectors", "Operators: collectors' PINs and app tokens.")
BLUEPRINTS = (auth, households, catalogue, syncing, pickups, collectors)

ERRORS = {
    401: "No valid token: sign in.",
    403: "This token's role may not do this.",
    404: "Not found (or not yours to see).",
    409: "It conflicts with what is there.",
    422: "Invalid input: error.fields says which, and why.",
    429: "Too many requests: wait for Retry-After seconds.",
}


def errors(blueprint: Blueprint, *statuses: int) -> Any:
    """Document the error answers a view may give (each one an ``Error``); 429 on every one, as
    every endpoint is rate limited (``API_LIMITS``)."""

    def decorate(view: Any) -> Any:
        for status in sorted({*statuses, 429}):
            view = blueprint.alt_response(status, schema=s.Error, description=ERRORS[status])(view)
        return view

    return decorate


# --- shaping answers ---------------------------------------------------------------------------------


def _household(found: fieldwork.HouseholdEntry | Member) -> dict[str, Any]:
    code = found.code if isinstance(found, fieldwork.HouseholdEntry) else found.member_code
    return {
        "code": code,
        "name": found.name,
        "phone": found.phone,
        "address": found.address,
        "zone_id": found.zone_id,
        "status": found.status,
    }


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


def _pickup(found: fieldwork.PickupEntry) -> dict[str, Any]:
    return {
        **found._asdict(),
        "household": {"code": found.household_code, "name": found.household_name},
        "lines": [
            {"material": line.material_code, "grams": line.grams, "points": line.points}
            for line in found.lines
        ],
    }


def _result(result: sync.Result) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "index": result.index,
        "id": result.client_id,
        "type": result.kind,
        "status": result.status,
    }
    if result.reference is not None:
        answer["reference"] = result.reference
        answer["points"] = result.points
    if result.household is not None:
        answer["household"] = _household(result.household)
    if result.original is not None:
        answer["original"] = result.original
    if result.reason is not None:
        answer["reason"] = result.reason
    if result.fields:
        answer["field_errors"] = result.fields
    return answer


# --- signing in --------------------------------------------------------------------------------------


@auth.route("/auth/token", methods=["POST"])
@limiter.limit(SIGN_IN_LIMITS_PER_ADDRESS, key_func=get_remote_address, deduct_when=failed_sign_in)
@limiter.limit(SIGN_IN_LIMITS_PER_NAME, key_func=sign_in_name_key, deduct_when=failed_sign_in)
@auth.arguments(s.TokenRequest)
@auth.response(201, s.Issued)
@errors(auth, 401, 422, 429)
@auth.doc(security=[])
def sign_in(body: dict[str, Any]) -> ResponseReturnValue:
    """Sign in: a collector with phone and PIN, a dashboard user with email and password."""
    session, moment = db_session(), now()
    if "phone" in body:
        phone = sms.normalise_phone(body["phone"], settings().phone_region)
        collector_id = tokens.collector_signing_in(session, phone or "", body["pin"])
        if collector_id is None:
            session.rollback()
            raise ApiError(401, "unauthorized", "Wrong phone or PIN.")
        issued = tokens.issue_token(session, moment, collector_id=collector_id, label=body.get("label", ""))
    else:
        user = users.sign_in(session, body["email"], body["password"], moment)
        if user is None:
            session.rollback()
            raise ApiError(401, "unauthorized", "Wrong email or password.")
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
    session.commit()
    return {"token": issued.token, "me": _me(issued.holder)}, 201


@auth.route("/auth/token", methods=["DELETE"])
@authenticated(*ANYONE)
@auth.response(204)
@errors(auth, 401)
def sign_out() -> ResponseReturnValue:
    """Sign out: the token presented ends now."""
    who = holder()
    session = db_session()
    tokens.revoke(session, who.token_id, now(), by=f"{who.kind}:{who.collector_id or who.user_id}")
    session.commit()
    return ""


@auth.route("/me", methods=["GET"])
@authenticated(*ANYONE)
@auth.response(200, s.Me)
@errors(auth, 401)
def me() -> ResponseReturnValue:
    """Who the token speaks for, their zone, their block of #seq numbers and the programme."""
    return _me(holder())


# --- households -------------------------------------------------------------------------------------


def _zone_asked(asked: int | None) -> int | None:
    """A collector sees their own zone only; a user any zone, or all (None)."""
    who = holder()
    if who.kind != "collector":
        return asked
    if asked is not None and asked != who.zone_id:
        raise ApiError(403, "forbidden", "A collector sees the households of their own zone only.")
    return who.zone_id


@households.route("/households", methods=["GET"])
@authenticated(*ANYONE)
@households.arguments(s.HouseholdQuery, location="query")
@households.response(200, s.HouseholdPage)
@errors(households, 401, 403, 422)
def list_households(query: dict[str, Any]) -> ResponseReturnValue:
    """Households of the collector's zone (a user's: every zone, or ?zone=): searched with ?q=, or
    all of them page by page (?after= the last page's ``next``) for the app's offline cache."""
    zone_id = _zone_asked(query.get("zone"))
    if zone_id is None and holder().kind == "collector":
        return {"households": [], "next": None}  # a collector with no zone yet sees none
    page, following = fieldwork.households(
        db_session(),
        region=settings().phone_region,
        zone_id=zone_id,
        text=query.get("q", ""),
        after=query.get("after"),
        limit=query["limit"],
    )
    return {
        "households": [_household(entry) for entry in page],
        "next": None if following is None else str(following),
    }


@households.route("/households/<string:code>", methods=["GET"])
@authenticated(*ANYONE)
@households.response(200, s.Household)
@errors(households, 401, 404)
def one_household(code: str) -> ResponseReturnValue:
    """One household by member code."""
    found = fieldwork.household_by_code(db_session(), code)
    who = holder()
    if found is None or (who.kind == "collector" and found.zone_id != who.zone_id):
        raise ApiError(404, "not_found", f"No household {code[:12]} in your zone.")
    return _household(found)


@households.route("/households", methods=["POST"])
@authenticated(*COLLECTORS, *OPERATORS)
@households.arguments(s.NewHousehold)
@households.response(201, s.Household)
@households.alt_response(200, schema=s.Household, description="This id was registered before.")
@errors(households, 401, 403, 409, 422)
def register_household(body: dict[str, Any]) -> ResponseReturnValue:
    """Register a household (texted a welcome with its code). A collector's joins their zone."""
    who = holder()
    if who.kind == "collector" and "zone_id" in body:
        raise ApiError(403, "forbidden", "A collector registers households in their own zone.")
    session, moment = db_session(), now()
    zone_id = who.zone_id if who.kind == "collector" else body.get("zone_id")
    if zone_id is not None and get_zone(session, zone_id) is None:
        message = f"There is no zone {zone_id}."
        raise ApiError(422, "unprocessable_entity", message, fields={"zone_id": [message]})
    operation = sync.NewHousehold(str(body["id"]), body["phone"], body["name"], body.get("address"))
    for attempt in (1, 2):
        outbox = Outbox(session, moment)
        try:
            if who.collector_id is not None:
                lock_collector(session, who.collector_id)  # one at a time with their sync
            status, member = sync.register_from_app(
                session, sync.AppTexter(outbox, settings()), operation, zone_id, moment
            )
            if status != sync.EXISTING:
                session.commit()
            break
        except sync.Refusal as refusal:
            session.rollback()
            message = sync.reason(refusal.code, settings(), **refusal.values).message
            field = sync.REFUSED_FIELDS.get(refusal.code, "_schema")
            raise ApiError(422, refusal.code, message, fields={field: [message]}) from None
        except IntegrityError:
            # The same id or phone sent at the same moment by another request, which won: once
            # more, this one finds what it made.
            session.rollback()
            if attempt == 2:
                raise
    if status == sync.EXISTING:
        session.rollback()
        raise ApiError(
            409,
            "already_registered",
            f"{member.phone} is already {member.member_code} ({member.name}).",
        )
    enqueue_sends(kolekt_runtime().queue_redis, outbox.to_send)
    return _household(member), 201 if status == sync.CREATED else 200


# --- materials --------------------------------------------------------------------------------------


@catalogue.route("/materials", methods=["GET"])
@authenticated(*ANYONE)
@catalogue.response(200, s.Materials)
@errors(catalogue, 401)
def materials() -> ResponseReturnValue:
    """Every material, its words and the rate in force now (null: none, a pickup of it is refused).
    A collector with a commission of their own sees it instead of the rates'."""
    who, session, moment = holder(), db_session(), now()
    own = None
    if who.collector_id is not None:
        collector = get_collector(session, who.collector_id)
        own = None if collector is None else collector.commission_per_kg
    return {
        "as_of": moment,
        "materials": [entry._asdict() for entry in fieldwork.materials(session, moment, own)],
    }


# --- sync -----------------------------------------------------------------------------------------------


def _line(read: Mapping[str, Any]) -> commands.Line:
    return commands.Line(read["material"], read["grams"])


def _operation(read: Mapping[str, Any]) -> sync.Operation:
    if isinstance(read, s.Unread):
        client_id, kind = read.get("id"), read.get("type")
        return sync.Unreadable(
            client_id if isinstance(client_id, str) and len(client_id) <= 64 else None,
            kind if kind in ("household", "pickup") else None,
            flatten_messages(read.messages),
        )
    if read["type"] == "household":
        return sync.NewHousehold(str(read["id"]), read["phone"], read["name"], read.get("address"))
    named = read["household"]
    return sync.NewPickup(
        client_id=str(read["id"]),
        occurred_at=read["occurred_at"],
        household=sync.HouseholdRef(
            code=named.get("code"),
            phone=named.get("phone"),
            client_id=str(named["id"]) if "id" in named else None,
        ),
        lines=tuple(_line(line) for line in read["lines"]),
        seq=read.get("seq"),
    )


@syncing.route("/sync", methods=["POST"])
@limiter.limit(SYNC_LIMITS, key_func=token_key)
@authenticated(*COLLECTORS)
@syncing.arguments(s.SyncRequest)
@syncing.response(200, s.SyncResponse)
@errors(syncing, 401, 403, 422, 429)
def sync_operations(body: dict[str, Any]) -> ResponseReturnValue:
    """Send what was done offline, in the order it was done. Every operation gets its own answer
    (created, duplicate with the original, refused with the reason, or retry later); one that
    fails never undoes or loses another. Sending the same batch again is safe."""
    who, runtime = holder(), kolekt_runtime()
    assert who.collector_id is not None
    # Each operation commits on its own: the request's session holds nothing meanwhile.
    db_session().rollback()
    done = sync.sync(
        runtime.sessions,
        runtime.settings,
        who.collector_id,
        [_operation(read) for read in body["operations"]],
        now(),
    )
    enqueue_sends(runtime.queue_redis, done.to_send)
    return {"server_time": now(), "results": [_result(result) for result in done.results]}


# --- pickups -----------------------------------------------------------------------------------------


def _collector_asked(asked: int | None) -> int | None:
    who = holder()
    if who.kind == "collector":
        if asked is not None and asked != who.collector_id:
            raise ApiError(403, "forbidden", "A collector sees their own pickups only.")
        return who.collector_id
    return asked


@pickups.route("/pickups", methods=["GET"])
@authenticated(*ANYONE)
@pickups.arguments(s.PickupQuery, location="query")
@pickups.response(200, s.PickupPage)
@errors(pickups, 401, 403, 422)
def list_pickups(query: dict[str, Any]) -> ResponseReturnValue:
    """Pickups as recorded, newest first: a collector's own (a user's: all, or ?collector=)."""
    page, following = fieldwork.pickups(
        db_session(),
        collector_id=_collector_asked(query.get("collector")),
        before=query.get("before"),
        limit=query["limit"],
    )
    return {
        "pickups": [_pickup(entry) for entry in page],
        "next": None if following is None else str(following),
    }


@pickups.route("/pickups/<string:reference>", methods=["GET"])
@authenticated(*ANYONE)
@pickups.response(200, s.Pickup)
@errors(pickups, 401, 404)
def one_pickup(reference: str) -> ResponseReturnValue:
    """One pickup by its receipt reference (a collector's own only)."""
    found = fieldwork.pickup(db_session(), reference[:12])
    who = holder()
    if found is None or (who.kind == "collector" and found.collector_id != who.collector_id):
        raise ApiError(404, "not_found", f"No pickup {reference[:12]} of yours.")
    return _pickup(found)


@pickups.route("/totals", methods=["GET"])
@authenticated(*ANYONE)
@pickups.arguments(s.TotalsQuery, location="query")
@pickups.response(200, s.Period)
@errors(pickups, 401, 403, 422)
def totals(query: dict[str, Any]) -> ResponseReturnValue:
    """Pickups that stand, kg, points and commission: the day, its week and its month (local)."""
    local = settings().zone
    day: date = query.get("day") or now().astimezone(local).date()
    found = fieldwork.totals(db_session(), day, local, _collector_asked(query.get("collector")))
    return {
        "day": found.day,
        "today": found.today._asdict(),
        "week": found.week._asdict(),
        "month": found.month._asdict(),
    }


# --- operators ---------------------------------------------------------------------------------------


def _audit(session: Any, action: str, subject: str, details: Mapping[str, Any]) -> None:
    who = holder()
    audit.record(
        session,
        actor=who.name,
        action=action,
        subject=subject,
        at=now(),
        details=details,
        user_id=who.user_id,
        address=get_remote_address(),
    )


# A collector's id in a path: a larger number names nobody (404 from the router, not an error
# from the database).
COLLECTOR_ID = f"int(min=1, max={s.MAX_ID})"


def _collector_or_404(collector_id: int) -> None:
    if get_collector(db_session(), collector_id) is None:
        raise ApiError(404, "not_found", f"No collector {collector_id}.")


@collectors.route(f"/collectors/<{COLLECTOR_ID}:collector_id>/pin", methods=["PUT"])
@authenticated(*OPERATORS)
@collectors.arguments(s.NewPin)
@collectors.response(204)
@errors(collectors, 401, 403, 404, 422)
def set_pin(body: dict[str, Any], collector_id: int) -> ResponseReturnValue:
    """Give a collector a new app PIN; every app signed in as them is signed out."""
    _collector_or_404(collector_id)
    session = db_session()
    try:
        ended = tokens.set_pin(session, collector_id, body["pin"], now(), by=holder().name)
    except tokens.PinError as error:
        session.rollback()
        raise ApiError(422, "unprocessable_entity", str(error), fields={"pin": [str(error)]}) from None
    _audit(session, "collector.pin", f"collector:{collector_id}", {"tokens_ended": ended, "via": "api"})
    session.commit()
    return ""


@collectors.route(f"/collectors/<{COLLECTOR_ID}:collector_id>/tokens", methods=["DELETE"])
@authenticated(*OPERATORS)
@collectors.response(200, s.Revoked)
@errors(collectors, 401, 403, 404)
def revoke_tokens(collector_id: int) -> ResponseReturnValue:
    """Sign the collector's app out on every phone."""
    _collector_or_404(collector_id)
    session = db_session()
    ended = tokens.revoke_collector_tokens(session, collector_id, now(), by=holder().name)
    _audit(session, "collector.signout", f"collector:{collector_id}", {"tokens_ended": ended, "via": "api"})
    session.commit()
    return {"revoked": ended}
