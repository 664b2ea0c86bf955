"""Every body the API takes and gives, as marshmallow schemas: they check what comes in (422 with
the fields at fault) and shape what goes out, and the OpenAPI document is generated from them."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

import sms
from service.usecases.sync import MAX_LINES, MAX_OPERATIONS

MAX_PAGE = 500
# The largest id of an Integer column (zones, collectors, households), and of a BigInteger one
# (pickups): a larger number names nothing, and SQLite cannot even compare with it.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1
ID = validate.Range(min=1, max=MAX_ID)
PHONE = validate.Length(min=3, max=32)
NAME = validate.Length(min=1, max=80)
# Grams are integers: a line is at most 10,000 kg (the programme's own limit is lower and checked
# when the pickup is priced; this only keeps absurd numbers out).
GRAMS = validate.Range(min=1, max=10_000_000)
SEQ = validate.Range(min=1, max=999_999_999)
# The languages households are texted in, by code: EN, PCM, YO, HA, IG.
LANGUAGE = validate.OneOf(sms.LANGUAGES)
LANGUAGE_NAMES = ", ".join(f"{code} ({sms.LANGUAGE_NAMES[code]})" for code in sms.LANGUAGES)


class Text(fields.String):
    """A string the database can keep: no NUL (PostgreSQL's text refuses it) and no lone
    surrogate (a JSON "\\ud800" that is no character, and cannot be written as UTF-8)."""

    default_error_messages = {"not_text": "Not valid text: no NUL characters or lone surrogates."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        read = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in read:
            raise self.make_error("not_text")
        try:
            read.encode("utf-8")
        except UnicodeEncodeError:
            raise self.make_error("not_text") from None
        return read


# --- errors ---------------------------------------------------------------------------------------


class ErrorBody(Schema):
    code = fields.Str(required=True, metadata={"example": "unprocessable_entity"})
    message = fields.Str(required=True)
    field_errors = fields.Dict(
        data_key="fields",
        keys=fields.Str(),
        values=fields.List(fields.Str()),
        metadata={"description": "Invalid input only: each field at fault, with what is wrong."},
    )


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


# --- signing in -----------------------------------------------------------------------------------


class TokenRequest(Schema):
    """A collector signs in with phone and PIN; a dashboard user with email and password."""

    phone = Text(validate=PHONE, metadata={"example": "08030000001"})
    pin = Text(validate=validate.Length(min=1, max=12), metadata={"example": "4821"})
    email = Text(validate=validate.Length(min=3, max=254))
    password = Text(validate=validate.Length(min=1, max=200))
    label = Text(validate=validate.Length(max=80), metadata={"description": "e.g. the phone's name"})
    days = fields.Int(
        strict=True, validate=validate.Range(min=1, max=366), metadata={"description": "Users only."}
    )

    @validates_schema
    def one_way(self, data: dict[str, Any], **_: Any) -> None:
        collector = "phone" in data or "pin" in data
        user = "email" in data or "password" in data
        if collector == user:
            raise ValidationError("give phone and pin, or email and password", "_schema")
        if collector and not ("phone" in data and "pin" in data):
            raise ValidationError("give both phone and pin", "_schema")
        if user and not ("email" in data and "password" in data):
            raise ValidationError("give both email and password", "_schema")
        if collector and "days" in data:
            raise ValidationError("a collector's token lasts 90 days", "days")


class Zone(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)
    days = fields.Str(required=True, metadata={"example": "Tue, Fri 8-12"})


class Programme(Schema):
    name = fields.Str(required=True)
    timezone = fields.Str(required=True, metadata={"example": "Africa/Lagos"})
    sms_number = fields.Str(
        required=True, metadata={"description": "Where the app's LOG texts go; empty if the hub set none."}
    )


class Me(Schema):
    token_id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(["collector", "user"]))
    role = fields.Str(required=True, validate=validate.OneOf(["collector", "admin", "operator", "auditor"]))
    name = fields.Str(required=True)
    zone = fields.Nested(Zone, allow_none=True, required=True)
    seq_base = fields.Int(
        allow_none=True,
        required=True,
        metadata={"description": "This device numbers its pickups seq_base+1, seq_base+2, ..."},
    )
    expires_at = fields.AwareDateTime(required=True)
    programme = fields.Nested(Programme, required=True)


class Issued(Schema):
    token = fields.Str(required=True, metadata={"description": "Shown once: keep it."})
    me = fields.Nested(Me, required=True)


# --- households -------------------------------------------------------------------------------------


class Household(Schema):
    code = fields.Str(required=True, metadata={"example": "K4821X"})
    name = fields.Str(required=True)
    phone = fields.Str(required=True, metadata={"example": "+2348031234567"})
    address = fields.Str(allow_none=True, required=True)
    zone_id = fields.Int(allow_none=True, required=True)
    status = fields.Str(required=True, validate=validate.OneOf(["active", "suspended"]))
    language = fields.Str(
        required=True,
        validate=LANGUAGE,
        metadata={"description": f"The language its phone is texted in: {LANGUAGE_NAMES}."},
    )


class HouseholdQuery(Schema):
    class Meta:
        unknown = EXCLUDE  # a cache-busting parameter from a browser is not an error

    q = Text(
        validate=validate.Length(max=80),
        metadata={"description": "A member code, a phone (any form) or part of a name."},
    )
    zone = fields.Int(strict=False, validate=ID, metadata={"description": "Users only."})
    after = fields.Int(strict=False, validate=validate.Range(min=0, max=MAX_ID))
    limit = fields.Int(strict=False, load_default=100, validate=validate.Range(min=1, max=MAX_PAGE))


class HouseholdPage(Schema):
    households = fields.List(fields.Nested(Household), required=True)
    next = fields.Str(allow_none=True, required=True, metadata={"description": "Pass as ?after= for more."})


def new_household_language() -> Text:
    return Text(
        validate=LANGUAGE,
        metadata={
            "description": f"The household's language, {LANGUAGE_NAMES}: its welcome and every "
            "text after come in it. Omitted: English, or the language its phone chose already."
        },
    )


class NewHousehold(Schema):
    id = fields.UUID(required=True, metadata={"description": "Made by the client: sending it again is safe."})
    phone = Text(required=True, validate=PHONE)
    name = Text(required=True, validate=NAME)
    address = Text(allow_none=True, validate=validate.Length(max=160))
    zone_id = fields.Int(strict=True, validate=ID, metadata={"description": "Users only."})
    language = new_household_language()


# --- materials -------------------------------------------------------------------------------------


class Material(Schema):
    code = fields.Str(required=True, metadata={"example": "PET"})
    name = fields.Str(required=True)
    words = fields.List(fields.Str(), required=True)
    points_per_kg = fields.Int(allow_none=True, required=True)
    commission_per_kg = fields.Int(allow_none=True, required=True)
    rate_from = fields.AwareDateTime(allow_none=True, required=True)


class Materials(Schema):
    as_of = fields.AwareDateTime(required=True)
    materials = fields.List(fields.Nested(Material), required=True)


# --- sync ---------------------------------------------------------------------------------------------


class Line(Schema):
    material = Text(required=True, validate=validate.Length(min=1, max=12))
    grams = fields.Int(strict=True, required=True, validate=GRAMS)


class HouseholdName(Schema):
    """Exactly one of: a member code, a phone, or the id of a household operation."""

    code = Text(validate=validate.Length(min=1, max=12))
    phone = Text(validate=PHONE)
    id = fields.UUID()

    @validates_schema
    def exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ValidationError("name the household by one of code, phone or id", "_schema")


class Operation(Schema):
    """One thing the collector did offline: ``type`` says which fields it needs."""

    type = fields.Str(required=True, validate=validate.OneOf(["household", "pickup"]))
    id = fields.UUID(required=True, metadata={"description": "Made by the client; each id is accepted once."})
    # household
    phone = Text(validate=PHONE)
    name = Text(validate=NAME)
    address = Text(allow_none=True, validate=validate.Length(max=160))
    language = new_household_language()
    # pickup
    seq = fields.Int(
        strict=True, validate=SEQ, metadata={"description": "The #seq of the LOG text, if handed to SMS."}
    )
    occurred_at = fields.AwareDateTime()
    household = fields.Nested(HouseholdName)
    lines = fields.List(fields.Nested(Line), validate=validate.Length(min=1, max=MAX_LINES))

    @validates_schema
    def fields_of_its_type(self, data: dict[str, Any], **_: Any) -> None:
        needed: tuple[str, ...]
        foreign: tuple[str, ...]
        if data.get("type") == "household":
            needed, foreign = ("phone", "name"), ("seq", "occurred_at", "household", "lines")
        else:
            needed = ("occurred_at", "household", "lines")
            foreign = ("phone", "name", "address", "language")
        errors = {name: ["Missing data for required field."] for name in needed if name not in data}
        errors.update(
            {name: [f"Not a field of a {data.get('type')} operation."] for name in foreign if name in data}
        )
        if errors:
            raise ValidationError(errors)


class Unread(dict[str, Any]):
    """An operation that could not be read, with what was wrong (``messages``)."""

    def __init__(self, item: Any, messages: Any) -> None:
        super().__init__(item if isinstance(item, dict) else {})
        self.messages = messages


class Operations(fields.List[Any]):
    """A list of operations, each read on its own: one that cannot be read comes back as an
    ``Unread`` (refused alone), and the others are still done. Documented as a list of
    ``Operation``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(Operation), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[Any]:
        if not isinstance(value, list):
            raise self.make_error("invalid")
        read: list[Any] = []
        for item in value:
            try:
                read.append(self.inner.deserialize(item, **kwargs))
            except ValidationError as error:
                read.append(Unread(item, error.messages))
        return read


class SyncRequest(Schema):
    operations = Operations(
        required=True,
        validate=validate.Length(min=1, max=MAX_OPERATIONS),
        metadata={
            "description": "Operations in the order they were made (a new household before the "
            "pickups naming it). Each is read on its own: one that cannot be read is refused "
            "alone, and the others are still done."
        },
    )


class Reason(Schema):
    code = fields.Str(required=True, metadata={"example": "bad_member_code"})
    message = fields.Str(required=True, metadata={"example": "No member K4812. Check the code."})


class Original(Schema):
    reference = fields.Str(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    channel = fields.Str(required=True, metadata={"example": "sms"})


class Result(Schema):
    index = fields.Int(required=True)
    id = fields.Str(allow_none=True, required=True)
    type = fields.Str(allow_none=True, required=True)
    status = fields.Str(required=True, validate=validate.OneOf(["created", "duplicate", "refused", "retry"]))
    reference = fields.Str()
    points = fields.Int()
    held = fields.Bool(metadata={"description": "the pickup's points wait for the hub's check"})
    household = fields.Nested(Household)
    original = fields.Nested(Original)
    reason = fields.Nested(Reason)
    field_errors = fields.Dict(data_key="fields", keys=fields.Str(), values=fields.List(fields.Str()))


class SyncResponse(Schema):
    server_time = fields.AwareDateTime(required=True)
    results = fields.List(fields.Nested(Result), required=True)


# --- pickups ---------------------------------------------------------------------------------------


class PickupQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    before = fields.Int(strict=False, validate=validate.Range(min=1, max=MAX_BIG_ID))
    limit = fields.Int(strict=False, load_default=50, validate=validate.Range(min=1, max=MAX_PAGE))
    collector = fields.Int(strict=False, validate=ID, metadata={"description": "Users only."})


class PickupLine(Schema):
    material = fields.Str(required=True)
    grams = fields.Int(required=True)
    points = fields.Int(required=True)


class HouseholdBrief(Schema):
    code = fields.Str(required=True)
    name = fields.Str(required=True)


class Pickup(Schema):
    reference = fields.Str(required=True)
    household = fields.Nested(HouseholdBrief, required=True)
    collector_id = fields.Int(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    received_at = fields.AwareDateTime(required=True)
    channel = fields.Str(required=True)
    status = fields.Str(required=True, validate=validate.OneOf(["credited", "undone", "reversed"]))
    grams = fields.Int(required=True)
    points = fields.Int(required=True)
    commission = fields.Int(required=True)
    seq = fields.Int(allow_none=True, required=True)
    lines = fields.List(fields.Nested(PickupLine), required=True)


class PickupPage(Schema):
    pickups = fields.List(fields.Nested(Pickup), required=True)
    next = fields.Str(allow_none=True, required=True, metadata={"description": "Pass as ?before= for more."})


class TotalsQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    # Days at the ends of the calendar have no week or month to count in (and no next day).
    day = fields.Date(
        validate=validate.Range(min=date(1970, 1, 1), max=date(9998, 12, 31)),
        metadata={"description": "The programme's local day (default: today)."},
    )
    collector = fields.Int(strict=False, validate=ID, metadata={"description": "Users only."})


class Totals(Schema):
    pickups = fields.Int(required=True)
    grams = fields.Int(required=True)
    points = fields.Int(required=True)
    commission = fields.Int(required=True)


class Period(Schema):
    day = fields.Date(required=True)
    today = fields.Nested(Totals, required=True)
    week = fields.Nested(Totals, required=True)
    month = fields.Nested(Totals, required=True)


# --- operators -------------------------------------------------------------------------------------


class NewPin(Schema):
    pin = Text(required=True, validate=validate.Length(min=1, max=12), metadata={"example": "4821"})


class Revoked(Schema):
    revoked = fields.Int(required=True)


# --- cash-out ----------------------------------------------------------------------------------------


class StrictBoolean(fields.Boolean):
    """true or false, as JSON writes them: not 1, "yes" or "true" (a typo must not save)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class PayoutAccountRequest(Schema):
    bank_code = Text(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={"example": "058", "description": "Paystack's code of the bank (GTBank: 058)."},
    )
    account_number = Text(
        required=True,
        validate=validate.Length(min=1, max=20),
        metadata={
            "example": "0123456789",
            "description": "The 10-digit NUBAN (spaces, dashes dropped).",
        },
    )
    confirm = StrictBoolean(
        load_default=False,
        metadata={
            "description": "false (the default): only answer the account's name, to read out to the "
            "household. true: save it as the household's cash-out account."
        },
    )


class PayoutAccount(Schema):
    household = fields.Str(required=True, metadata={"example": "K4821X"})
    bank_code = fields.Str(required=True, metadata={"example": "058"})
    bank = fields.Str(required=True, metadata={"example": "GTBank"})
    account = fields.Str(required=True, metadata={"example": "****6789", "description": "Masked."})
    account_name = fields.Str(required=True, metadata={"example": "ADA OKAFOR"})
    saved = fields.Bool(required=True)
    usable_from = fields.AwareDateTime(
        allow_none=True,
        required=True,
        metadata={"description": "Saved: when cash-out to it may start (after the cooling-off period)."},
    )


class CurrentPayoutAccount(Schema):
    household = fields.Str(required=True, metadata={"example": "K4821X"})
    current = fields.Nested(
        PayoutAccount,
        allow_none=True,
        required=True,
        metadata={"description": "The account cash-out goes to now; null: none saved."},
    )


class Bank(Schema):
    code = fields.Str(required=True, metadata={"example": "058"})
    name = fields.Str(required=True, metadata={"example": "Guaranty Trust Bank"})
    short = fields.Str(required=True, metadata={"example": "GTBank", "description": "As texts write it."})


class Banks(Schema):
    banks = fields.List(fields.Nested(Bank), required=True)
    cooling_off_hours = fields.Int(
        required=True,
        metadata={"description": "Hours cash-out to a newly saved account waits (PAYOUT_COOLING_OFF_HOURS)."},
    )
