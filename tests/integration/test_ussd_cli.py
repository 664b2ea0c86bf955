"""``flask --app wsgi ussd simulate``: a session dialled from a terminal, scripted (``--answers``) or
typed (standard input), on the demo programme; what its last screen does is done for real."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from sqlalchemy import select

import ledger
from service.accounts import member_account
from service.db import transaction
from service.models import Collection, InboundMessage
from service.settings import Settings
from sms.gsm import is_gsm7
from sms.ussd import MAX_SCREEN
from tests.conftest import run_cli
from tests.e2e.helpers import inbound_rows, outbox_rows, read, sessions
from tests.e2e.hub import Hub

ADA = "+2348031234567"  # K0001E, 210 pts
MUSA = "+2348030000001"  # the collector of Ada's zone
HOME = (
    "CON Kolekt: 210 pts\n1 Points & history\n2 Ask for pickup\n3 Skip next pickup\n4 Rewards\n"
    "5 Cash out\n6 Check a receipt\n7 Rate a pickup\n8 Bank account\n9 More"
)
HISTORY = re.compile(r"END Kolekt: \+\d+ .+ Bal 210\.")


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    app = make_app()
    Hub(app).seed()
    return app


def simulate(app: Flask, *arguments: str, given: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=["ussd", "simulate", *arguments], input=given)


def screens(output: str) -> list[str]:
    """The screens printed, each whole (a screen runs until the next answer, or the end)."""
    found = re.findall(r"^((?:CON|END) .*?)(?=\n> |\n\(hung up\)|\n?\Z)", output, re.MULTILINE | re.DOTALL)
    for screen in found:
        assert len(screen) <= MAX_SCREEN and is_gsm7(screen), screen
    return found


def points_of(app: Flask, code: str) -> int:
    with transaction(sessions(app)) as session:
        return ledger.balance(session, member_account(code)).credit_balance


def test_a_scripted_session_prints_every_screen(app: Flask) -> None:
    result = simulate(app, "--phone", "0803 123 4567", "--answers", "4*0*1")
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"{ADA} dials *384*2580#"
    shown = screens(result.stdout)
    assert len(shown) == 4
    assert shown[0] == shown[2] == HOME
    assert shown[1].startswith("CON Rewards, you have 210 pts:\n1 Airtime")
    assert HISTORY.fullmatch(shown[3]), shown[3]
    assert [line for line in lines if line.startswith("> ")] == ["> 4", "> 0", "> 1"]
    (row,) = inbound_rows(app)
    assert (row.provider, row.sender, row.body, row.command) == ("ussd", ADA, "HIST", "History")
    assert row.provider_message_id.startswith("CLI_")


def test_a_collector_logs_a_pickup_from_the_terminal(app: Flask) -> None:
    looked = simulate(app, "--phone", MUSA, "--answers", "1*K0001E")
    assert looked.exit_code == 0, looked.stdout + looked.stderr
    (pet,) = re.findall(r"^(\d) PET$", screens(looked.stdout)[-1], re.MULTILINE)
    assert inbound_rows(app) == []  # a session left before its end does nothing

    result = simulate(app, "--phone", MUSA, "--answers", f"1*K0001E*{pet}*2.5*1")
    assert result.exit_code == 0, result.stdout + result.stderr
    shown = screens(result.stdout)
    assert shown[0] == "CON Kolekt collector\n1 Log a pickup\n2 Today\n3 Route\n4 Register household"
    assert shown[3] == "CON PET for K0001E: kg, e.g. 4.5\n0 Back"
    summary = re.fullmatch(r"CON K0001E: PET 2\.5kg = (\d+) pts\n1 Confirm\n2 Add material\n0 Back", shown[4])
    assert summary, shown[4]
    points = int(summary.group(1))
    logged = re.fullmatch(rf"END OK (\w{{4}}): K0001E PET 2\.5kg = {points} pts\.", shown[5])
    assert logged and len(shown) == 6, shown
    (pickup,) = read(app, select(Collection).where(Collection.reference == logged.group(1)))
    (inbound,) = read(app, select(InboundMessage).where(InboundMessage.id == pickup.inbound_id))
    assert (inbound.provider, inbound.sender, inbound.command) == ("ussd", MUSA, "Log")
    assert (pickup.grams, pickup.points) == (2500, points)
    assert points_of(app, "K0001E") == 210 + points
    (receipt,) = outbox_rows(app, to=ADA)
    assert logged.group(1) in receipt.body


def test_answers_typed_one_a_line_until_the_end(app: Flask) -> None:
    result = simulate(app, "--phone", ADA, given="4\n0\n1\nnever read\n")
    assert result.exit_code == 0, result.stdout + result.stderr
    shown = screens(result.stdout)
    assert shown[0] == shown[2] == HOME and len(shown) == 4
    assert HISTORY.fullmatch(shown[3]), shown[3]
    assert "never read" not in result.stdout and "(hung up)" not in result.stdout
    assert [row.command for row in inbound_rows(app)] == ["History"]


@pytest.mark.parametrize("given", ["4\n", "4\n\n1\n", ""], ids=["eof", "empty-line", "nothing"])
def test_an_empty_line_or_the_end_of_the_input_hangs_up(app: Flask, given: str) -> None:
    result = simulate(app, "--phone", ADA, given=given)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "(hung up)"
    shown = screens(result.stdout)
    assert shown[0] == HOME and all(screen.startswith("CON ") for screen in shown)
    assert len(shown) == (1 if given == "" else 2)
    assert inbound_rows(app) == []


def test_answers_after_the_end_are_refused_not_sent(app: Flask) -> None:
    result = simulate(app, "--phone", ADA, "--answers", "1*2*3")
    assert result.exit_code == 1
    assert HISTORY.fullmatch(screens(result.stdout)[-1])
    assert result.stderr == "Error: the session ended at answer 1; not sent: 2*3\n"
    assert [row.command for row in inbound_rows(app)] == ["History"]  # nothing asked for a pickup


def test_a_bad_phone_is_exit_code_2_and_dials_nothing(app: Flask, redis: Redis) -> None:
    settings: Settings = app.extensions["kolekt.runtime"].settings
    for phone in ("abc", "", "12"):
        result = run_cli(settings, "ussd", "simulate", "--phone", phone, "--answers", "1")
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert result.stderr == (
            f"Error: --phone {phone!r} is not a phone number (e.g. +2348031234567 or 08031234567)\n"
        )
    assert inbound_rows(app) == []
    assert not list(redis.scan_iter("kolekt:ussd:*"))


def test_a_process_of_its_own_runs_a_session(app: Flask) -> None:
    settings: Settings = app.extensions["kolekt.runtime"].settings
    result = run_cli(settings, "ussd", "simulate", "--phone", ADA, "--answers", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{ADA} dials *384*2580#\n{HOME}\n> 1\nEND Kolekt: ")
    assert [row.command for row in inbound_rows(app)] == ["History"]
