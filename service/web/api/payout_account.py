"""A household's cash-out account, saved at the door through the collector app: the banks to choose
from; the account saved now, if any; the account's name asked of Paystack and answered, to read
out to the household; then, with ``confirm``, saved (``payout_accounts.register_by_staff``: the
household's phone is told, and cash-out to it waits the cooling-off period). Paystack is asked in
the request, with no transaction open."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address

from service.providers.payouts import AccountNotFound, PayoutError
from service.reads import fieldwork
from service.usecases import Refused, audit, payout_accounts
from service.usecases.households import get_member
from service.web import cash_out as shared
from service.web.api import schemas as s
from service.web.api.base import (
    ANYONE,
    COLLECTORS,
    OPERATORS,
    ApiError,
    api_blueprint,
    authenticated,
    errors,
    holder,
    settings,
    token_key,
)
from service.web.base import db_session, limiter, unit_of_work

ACCOUNT_ACTION = "payout_account.add"
# Each call asks Paystack (whose own limits are per business): a collector needs a few an hour.
RESOLVE_LIMITS = "30 per minute"

cash_out = api_blueprint(
    "cash-out",
    "A household's bank account for cash-out (REDEEM CASH): its name checked with Paystack, then saved.",
)


@cash_out.route("/banks", methods=["GET"])
@authenticated(*ANYONE)
@cash_out.response(200, s.Banks)
@errors(cash_out, 401)
def bank_list() -> ResponseReturnValue:
    """The banks a cash-out account can be at (Paystack's list, refreshed daily), by name, and how
    long cash-out to a newly saved account waits."""
    listed = shared.bank_choices(db_session(), settings())
    return {
        "banks": [{"code": bank.code, "name": bank.name, "short": bank.display} for bank in listed],
        "cooling_off_hours": settings().payout_cooling_off_hours,
    }


def _household(code: str) -> fieldwork.HouseholdEntry:
    who = holder()
    viewer = fieldwork.Viewer(who.kind == "collector", who.zone_id, settings().collectors_any_zone)
    found = fieldwork.household_by_code(db_session(), code, viewer)
    if found is None:
        raise ApiError(404, "not_found", f"No household {code[:12]} in your zone.")
    return found


@cash_out.route("/households/<string:code>/payout-account", methods=["GET"])
@authenticated(*ANYONE)
@cash_out.response(200, s.CurrentPayoutAccount)
@errors(cash_out, 401, 404)
def current_payout_account(code: str) -> ResponseReturnValue:
    """The household's cash-out account now (null: none saved), to tell the household at the door."""
    found = _household(code)
    account = payout_accounts.active_account(db_session(), found.id)
    current = None
    if account is not None:
        current = {
            "household": found.code,
            "bank_code": account.bank_code,
            "bank": account.bank,
            "account": account.masked,
            "account_name": account.account_name or "",
            "saved": True,
            "usable_from": account.usable_from,
        }
    return {"household": found.code, "current": current}


def _invalid(code: str, field: str, message: str) -> ApiError:
    return ApiError(422, code, message, fields={field: [message]})


def _registered_by() -> str:
    who = holder()
    if who.collector_id is not None:
        return f"collector:{who.collector_id}"
    return f"user:{who.user_id} {who.name}"


@cash_out.route("/households/<string:code>/payout-account", methods=["POST"])
@limiter.limit(RESOLVE_LIMITS, key_func=token_key)
@authenticated(*COLLECTORS, *OPERATORS)
@cash_out.arguments(s.PayoutAccountRequest)
@cash_out.response(200, s.PayoutAccount)
@cash_out.alt_response(201, schema=s.PayoutAccount, description="Saved (confirm: true).")
@errors(cash_out, 401, 403, 404, 422, 502)
def payout_account(body: dict[str, Any], code: str) -> ResponseReturnValue:
    """Check a household's bank account with Paystack, and save it for cash-out.

    With ``confirm`` false, the account's name as the bank has it, to read out to the household;
    nothing is saved. With ``confirm`` true, the name is asked again and the account saved as the
    household's cash-out account: its phone is texted the change, and cash-out to it waits the
    cooling-off period (``usable_from``). A collector may save one for a household of their zone.
    422: not a 10-digit number, a bank not on Paystack's list, or an account the bank does not
    know. 502: Paystack did not answer; try again."""
    who = holder()
    found = _household(code)
    session = db_session()
    try:
        number = payout_accounts.check_number(body["account_number"])
    except Refused:
        raise _invalid("bad_account_number", "account_number", "An account number is 10 digits.") from None
    bank = shared.find_bank(session, settings(), body["bank_code"])
    if bank is None:
        message = f"No bank with code {body['bank_code'][:20]!r} on Paystack's list."
        raise _invalid("unknown_bank", "bank_code", message)
    try:
        resolved = shared.resolve(settings(), bank, number)
    except AccountNotFound:
        message = f"{bank.display} has no account {number}. Check the 10 digits and the bank."
        raise _invalid("account_not_found", "account_number", message) from None
    except PayoutError as error:
        if not error.transient:
            raise _invalid("account_not_found", "account_number", f"Paystack refused it: {error}") from None
        raise ApiError(502, "paystack_unavailable", "Paystack did not answer. Try again.") from None
    if not resolved.account_name:
        raise _invalid("account_not_found", "account_number", "Paystack gave no name for this account.")
    answer: dict[str, Any] = {
        "household": found.code,
        "bank_code": bank.code,
        "bank": bank.display,
        "account": resolved.masked,
        "account_name": resolved.account_name,
        "saved": False,
        "usable_from": None,
    }
    if not body["confirm"]:
        return answer
    try:
        with unit_of_work() as uow:
            shared.ready_banks(uow)
            member = get_member(uow.session, found.id)
            saved = payout_accounts.register_by_staff(
                uow, member, bank.code, number, resolved.account_name, _registered_by()
            )
            audit.record(
                uow.session,
                actor=who.name,
                action=ACCOUNT_ACTION,
                subject=f"member:{member.member_code}",
                at=uow.now,
                details={
                    "bank": saved.bank_name,
                    "account": saved.masked,
                    "name": saved.account_name,
                    "via": "api",
                    "by": _registered_by(),
                },
                user_id=who.user_id,
                address=get_remote_address(),
            )
    except Refused as refusal:
        raise _invalid(refusal.template, "bank_code", f"Not saved ({refusal.template}).") from None
    return {**answer, "saved": True, "usable_from": saved.usable_from}, 201
