"""sms.parse (sms/grammar.py): every command of docs/sms-protocol.md, read the way people type on
basic phones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import refs
from sms import grammar as parsing
from sms.commands import (
    Balance,
    Check,
    Confirm,
    Dispute,
    Help,
    History,
    Join,
    Language,
    Line,
    Log,
    Member,
    ParseError,
    Pickup,
    Pin,
    Rate,
    Redeem,
    Register,
    Rewards,
    Route,
    Skip,
    Start,
    Stop,
    Today,
    Undo,
    Verify,
)
from sms.grammar import parse
from sms.member_codes import member_code

CODE = member_code(4821)
PHONE = "+2348031234567"


def household(text: str) -> object:
    return parse(text, "household")


def collector(text: str) -> object:
    return parse(text, "collector")


def reason(result: object) -> str:
    assert isinstance(result, ParseError), result
    return result.reason


def test_the_reference_alphabet_is_the_ledgers() -> None:
    assert parsing.REF_ALPHABET == refs.ALPHABET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("JOIN Ada Okafor, 12 Adeniyi St Yaba", Join("Ada Okafor", "12 Adeniyi St Yaba")),
        ("join ada", Join("ada")),
        ("JOIN: Ada   Okafor", Join("Ada Okafor")),
        ("bal", Balance()),
        ("  BAL.  ", Balance()),
        ("Balance", Balance()),
        ("BALANCE please", Balance()),
        ("BLA", Balance()),  # one typo: two neighbours swapped
        ("hist", History()),
        ("pickup 2 bags", Pickup("2 bags")),
        ("PICKUP", Pickup()),
        ("skip", Skip()),
        ("rewards", Rewards()),
        ("REDEEM AIRTIME 200", Redeem("AIRTIME", 200)),
        ("redeem 2", Redeem("2")),
        ("REDEM airtime", Redeem("AIRTIME")),  # one typo: a letter dropped
        ("NO 7F2K wrong weight", Dispute("7F2K", "wrong weight")),
        ("no 7f2k", Dispute("7F2K")),
        ("yes 7f2k", Confirm("7F2K")),
        ("CHECK 7F2K", Check("7F2K")),
        ("check: 7f2k.", Check("7F2K")),
        ("RATE 7F2K 5", Rate("7F2K", 5)),
        ("LANG PCM", Language("PCM")),
        ("lang yoruba", Language("YO")),
        ("help", Help()),
        ("HELP redeem", Help("REDEEM")),
        ("info", Help()),
        ("STOP", Stop("STOP")),
        ("unsubscribe", Stop("UNSUBSCRIBE")),
        ("Cancel", Stop("CANCEL")),
        ("START", Start("START")),
        ("unstop", Start("UNSTOP")),
        ("YES", Start("YES")),
        ("owo", Balance()),  # Yoruba
        ("Wetin", Balance()),  # Pidgin
        ("B\u200bAL", Balance()),  # a zero-width space inside
        ("\u201cbal\u201d \U0001f600", Balance()),  # smart quotes and an emoji
    ],
)
def test_household_commands(text: str, expected: object) -> None:
    assert household(text) == expected


LINES = (Line("PET", 4500), Line("ALU", 1200))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"LOG {CODE} PET 4.5 ALU 1.2 #17", Log(Member(code=CODE), LINES, 17)),
        (f"log {CODE.lower()} pet 4,5 alu 1,2", Log(Member(code=CODE), LINES)),
        (f"LOG {CODE} PET4.5 ALU1.2", Log(Member(code=CODE), LINES)),
        (f"LOG {CODE} 4.5PET 1.2ALU", Log(Member(code=CODE), LINES)),
        (f"LOG {CODE} 4.5kg PET 1.2 kg ALU", Log(Member(code=CODE), LINES)),
        (f"LOG {CODE} bottles 4.5KG cans 1.2kg", Log(Member(code=CODE), LINES)),
        (f"LOG {CODE} pure water 2", Log(Member(code=CODE), (Line("SACHET", 2000),))),
        (f"LOG {CODE} PET 4.5, ALU 1.2; # 17", Log(Member(code=CODE), LINES, 17)),
        (f"LOG {CODE} 4.5GLASS", Log(Member(code=CODE), (Line("GLASS", 4500),))),
        (f"LOG {CODE} PET 500 g", Log(Member(code=CODE), (Line("PET", 500),))),
        (f"LOG {CODE} PET 2 PET 3", Log(Member(code=CODE), (Line("PET", 5000),))),
        ("LOG 0803 123 4567 PET 4.5", Log(Member(phone=PHONE), (Line("PET", 4500),))),
        ("LOG +2348031234567 PET 4.5", Log(Member(phone=PHONE), (Line("PET", 4500),))),
        ("LOG 0803-123-4567 PET 4.5", Log(Member(phone=PHONE), (Line("PET", 4500),))),
        ("LGO 08031234567 pet 4.5", Log(Member(phone=PHONE), (Line("PET", 4500),))),
        ("UNDO 7F2K", Undo("7F2K")),
        ("NEW 08031234567 Ada Okafor", Register(PHONE, "Ada Okafor")),
        ("new 0803 123 4567 Ada Okafor, 3 Oju St", Register(PHONE, "Ada Okafor", "3 Oju St")),
        ("route", Route()),
        ("TODAY", Today()),
        ("bal", Balance()),
    ],
)
def test_collector_commands(text: str, expected: object) -> None:
    assert collector(text) == expected


def _mistyped(code: str) -> str:
    digits = code[1:-1]
    return f"K{digits[1]}{digits[0]}{digits[2:]}{code[-1]}"  # two neighbours swapped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("   \u200b ", "empty"),
        ("hello there", "unknown_command"),
        ("12345", "unknown_command"),
        ("x" * 1601, "too_long"),
        ("JOIN", "missing_name"),
        ("JOIN 12", "missing_name"),
        ("JOIN ,,,", "missing_name"),
        ("NO", "missing_ref"),
        ("CHECK 0O1I", "bad_ref"),
        ("RATE 7F2K 6", "bad_rating"),
        ("RATE 7F2K", "bad_rating"),
        ("LANG FR", "bad_language"),
        ("REDEEM", "missing_item"),
        ("REDEEM AIRTIME lots", "bad_amount"),
        ("LOG K4821X PET 4", "not_for_role"),
    ],
)
def test_household_refusals(text: str, expected: str) -> None:
    assert reason(household(text)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LOG", "missing_member"),
        (f"LOG {_mistyped(CODE)} PET 4", "bad_member_code"),
        (f"LOG {CODE[:-1]}{'A' if CODE[-1] != 'A' else 'B'} PET 4", "bad_member_code"),
        (f"LOG {CODE}", "missing_lines"),
        (f"LOG {CODE} GOLD 4", "unknown_material"),
        (f"LOG {CODE} PET", "unpaired_weight"),
        (f"LOG {CODE} PET 4 5", "unpaired_weight"),
        (f"LOG {CODE} PET 4.5001", "too_many_decimals"),
        (f"LOG {CODE} PET 0", "bad_weight"),
        (f"LOG {CODE} PET 200.001", "weight_too_large"),
        (f"LOG {CODE} PET 150 PET 60", "weight_too_large"),
        ("NEW 0803 Ada", "bad_phone"),
        ("NEW 08031234567", "missing_name"),
        ("UNDO", "missing_ref"),
        ("JOIN Ada", "not_for_role"),
    ],
)
def test_collector_refusals(text: str, expected: str) -> None:
    assert reason(collector(text)) == expected


def test_a_word_one_typo_from_two_commands_is_not_guessed() -> None:
    vocabulary = parsing.Vocabulary(keywords={**parsing.DEFAULT_KEYWORDS, "ZIM": "HIST", "ZIP": "HELP"})
    assert parse("ZIX", "household", vocabulary) == ParseError("unknown_command", {"word": "ZIX"})
    assert parse("ZIM", "household", vocabulary) == History()  # exact beats close
    assert parse("HISX", "household", vocabulary) == History()


def test_a_commands_own_name_is_tried_before_the_other_words() -> None:
    vocabulary = parsing.Vocabulary(keywords={**parsing.DEFAULT_KEYWORDS, "BAM": "HIST"})
    assert parse("BAX", "household", vocabulary) == Balance()  # BAL's own name, before BAM
    # BAN is one typo from two commands' own names, BAL and BANK: not guessed (a collector has no
    # BANK, so theirs is BAL)
    assert parse("BAN", "household", vocabulary) == ParseError("unknown_command", {"word": "BAN"})
    assert parse("BAN", "collector", vocabulary).__class__.__name__ == "Balance"
    assert parse("LGO K0001E PET 2", "collector").__class__.__name__ == "Log"  # LOG before Igbo's EGO


def test_a_programme_can_add_materials_and_change_the_line_limit() -> None:
    vocabulary = parsing.Vocabulary(
        materials={**parsing.DEFAULT_MATERIALS, "TIN": "ALU", "E WASTE": "EWASTE"}, max_grams_per_line=50_000
    )
    assert parse(f"LOG {CODE} tin 2 e waste 1", "collector", vocabulary) == Log(
        Member(code=CODE), (Line("ALU", 2000), Line("EWASTE", 1000))
    )
    assert reason(parse(f"LOG {CODE} PET 50.001", "collector", vocabulary)) == "weight_too_large"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("VERIFY ABCDE-FGHJK", Verify("ABCDEFGHJK")),
        ("verify abcde fghjk", Verify("ABCDEFGHJK")),
        ("VERIFY: abcdefghjk.", Verify("ABCDEFGHJK")),
        ("VERIFI ABCDEFGHJK", Verify("ABCDEFGHJK")),
        ("CHECK 7f2k", Check("7F2K")),
    ],
)
def test_partner_commands(text: str, expected: object) -> None:
    assert parse(text, "partner") == expected


@pytest.mark.parametrize(
    ("text", "role", "expected"),
    [
        ("VERIFY", "partner", "missing_voucher"),
        ("BAL", "partner", "not_for_role"),
        ("LOG K0001E PET 1", "partner", "not_for_role"),
        ("VERIFY ABCDEFGHJK", "household", "not_for_role"),
        ("VERIFY ABCDEFGHJK", "collector", "not_for_role"),
    ],
)
def test_verify_is_for_partner_shops_only(text: str, role: str, expected: str) -> None:
    assert reason(parse(text, role)) == expected  # type: ignore[arg-type]


@given(st.text(max_size=200), st.sampled_from(["household", "collector", "partner"]))
def test_parse_never_raises(text: str, role: str) -> None:
    result = parse(text, role)  # type: ignore[arg-type]
    assert result is not None


@given(
    st.lists(
        st.sampled_from(
            ["LOG", "log", CODE, "PET", "pet4.5", "4,5", "4.5kg", "#", "17", "ALU", "0803", "kg", ",", ":"]
        ),
        max_size=12,
    ).map(" ".join)
)
def test_log_like_text_never_raises(text: str) -> None:
    result = collector(text)
    if isinstance(result, Log):
        assert result.lines and all(0 < line.grams <= 200_000 for line in result.lines)


# --- PIN ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("PIN 4821", "4821"),
        ("pin: 482190", "482190"),
        ("Pin 48219", "48219"),
        ("PIN4821", "4821"),
        ("  pin - 4821.", "4821"),
        ("PIN \uff14\uff18\uff12\uff11", "4821"),  # full-width digits
        ("PNI 4821", "4821"),  # two neighbours swapped
        ("PINN 4821", "4821"),  # a letter too many
        ("PN 4821", None),  # too short a word to be guessed at
    ],
)
def test_a_collector_sets_their_pin(text: str, digits: str | None) -> None:
    expected = Pin(digits) if digits else ParseError("unknown_command", {"word": "PN"})
    assert collector(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PIN", "missing_pin"),
        ("pin :", "missing_pin"),
        ("PIN 482", "bad_pin"),
        ("PIN 4821901", "bad_pin"),
        ("PIN 48a1", "bad_pin"),
        ("PIN 48-21", "bad_pin"),
        ("PIN 4821 4821", "bad_pin"),
        ("PIN \u0664\u0668\u0662\u0661", "bad_pin"),  # Arabic-Indic digits: not what the app's keypad sends
    ],
)
def test_a_bad_pin_is_refused_without_repeating_it(text: str, expected: str) -> None:
    assert collector(text) == ParseError(expected, {}, command="PIN")


@pytest.mark.parametrize("role", ["household", "partner"])
def test_pin_is_for_collectors_only(role: str) -> None:
    assert parse("PIN 4821", role) == ParseError("pin_not_for_role", {}, command="PIN")  # type: ignore[arg-type]
    assert parse("pin", role) == ParseError("pin_not_for_role", {}, command="PIN")  # type: ignore[arg-type]


def test_the_pin_lengths_are_the_services() -> None:
    from service.usecases import tokens

    assert parsing.PIN_LENGTHS == tokens.PIN_LENGTHS


def test_a_pin_is_not_shown_by_its_repr() -> None:
    assert "4821" not in repr(Pin("4821")) and "4821" not in str(Pin("4821"))


@given(st.text(alphabet="0123456789", min_size=1, max_size=9), st.sampled_from(["PIN ", "pin:", "Pin - "]))
def test_any_digits_are_a_pin_exactly_when_there_are_4_to_6(digits: str, keyword: str) -> None:
    result = collector(keyword + digits)
    if 4 <= len(digits) <= 6:
        assert result == Pin(digits)
    else:
        assert result == ParseError("bad_pin", {}, command="PIN")


@given(st.text(max_size=40), st.sampled_from(["household", "collector", "partner"]))
def test_whatever_follows_pin_no_refusal_carries_it(rest: str, role: str) -> None:
    result = parse("PIN " + rest, role)  # type: ignore[arg-type]
    if isinstance(result, ParseError):
        assert result.command == "PIN" and result.details == {}, result
    else:
        assert role == "collector" and isinstance(result, Pin), result
