"""service/tokens.py on a real database: PIN rules and argon2id hashes, a new PIN ending every app
sign-in, sign-in that never says why, #seq blocks per collector, expiry and revocation, and the
holders who may no longer act (suspended collectors, disabled users, a changed password)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.models import api_tokens_t, collectors_t, users_t
from service.usecases import tokens, users
from service.usecases.roles import Collector, add_collector, set_collector_status
from service.usecases.zones import add_zone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TUNDE = "+2348030000001"
KEMI = "+2348030000002"
PASSWORD = "correct horse battery"


@pytest.fixture
def tunde(session: Session) -> Collector:
    zone = add_zone(session, "Yaba", "tue,fri", "08:00-12:00", NOW)
    add_collector(session, KEMI, "Kemi Ade", zone.id, NOW)
    return add_collector(session, TUNDE, "Tunde Bakare", zone.id, NOW)


@pytest.fixture
def kemi(session: Session, tunde: Collector) -> int:
    return int(session.execute(select(collectors_t.c.id).where(collectors_t.c.phone == KEMI)).scalar_one())


def stored_pin_hash(session: Session, collector_id: int) -> str | None:
    stored: str | None = session.execute(
        select(collectors_t.c.pin_hash).where(collectors_t.c.id == collector_id)
    ).scalar_one()
    return stored


def token_row(session: Session, token_id: int) -> object:
    return session.execute(select(api_tokens_t).where(api_tokens_t.c.id == token_id)).one()


# --- PINs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "kept"), [("4821", "4821"), ("482190", "482190"), (" 1357 ", "1357")])
def test_a_pin_of_4_to_6_digits_not_easily_guessed_is_taken(typed: str, kept: str) -> None:
    assert tokens.check_pin(typed) == kept


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("482", "4 to 6 digits"),
        ("4821901", "4 to 6 digits"),
        ("", "4 to 6 digits"),
        ("48a1", "4 to 6 digits"),
        ("\u0664\u0668\u0662\u0661", "4 to 6 digits"),  # digits, but not ASCII ones
        ("1234", "too easy"),
        ("4321", "too easy"),
        ("987654", "too easy"),
        ("1111", "too easy"),
        ("000000", "too easy"),
        ("7890", "too easy"),  # a run round the keypad
        ("0987", "too easy"),
        ("1212", "too easy"),  # a shorter PIN repeated
        ("123123", "too easy"),
    ],
)
def test_a_pin_that_is_too_short_long_or_easy_is_refused(pin: str, message: str) -> None:
    with pytest.raises(tokens.PinError, match=message):
        tokens.check_pin(pin)


def test_a_pin_is_kept_as_an_argon2id_hash(session: Session, tunde: Collector) -> None:
    assert tokens.set_pin(session, tunde.id, "4821", NOW, by="test") == 0
    row = session.execute(
        select(collectors_t.c.pin_hash, collectors_t.c.pin_set_at).where(collectors_t.c.id == tunde.id)
    ).one()
    assert row.pin_hash.startswith("$argon2id$") and "4821" not in row.pin_hash
    assert PasswordHasher().verify(row.pin_hash, "4821")
    assert row.pin_set_at == NOW


def test_a_refused_pin_changes_nothing(session: Session, tunde: Collector) -> None:
    tokens.set_pin(session, tunde.id, "4821", NOW, by="test")
    before = stored_pin_hash(session, tunde.id)
    issued = tokens.issue_token(session, NOW, collector_id=tunde.id)
    with pytest.raises(tokens.PinError):
        tokens.set_pin(session, tunde.id, "1111", NOW + timedelta(hours=1), by="test")
    assert stored_pin_hash(session, tunde.id) == before
    assert tokens.authenticate(session, issued.token, NOW) is not None


def test_a_new_pin_ends_every_app_sign_in_of_that_collector_only(
    session: Session, tunde: Collector, kemi: int
) -> None:
    first = tokens.issue_token(session, NOW, collector_id=tunde.id, label="old phone")
    second = tokens.issue_token(session, NOW, collector_id=tunde.id, label="new phone")
    other = tokens.issue_token(session, NOW, collector_id=kemi)
    later = NOW + timedelta(hours=1)
    assert tokens.set_pin(session, tunde.id, "4821", later, by="collector:1") == 2
    for issued in (first, second):
        row = token_row(session, issued.holder.token_id)
        assert (row.revoked_at, row.revoked_by) == (later, "collector:1")  # type: ignore[attr-defined]
        assert tokens.authenticate(session, issued.token, later) is None
    assert tokens.authenticate(session, other.token, later) is not None
    # Ended tokens are not counted twice.
    assert tokens.set_pin(session, tunde.id, "5820", later, by="test") == 0


def test_revoking_a_collectors_tokens_keeps_the_pin(session: Session, tunde: Collector) -> None:
    tokens.set_pin(session, tunde.id, "4821", NOW, by="test")
    issued = tokens.issue_token(session, NOW, collector_id=tunde.id)
    assert tokens.revoke_collector_tokens(session, tunde.id, NOW, by="hub") == 1
    assert tokens.authenticate(session, issued.token, NOW) is None
    assert tokens.collector_signing_in(session, TUNDE, "4821") == tunde.id


# --- signing in ------------------------------------------------------------------------------------


def test_a_collector_signs_in_with_phone_and_pin(session: Session, tunde: Collector, kemi: int) -> None:
    tokens.set_pin(session, tunde.id, "4821", NOW, by="test")
    assert tokens.collector_signing_in(session, TUNDE, "4821") == tunde.id
    assert tokens.collector_signing_in(session, TUNDE, " 4821 ") == tunde.id  # as check_pin kept it
    assert tokens.collector_signing_in(session, TUNDE, "4822") is None
    assert tokens.collector_signing_in(session, TUNDE, "") is None
    assert tokens.collector_signing_in(session, "+2348099990000", "4821") is None  # nobody's phone
    assert tokens.collector_signing_in(session, KEMI, "4821") is None  # Kemi has no PIN yet


def test_a_suspended_collector_cannot_sign_in(session: Session, tunde: Collector) -> None:
    tokens.set_pin(session, tunde.id, "4821", NOW, by="test")
    set_collector_status(session, TUNDE, "suspended")
    assert tokens.collector_signing_in(session, TUNDE, "4821") is None
    set_collector_status(session, TUNDE, "active")
    assert tokens.collector_signing_in(session, TUNDE, "4821") == tunde.id


def test_a_weak_pin_hash_is_replaced_at_sign_in(session: Session, tunde: Collector) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("4821")
    session.execute(update(collectors_t).where(collectors_t.c.id == tunde.id).values(pin_hash=weak))
    assert tokens.collector_signing_in(session, TUNDE, "4821") == tunde.id
    stored = stored_pin_hash(session, tunde.id)
    assert stored is not None and stored != weak and not PasswordHasher().check_needs_rehash(stored)


# --- tokens --------------------------------------------------------------------------------------------


def test_only_the_tokens_hash_is_stored(session: Session, tunde: Collector) -> None:
    issued = tokens.issue_token(session, NOW, collector_id=tunde.id, label="  Tunde's   phone ")
    assert issued.token.startswith(tokens.TOKEN_PREFIX) and len(issued.token) > 40
    row = token_row(session, issued.holder.token_id)
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()  # type: ignore[attr-defined]
    assert issued.token not in repr(row)
    assert row.label == "Tunde's phone"  # type: ignore[attr-defined]
    assert issued.holder == tokens.Holder(
        issued.holder.token_id,
        "collector",
        "collector",
        tunde.id,
        None,
        "Tunde Bakare",
        tunde.zone_id,
        tokens.SEQ_BLOCK,
        NOW + timedelta(days=tokens.COLLECTOR_TOKEN_DAYS),
    )


def test_each_collector_token_gets_its_own_block_of_seq_numbers(
    session: Session, tunde: Collector, kemi: int
) -> None:
    def base(collector_id: int) -> int | None:
        return tokens.issue_token(session, NOW, collector_id=collector_id).holder.seq_base

    assert [base(tunde.id), base(tunde.id), base(tunde.id)] == [100_000, 200_000, 300_000]
    assert [base(kemi), base(kemi)] == [100_000, 200_000]  # each collector's blocks are their own
    revoked = tokens.issue_token(session, NOW, collector_id=tunde.id)
    tokens.revoke(session, revoked.holder.token_id, NOW, by="test")
    assert base(tunde.id) == 500_000  # a revoked token's block is not handed out again


def test_the_seq_blocks_start_again_from_the_first_after_the_last(session: Session, tunde: Collector) -> None:
    last = tokens.issue_token(session, NOW, collector_id=tunde.id)
    session.execute(
        update(api_tokens_t)
        .where(api_tokens_t.c.id == last.holder.token_id)
        .values(seq_base=tokens.MAX_SEQ_BASE)
    )
    following = [tokens.issue_token(session, NOW, collector_id=tunde.id).holder.seq_base for _ in range(2)]
    assert following == [tokens.SEQ_BLOCK, 2 * tokens.SEQ_BLOCK]


def test_a_user_token_carries_the_users_role_and_no_seq(session: Session) -> None:
    ada = users.add_user(session, "ada@hub.example", PASSWORD, "auditor", NOW)
    issued = tokens.issue_token(session, NOW, user_id=ada.id, label="reports", days=7)
    assert issued.holder == tokens.Holder(
        issued.holder.token_id,
        "user",
        "auditor",
        None,
        ada.id,
        "ada@hub.example",
        None,
        None,
        NOW + timedelta(days=7),
    )


@pytest.mark.parametrize(
    ("holders", "days"),
    [("both", None), ("neither", None), ("user", 0), ("user", -1), ("user", tokens.MAX_TOKEN_DAYS + 1)],
)
def test_a_token_belongs_to_one_holder_for_1_to_366_days(
    session: Session, tunde: Collector, holders: str, days: int | None
) -> None:
    ada = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    chosen = {
        "both": {"collector_id": tunde.id, "user_id": ada.id},
        "neither": {},
        "user": {"user_id": ada.id},
    }[holders]
    with pytest.raises(tokens.TokenError):
        tokens.issue_token(session, NOW, days=days, **chosen)  # type: ignore[arg-type]


def test_a_token_ends_when_it_expires(session: Session, tunde: Collector) -> None:
    issued = tokens.issue_token(session, NOW, collector_id=tunde.id, days=1)
    assert issued.holder.expires_at == NOW + timedelta(days=1)
    assert tokens.authenticate(session, issued.token, NOW + timedelta(days=1, seconds=-1)) is not None
    assert tokens.authenticate(session, issued.token, NOW + timedelta(days=1)) is None


def test_a_revoked_token_ends_once(session: Session, tunde: Collector) -> None:
    issued = tokens.issue_token(session, NOW, collector_id=tunde.id)
    presented = tokens.authenticate(session, issued.token, NOW)
    assert presented is not None and presented.holder == issued.holder
    assert tokens.revoke(session, issued.holder.token_id, NOW, by="hub") is True
    assert tokens.revoke(session, issued.holder.token_id, NOW, by="hub") is False
    assert tokens.authenticate(session, issued.token, NOW) is None


@pytest.mark.parametrize("presented", ["", "kt_", "kt_nobody", "not-a-token", "kt_" + "x" * 120])
def test_an_unknown_token_is_refused(session: Session, tunde: Collector, presented: str) -> None:
    tokens.issue_token(session, NOW, collector_id=tunde.id)
    assert tokens.authenticate(session, presented, NOW) is None


def test_a_suspended_collectors_token_is_refused_until_they_are_active_again(
    session: Session, tunde: Collector
) -> None:
    issued = tokens.issue_token(session, NOW, collector_id=tunde.id)
    set_collector_status(session, TUNDE, "suspended")
    assert tokens.authenticate(session, issued.token, NOW) is None
    set_collector_status(session, TUNDE, "active")
    assert tokens.authenticate(session, issued.token, NOW) is not None


def test_a_disabled_users_token_is_refused(session: Session) -> None:
    ada = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    issued = tokens.issue_token(session, NOW, user_id=ada.id)
    # The account alone, not the revocation that disabling also does: either one ends the token.
    session.execute(update(users_t).where(users_t.c.id == ada.id).values(active=False))
    assert tokens.authenticate(session, issued.token, NOW) is None
    with pytest.raises(tokens.TokenError, match="cannot sign in"):
        tokens.issue_token(session, NOW, user_id=ada.id)


# --- users' tokens end with their password or their account ------------------------------------------


def test_a_new_password_ends_the_users_api_tokens_and_no_one_elses(session: Session) -> None:
    ada = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    ben = users.add_user(session, "ben@hub.example", PASSWORD, "operator", NOW)
    adas = [tokens.issue_token(session, NOW, user_id=ada.id) for _ in range(2)]
    bens = tokens.issue_token(session, NOW, user_id=ben.id)
    later = NOW + timedelta(hours=2)
    users.set_password(session, "ada@hub.example", "another long password", now=later, by="cli:root")
    for issued in adas:
        assert tokens.authenticate(session, issued.token, later) is None
        row = token_row(session, issued.holder.token_id)
        assert (row.revoked_at, row.revoked_by) == (later, "cli:root")  # type: ignore[attr-defined]
    assert tokens.authenticate(session, bens.token, later) is not None


def test_disabling_a_user_ends_their_api_tokens_for_good(session: Session) -> None:
    ada = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    issued = tokens.issue_token(session, NOW, user_id=ada.id)
    users.set_active(session, "ada@hub.example", False, now=NOW)
    assert token_row(session, issued.holder.token_id).revoked_at == NOW  # type: ignore[attr-defined]
    users.set_active(session, "ada@hub.example", True, now=NOW)
    assert tokens.authenticate(session, issued.token, NOW) is None  # enabling again does not revive it
    assert (
        tokens.authenticate(session, tokens.issue_token(session, NOW, user_id=ada.id).token, NOW) is not None
    )


def test_revoking_a_users_tokens_counts_only_live_ones(session: Session) -> None:
    ada = users.add_user(session, "ada@hub.example", PASSWORD, "operator", NOW)
    for _ in range(3):
        tokens.issue_token(session, NOW, user_id=ada.id)
    assert tokens.revoke_user_tokens(session, ada.id, NOW, by="test") == 3
    assert tokens.revoke_user_tokens(session, ada.id, NOW, by="test") == 0
