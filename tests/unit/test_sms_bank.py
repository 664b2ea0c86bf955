"""The SMS language of cash-out (docs/sms-protocol.md, "BANK" and "REDEEM CASH"): how BANK and
REDEEM CASH are read, and their replies in every language."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from sms import gsm, parse, reserved_words
from sms.commands import CASH, Bank, Confirm, ParseError, Redeem, Start
from sms.templates import EN, TEMPLATES, WIDTHS, Word, render

NUMBER = "0123456789"
DIGITS = "0123456789"


def household(text: str) -> object:
    return parse(text, "household")


# --- BANK ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BANK GTB 0123456789", Bank("GTB", NUMBER)),
        ("bank gtb 0123456789", Bank("gtb", NUMBER)),
        ("Bank: Zenith, 0123456789.", Bank("Zenith", NUMBER)),
        ("BANK First Bank of Nigeria 0123456789", Bank("First Bank of Nigeria", NUMBER)),
        ("BANK UBA 012-345-6789", Bank("UBA", NUMBER)),
        ("BANK UBA 0123-456-789", Bank("UBA", NUMBER)),
        ("BANK UBA 012.345.6789", Bank("UBA", NUMBER)),
        ("BANK opay 0123 456 789", Bank("opay", NUMBER)),
        ("BANK opay 012 345 6789", Bank("opay", NUMBER)),
        ("BANK opay 01234 56789", Bank("opay", NUMBER)),
        ("BANK opay 0123 4567 89", Bank("opay", NUMBER)),
        ("BANK 058 0123456789", Bank("058", NUMBER)),  # a bank by its code
        ("BANK 0123456789 058", Bank("058", NUMBER)),
        ("BANK 0123456789 GTB", Bank("GTB", NUMBER)),  # the number first is as clear
        ("BANK 0123 456 789 Access", Bank("Access", NUMBER)),
        ("BANK GT-Bank 0123456789", Bank("GT Bank", NUMBER)),  # a dash between letters separates
        ("BANK Access (Diamond) 0123456789", Bank("Access Diamond", NUMBER)),
        ("BANK Kuda account no 0123456789", Bank("Kuda", NUMBER)),  # words that name no bank
        ("BANK Kuda A/C 0123456789", Bank("Kuda", NUMBER)),
        ("BANK Kuda acct number: 0123456789", Bank("Kuda", NUMBER)),
        ("BANK 9PSB 0123456789", Bank("9PSB", NUMBER)),
        (
            "BANK GTB \uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19",
            Bank("GTB", NUMBER),
        ),  # full width
        ("\u201cBANK\u201d GTB 0123456789 \U0001f600", Bank("GTB", NUMBER)),
        ("BANKI GTB 0123456789", Bank("GTB", NUMBER)),  # one typo (Hausa, Yoruba: banki)
        ("BNAK GTB 0123456789", Bank("GTB", NUMBER)),
    ],
)
def test_bank_is_read(text: str, expected: Bank) -> None:
    assert household(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("BANK", "bank_missing"),
        ("BANK :", "bank_missing"),
        ("BANK 0123456789", "bank_missing"),  # the number, no bank
        ("BANK 0123 456 789", "bank_missing"),
        ("BANK account no 0123456789", "bank_missing"),  # only words that name no bank
        ("BANK GTB", "bank_bad_number"),  # the bank, no number
        ("BANK GTB 012345678", "bank_bad_number"),  # 9 digits
        ("BANK GTB 01234567890", "bank_bad_number"),  # 11: a phone number, not an account
        ("BANK GTB 0803 123 4567", "bank_bad_number"),  # 11 typed apart
        ("BANK GTB 012345678X", "bank_bad_number"),
        ("BANK GTB 0123456789 please", "bank_bad_number"),  # the number neither last nor first
        ("BANK GTB 0 1 2 3 4 5 6 7 8 9", "bank_bad_number"),  # no one types a number so
        # 058 and 7 digits make 10, but a group of 7 is no way to type a number apart: not borrowed
        ("BANK 058 0123456", "bank_bad_number"),
        ("BANK GTB 01234567 89", "bank_bad_number"),
        ("BANK GTB \u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "bank_bad_number"),
        # ten digits at either end, and the other words name no bank either way: not guessed
        ("BANK 0000000000 50211 50211", "bank_missing"),
        ("BANK 50211 50211 0", "bank_missing"),
        ("BANK 0123456789 0123456789", "bank_missing"),
        # a bank's code and a number typed apart: 058 | 0123 456 789, or 058 0123 456 | 789?
        ("BANK 058 0123 456 789", "bank_missing"),
        ("BANK 50211 01234 56789", "bank_missing"),
        ("BANK 0123456789 GTB 0123456789", "bank_missing"),
    ],
)
def test_a_bank_text_that_cannot_be_read_says_why(text: str, reason: str) -> None:
    assert household(text) == ParseError(reason, {}, command="BANK")


@pytest.mark.parametrize("role", ["collector", "partner"])
def test_bank_is_for_households_only(role: str) -> None:
    assert parse("BANK GTB 0123456789", role) == ParseError(  # type: ignore[arg-type]
        "not_for_role", {"command": "BANK"}, command="BANK"
    )


def test_ban_is_no_longer_guessed_as_bal_for_a_household() -> None:
    """BAN and BAK are one typo from BAL and from BANK: never guessed."""
    for word in ("BAN", "BAK"):
        assert household(word) == ParseError("unknown_command", {"word": word})
    assert household("BAL").__class__.__name__ == "Balance"
    assert household("BANKS GTB 0123456789") == Bank("GTB", NUMBER)


def test_yes_alone_is_still_the_opt_in_word_and_yes_ref_a_confirmation() -> None:
    """The service decides whether a YES alone confirms a bank account (docs/sms-protocol.md)."""
    assert household("YES") == Start("YES")
    assert household("yes.") == Start("YES")
    assert household("YES 7F2K") == Confirm("7F2K")


NAMES = ["GTB", "gtbank", "First", "Bank", "of", "Nigeria", "UBA", "Zenith", "Opay", "Kuda", "9PSB", "058"]
# A bank by its words (a digit word among them, as in "First 058"), or by its code alone.
BANK_WORDS = st.one_of(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=4).filter(
        lambda words: any(character.isalpha() for word in words for character in word)
    ),
    st.sampled_from(["058", "50211", "999992"]).map(lambda code: [code]),
)
LETTER_WORDS = st.lists(st.sampled_from([name for name in NAMES if name.isalpha()]), min_size=1, max_size=4)


def _typed(digits: str, style: int) -> str:
    """Ten digits as people type them."""
    return [
        digits,
        f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
        f"{digits[:4]} {digits[4:7]} {digits[7:]}",
        f"{digits[:3]} {digits[3:6]} {digits[6:]}",
        f"{digits[:5]} {digits[5:]}",
        f"{digits[:4]}-{digits[4:7]}-{digits[7:]}",
    ][style]


@given(
    BANK_WORDS,
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    st.integers(0, 5),
    st.booleans(),
    st.sampled_from(["BANK", "bank", "Bank:", "BANK -"]),
)
def test_any_bank_and_ten_digits_typed_any_common_way_are_read(
    words: list[str], digits: str, style: int, number_first: bool, keyword: str
) -> None:
    # a bank's code with a number typed apart could be read two ways: refused (above)
    assume(any(character.isalpha() for word in words for character in word) or style in (0, 1, 5))
    bank = " ".join(words)
    number = _typed(digits, style)
    text = f"{keyword} {number} {bank}" if number_first else f"{keyword} {bank} {number}"
    assert household(text) == Bank(bank, digits)


@given(LETTER_WORDS, st.text(alphabet="0123456789", min_size=1, max_size=15).filter(lambda d: len(d) != 10))
def test_a_number_of_any_other_length_is_refused(words: list[str], digits: str) -> None:
    assert household(f"BANK {' '.join(words)} {digits}") == ParseError("bank_bad_number", {}, command="BANK")


@given(st.text(max_size=80))
def test_whatever_follows_bank_it_is_read_or_refused_never_raised(rest: str) -> None:
    result = household("BANK " + rest)
    if isinstance(result, Bank):
        assert len(result.account) == 10 and result.account.isascii() and result.account.isdigit()
        assert result.bank and result.bank == result.bank.strip() and len(result.bank) <= 60
        # the account is digits typed one after the other, none made up or borrowed across words
        typed = "".join(character for character in unicodedata.normalize("NFKC", rest) if character in DIGITS)
        assert result.account in typed
    elif isinstance(result, ParseError) and result.command == "BANK":
        assert result.reason in ("bank_missing", "bank_bad_number") and result.details == {}


@given(
    st.lists(
        st.sampled_from(["BANK", "gtb", "0123", "456", "789", "0123456789", "-", ":", "acct", "058"]),
        max_size=8,
    )
)
def test_bank_like_text_never_raises(words: list[str]) -> None:
    result = household(" ".join(words))
    assert result is not None


# --- REDEEM CASH ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("REDEEM CASH 500", Redeem(CASH, 500)),
        ("redeem cash 500", Redeem(CASH, 500)),
        ("REDEEM CASH 20,000", Redeem(CASH, 20000)),  # as replies write naira
        ("REDEEM CASH 1,000,000", Redeem(CASH, 1_000_000)),
        ("REDEM cash: 500.", Redeem(CASH, 500)),
        ("REDEEM AIRTIME 1,000", Redeem("AIRTIME", 1000)),
        ("REDEEM AIRTIME 200", Redeem("AIRTIME", 200)),  # as before
        ("REDEEM 2", Redeem("2")),
    ],
)
def test_redeem_cash_is_read(text: str, expected: Redeem) -> None:
    assert household(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("REDEEM CASH", ParseError("cash_amount_missing", {}, command="REDEEM")),
        ("redeem cash.", ParseError("cash_amount_missing", {}, command="REDEEM")),
        ("REDEEM CASH lots", ParseError("bad_amount", {"amount": "lots"}, command="REDEEM")),
        ("REDEEM CASH 0", ParseError("bad_amount", {"amount": "0"}, command="REDEEM")),
        ("REDEEM CASH 2,5", ParseError("bad_amount", {"amount": "2,5"}, command="REDEEM")),  # no thousands
        ("REDEEM CASH 20,00", ParseError("bad_amount", {"amount": "20,00"}, command="REDEEM")),
        ("REDEEM CASH 10000001", ParseError("bad_amount", {"amount": "10000001"}, command="REDEEM")),
        # a digit int() does not read (Ethiopic one) once made the parser raise
        ("REDEEM AIRTIME \u1369", ParseError("bad_amount", {"amount": "\u1369"}, command="REDEEM")),
        ("REDEEM", ParseError("missing_item", {}, command="REDEEM")),
    ],
)
def test_redeem_cash_refusals(text: str, expected: ParseError) -> None:
    assert household(text) == expected


@given(st.integers(1, 10**7), st.booleans())
def test_any_amount_is_read_with_or_without_thousands_commas(amount: int, commas: bool) -> None:
    assert household(f"REDEEM CASH {amount:,}" if commas else f"REDEEM CASH {amount}") == Redeem(CASH, amount)


@given(st.text(max_size=30))
def test_whatever_follows_redeem_cash_never_raises(rest: str) -> None:
    result = household("REDEEM CASH " + rest)
    if isinstance(result, Redeem):
        assert result.item == CASH and result.amount is not None and 0 < result.amount <= 10**7


def test_cash_and_bank_are_reserved_so_no_material_takes_them() -> None:
    assert {"CASH", "BANK"} <= reserved_words()


# --- the replies -------------------------------------------------------------------------------------

KEYS = [key for key in EN if key.startswith(("bank_", "cash_", "why_")) or key == "float_low"]


def test_every_cash_out_reply_has_its_english() -> None:
    expected = {
        *("bank_checking", "bank_confirm", "bank_saved", "bank_changed_notice", "bank_not_found"),
        *("bank_unknown", "bank_ambiguous", "bank_none", "bank_missing", "bank_bad_number"),
        *("cash_held", "cash_waits", "cash_sent", "cash_refunded", "cash_min", "cash_max"),
        *("cash_daily_cap", "cash_programme_cap", "cash_not_enough", "cash_off", "cash_amount_missing"),
        *("cash_step", "float_low", "why_account", "why_bank", "why_reversed", "why_failed"),
    }
    assert set(KEYS) == expected


@pytest.mark.parametrize("language", list(TEMPLATES))
def test_why_a_payout_failed_is_said_whole_in_every_language(language: str) -> None:
    """The words put into cash_refunded's {why} are never cut."""
    for key in ("why_account", "why_bank", "why_reversed", "why_failed"):
        assert len(Word(key).say(language)) <= WIDTHS["why"], (language, key)


def test_a_refund_says_why_in_the_households_language() -> None:
    reply = render(
        "cash_refunded", "HA", programme="Kolekt", naira="500", why=Word("why_bank"), points=500, ref="X7Q2"
    )
    assert "bankin bai karba ba" in reply and reply.endswith("Rasit X7Q2")
    assert gsm.segments(reply).count == 1


def test_the_examples_read_as_households_see_them() -> None:
    assert (
        render("bank_confirm", "EN", account_name="ADA OKAFOR", bank="GTBank", masked="****6789")
        == "Name: ADA OKAFOR, GTBank ****6789. Text YES in 30 min to save it for cash-out. "
        "Wrong? Send BANK again."
    )
    assert (
        render(
            "cash_sent", "EN", programme="Kolekt", naira="500", bank="GTBank", masked="****6789", ref="X7Q2"
        )
        == "Kolekt: NGN 500 sent to GTBank ****6789. Not there by tomorrow? Call the hub with ref X7Q2"
    )
    # A long bank name is cut at a word, never in the middle of one
    assert render(
        "bank_not_found", "EN", bank="Ahmadu Bello University Microfinance Bank", masked="****6789"
    ) == (
        "Ahmadu Bello University has no account ****6789. Check the 10 digits and send BANK again. "
        "Nothing was saved."
    )


@pytest.mark.parametrize("language", list(TEMPLATES))
def test_the_parse_errors_of_cash_out_need_no_values(language: str) -> None:
    """What sms.parse refuses with is rendered with its details only (none for these)."""
    for key in ("bank_missing", "bank_bad_number", "cash_amount_missing"):
        reply = render(key, language, programme="Kolekt")
        assert gsm.segments(reply).count == 1 and gsm.is_gsm7(reply)
        assert ("BANK" if key.startswith("bank") else "REDEEM CASH") in reply


@pytest.mark.parametrize("language", list(TEMPLATES))
def test_the_households_help_names_bank_and_redeem_cash(language: str) -> None:
    text = TEMPLATES[language]["help_household"]
    assert "BANK" in text and "REDEEM CASH" in text
