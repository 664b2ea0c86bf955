"""Phone numbers as typed in Nigeria: every spelling of one number is one key, garbage is None."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.phones import DEFAULT_REGION, looks_like_phone, mask_phone, normalise_phone

MOBILE = "+2348031234567"


def test_default_region_is_nigeria() -> None:
    assert DEFAULT_REGION == "NG"


@pytest.mark.parametrize(
    "text",
    [
        "08031234567",
        "+2348031234567",
        "2348031234567",
        "0803 123 4567",
        "0803-123-4567",
        "(0803) 123 4567",
        "+234 803 123 4567",
        "234-803-123-4567",
        "234 803 123 4567",
        "  08031234567\n",
        "0803.123.4567",
        "+234 (0) 803 123 4567",
        "8031234567",
        "0803\u200b123\u200b4567",  # zero-width spaces
        "0803\u00a0123\u00a04567",  # non-breaking spaces
        "\ufeff+234\u2060803\u202f123\u200e4567",  # BOM, word joiner, narrow NBSP, LTR mark
        "0803\u2013123\u20144567",  # en and em dashes from autocorrect
        "\uff10\uff18\uff10\uff13\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # full-width digits
        "\uff0b2348031234567",  # full-width plus
    ],
)
def test_every_way_of_typing_a_mobile_number_gives_one_e164(text: str) -> None:
    assert normalise_phone(text) == MOBILE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0803123",  # too short
        "12345",
        "080312345678901",  # too long
        "hello",
        "+1 202 555 01",
        "0803abc4567",  # phonenumbers alone would read the letters as keypad digits
        "0803-CALL-NOW",
        "08031234567x",
        "ABC08031234567",
        "08031234567 ext 5",
        "08031234567;08031234568",
        "++2348031234567",
        "2348031234567+",
        "0803+1234567",
        "+",
        "234",
        "\u200b",
        "08031234\u00b2567",  # a superscript is not a digit
    ],
)
def test_what_is_not_a_valid_number_is_none(text: str) -> None:
    assert normalise_phone(text) is None


def test_lagos_landline_in_the_current_numbering_plan() -> None:
    # Lagos landlines are 0201 xxx xxxx in the metadata of the pinned phonenumbers; the old
    # "01 xxx xxxx" form is no longer a valid Nigerian number there.
    assert normalise_phone("0201 234 5678") == "+2342012345678"
    assert normalise_phone("2342012345678") == "+2342012345678"
    assert normalise_phone("01 234 5678") is None


def test_other_regions() -> None:
    assert normalise_phone("024 123 4567", region="GH") == "+233241234567"
    assert normalise_phone("233241234567", region="gh") == "+233241234567"
    assert normalise_phone("+2348031234567", region="GH") == MOBILE
    assert normalise_phone("0803 123 4567", region="GH") is None


def test_country_code_without_plus_when_phonenumbers_reads_it_as_national() -> None:
    # Brazilian toll-free 0800 123456 with its country code: parsed nationally it is invalid.
    assert normalise_phone("55800123456", region="BR") == "+55800123456"


def test_an_unknown_region_only_accepts_international_numbers() -> None:
    assert normalise_phone("08031234567", region="XX") is None
    assert normalise_phone("+2348031234567", region="XX") == MOBILE


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("08031234567", True),
        ("+234 803 123 4567", True),
        ("(0803) 123-4567", True),
        ("0803123", True),  # the shape of a phone number, even though it is not a valid one
        ("080312", False),
        ("K4821H", False),
        ("K48214567H", False),
        ("4821", False),
        ("hello", False),
        ("", False),
        ("+", False),
        ("0803abc4567", False),
    ],
)
def test_looks_like_phone(token: str, expected: bool) -> None:
    assert looks_like_phone(token) is expected


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+2348031234567", "+234803***4567"),
        ("+2342012345678", "+234201***5678"),
        ("+233241234567", "+233241**4567"),
        ("+12025550123", "+1202***0123"),
        ("+35312345", "+353***45"),
        ("08031234567", "***4567"),  # not international: only the last 4 digits
        ("garbage", "***"),
        ("", "***"),
    ],
)
def test_mask_phone(e164: str, masked: str) -> None:
    assert mask_phone(e164) == masked


@given(st.text(max_size=40))
def test_normalise_never_raises_and_returns_e164_or_none(text: str) -> None:
    result = normalise_phone(text)
    if result is not None:
        assert result.startswith("+")
        digits = result[1:]
        assert digits.isascii() and digits.isdigit()
        assert normalise_phone(result) == result


_phone_chars = st.sampled_from("0123456789 +-()\u200b\u00a0")


@given(st.text(_phone_chars, min_size=7, max_size=20), st.sampled_from(["NG", "GH", "GB", "US"]))
def test_normalise_is_idempotent_on_number_like_text(text: str, region: str) -> None:
    result = normalise_phone(text, region)
    if result is not None:
        assert result[0] == "+" and result[1:].isascii() and result[1:].isdigit()
        assert normalise_phone(result, region) == result
        assert normalise_phone(result) == result


@given(st.from_regex(r"\+234[789][01][0-9]{8}", fullmatch=True))
def test_masking_valid_mobiles_hides_three_digits_and_is_ascii(e164: str) -> None:
    masked = mask_phone(e164)
    assert masked == e164[:7] + "***" + e164[-4:]
    assert masked.isascii()


@given(st.text(max_size=30))
def test_mask_never_raises_and_is_ascii(text: str) -> None:
    masked = mask_phone(text)
    assert masked.isascii()
    assert set(masked) <= set("+*0123456789")
