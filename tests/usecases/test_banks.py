"""The bank list and forgiving bank matching: the cache follows Paystack's list (added, changed,
retired, never deleted) in a few statements; ``match`` finds the bank a household means by a
code, a short name, the name, its start or one typo, offers choices rather than guessing, and
never looks at a retired bank; ``display`` names every bank in 16 GSM-7 characters.

``tests/data/paystack_banks_ng.json`` is Paystack's ``GET /bank?country=nigeria`` answer for 70
banks (commercial, merchant, microfinance, mortgage, payment-service and mobile-money), with the
ids, names, slugs and codes Paystack publishes; OPay under its current name ("OPay Digital
Services Limited (OPay)", slug ``paycom``, first listed as "Paycom"). Timestamps and logos are
left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.orm import Session

import sms
from service.models import banks_t
from service.providers.payouts import Bank, ConsolePayouts
from service.usecases import banks
from service.usecases.banks import Match, Refreshed

NOW = datetime(2026, 12, 3, 5, 0, tzinfo=UTC)
LIST = Path(__file__).resolve().parents[1] / "data" / "paystack_banks_ng.json"


def paystack_list() -> list[Bank]:
    data: list[dict[str, Any]] = json.loads(LIST.read_text())["data"]
    return [
        Bank(
            row["code"], row["name"], row["slug"], row["type"], row["currency"], row["country"], row["active"]
        )
        for row in data
    ]


NIGERIA = paystack_list()


@pytest.fixture
def cached(session: Session) -> Session:
    """The session with Nigeria's list cached at NOW."""
    assert banks.refresh(session, NIGERIA, "nigeria", NOW) == Refreshed(len(NIGERIA), 0, 0)
    return session


def without(*codes: str) -> list[Bank]:
    return [bank for bank in NIGERIA if bank.code not in codes]


def renamed(code: str, **changes: Any) -> list[Bank]:
    return [replace(bank, **changes) if bank.code == code else bank for bank in NIGERIA]


def rows(session: Session, country: str = "nigeria") -> dict[str, Any]:
    return {
        row.code: row
        for row in session.execute(select(banks_t).where(banks_t.c.country == country)).mappings()
    }


def code_of(found: Match) -> str | None:
    return None if found.bank is None else found.bank.code


# --- the fixture itself ----------------------------------------------------------------------------


def test_the_list_is_a_realistic_paystack_list() -> None:
    data = json.loads(LIST.read_text())["data"]
    assert {row["country"] for row in data} == {"Nigeria"}
    codes = [bank.code for bank in NIGERIA]
    assert len(NIGERIA) >= 40 and len(set(codes)) == len(codes)
    assert {bank.currency for bank in NIGERIA} == {"NGN"} and {bank.type for bank in NIGERIA} == {"nuban"}
    names = {bank.code: bank.name for bank in NIGERIA}
    assert names["058"] == "Guaranty Trust Bank" and names["011"] == "First Bank of Nigeria"
    assert names["999992"].startswith("OPay") and names["999991"] == "PalmPay"
    assert names["50515"] == "Moniepoint MFB" and names["120003"] == "MTN Momo PSB"
    assert sum("Microfinance" in name or "MFB" in name for name in names.values()) >= 10


# --- refresh and stale -----------------------------------------------------------------------------


def test_refresh_adds_every_listed_bank(session: Session) -> None:
    assert banks.stale(session, "nigeria", NOW)
    assert banks.refresh(session, NIGERIA, "nigeria", NOW) == Refreshed(len(NIGERIA), 0, 0)
    stored = rows(session)
    assert set(stored) == {bank.code for bank in NIGERIA}
    gtb = stored["058"]
    assert (gtb["name"], gtb["slug"], gtb["kind"], gtb["currency"], gtb["active"]) == (
        "Guaranty Trust Bank",
        "guaranty-trust-bank",
        "nuban",
        "NGN",
        True,
    )
    assert {row["refreshed_at"] for row in stored.values()} == {NOW}
    assert not banks.stale(session, "nigeria", NOW)


def test_refresh_again_changes_nothing_but_the_time(cached: Session) -> None:
    before = rows(cached)
    later = NOW + timedelta(days=1)
    assert banks.refresh(cached, NIGERIA, "nigeria", later) == Refreshed(0, 0, 0)
    after = rows(cached)
    assert {code: row["id"] for code, row in after.items()} == {
        code: row["id"] for code, row in before.items()
    }
    assert {row["refreshed_at"] for row in after.values()} == {later}
    assert banks.refresh(cached, NIGERIA, "nigeria", later) == Refreshed(0, 0, 0)


def test_refresh_changes_a_renamed_bank_in_place(cached: Session) -> None:
    before = rows(cached)["999992"]
    assert banks.refresh(cached, renamed("999992", name="Paycom"), "nigeria", NOW) == Refreshed(0, 1, 0)
    after = rows(cached)["999992"]
    assert (after["id"], after["name"], after["slug"]) == (before["id"], "Paycom", "paycom")


def test_refresh_retires_a_bank_no_longer_listed_and_keeps_it(cached: Session) -> None:
    later = NOW + timedelta(days=1)
    assert banks.refresh(cached, without("030", "063"), "nigeria", later) == Refreshed(0, 0, 2)
    stored = rows(cached)
    assert len(stored) == len(NIGERIA)  # never deleted: accounts name them
    assert not stored["030"]["active"] and not stored["063"]["active"]
    assert stored["030"]["refreshed_at"] == NOW  # last seen listed
    assert stored["058"]["active"] and stored["058"]["refreshed_at"] == later
    # retired once, not again
    assert banks.refresh(cached, without("030", "063"), "nigeria", later) == Refreshed(0, 0, 0)
    # listed again: back, in the same row
    assert banks.refresh(cached, NIGERIA, "nigeria", later) == Refreshed(0, 2, 0)
    assert rows(cached)["030"]["active"] and rows(cached)["030"]["id"] == stored["030"]["id"]


def test_a_bank_paystack_lists_as_inactive_is_kept_inactive(cached: Session) -> None:
    assert banks.refresh(cached, renamed("030", active=False), "nigeria", NOW) == Refreshed(0, 1, 0)
    assert not rows(cached)["030"]["active"]
    assert banks.match(cached, "HERITAGE") == Match()


def test_an_empty_list_changes_nothing(cached: Session) -> None:
    later = NOW + timedelta(days=2)
    assert banks.refresh(cached, [], "nigeria", later) == Refreshed(0, 0, 0)
    assert all(row["active"] and row["refreshed_at"] == NOW for row in rows(cached).values())
    assert banks.stale(cached, "nigeria", later)


def test_countries_are_kept_apart(cached: Session) -> None:
    ghana = [
        Bank("MTN", "MTN", "mtn", "mobile_money", "GHS", "ghana", True),
        Bank("VOD", "Telecel Cash", "vodafone", "mobile_money", "GHS", "ghana", True),
        Bank("280100", "Access Bank", "access-bank-ghana", "ghipss", "GHS", "ghana", True),
        Bank("123100", "Zenith Bank Ghana", "zenith-bank-ghana", "ghipss", "GHS", "ghana", True),
    ]
    assert banks.refresh(cached, ghana, "ghana", NOW) == Refreshed(4, 0, 0)
    assert len(rows(cached)) == len(NIGERIA)  # Nigeria's untouched
    assert rows(cached, "ghana")["MTN"]["kind"] == "mobile_money"
    assert code_of(banks.match(cached, "ACCESS", "ghana")) == "280100"
    assert code_of(banks.match(cached, "ACCESS")) == "044"
    assert banks.match(cached, "VOD") == Match()  # not a Nigerian code
    assert code_of(banks.match(cached, "mtn", "ghana")) == "MTN"
    assert code_of(banks.match(cached, "mtn")) == "120003"  # MTN MoMo PSB
    # Nigeria's short names are Nigeria's: ZENITH in Ghana is the start of a Ghanaian name
    assert banks.match(cached, "ZENITH", "ghana").rule == "prefix"
    assert code_of(banks.match(cached, "ZENITH", "ghana")) == "123100"
    assert banks.match(cached, "GTB", "ghana") == Match()


@pytest.fixture
def statements(session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = session.get_bind()

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_refresh_takes_a_few_statements_not_one_a_bank(session: Session, statements: list[str]) -> None:
    banks.refresh(session, NIGERIA[:30], "nigeria", NOW)
    statements.clear()
    # 40 new, 30 renamed, 5 of the old ones no longer listed
    changed = [replace(bank, name=bank.name + " Plc") for bank in NIGERIA[5:30]] + NIGERIA[30:]
    assert banks.refresh(session, changed, "nigeria", NOW) == Refreshed(40, 25, 5)
    assert len(statements) <= 5, statements


def test_stale_after_a_day(cached: Session) -> None:
    assert not banks.stale(cached, "nigeria", NOW + timedelta(hours=23, minutes=59))
    assert banks.stale(cached, "nigeria", NOW + timedelta(days=1))
    assert not banks.stale(cached, "nigeria", NOW + timedelta(days=2), max_age=timedelta(days=3))
    assert banks.stale(cached, "ghana", NOW)  # nothing cached for Ghana


def test_listed_and_by_code_see_active_banks_only(cached: Session) -> None:
    banks.refresh(cached, without("030"), "nigeria", NOW)
    shown = banks.listed(cached)
    assert len(shown) == len(NIGERIA) - 1 and "030" not in {bank.code for bank in shown}
    assert [bank.name for bank in shown] == sorted(bank.name for bank in shown)
    assert banks.by_code(cached, "058") == banks.Found("058", "Guaranty Trust Bank", "GTBank")
    assert banks.by_code(cached, "030") is None
    assert banks.by_code(cached, "999") is None


def test_the_console_list_matches_what_people_text(session: Session) -> None:
    """The simulator's banks: each found by its short name and displayed in a text's room."""
    console = ConsolePayouts().banks()
    assert banks.refresh(session, console, "nigeria", NOW) == Refreshed(len(console), 0, 0)
    for typed, code in [("GTB", "058"), ("OPAY", "999992"), ("first", "011"), ("moniepoint", "50515")]:
        assert code_of(banks.match(session, typed)) == code
    for bank in console:
        assert code_of(banks.match(session, bank.name)) == bank.code
        assert fits(banks.display(bank.name))


# --- match -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("058", "058"),
        (" 057 ", "057"),
        ("035a", "035A"),  # ALAT's code, not Wema's
        ("fc40163", "FC40163"),
        ("50515", "50515"),
    ],
)
def test_a_code_typed_exactly(cached: Session, typed: str, code: str) -> None:
    assert banks.match(cached, typed) == Match(bank=banks.by_code(cached, code), rule="code")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("GTB", "058"),
        ("gtbank", "058"),
        ("G.T.Bank", "058"),
        ("GT", "058"),
        ("Guaranty", "058"),
        ("GTCO", "058"),
        ("UBA", "033"),
        ("First", "011"),
        ("FIRSTBANK", "011"),
        ("first bank", "011"),
        ("FBN", "011"),
        ("zenith bank plc", "057"),
        ("ZenithBank", "057"),
        ("Access", "044"),
        ("ACCESS BANK", "044"),
        ("Diamond", "063"),
        ("opay", "999992"),
        ("PalmPay", "999991"),
        ("Palm Pay", "999991"),
        ("MONIEPOINT", "50515"),
        ("Monie", "50515"),
        ("moniepoint mfb", "50515"),
        ("Kuda", "50211"),
        ("Fidelity", "070"),
        ("FCMB", "214"),
        ("Sterling", "232"),
        ("Union", "032"),
        ("Wema", "035"),
        ("ALAT", "035A"),
        ("Stanbic", "221"),
        ("IBTC", "221"),
        ("EcoBank", "050"),
        ("Polaris", "076"),
        ("Skye", "076"),  # Polaris' old name
        ("Keystone", "082"),
        ("Providus", "101"),
        ("Jaiz", "301"),
        ("CARBON", "565"),
        ("VFD", "566"),
        ("momo", "120003"),
        ("MTN MoMo PSB", "120003"),
        ("9PSB", "120001"),
        ("Hope PSB", "120002"),
        ("ReadyCash", "311"),
    ],
)
def test_short_names_people_text(cached: Session, typed: str, code: str) -> None:
    found = banks.match(cached, typed)
    assert (code_of(found), found.rule) == (code, "short")


def test_a_renamed_bank_still_resolves_by_its_short_name(cached: Session) -> None:
    """The table names banks, not codes: OPay listed under its old name, or under a new code,
    is still OPAY."""
    banks.refresh(cached, renamed("999992", name="Paycom"), "nigeria", NOW)
    assert code_of(banks.match(cached, "OPAY")) == "999992"
    assert banks.match(cached, "OPAY").bank == banks.Found("999992", "Paycom", "OPay")
    moved = [replace(bank, code="100004") if bank.code == "999992" else bank for bank in NIGERIA]
    banks.refresh(cached, moved, "nigeria", NOW)
    assert code_of(banks.match(cached, "opay")) == "100004"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("Coronation Merchant Bank", "559"),
        ("coronation merchant", "559"),
        ("Lagos Building Investment Company Plc", "90052"),
        ("Sparkle Microfinance Bank", "51310"),
        ("SPARKLE", "51310"),
        ("sparkle mfb", "51310"),
        ("Guaranty Trust Bank Plc", "058"),
        ("guaranty-trust-bank", "058"),
        ("First City Monument Bank", "214"),
        ("United Bank for Africa", "033"),
        ("Access Bank (Diamond)", "063"),
        ("ASO Savings & Loans", "401"),
        ("asosavings", "401"),  # the slug
        ("lbic", "90052"),  # the slug, "-plc" ignored
        ("Zénith", "057"),
    ],
)
def test_the_name_or_slug_with_filler_ignored(cached: Session, typed: str, code: str) -> None:
    assert code_of(banks.match(cached, typed)) == code


def test_the_name_rule_is_the_one_that_finds_names(cached: Session) -> None:
    assert banks.match(cached, "Coronation Merchant Bank").rule == "name"
    assert banks.match(cached, "asosavings").rule == "name"


@pytest.mark.parametrize(
    ("typed", "code"),
    [("ZENIT", "057"), ("provid", "101"), ("CORONA", "559"), ("ACCES", "044"), ("DIAMON", "063")],
)
def test_the_start_of_a_name(cached: Session, typed: str, code: str) -> None:
    found = banks.match(cached, typed)
    assert (code_of(found), found.rule) == (code, "prefix")


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("GTBNK", "058"),
        ("ACESS", "044"),  # Access, never Access (Diamond)
        ("ZENTIH", "057"),
        ("Sterlng", "232"),
        ("FIDELTY", "070"),
        ("Monipoint", "50515"),
        ("PALMPAI", "999991"),
    ],
)
def test_one_typo(cached: Session, typed: str, code: str) -> None:
    found = banks.match(cached, typed)
    assert (code_of(found), found.rule) == (code, "typo")


def test_words_that_fit_several_banks_give_choices_never_a_guess(cached: Session) -> None:
    first = banks.match(cached, "FIRS")
    assert first.bank is None and first.rule == "prefix"
    assert {choice.code for choice in first.choices} == {"011", "214"}

    haven = banks.match(cached, "Safe Haven")
    assert haven.bank is None and {choice.code for choice in haven.choices} == {"51113", "951113"}

    many = banks.match(cached, "UNI")  # Union, United, Unity, Unical, Unilag ...
    assert many.bank is None and len(many.choices) == 3
    assert {choice.display for choice in many.choices} == {"Union Bank", "UBA", "Unity"}


def test_first_is_first_bank(cached: Session) -> None:
    """FIRST is what people call First Bank; First City Monument Bank is FCMB."""
    assert code_of(banks.match(cached, "FIRST")) == "011"
    assert code_of(banks.match(cached, "first city")) == "214"


@pytest.mark.parametrize("typed", ["", "   ", "BANK", "bank plc", "XYZ", "Barclays", "12345", "..", "GTBXYZ"])
def test_unknown(cached: Session, typed: str) -> None:
    assert banks.match(cached, typed) == Match()


def test_retired_banks_are_never_matched(cached: Session) -> None:
    banks.refresh(cached, without("030", "063", "50515", "011"), "nigeria", NOW)
    for typed in ("HERITAGE", "Heritage Bank", "030", "HERITAG", "HERITAGEE", "DIAMOND", "063", "MONIEPOINT"):
        assert banks.match(cached, typed) == Match(), typed
    # a bank people know by a short name, gone from the list, is not swapped for a neighbour
    assert banks.match(cached, "FIRST") == Match()
    assert code_of(banks.match(cached, "ACCESS")) == "044"
    assert code_of(banks.match(cached, "FCMB")) == "214"


def test_nothing_cached_matches_nothing(session: Session) -> None:
    assert banks.match(session, "GTB") == Match()
    assert banks.match(session, "058") == Match()


def test_a_match_carries_the_display_name(cached: Session) -> None:
    assert banks.match(cached, "gtb").bank == banks.Found("058", "Guaranty Trust Bank", "GTBank")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200) | st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-&", max_size=30))
def test_match_never_raises(cached: Session, typed: str) -> None:
    found = banks.match(cached, typed)
    assert found.bank is None or not found.choices
    assert len(found.choices) <= banks.MAX_CHOICES


# --- display ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("Guaranty Trust Bank", "GTBank"),
        ("First Bank of Nigeria", "First Bank"),
        ("United Bank For Africa", "UBA"),
        ("Zenith Bank", "Zenith"),
        ("Access Bank", "Access"),
        ("Access Bank (Diamond)", "Access (Diamond)"),
        ("OPay Digital Services Limited (OPay)", "OPay"),
        ("Paycom", "OPay"),
        ("Moniepoint MFB", "Moniepoint"),
        ("First City Monument Bank", "FCMB"),
        ("Sparkle Microfinance Bank", "Sparkle MFB"),
        ("Lagos Building Investment Company Plc.", "Lagos Building"),
        ("Petra Mircofinance Bank Plc", "Petra MFB"),
        ("Kredi Money MFB LTD", "Kredi Money MFB"),
        ("Branch International Financial Services Limited", "Branch"),
        ("Titan Paystack", "Titan Paystack"),
        ("Bank of Ọ̀yọ́ Microfinance", "Oyo MFB"),
        ("Supercalifragilisticexpialidocious Bank", "Supercalifragili"),
        ("Bank", "Bank"),
        ("", "Bank"),
    ],
)
def test_display(name: str, short: str) -> None:
    assert banks.display(name) == short


def fits(text: str) -> bool:
    return bool(text) and sms.is_gsm7(text) and sms.segments(text).units <= banks.DISPLAY_MAX


def test_every_listed_bank_displays_in_16_gsm7_characters() -> None:
    shown = {bank.name: banks.display(bank.name) for bank in NIGERIA}
    assert [name for name, short in shown.items() if not fits(short)] == []


def test_every_short_name_fits_and_no_word_is_listed_twice() -> None:
    words = [word for short in banks.SHORT_NAMES for word in short.words]
    assert len(words) == len(set(words))
    assert [short.display for short in banks.SHORT_NAMES if not fits(short.display)] == []


@given(st.text(max_size=120))
def test_display_always_fits(name: str) -> None:
    assert fits(banks.display(name))
