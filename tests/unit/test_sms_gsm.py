"""GSM-7 alphabet, carrier segment counting and the GSM-7 sanitiser of sms.gsm."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms.gsm import GSM7_BASIC, GSM7_EXTENSION, Segments, fits, is_gsm7, segments, to_gsm7

ESC = "\x1b"
EMOJI = "\U0001f600"
YORUBA_E = "\u1eb9"  # ẹ, not in GSM-7

# GSM 03.38 default alphabet as Unicode code points, 0x00 to 0x7F in order; None is the escape.
TABLE: list[int | None] = [
    *(0x40, 0xA3, 0x24, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0x0A, 0xD8, 0xF8, 0x0D, 0xC5, 0xE5),
    *(0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8),
    *(0x3A3, 0x398, 0x39E, None, 0xC6, 0xE6, 0xDF, 0xC9),
    *(0x20, 0x21, 0x22, 0x23, 0xA4, *range(0x25, 0x40)),
    *(0xA1, *range(0x41, 0x5B), 0xC4, 0xD6, 0xD1, 0xDC, 0xA7),
    *(0xBF, *range(0x61, 0x7B), 0xE4, 0xF6, 0xF1, 0xFC, 0xE0),
]
ALL_GSM7 = sorted(GSM7_BASIC | GSM7_EXTENSION)


def reference_gsm7_parts(text: str) -> int:
    """Septets as sent (escape + code for extension characters), cut every 153, never after an escape."""
    septets = [s for ch in text for s in ((ESC, ch) if ch in GSM7_EXTENSION else (ch,))]
    if len(septets) <= 160:
        return 1
    parts, start = 0, 0
    while start < len(septets):
        end = min(start + 153, len(septets))
        if end < len(septets) and septets[end - 1] == ESC:
            end -= 1
        parts += 1
        start = end
    return parts


def reference_ucs2_parts(text: str) -> int:
    """UTF-16 code units cut every 67, never after a high surrogate."""
    data = text.encode("utf-16-le", "surrogatepass")
    units = [int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2)]
    if len(units) <= 70:
        return 1
    parts, start = 0, 0
    while start < len(units):
        end = min(start + 67, len(units))
        if end < len(units) and 0xD800 <= units[end - 1] <= 0xDBFF:
            end -= 1
        parts += 1
        start = end
    return parts


# --- the alphabet ---------------------------------------------------------------------------------


def test_basic_alphabet_is_the_gsm_03_38_table() -> None:
    assert len(TABLE) == 128
    assert {chr(cp) for cp in TABLE if cp is not None} == GSM7_BASIC
    assert len(GSM7_BASIC) == 127
    assert ESC not in GSM7_BASIC | GSM7_EXTENSION


def test_extension_table() -> None:
    assert frozenset("^{}\\[~]|€\f") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("é É è ù ì ò Ç Ø å Δ Ω ß ¿ ¡ § ¤ £ ¥", True),
        ("{[~]} | \\ ^ € \f", True),
        ("ẹ", False),
        ("ç", False),  # only the capital Ç is in the table
        ("`", False),
        ("ê", False),
        ("\t", False),
        (EMOJI, False),
        ("\u2019", False),
    ],
)
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected


# --- segments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Segments("GSM-7", 1, 0)),
        ("a" * 160, Segments("GSM-7", 1, 160)),
        ("a" * 161, Segments("GSM-7", 2, 161)),
        ("a" * 306, Segments("GSM-7", 2, 306)),
        ("a" * 307, Segments("GSM-7", 3, 307)),
        ("€" * 80, Segments("GSM-7", 1, 160)),
        ("a" * 159 + "€", Segments("GSM-7", 2, 161)),
        ("€" * 81, Segments("GSM-7", 2, 162)),  # 76 pairs (152 septets) then 5
        # The pair would straddle septets 153 and 154: it opens part two, which then holds
        # 2 + 151 = 153 septets.
        ("a" * 152 + "€" + "b" * 151, Segments("GSM-7", 2, 305)),
        # Same, one more septet: 306 septets would fit two parts if the pair could be split.
        ("a" * 152 + "€" + "b" * 152, Segments("GSM-7", 3, 306)),
        ("a" * 151 + "€" + "b" * 153, Segments("GSM-7", 2, 306)),
        ("é" * 161, Segments("GSM-7", 2, 161)),
        (YORUBA_E * 70, Segments("UCS-2", 1, 70)),
        (YORUBA_E * 71, Segments("UCS-2", 2, 71)),
        (YORUBA_E * 134, Segments("UCS-2", 2, 134)),
        (YORUBA_E * 135, Segments("UCS-2", 3, 135)),
        (YORUBA_E + "€", Segments("UCS-2", 1, 2)),  # € is one UTF-16 unit
        (EMOJI, Segments("UCS-2", 1, 2)),
        (EMOJI * 35, Segments("UCS-2", 1, 70)),
        (EMOJI * 36, Segments("UCS-2", 2, 72)),  # 33 emoji (66 units) then 3
        # The emoji would straddle units 67 and 68: it opens part two, which overflows into three
        # although 134 units would fit two parts if the surrogate pair could be split.
        (YORUBA_E * 66 + EMOJI + YORUBA_E * 66, Segments("UCS-2", 3, 134)),
        (YORUBA_E * 65 + EMOJI + YORUBA_E * 67, Segments("UCS-2", 2, 134)),
        ("\ud800x", Segments("UCS-2", 1, 2)),  # a lone surrogate neither raises nor vanishes
    ],
)
def test_segments(text: str, expected: Segments) -> None:
    assert segments(text) == expected


def test_one_stray_character_switches_the_whole_message_to_ucs2() -> None:
    assert segments("a" * 100).count == 1
    assert segments("a" * 99 + "\u2019").count == 2


@pytest.mark.parametrize(
    ("text", "parts", "expected"),
    [
        ("", 1, True),
        ("a" * 160, 1, True),
        ("a" * 161, 1, False),
        ("a" * 161, 2, True),
        ("a" * 152 + "€" + "b" * 152, 2, False),
        ("a" * 152 + "€" + "b" * 152, 3, True),
        (YORUBA_E, 1, False),  # one part, but UCS-2
        (YORUBA_E, 5, False),
    ],
)
def test_fits(text: str, parts: int, expected: bool) -> None:
    assert fits(text, parts) is expected


@given(st.text(alphabet=st.sampled_from(ALL_GSM7), max_size=700))
def test_gsm7_parts_match_the_reference(text: str) -> None:
    result = segments(text)
    assert result.encoding == "GSM-7"
    assert result.units == len(text) + sum(ch in GSM7_EXTENSION for ch in text)
    assert result.count == reference_gsm7_parts(text)


@given(st.text(alphabet="a€", min_size=150, max_size=500))
def test_gsm7_parts_match_the_reference_near_boundaries(text: str) -> None:
    assert segments(text).count == reference_gsm7_parts(text)


@given(st.text(alphabet=st.sampled_from([YORUBA_E, "a", EMOJI, "\u20ac"]), min_size=1, max_size=300))
def test_ucs2_parts_match_the_reference(text: str) -> None:
    result = segments(text)
    if is_gsm7(text):
        return
    assert result.encoding == "UCS-2"
    assert result.units == len(text.encode("utf-16-le")) // 2
    assert result.count == reference_ucs2_parts(text)


@given(st.text())
def test_segments_never_raise(text: str) -> None:
    result = segments(text)
    assert result.count >= 1
    assert result.encoding == ("GSM-7" if is_gsm7(text) else "UCS-2")
    expected = reference_gsm7_parts(text) if is_gsm7(text) else reference_ucs2_parts(text)
    assert result.count == expected


# --- to_gsm7 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        # é is GSM-7 and kept; ọ, á, Ọ̀ and ṣ lose their marks
        ("Ad\u00e9\u1ecdl\u00e1 \u1ecc\u0300\u1e63un", "Adéola Osun"),
        ("\u201cHi\u201d \u2013 it\u2019s \u20a6500", '"Hi" - it\'s NGN500'),
        ("Ade\u200bola", "Adeola"),  # zero-width space
        ("\ufeffAde\u00adola\u200d", "Adeola"),  # BOM, soft hyphen, zero-width joiner
        (f"Thanks {EMOJI}", "Thanks"),
        (f"{EMOJI} Tunde {EMOJI} Bello", "Tunde  Bello"),
        ("\u4e2d\u6587", ""),
        ("\u2018a\u2019 \u201ab\u201b \u2032c\u00b4 `d`", "'a' 'b' 'c' 'd'"),
        ("\u201ca\u201d \u201eb\u201f \u2033c\u2033 \u00abd\u00bb", '"a" "b" "c" "d"'),
        ("a\u2013b\u2014c\u2012d\u2015e\u2212f", "a-b-c-d-e-f"),
        ("wait\u2026", "wait..."),
        ("12\u00a0Allen\u2009Avenue\u202fIkeja", "12 Allen Avenue Ikeja"),
        ("Price: 1 \u20ac {x} [y] ~z | ^ \\", "Price: 1 \u20ac {x} [y] ~z | ^ \\"),
        ("Çà ÉÖÑÜ øåæß", "Çà ÉÖÑÜ øåæß"),
        ("çâêîôû ÁÍÓÚ", "caeiou AIOU"),
        ("\ufb01ne \uff21\uff22", "fine AB"),  # ligature and full-width letters
        ("½ kg", "1/2 kg"),
        ("  Ikeja \n", "  Ikeja \n"),  # whitespace the value came with stays
    ],
)
def test_to_gsm7(text: str, expected: str) -> None:
    assert to_gsm7(text) == expected
    assert is_gsm7(expected)


def test_to_gsm7_recomposes_decomposed_text_before_deciding() -> None:
    decomposed = unicodedata.normalize("NFD", "Adéọlá Ọ̀ṣun")
    assert decomposed != "Adéọlá Ọ̀ṣun"
    assert to_gsm7(decomposed) == "Adéola Osun"


def test_to_gsm7_drops_lone_surrogates() -> None:
    assert to_gsm7("a\ud800b") == "ab"


@given(st.text())
def test_to_gsm7_is_always_gsm7_and_idempotent(text: str) -> None:
    result = to_gsm7(text)
    assert is_gsm7(result)
    assert to_gsm7(result) == result


@given(st.text(alphabet=st.sampled_from(ALL_GSM7)))
def test_to_gsm7_keeps_gsm7_text_unchanged(text: str) -> None:
    assert to_gsm7(text) == text
