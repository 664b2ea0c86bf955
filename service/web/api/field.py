"""What a collector does in the field through the app: the households of their zone, materials and
rates, the sync of what was done offline, their pickups and totals. Rules live in
``service.usecases.sync`` and ``service.reads.fieldwork``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from flask.typing import ResponseReturnValue

from service.reads import fieldwork
from service.usecases import Refused, sync
from service.usecases.households import Member
from service.usecases.roles import get_collector
from service.web.api import schemas as s
from service.web.api.base import (
    ANYONE,
    COLLECTORS,
    OPERATORS,
    SYNC_LIMITS,
    ApiError,
    api_blueprint,
    authenticated,
    errors,
    holder,
    now,
    settings,
    token_key,
)
from service.web.base import db_session, flatten_messages, kolekt_runtime, limiter
from sms import commands

households = api_blueprint(
    "households", "Households: the collector's zone, searched and downloaded for offline use."
)
catalogue = api_blueprint("materials", "Materials and the rates in force.")
syncing = api_blueprint("sync", "What the collector app did offline, each operation accepted once.")
pickups = api_blueprint("pickups", "Pickups as recorded, and totals.")


def _household(found: fieldwork.HouseholdEntry | Member, language: str | None = None) -> dict[str, Any]:
    """A household as the API shows it: an entry of the reads, or a member a use case returned
    with the ``language`` its phone is texted in."""
    if isinstance(found, fieldwork.HouseholdEntry):
        code, language = found.code, found.language
    else:
        code = found.member_code
    return {
        "code": code,
        "name": found.name,
        "phone": found.phone,
        "address": found.address,
        "zone_id": found.zone_id,
        "status": found.status,
        "language": language or "EN",
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
    if result.held:
        answer["held"] = True
    if result.household is not None:
        answer["household"] = _household(result.household, result.language)
    if result.original is not None:
        answer["original"] = result.original
    if result.reason is not None:
        answer["reason"] = result.reason
    if result.fields:
        answer["field_errors"] = result.fields
    return answer


# --- households -------------------------------------------------------------------------------------


def _new_household(read: Mapping[str, Any]) -> sync.NewHousehold:
    return sync.NewHousehold(
        str(read["id"]), read["phone"], read["name"], read.get("address"), read.get("language")
    )


def _viewer() -> fieldwork.Viewer:
    who = holder()
    return fieldwork.Viewer(who.kind == "collector", who.zone_id, settings().collectors_any_zone)


@households.route("/households", methods=["GET"])
@authenticated(*ANYONE)
@households.arguments(s.HouseholdQuery, location="query")
@households.response(200, s.HouseholdPage)
@errors(households, 401, 403, 422)
def list_households(query: dict[str, Any]) -> ResponseReturnValue:
    """Households of the collector's zone (a user's: every zone, or ?zone=): searched with ?q=, or
    all of them page by page (?after= the last page's ``next``) for the app's offline cache."""
    try:
        page, following = fieldwork.households(
            db_session(),
            region=settings().phone_region,
            zone_id=query.get("zone"),
            text=query.get("q", ""),
            after=query.get("after"),
            limit=query["limit"],
            viewer=_viewer(),
        )
    except Refused:
        raise ApiError(403, "forbidden", "A collector sees the households of their own zone only.") from None
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
    found = fieldwork.household_by_code(db_session(), code, _viewer())
    if found is None:
        raise ApiError(404, "not_found", f"No household {code[:12]} in your zone.")
    return _household(found)


# What a refusal of a new household answers: its status and error code (a field's own 422 else).
REGISTER_REFUSALS = {
    "not_your_zone": (403, "forbidden"),
    "no_zone": (422, "unprocessable_entity"),
    "member_elsewhere": (409, "already_registered"),
}


@households.route("/households", methods=["POST"])
@authenticated(*COLLECTORS, *OPERATORS)
@households.arguments(s.NewHousehold)
@households.response(201, s.Household)
@households.alt_response(200, schema=s.Household, description="This id was registered before.")
@errors(households, 401, 403, 409, 422)
def register_household(body: dict[str, Any]) -> ResponseReturnValue:
    """Register a household (texted a welcome with its code). A collector's joins their zone."""
    who = holder()
    operation = _new_household(body)
    try:
        status, member, language = sync.register(
            kolekt_runtime(),
            operation,
            collector_id=who.collector_id,
            zone_id=body.get("zone_id"),
            now=now(),
        )
    except Refused as refusal:
        message = sync.reason_of(refusal, settings()).message
        status_code, code = REGISTER_REFUSALS.get(refusal.template, (422, refusal.template))
        if status_code != 422:
            raise ApiError(status_code, code, message) from None
        field = sync.REFUSED_FIELDS.get(refusal.template, "_schema")
        raise ApiError(status_code, code, message, fields={field: [message]}) from None
    if status == sync.EXISTING:
        raise ApiError(
            409, "already_registered", f"{member.phone} is already {member.member_code} ({member.name})."
        )
    return _household(member, language), 201 if status == sync.CREATED else 200


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
        return _new_household(read)
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
    who = holder()
    assert who.collector_id is not None
    # Each operation is a unit of work of its own (its texts enqueued once it has committed).
    results = sync.sync(
        kolekt_runtime(), who.collector_id, [_operation(read) for read in body["operations"]], now()
    )
    return {"server_time": now(), "results": [_result(result) for result in results]}


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
