"""The hub decides held pickups from a terminal, as an operator runs it: ``flask --app wsgi holds
list|approve|reject`` in a process of its own. A refusal exits non-zero with a one-line reason
and leaves every table as it was."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

import ledger
from service.accounts import open_programme_accounts
from service.db import make_session_factory, transaction
from service.models import audit_log_t, collectors_t
from service.settings import Settings
from service.usecases.catalogue import set_rate
from service.usecases.households import register_household
from service.usecases.phones import ensure_phone
from service.usecases.pickups import log_pickup
from service.usecases.roles import add_collector
from service.usecases.screening import Screening
from service.usecases.zones import add_zone
from sms.commands import Line
from tests.conftest import run_cli
from tests.e2e.conftest import columns, ok, snapshot

LAGOS = ZoneInfo("Africa/Lagos")


def two_held(engine: Engine) -> tuple[list[str], str]:
    """Tunde lives at Ada's address: his two pickups there are held. Their references, Ada's code."""
    now = datetime.now(UTC)
    with transaction(make_session_factory(engine)) as session:
        open_programme_accounts(session)
        zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", now)
        tunde = add_collector(session, "+2348030000001", "Tunde", zone.id, now)
        session.execute(collectors_t.update().values(home_address="12 Adeniyi Street"))
        ensure_phone(session, "+2348031234567", now)
        ada = register_household(
            session, "+2348031234567", "Ada", "12 Adeniyi St", "sms", now, zone_id=zone.id
        )
        set_rate(session, "PET", 10, 2, datetime(2026, 1, 1, tzinfo=UTC), "test", now)
        references = [
            log_pickup(
                session, collector=tunde, household=ada, lines=(Line("PET", grams),), occurred_at=now,
                received_at=now, channel="app", dedupe_key=f"test:{uuid.uuid4().hex}",
                screening=Screening(LAGOS, 7),
            ).reference
            for grams in (3000, 4500)
        ]  # fmt: skip
    return references, ada.member_code


def balance(engine: Engine, account: str) -> int:
    with transaction(make_session_factory(engine)) as session:
        return ledger.balance(session, account).credit_balance


def test_the_hub_lists_approves_and_rejects_holds(settings: Settings, engine: Engine) -> None:
    assert ok(settings, "holds", "list") == ["no pickup is held"]
    (first, second), code = two_held(engine)
    listed = columns(ok(settings, "holds", "list"))
    assert listed[0] == ["ref", "when", "member", "collector", "kg", "pts", "released on", "signals"]
    assert [row[0] for row in listed[1:]] == [first, second]
    assert listed[1][2:6] == [code, "Tunde", "3", "30"]
    assert listed[1][-1] == "own: the household's address is the collector's own"

    assert ok(settings, "holds", "approve", first.lower()) == [
        f"pickup {first} approved: 30 pts to the household (texted)"
    ]
    assert balance(engine, f"member:{code}") == 30
    assert ok(settings, "holds", "reject", second, "--reason", "the hub weighed 2 kg") == [
        f"pickup {second} rejected: 45 pts went back (household and collector texted)"
    ]
    assert balance(engine, f"member:{code}") == 30
    assert ok(settings, "holds", "list") == ["no pickup is held"]
    decided = columns(ok(settings, "holds", "list", "--decided"))
    assert [(row[0], row[5]) for row in decided[1:]] == [(second, "rejected"), (first, "approved")]
    assert decided[1][-1] == "the hub weighed 2 kg"
    with transaction(make_session_factory(engine)) as session:
        actions = session.execute(select(audit_log_t.c.action).order_by(audit_log_t.c.id)).scalars().all()
    assert [a for a in actions if a.startswith("cli.holds")] == ["cli.holds.approve", "cli.holds.reject"]


def test_a_refused_decision_says_why_and_changes_nothing(settings: Settings, engine: Engine) -> None:
    (first, _), _ = two_held(engine)
    ok(settings, "holds", "approve", first)
    before = snapshot(engine)
    for arguments, why in (
        (("holds", "approve", first), f"the hold on {first} was approved already"),
        (("holds", "reject", first, "--reason", "late"), f"the hold on {first} was approved already"),
        (("holds", "approve", "ZZZZ"), "no hold on pickup ZZZZ"),
    ):
        result = run_cli(settings, *arguments)
        assert (result.returncode, result.stdout) == (1, ""), arguments
        assert result.stderr.strip() == f"Error: {why}", arguments
    result = run_cli(settings, "holds", "reject", first, "--reason", "  ")
    assert result.returncode == 1 and "a rejection needs a reason" in result.stderr
    assert snapshot(engine) == before
