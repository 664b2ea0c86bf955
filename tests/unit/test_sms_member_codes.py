"""Member codes: one code per household, and no single slip of the keypad lands on another one."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.member_codes import (
    CHECK_ALPHABET,
    MAX_DIGITS,
    MIN_DIGITS,
    PREFIX,
    check_letter,
    looks_like_member_code,
    member_code,
    member_number,
    parse_member_code,
)

DIGITS = "0123456789"
numbers = st.integers(min_value=1, max_value=10**MAX_DIGITS - 1)


def substitutions(code: str) -> list[str]:
    """Every code with one digit replaced by another digit, or the check letter by another one."""
    out = []
    for i in range(len(PREFIX), len(code)):
        choices = CHECK_ALPHABET if i == len(code) - 1 else DIGITS
        out.extend(code[:i] + c + code[i + 1 :] for c in choices if c != code[i])
    return out


def adjacent_transpositions(code: str) -> list[str]:
    """Every code with two different neighbours among the digits and the check letter swapped."""
    return [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(len(PREFIX), len(code) - 1)
        if code[i] != code[i + 1]
    ]


def test_constants() -> None:
    assert PREFIX == "K"
    assert CHECK_ALPHABET == "ABCDEFGHJKLMNPQRSTUVWXY"
    assert len(set(CHECK_ALPHABET)) == 23
    assert not set("IOZ") & set(CHECK_ALPHABET)
    assert (MIN_DIGITS, MAX_DIGITS) == (4, 9)


def test_the_algebra_behind_the_check() -> None:
    """23 is prime and exceeds every weight and digit difference, so no slip keeps the sum mod 23."""
    modulus = len(CHECK_ALPHABET)
    assert all(modulus % k for k in range(2, modulus))
    for weight in range(1, MAX_DIGITS + 1):
        for a, b in itertools.permutations(range(10), 2):
            assert weight * (a - b) % modulus != 0  # a digit substituted at this weight
            # neighbours a, b at weights w, w+1 swapped: the sum moves by b - a
            assert (weight * a + (weight + 1) * b - weight * b - (weight + 1) * a) % modulus != 0


@pytest.mark.parametrize(
    ("digits", "letter"),
    [
        ("0000", "A"),
        ("0001", "E"),  # weights from the left: 1 * 4 = 4
        ("0007", "F"),  # 7 * 4 = 28 = 5 mod 23
        ("4821", "H"),  # 4*1 + 8*2 + 2*3 + 1*4 = 30 = 7 mod 23
        ("00007", "N"),  # 7 * 5 = 35 = 12 mod 23
        ("123456789", "K"),  # 1*1 + 2*2 + ... + 9*9 = 285 = 9 mod 23
    ],
)
def test_check_letter_examples(digits: str, letter: str) -> None:
    assert check_letter(digits) == letter


@pytest.mark.parametrize(
    "digits", ["", "123", "1234567890", "12a4", "\uff11\uff12\uff13\uff14", "12 34", "-123"]
)
def test_check_letter_refuses_what_is_not_4_to_9_digits(digits: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        check_letter(digits)


def test_member_code_examples() -> None:
    assert member_code(7) == "K0007" + check_letter("0007") == "K0007F"
    assert member_code(4821) == "K4821H"
    assert member_code(12345) == "K12345" + check_letter("12345")
    assert member_code(10**MAX_DIGITS - 1) == "K999999999" + check_letter("999999999")


@pytest.mark.parametrize("number", [0, -1, 10**MAX_DIGITS, True])
def test_member_code_refuses_numbers_out_of_range(number: int) -> None:
    with pytest.raises(ValueError, match="household number"):
        member_code(number)


@pytest.mark.parametrize(
    "text",
    [
        "K4821H",
        "k4821h",
        "  K4821H  ",
        "k 4821h",
        "K-4821-H",
        "K 4821 H",
        "K48-21H",
        "\u200bK4821H\u200b",
        "\u00a0K4821H\ufeff",
        "K\u20134821H",  # an en dash from autocorrect
    ],
)
def test_parse_forgives_case_spaces_dashes_and_invisibles(text: str) -> None:
    assert parse_member_code(text) == "K4821H"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "K",
        "K4821",  # no check letter
        "K4821X",  # the shape, the wrong check letter
        "K4812H",  # two digits swapped
        "K482H1",  # last digit and check letter swapped
        "K482H",  # 3 digits
        "K1234567890A",  # 10 digits
        "K00007N",  # household 7 padded beyond 4 digits, with the right check: not its code
        "K0004821" + check_letter("0004821"),
        "4821H",
        "X4821H",
        "KK4821H",
        "K4821HH",
        "K4821I",
        "K4821O",
        "K4821Z",
        "K4821\u0127",
        "K4821\u017f",  # long s: upper() would make it S
        "\u212a4821H",  # Kelvin sign
        "K\uff14\uff18\uff12\uff11H",  # full-width digits
        "K4821_H",
        "K4821.H",
    ],
)
def test_parse_refuses_wrong_codes(text: str) -> None:
    assert parse_member_code(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("K4821H", True),
        ("K4821X", True),  # wrong check letter, right shape
        ("k-4812-h", True),
        ("K4821I", True),  # a letter the alphabet does not use is still the shape of a code
        ("K00007N", True),
        ("K999999999A", True),
        ("K482H", False),
        ("K1234567890A", False),
        ("K4821", False),
        ("K482H1", False),
        ("08031234567", False),
        ("hello", False),
        ("", False),
    ],
)
def test_looks_like_member_code(text: str, expected: bool) -> None:
    assert looks_like_member_code(text) is expected


def test_member_number() -> None:
    assert member_number("K4821H") == 4821
    assert member_number(member_code(7)) == 7


@pytest.mark.parametrize("code", ["K4821X", "k4821h", "K 4821H", "K00007N", "", "4821"])
def test_member_number_refuses_what_is_not_a_valid_canonical_code(code: str) -> None:
    with pytest.raises(ValueError, match="member code"):
        member_number(code)


@given(numbers)
def test_round_trip(number: int) -> None:
    code = member_code(number)
    assert parse_member_code(code) == code
    assert parse_member_code(f" {code.lower()[:3]}-{code.lower()[3:]} ") == code
    assert looks_like_member_code(code)
    assert member_number(code) == number


@given(numbers)
def test_every_single_substitution_is_refused(number: int) -> None:
    code = member_code(number)
    wrong = substitutions(code)
    assert len(wrong) == 9 * (len(code) - 2) + 22
    assert [w for w in wrong if parse_member_code(w) is not None] == []
    # A different prefix letter is not a code either.
    assert parse_member_code("X" + code[1:]) is None


@given(numbers)
def test_every_adjacent_transposition_is_refused(number: int) -> None:
    code = member_code(number)
    swapped = adjacent_transpositions(code)
    assert code[-2:][::-1] in {s[-2:] for s in swapped}  # last digit with the check letter
    assert [s for s in swapped if parse_member_code(s) is not None] == []


def test_no_slip_in_any_four_digit_code_reaches_another_code() -> None:
    """Exhaustively, for every 4-digit code: every substitution and adjacent swap is refused."""
    for number in range(1, 10**MIN_DIGITS):
        code = member_code(number)
        for wrong in substitutions(code) + adjacent_transpositions(code):
            assert parse_member_code(wrong) is None, (code, wrong)


def test_codes_are_distinct_and_one_per_household() -> None:
    codes = [member_code(n) for n in range(1, 10**MIN_DIGITS)]
    assert len(set(codes)) == len(codes)
    # Of all the padded spellings of 5 digits, only the codes of 10000..99999 are valid.
    padded = [f"K0{n:04d}{check_letter(f'0{n:04d}')}" for n in range(1, 10**MIN_DIGITS)]
    assert [p for p in padded if parse_member_code(p) is not None] == []
