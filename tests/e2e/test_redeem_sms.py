"""Rewards end to end: an operator sets up the catalogue and a partner shop with the CLI; households
text REWARDS and REDEEM through signed Twilio webhooks; the fulfilment job delivers and replies;
a shop texts VERIFY. Every refusal gets one reply and changes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

import ledger
from ledger import TransferRequest
from ledger.models import transfers_t
from service.accounts import ISSUANCE, member_account, open_programme_accounts
from service.db import transaction
from service.jobs.fulfilment import fulfil_redemption
from service.models import Household, OutboxMessage, Partner, Redemption, Reward
from service.runtime import use
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.helpers import message_sid, read, replies_to_sid, sessions, twilio_text

ADA = "+2348031234567"
BOLA = "+2348052223333"
STRANGER = "+2348099990000"
SHOP = "+2348060000001"
OTHER_SHOP = "+2348060000002"


def cli(app: Flask, *arguments: str) -> Any:
    result = app.test_cli_runner().invoke(args=list(arguments))
    return result


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    """A catalogue set up as an operator would (the CLI), a partner shop, and Ada with points."""
    app = make_app(**TWILIO_TEST_SETTINGS)
    use(app.extensions["kolekt.runtime"])  # the jobs run here, on the app's stores
    with transaction(sessions(app)) as session:
        open_programme_accounts(session)
    for arguments in (
        ("AIRTIME", "--name", "Airtime", "--price", "1", "--kind", "airtime", "--stock", "1000"),
        ("SHOPRITE", "--name", "Shoprite voucher", "--price", "100", "--kind", "voucher"),
        ("RICE", "--name", "Rice 5kg", "--price", "450", "--kind", "goods", "--stock", "2", "--max", "2"),
    ):
        added = cli(app, "rewards", "add", *arguments)
        assert added.exit_code == 0, added.output + added.stderr
    shop = cli(app, "partners", "add", "--phone", "0806 000 0001", "--name", "Iya Basira Stores")
    assert shop.exit_code == 0 and SHOP in shop.output, shop.output + shop.stderr
    join(app, ADA, "Ada Okafor", points=1000)
    return app


def join(app: Flask, phone: str, name: str, *, points: int) -> str:
    say(app, phone, f"JOIN {name}")
    (code,) = read(app, select(Household.member_code).where(Household.phone == phone))
    if points:
        with transaction(sessions(app)) as session:
            ledger.post(
                session,
                TransferRequest(ISSUANCE, member_account(code), points, "pickup_credit", f"e2e:{phone}"),
            )
    return str(code)


def say(app: Flask, sender: str, text: str) -> list[OutboxMessage]:
    """Text from ``sender``; every reply it caused at once."""
    sid = message_sid()
    twilio_text(app.test_client(), text, sender=sender, sid=sid)
    return replies_to_sid(app, sid)


def only_reply(app: Flask, sender: str, text: str) -> OutboxMessage:
    replies = say(app, sender, text)
    assert len(replies) == 1, [r.body for r in replies]
    assert replies[0].to_phone == sender
    return replies[0]


def points_of(app: Flask, phone: str = ADA) -> int:
    with transaction(sessions(app)) as session:
        code = session.execute(select(Household.member_code).where(Household.phone == phone)).scalar_one()
        return ledger.balance(session, member_account(code)).credit_balance


def fulfil_jobs(redis: Redis) -> list[int]:
    """The fulfilment jobs waiting in Redis: the redemptions they are for."""
    jobs = Queue("high", connection=redis).get_jobs()
    return [job.args[0] for job in jobs if job.func_name == "service.jobs.fulfilment.fulfil_redemption"]


def deliver(app: Flask, redis: Redis) -> list[OutboxMessage]:
    """Run the waiting fulfilment jobs (as a worker would); the replies they wrote."""
    before = {row.id for row in read(app, select(OutboxMessage))}
    for redemption_id in fulfil_jobs(redis):
        fulfil_redemption(redemption_id)
    Queue("high", connection=redis).empty()
    return [
        row for row in read(app, select(OutboxMessage).order_by(OutboxMessage.id)) if row.id not in before
    ]


def snapshot(app: Flask) -> dict[str, Any]:
    with transaction(sessions(app)) as session:
        return {
            "redemptions": session.execute(select(func.count()).select_from(Redemption)).scalar_one(),
            "transfers": session.execute(select(func.count()).select_from(transfers_t)).scalar_one(),
            "stock": {code: stock for code, stock in session.execute(select(Reward.code, Reward.stock))},
            "used": session.execute(
                select(func.count()).select_from(Redemption).where(Redemption.voucher_used_at.is_not(None))
            ).scalar_one(),
        }


# --- REWARDS ---------------------------------------------------------------------------------------------


def test_rewards_lists_the_catalogue_numbered_with_prices(app: Flask) -> None:
    reply = only_reply(app, ADA, "rewards")
    assert reply.body == (
        "Kolekt rewards: CASH NGN 100-20,000, 1 Airtime 1 pt/NGN, 2 Shoprite voucher 100 pts, "
        "3 Rice 5kg 450 pts. Text REDEEM and the number or name."
    )
    assert (reply.template, reply.encoding) == ("rewards_list", "GSM-7")


def test_a_long_catalogue_fits_two_segments_with_whole_items(app: Flask) -> None:
    for number in range(20):
        name = f"Household item {number}"
        added = cli(
            app, "rewards", "add", f"ITEM{number}", "--name", name, "--price", "9999", "--kind", "goods"
        )
        assert added.exit_code == 0, added.stderr
    reply = only_reply(app, ADA, "REWARDS")
    assert reply.segments == 2 and reply.encoding == "GSM-7"
    listed = reply.body.removeprefix("Kolekt rewards: ").removesuffix(". Text REDEEM and the number or name.")
    items = listed.split(", ")
    assert items[:4] == [
        "CASH NGN 100-20,000",
        "1 Airtime 1 pt/NGN",
        "2 Shoprite voucher 100 pts",
        "3 Rice 5kg 450 pts",
    ]
    assert all(re.fullmatch(r"\d+ Household item \d+ 9999 pts", item) for item in items[4:])
    assert len(items) < 24  # what did not fit is left out whole


def test_an_empty_catalogue_says_so(make_app: Callable[..., Flask], redis: Redis) -> None:
    app = make_app(**TWILIO_TEST_SETTINGS, cash_out=False)
    assert only_reply(app, STRANGER, "REWARDS").body == "No rewards in Kolekt yet. Your points are safe."


def test_with_cash_out_an_empty_catalogue_still_offers_cash(
    make_app: Callable[..., Flask], redis: Redis
) -> None:
    app = make_app(**TWILIO_TEST_SETTINGS, payout_min_naira=200, payout_max_naira=5000)
    assert only_reply(app, STRANGER, "REWARDS").body == (
        "Kolekt rewards: CASH NGN 200-5,000. Text REDEEM and the number or name."
    )


# --- REDEEM ------------------------------------------------------------------------------------------------


def test_redeem_airtime_200_debits_at_once_and_confirms_when_sent(app: Flask, redis: Redis) -> None:
    assert say(app, ADA, "REDEEM AIRTIME 200") == []  # the reply comes with the airtime
    (made,) = read(app, select(Redemption))
    assert (made.reward_code, made.units, made.points, made.status) == ("AIRTIME", 200, 200, "created")
    assert points_of(app) == 800
    assert fulfil_jobs(redis) == [made.id]
    (reply,) = deliver(app, redis)
    (made,) = read(app, select(Redemption))
    assert made.status == "fulfilled" and reply.to_phone == ADA
    assert (
        reply.body == f"Kolekt: NGN 200 airtime sent to this phone. -200 pts, Bal 800. Ref {made.reference}"
    )
    with transaction(sessions(app)) as session:
        debit = ledger.find_by_ref(session, made.reference or "")
    assert debit is not None and (debit.credit, debit.amount, debit.reference) == (
        "rewards:airtime",
        200,
        f"redemption:{made.id}",
    )


def test_redeem_by_catalogue_number_and_quantity(app: Flask, redis: Redis) -> None:
    assert say(app, ADA, "redeem 3 2") == []
    (reply,) = deliver(app, redis)
    (made,) = read(app, select(Redemption))
    assert (made.reward_code, made.units, made.points) == ("RICE", 2, 900)
    assert reply.body == (
        f"Kolekt: 2 x Rice 5kg for you. Collect at the hub with ref {made.reference}. -900 pts, Bal 100."
    )


def test_a_voucher_is_verified_by_a_partner_shop_once(app: Flask, redis: Redis) -> None:
    assert say(app, ADA, "REDEEM SHOPRITE") == []
    (issued,) = deliver(app, redis)
    found = re.search(r"voucher ([A-Z0-9]{5}-[A-Z0-9]{5}) for Shoprite voucher", issued.body)
    assert found is not None, issued.body
    assert issued.body.endswith("Show it at a partner shop. -100 pts, Bal 900.")
    voucher = found.group(1)
    code = read(app, select(Household.member_code).where(Household.phone == ADA))[0]
    masked = code[0] + "*" * (len(code) - 3) + code[-2:]

    ok = only_reply(app, SHOP, f"VERIFY {voucher.lower()}")
    assert (
        ok.body == f"Voucher {voucher} OK: Shoprite voucher for {masked}. Now used: do not accept it again."
    )
    (used,) = read(app, select(Redemption))
    (shop,) = read(app, select(Partner.id).where(Partner.phone == SHOP))
    assert used.voucher_used_by == shop and used.voucher_used_at is not None

    cli(app, "partners", "add", "--phone", OTHER_SHOP, "--name", "Mama Chidi")
    before = snapshot(app)
    again = only_reply(app, OTHER_SHOP, f"verify {voucher.replace('-', '')}")
    today = datetime.now(UTC).astimezone(app.extensions["kolekt.runtime"].settings.zone).strftime("%d/%m/%Y")
    assert again.body == f"Voucher {voucher} was already used on {today}. Do not accept it."
    assert snapshot(app) == before
    (still,) = read(app, select(Redemption))
    assert still.voucher_used_by == shop


def test_verify_from_a_suspended_shop_or_with_a_bad_code_changes_nothing(app: Flask, redis: Redis) -> None:
    say(app, ADA, "REDEEM SHOPRITE")
    (issued,) = deliver(app, redis)
    found = re.search(r"voucher (\S+) for", issued.body)
    assert found is not None
    before = snapshot(app)
    assert only_reply(app, SHOP, "VERIFY 2345-6789").template == "verify_unknown"
    suspended = cli(app, "partners", "status", "--phone", SHOP, "suspended")
    assert suspended.exit_code == 0, suspended.stderr
    refused = only_reply(app, SHOP, f"VERIFY {found.group(1)}")
    assert refused.body == "Your Kolekt account is suspended. Nothing was done. Call the hub."
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("sender", "text", "template", "body"),
    [
        (ADA, "REDEEM PHONE", "unknown_reward", "No reward PHONE. Text REWARDS for the list."),
        (ADA, "REDEEM 9", "unknown_reward", "No reward 9. Text REWARDS for the list."),
        (
            ADA,
            "REDEEM AIRTIME 50",
            "below_minimum",
            "Airtime: the least is 100, e.g. REDEEM AIRTIME 100. Nothing was taken.",
        ),
        (ADA, "REDEEM AIRTIME 6000", "above_maximum", "Airtime: at most 5000 at a time. Nothing was taken."),
        (
            ADA,
            "REDEEM AIRTIME 1001",
            "out_of_stock",
            "Airtime is out of stock. Text REWARDS for others. Nothing was taken.",
        ),
        (
            BOLA,
            "REDEEM 1 100",
            "not_enough_points",
            "Not enough points: Airtime costs 100 pts, you have 50. Nothing was taken.",
        ),
        (
            BOLA,
            "redeem shoprite",
            "not_enough_points",
            "Not enough points: Shoprite voucher costs 100 pts, you have 50. Nothing was taken.",
        ),
        (ADA, "REDEEM RICE 3", "above_maximum", "Rice 5kg: at most 2 at a time. Nothing was taken."),
        (
            STRANGER,
            "REDEEM AIRTIME 200",
            "not_member",
            "You are not in Kolekt yet. Text JOIN and your name, e.g. JOIN Ada Okafor",
        ),
        (SHOP, "REDEEM AIRTIME 200", "not_for_role", None),  # a shop has no REDEEM
    ],
)
def test_every_refusal_gets_one_reply_and_changes_nothing(
    app: Flask, redis: Redis, sender: str, text: str, template: str, body: str | None
) -> None:
    join(app, BOLA, "Bola Ade", points=50)
    before = snapshot(app)
    balances = (points_of(app), points_of(app, BOLA))
    reply = only_reply(app, sender, text)
    if body is not None:
        assert reply.body == body
    assert reply.template == template, reply.body
    assert snapshot(app) == before
    assert (points_of(app), points_of(app, BOLA)) == balances
    assert fulfil_jobs(redis) == []


def test_what_is_out_of_stock_is_not_offered_and_refused(app: Flask, redis: Redis) -> None:
    emptied = cli(app, "rewards", "stock", "rice", "0")
    assert emptied.exit_code == 0 and emptied.output == "RICE: stock 0\n"
    assert "Rice" not in only_reply(app, ADA, "REWARDS").body
    before = snapshot(app)
    refused = only_reply(app, ADA, "REDEEM RICE")
    assert refused.body == "Rice 5kg is out of stock. Text REWARDS for others. Nothing was taken."
    assert snapshot(app) == before and points_of(app) == 1000 and fulfil_jobs(redis) == []
    assert cli(app, "rewards", "stock", "RICE", "unlimited").output == "RICE: stock unlimited\n"
    assert say(app, ADA, "REDEEM RICE") == [] and len(fulfil_jobs(redis)) == 1


# --- the operator's commands --------------------------------------------------------------------------


def test_rewards_list_shows_the_catalogue(app: Flask) -> None:
    listed = cli(app, "rewards", "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["no", "code", "name", "kind", "price", "units", "stock"]
    assert lines[1].split() == ["1", "AIRTIME", "Airtime", "airtime", "1", "pt/NGN", "100-5000", "1000"]
    assert lines[3].split() == ["3", "RICE", "Rice", "5kg", "goods", "450", "pts", "1-2", "2"]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (("rewards", "add", "X", "--name", "X", "--price", "5", "--kind", "goods"), "2 to 20 letters"),
        (
            ("rewards", "add", "RICE", "--name", "Rice", "--price", "5", "--kind", "goods"),
            "already a reward RICE",
        ),
        (("rewards", "add", "SOAP", "--name", "Soap", "--price", "0", "--kind", "goods"), "price"),
        (("rewards", "add", "SOAP", "--name", "Soap", "--price", "x", "--kind", "goods"), "--price"),
        (("rewards", "add", "SOAP", "--name", "Soap", "--price", "5", "--kind", "cash"), "--kind"),
        (
            (
                "rewards",
                "add",
                "SOAP",
                "--name",
                "Soap",
                "--price",
                "5",
                "--kind",
                "goods",
                "--min",
                "3",
                "--max",
                "2",
            ),
            "most units",
        ),
        (
            ("rewards", "add", "SOAP", "--name", "Soap", "--price", "5", "--kind", "goods", "--stock", "-1"),
            "stock",
        ),
        (("rewards", "stock", "SOAP", "3"), "no reward SOAP"),
        (("rewards", "stock", "RICE", "lots"), "whole number or 'unlimited'"),
        (("partners", "add", "--phone", "12", "--name", "Shop"), "not a phone number"),
        (("partners", "add", "--phone", ADA, "--name", "Shop"), "member household"),
        (("partners", "add", "--phone", SHOP, "--name", "Shop"), "already a partner shop"),
        (("partners", "add", "--phone", OTHER_SHOP, "--name", " "), "name"),
        (("partners", "status", "--phone", OTHER_SHOP, "suspended"), "no partner shop"),
    ],
)
def test_the_operators_commands_refuse_bad_arguments_and_change_nothing(
    app: Flask, arguments: tuple[str, ...], says: str
) -> None:
    before = snapshot(app)
    shops = read(app, select(func.count()).select_from(Partner))
    result = cli(app, *arguments)
    assert result.exit_code != 0
    assert re.search(r"^Error: .*" + re.escape(says), result.stderr, re.MULTILINE), result.stderr
    assert snapshot(app) == before
    assert read(app, select(func.count()).select_from(Partner)) == shops
