"""The ledger as the service runs it: the CLI, the sealing job on a real RQ worker, the public pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue
from sqlalchemy import text

import ledger
from ledger import TransferRequest
from service.accounts import ISSUANCE, open_programme_accounts
from service.app import create_app
from service.cli.demo import COLLECTORS, DEMO_PASSWORD, DEMO_PIN, HOUSEHOLDS
from service.db import make_engine, make_session_factory, transaction
from service.jobs.checks import seal_ledger
from service.reads.disputes import open_disputes
from service.settings import Settings
from service.usecases import tokens, users
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


def post_credits(database_url: str, count: int, *, seal: bool = False) -> None:
    engine = make_engine(database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            open_programme_accounts(session)
            ledger.open_account(session, "member:K4821X", "member", no_overdraft=True)
            ledger.post_linked(
                session,
                [
                    TransferRequest(ISSUANCE, "member:K4821X", 5 + i, "pickup_credit", f"c{i}")
                    for i in range(count)
                ],
            )
            if seal:
                ledger.seal_all(session)
    finally:
        engine.dispose()


cli = run_cli


def test_a_real_rq_worker_seals_what_was_posted(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings], redis: Redis
) -> None:
    settings = make_settings(fresh_database())
    post_credits(settings.database_url, 12)
    Queue("default", connection=redis).enqueue(seal_ledger)
    worker = cli(settings, "worker", "--burst")
    assert worker.returncode == 0, worker.stderr
    verify = cli(settings, "ledger", "verify", "--no-seal")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("OK 12 transfers, head ")


def test_cli_verify_reports_ok_then_the_first_broken_link(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(fresh_database())
    post_credits(settings.database_url, 8, seal=True)
    good = cli(settings, "ledger", "verify")
    assert good.returncode == 0
    head = cli(settings, "ledger", "head").stdout.split()
    assert good.stdout.split()[:3] == ["OK", "8", "transfers,"]
    assert head[0] == "8" and head[1] in good.stdout

    engine = make_engine(settings.database_url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP TRIGGER ledger_transfers_refuse_change ON ledger_transfers"))
        else:
            connection.execute(text("DROP TRIGGER ledger_transfers_refuse_update"))
        connection.execute(
            text("UPDATE ledger_transfers SET amount = amount + 100 WHERE idempotency_key = 'c3'")
        )
        tampered = connection.execute(
            text("SELECT id FROM ledger_transfers WHERE idempotency_key = 'c3'")
        ).scalar()
    engine.dispose()
    broken = cli(settings, "ledger", "verify")
    assert broken.returncode == 1
    assert "BROKEN" in broken.stderr
    assert f"transfer {tampered}" in broken.stderr


def test_cli_commands_refuse_what_they_cannot_do(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    unmigrated = make_settings(f"sqlite:///{tmp_path / 'empty.db'}")
    result = cli(unmigrated, "ledger", "verify")
    assert result.returncode != 0
    assert "db upgrade" in result.stderr
    result = cli(unmigrated, "ledger", "frobnicate")
    assert result.returncode != 0
    assert "No such command" in result.stderr
    result = cli(unmigrated, "serve", "--port", "0")
    assert result.returncode != 0


def test_upgrade_and_seed_demo_are_idempotent(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(fresh_database())
    app = create_app(settings)
    runner = app.test_cli_runner()
    for new in (14, 0):
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
        seeded = runner.invoke(args=["seed-demo"])
        assert seeded.exit_code == 0, seeded.output
        # 14 pickups, each crediting a household and paying its collector's commission
        assert f"demo data ready: {new} new demo pickups; ledger head 28 " in seeded.output
        assert "dashboard (/dashboard): admin@demo.kolekt, operator@demo.kolekt" in seeded.output
        assert (
            f"collector app (/app): phone {COLLECTORS[0][0]}, {COLLECTORS[1][0]}; PIN {DEMO_PIN}"
            in seeded.output
        )
    with app.app_context():
        session = app.extensions["kolekt.runtime"].sessions()
        # the collector app's demo: each collector signs in with the printed PIN
        for phone, _name, _zone in COLLECTORS:
            assert tokens.collector_signing_in(session, phone, DEMO_PIN) is not None
        # the dashboard's demo: four users (signed in with the printed password) and one dispute
        assert len(users.users(session)) == 4
        assert users.sign_in(session, "checker@demo.kolekt", DEMO_PASSWORD, datetime.now(UTC)) is not None
        assert len(open_disputes(session)) == 1
        session.close()
    assert runner.invoke(args=["ledger", "verify"]).output.startswith("OK 28 transfers")
    # the demo households are real members: the simulator's phone has their points
    simulated = runner.invoke(args=["sms", "simulate", "--from", HOUSEHOLDS[0][0], "BAL"])
    assert simulated.exit_code == 0, simulated.output
    assert "< Kolekt: 210 pts (NGN 210). Last: +36, " in simulated.output
    app.extensions["kolekt.runtime"].close()


@pytest.fixture
def client(
    fresh_database: Callable[[], str], make_settings: Callable[..., Settings]
) -> Iterator[FlaskClient]:
    settings = make_settings(fresh_database(), programme_name="Wecyclers Lagos")
    post_credits(settings.database_url, 3, seal=True)
    app = create_app(settings)
    yield app.test_client()
    app.extensions["kolekt.runtime"].close()


def test_home_page_publishes_the_head(client: FlaskClient) -> None:
    head = client.get("/ledger/head").get_json()
    assert head["count"] == 3 and len(head["hash"]) == 64 and head["pending"] == 0
    page = client.get("/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Wecyclers Lagos" in body and head["hash"] in body
    # Shown in the programme's time zone (Africa/Lagos is WAT).
    assert "WAT" in body


def test_health_and_json_errors(client: FlaskClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "ok", "database": "ok", "redis": "ok", "late_jobs": []}
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong_method = client.post("/ledger/head")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"]["code"] == "method_not_allowed"
