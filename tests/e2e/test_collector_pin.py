"""A collector's app PIN, set the three ways: ``PIN 4821`` texted through the signed Twilio webhook,
the collector's page on the dashboard, and ``flask --app wsgi collectors pin``; signing the app
out on every phone; the users' API tokens from the command line.

Whatever the way, the PIN is never kept, shown or repeated in clear: not in the stored text,
not in a reply, not in the audit log, not on a page, not in the CLI's output.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from redis import Redis
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

import sms
from service.db import make_session_factory, transaction
from service.models import api_tokens_t, audit_log_t, collectors_t, inbound_t, outbox_t, users_t
from service.settings import Settings
from service.usecases import tokens, users
from service.usecases.roles import Collector, add_collector, set_collector_status
from service.usecases.zones import add_zone
from tests.conftest import TWILIO_TEST_SETTINGS, run_cli
from tests.e2e.conftest import snapshot
from tests.e2e.helpers import sessions
from tests.e2e.hub import Hub
from tests.e2e.test_field_flows import only_reply

TUNDE = "+2348030000001"  # the collector
KEMI = "+2348030000002"  # another collector
ADA = "+2348031234567"  # a household (or anyone who is not a collector)
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def add_collectors(session: Session) -> Collector:
    """Tunde and Kemi in Yaba; Tunde is returned."""
    zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", NOW)
    add_collector(session, KEMI, "Kemi Ade", zone.id, NOW)
    return add_collector(session, TUNDE, "Tunde Bakare", zone.id, NOW)


def collector_id(session: Session, phone: str) -> int:
    return int(session.execute(select(collectors_t.c.id).where(collectors_t.c.phone == phone)).scalar_one())


def pin_hash_of(session: Session, phone: str = TUNDE) -> str | None:
    stored: str | None = session.execute(
        select(collectors_t.c.pin_hash).where(collectors_t.c.phone == phone)
    ).scalar_one()
    return stored


def issue_app_tokens(session: Session, collector: int, count: int) -> list[str]:
    """Sign-ins to the app as of now (the tests' checks run on the wall clock: tokens expire)."""
    return [
        tokens.issue_token(session, datetime.now(UTC), collector_id=collector).token for _ in range(count)
    ]


def still_valid(session: Session, issued: list[str]) -> list[bool]:
    return [tokens.authenticate(session, token, datetime.now(UTC)) is not None for token in issued]


def audit_entries(session: Session) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Every entry but the dashboard's sign-ins."""
    rows = session.execute(
        select(audit_log_t.c.actor, audit_log_t.c.action, audit_log_t.c.subject, audit_log_t.c.details)
        .where(audit_log_t.c.action != "user.sign_in")
        .order_by(audit_log_t.c.id)
    )
    return [(row.actor, row.action, row.subject, json.loads(row.details)) for row in rows]


# Where a PIN could be written down as text. Random values (hashes, provider ids) are left out:
# a short PIN turns up in those by chance.
TEXT_COLUMNS = (
    inbound_t.c.body,
    inbound_t.c.command,
    inbound_t.c.error,
    outbox_t.c.body,
    audit_log_t.c.details,
    api_tokens_t.c.label,
    api_tokens_t.c.revoked_by,
)


def nowhere_in_clear(session: Session, pin: str) -> None:
    """The PIN is in no stored text, no reply, no audit entry, no error and no token's record;
    the collectors' PINs are kept only as argon2id hashes."""
    for column in TEXT_COLUMNS:
        for (value,) in session.execute(select(column)):
            assert value is None or pin not in value, (column, value)
    for (stored,) in session.execute(select(collectors_t.c.pin_hash)):
        assert stored is None or stored.startswith("$argon2id$"), stored


# --- by SMS ---------------------------------------------------------------------------------------


@pytest.fixture
def app(make_app: Callable[..., Flask], redis: Redis) -> Flask:
    app = make_app(**TWILIO_TEST_SETTINGS)
    with transaction(sessions(app)) as session:
        add_collectors(session)
    return app


@pytest.fixture
def db(app: Flask) -> Callable[[], Any]:
    """A transaction of the test's own on the app's database: ``with db() as session``."""
    return lambda: transaction(sessions(app))


def render(key: str) -> str:
    return sms.render(key, "EN", programme="Kolekt")


def test_a_collector_texts_pin_and_signs_in_with_it(app: Flask, db: Callable[[], Any]) -> None:
    with db() as session:
        tunde_id = collector_id(session, TUNDE)
        issued = issue_app_tokens(session, tunde_id, 2)
        kemis = issue_app_tokens(session, collector_id(session, KEMI), 1)

    assert only_reply(app, TUNDE, "PIN 4821") == render("pin_set_signed_out")

    with db() as session:
        stored = pin_hash_of(session)
        assert stored is not None and stored.startswith("$argon2id$")
        assert PasswordHasher().verify(stored, "4821")
        assert tokens.collector_signing_in(session, TUNDE, "4821") == tunde_id
        assert still_valid(session, issued) == [False, False]
        assert still_valid(session, kemis) == [True]  # another collector's app is untouched
        inbound = session.execute(select(inbound_t.c.body, inbound_t.c.command, inbound_t.c.status)).one()
        assert tuple(inbound) == ("PIN ****", "Pin", "processed")
        assert audit_entries(session) == [
            (
                f"collector:{tunde_id}",
                "collector.pin",
                f"collector:{tunde_id}",
                {"by": "sms", "signed_out": 2},
            )
        ]
        nowhere_in_clear(session, "4821")

    texts = Hub(app).signed_in("auditor").get("/dashboard/messages?direction=in").text
    assert "PIN ****" in texts and "4821" not in texts

    # A second PIN, from a phone with no app signed in: the plain confirmation.
    assert only_reply(app, TUNDE, "pin: 582039") == render("pin_set")
    with db() as session:
        assert tokens.collector_signing_in(session, TUNDE, "582039") == tunde_id
        assert tokens.collector_signing_in(session, TUNDE, "4821") is None
        nowhere_in_clear(session, "582039")


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("PIN", "missing_pin"),
        ("PIN 482", "bad_pin"),
        ("PIN 4821 4821", "bad_pin"),
        ("PIN 48a1", "bad_pin"),
        ("PIN 2345", "pin_too_easy"),
        ("pin 999999", "pin_too_easy"),
    ],
)
def test_a_bad_pin_gets_one_reply_and_changes_nothing(
    app: Flask, db: Callable[[], Any], text: str, reply: str
) -> None:
    with db() as session:
        tunde_id = collector_id(session, TUNDE)
        tokens.set_pin(session, tunde_id, "5820", NOW, by="test")
        issued = issue_app_tokens(session, tunde_id, 1)
        before = pin_hash_of(session)

    body = only_reply(app, TUNDE, text)

    assert body == render(reply)
    with db() as session:
        assert pin_hash_of(session) == before
        assert still_valid(session, issued) == [True]
        assert session.execute(select(inbound_t.c.body)).scalar_one() == "PIN ****"
        assert audit_entries(session) == []
        for typed in ("482", "48a1", "2345", "999999"):
            if typed in text:
                nowhere_in_clear(session, typed)


@pytest.mark.parametrize("text", ["PIN 4821", "pin", "Pin: 1234"])
def test_a_household_texting_pin_is_told_what_it_is_for(app: Flask, db: Callable[[], Any], text: str) -> None:
    body = only_reply(app, ADA, text)
    assert body == render("pin_not_for_role")
    assert "collectors' app" in body
    with db() as session:
        assert pin_hash_of(session) is None and pin_hash_of(session, KEMI) is None
        assert session.execute(select(inbound_t.c.body)).scalar_one() == "PIN ****"
        assert audit_entries(session) == []


def test_a_suspended_collector_cannot_set_a_pin(app: Flask, db: Callable[[], Any]) -> None:
    with db() as session:
        set_collector_status(session, TUNDE, "suspended")
    assert only_reply(app, TUNDE, "PIN 4821") == render("collector_suspended")
    with db() as session:
        assert pin_hash_of(session) is None
        assert audit_entries(session) == []


def test_a_pin_text_that_fails_is_stored_redacted_too(
    app: Flask, db: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_arguments: object, **_options: object) -> int:
        raise RuntimeError("the database went away while hashing 4821")

    monkeypatch.setattr(tokens, "set_pin", broken)
    assert only_reply(app, TUNDE, "PIN 4821") == render("pin_not_handled")
    with db() as session:
        row = session.execute(select(inbound_t.c.body, inbound_t.c.status, inbound_t.c.error)).one()
        assert (row.body, row.status, row.error) == ("PIN ****", "failed", "RuntimeError")
        assert pin_hash_of(session) is None
        nowhere_in_clear(session, "4821")


def test_the_simulator_shows_a_pin_text_redacted(make_app: Callable[..., Flask], redis: Redis) -> None:
    app = make_app()  # the console gateway: the simulator is there
    with transaction(sessions(app)) as session:
        add_collectors(session)
    client = app.test_client()
    sent = client.post("/simulator/messages", json={"from": TUNDE, "text": "PIN 4821"})
    assert sent.status_code == 201 and sent.json is not None
    assert [reply["body"] for reply in sent.json["replies"]] == [render("pin_set")]
    shown = client.get("/simulator/conversation", query_string={"phone": TUNDE}).json
    assert shown is not None
    assert [(m["direction"], m["body"]) for m in shown["messages"]] == [
        ("in", "PIN ****"),
        ("out", render("pin_set")),
    ]


def test_other_texts_are_stored_as_they_came(app: Flask, db: Callable[[], Any]) -> None:
    only_reply(app, TUNDE, "TODAY 4821")
    with db() as session:
        assert session.execute(select(inbound_t.c.body)).scalar_one() == "TODAY 4821"


# --- on the dashboard -------------------------------------------------------------------------------


@pytest.fixture
def tunde(hub: Hub) -> Collector:
    return Collector(*hub.read(add_collectors))


def page_of(collector: Collector) -> str:
    return f"/dashboard/collectors/{collector.id}"


@pytest.mark.parametrize("role", ["operator", "admin"])
def test_an_operator_sets_a_pin_and_the_app_is_signed_out(hub: Hub, tunde: Collector, role: str) -> None:
    issued = hub.read(lambda session: issue_app_tokens(session, tunde.id, 2))
    browser = hub.signed_in(role)
    shown = browser.get(page_of(tunde)).text
    assert "No PIN yet" in shown and 'id="set-pin"' in shown and 'id="sign-out-app"' in shown
    assert shown.count("<td>app</td>") == 2  # the two sign-ins, by their label

    response = browser.post(f"{page_of(tunde)}/pin", {"pin": "4821", "pin_again": "4821"})

    assert response.status_code == 303 and response.headers["Location"].endswith(f"{page_of(tunde)}#app")
    after = browser.get(page_of(tunde)).text
    assert "New app PIN set for Tunde Bakare; 2 app sign-ins ended." in after
    assert "PIN set " in after and "No PIN yet" not in after and "$argon2" not in after
    assert hub.read(lambda session: tokens.collector_signing_in(session, TUNDE, "4821")) == tunde.id
    assert hub.read(lambda session: still_valid(session, issued)) == [False, False]
    ((actor, action, subject, details),) = hub.read(audit_entries)
    assert (actor, action, subject, details) == (
        browser.email,
        "collector.pin",
        f"collector:{tunde.id}",
        {"by": "dashboard", "signed_out": 2},
    )
    hub.read(lambda session: nowhere_in_clear(session, "4821"))


@pytest.mark.parametrize(
    ("pin", "again", "message"),
    [
        ("4821", "4812", "The two PINs are not the same"),
        ("4821", "", "The two PINs are not the same"),
        ("482", "482", "A PIN is 4 to 6 digits."),
        ("", "", "A PIN is 4 to 6 digits."),
        ("1234", "1234", "That PIN is too easy to guess"),
    ],
)
def test_a_refused_pin_shows_why_and_changes_nothing(
    hub: Hub, tunde: Collector, pin: str, again: str, message: str
) -> None:
    hub.read(lambda session: issue_app_tokens(session, tunde.id, 1))
    browser = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    response = browser.post(f"{page_of(tunde)}/pin", {"pin": pin, "pin_again": again})
    assert response.status_code == 422
    assert message in response.text and 'id="set-pin"' in response.text
    assert snapshot(hub.runtime.engine) == before


def test_signing_the_app_out_on_every_phone_keeps_the_pin(hub: Hub, tunde: Collector) -> None:
    def prepare(session: Session) -> list[str]:
        tokens.set_pin(session, tunde.id, "4821", NOW, by="test")
        return issue_app_tokens(session, tunde.id, 1)

    issued = hub.read(prepare)
    kemis = hub.read(lambda session: issue_app_tokens(session, collector_id(session, KEMI), 1))
    browser = hub.signed_in("operator")

    response = browser.post(f"{page_of(tunde)}/sign-out-app")

    assert response.status_code == 303
    assert (
        "The app is signed out on every phone of Tunde Bakare; 1 app sign-in ended."
        in browser.get(page_of(tunde)).text
    )
    assert hub.read(lambda session: still_valid(session, issued + kemis)) == [False, True]
    assert hub.read(lambda session: tokens.collector_signing_in(session, TUNDE, "4821")) == tunde.id
    ((_actor, action, subject, details),) = hub.read(audit_entries)
    assert (action, subject, details) == (
        "collector.signout",
        f"collector:{tunde.id}",
        {"by": "dashboard", "signed_out": 1},
    )


def test_an_auditor_sees_the_app_sign_ins_but_no_forms(hub: Hub, tunde: Collector) -> None:
    def revoked_one(session: Session) -> None:
        tokens.set_pin(session, tunde.id, "4821", NOW, by="test")
        issued = tokens.issue_token(session, NOW, collector_id=tunde.id, label="Tecno phone")
        tokens.revoke(session, issued.holder.token_id, NOW, by="test")

    hub.read(revoked_one)
    shown = hub.signed_in("auditor").get(page_of(tunde)).text
    assert "<td>Tecno phone</td>" in shown and "PIN set " in shown
    assert 'id="set-pin"' not in shown and 'id="sign-out-app"' not in shown
    assert "$argon2" not in shown


def test_an_unknown_collector_is_404(hub: Hub, tunde: Collector) -> None:
    browser = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    assert (
        browser.post("/dashboard/collectors/999/pin", {"pin": "4821", "pin_again": "4821"}).status_code == 404
    )
    assert browser.post("/dashboard/collectors/999/sign-out-app").status_code == 404
    assert snapshot(hub.runtime.engine) == before


# --- from the command line ---------------------------------------------------------------------------


def cli(settings: Settings, *arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``flask --app wsgi ARGUMENTS`` with ``stdin`` as its standard input (none: an empty one)."""
    return run_cli(settings, *arguments, stdin=stdin)


@pytest.fixture
def cli_db(settings: Settings, engine: Engine) -> Callable[[], Any]:
    """The CLI's database with Tunde and Kemi: ``with cli_db() as session``."""
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        add_collectors(session)
    return lambda: transaction(factory)


def test_collectors_pin_and_signout(settings: Settings, cli_db: Callable[[], Any]) -> None:
    with cli_db() as session:
        tunde = collector_id(session, TUNDE)
        issued = issue_app_tokens(session, tunde, 1)

    # Only the first line is read: whatever follows is not the PIN.
    done = cli(settings, "collectors", "pin", "--phone", "0803 000 0001", stdin="4821\n5820\n")

    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == f"collector {tunde}: Tunde Bakare, {TUNDE}: new app PIN; 1 app sign-in ended\n"
    with cli_db() as session:
        assert tokens.collector_signing_in(session, TUNDE, "4821") == tunde
        assert still_valid(session, issued) == [False]
        issued = issue_app_tokens(session, tunde, 2)

    done = cli(settings, "collectors", "signout", "--phone", TUNDE)

    assert (done.returncode, done.stdout) == (
        0,
        f"collector {tunde}: Tunde Bakare, {TUNDE}: 2 app sign-ins ended\n",
    )
    with cli_db() as session:
        assert still_valid(session, issued) == [False, False]
        assert tokens.collector_signing_in(session, TUNDE, "4821") == tunde  # the PIN stays
        entries = audit_entries(session)
        nowhere_in_clear(session, "4821")
    assert [(action, subject, details) for _actor, action, subject, details in entries] == [
        ("collector.pin", f"collector:{tunde}", {"by": "cli", "phone": TUNDE, "signed_out": 1}),
        ("collector.signout", f"collector:{tunde}", {"by": "cli", "phone": TUNDE, "signed_out": 2}),
    ]
    assert all(actor.startswith("cli") for actor, *_ in entries)


@pytest.mark.parametrize(
    ("arguments", "stdin", "code", "message"),
    [
        (("pin", "--phone", TUNDE), "1234\n", 1, "Error: That PIN is too easy to guess"),
        (("pin", "--phone", TUNDE), "12\n", 1, "Error: A PIN is 4 to 6 digits."),
        (("pin", "--phone", TUNDE), None, 1, "Error: no PIN on standard input"),
        (("pin", "--phone", ADA), "4821\n", 1, f"Error: no collector with phone {ADA}"),
        (("pin", "--phone", "12"), "4821\n", 2, "is not a phone number"),
        (("signout", "--phone", ADA), None, 1, f"Error: no collector with phone {ADA}"),
    ],
)
def test_collectors_pin_refusals_change_nothing(
    settings: Settings,
    engine: Engine,
    cli_db: Callable[[], Any],
    arguments: tuple[str, ...],
    stdin: str | None,
    code: int,
    message: str,
) -> None:
    before = snapshot(engine)
    done = cli(settings, "collectors", *arguments, stdin=stdin)
    assert done.returncode == code and message in done.stderr, done.stderr
    assert done.stdout == ""
    assert snapshot(engine) == before


def test_users_token_and_revoke_tokens(settings: Settings, engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        ada = users.add_user(session, "ada@hub.example", PASSWORD, "auditor", NOW)

    done = cli(settings, "users", "token", "--email", "Ada@Hub.Example", "--label", "reports", "--days", "7")

    assert (done.returncode, done.stderr) == (0, "")
    heading, token = done.stdout.splitlines()
    assert heading.startswith("API token for ada@hub.example (auditor), expires ")
    assert heading.endswith(" UTC; shown this once:")
    with transaction(factory) as session:
        presented = tokens.authenticate(session, token, datetime.now(UTC))
        assert presented is not None
        assert (presented.holder.kind, presented.holder.role, presented.holder.name) == (
            "user",
            "auditor",
            "ada@hub.example",
        )
        assert (presented.holder.expires_at - datetime.now(UTC)).days == 6  # 7 days less the seconds gone
        ((_actor, action, subject, details),) = audit_entries(session)
        nowhere_in_clear(session, token)
    assert (action, subject, details["label"], details["token_id"]) == (
        "user.token",
        f"user:{ada.id}",
        "reports",
        presented.holder.token_id,
    )

    done = cli(settings, "users", "revoke-tokens", "--email", "ada@hub.example")

    assert (done.returncode, done.stdout) == (0, "ada@hub.example: 1 API token revoked\n")
    with transaction(factory) as session:
        assert tokens.authenticate(session, token, datetime.now(UTC)) is None
        assert [entry[1] for entry in audit_entries(session)] == ["user.token", "user.revoke_tokens"]


def test_a_new_password_from_the_cli_ends_the_users_tokens(settings: Settings, engine: Engine) -> None:
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        ada = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
        token = tokens.issue_token(session, NOW, user_id=ada.id).token
    done = cli(settings, "users", "password", "--email", "ada@hub.example", stdin="a brand new password\n")
    assert done.returncode == 0, done.stderr
    with transaction(factory) as session:
        assert tokens.authenticate(session, token, datetime.now(UTC)) is None
        revoked_by = session.execute(select(api_tokens_t.c.revoked_by)).scalar_one()
    assert revoked_by.startswith("cli")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("token", "--email", "who@hub.example"), "no user 'who@hub.example'"),
        (("token", "--email", "ben@hub.example"), "ben@hub.example is disabled"),
        (("token", "--email", "ada@hub.example", "--days", "0"), "a token lasts 1 to 366 days"),
        (("token", "--email", "ada@hub.example", "--days", "367"), "a token lasts 1 to 366 days"),
        (("revoke-tokens", "--email", "who@hub.example"), "no user 'who@hub.example'"),
    ],
)
def test_users_token_refusals_change_nothing(
    settings: Settings, engine: Engine, arguments: tuple[str, ...], message: str
) -> None:
    with transaction(make_session_factory(engine)) as session:
        users.add_user(session, "ada@hub.example", PASSWORD, "admin", NOW)
        users.add_user(session, "ben@hub.example", PASSWORD, "operator", NOW)
        session.execute(update(users_t).where(users_t.c.email == "ben@hub.example").values(active=False))
    before = snapshot(engine)
    done = cli(settings, "users", *arguments)
    assert done.returncode == 1 and done.stderr.startswith("Error: ") and message in done.stderr, done.stderr
    assert done.stdout == ""
    assert snapshot(engine) == before
