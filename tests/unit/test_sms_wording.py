"""How values are written in a text (``sms.wording``): kilograms, a pickup's lines, first names,
short dates, lists cut to fit or into pages and values shortened at a word, always GSM-7."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

import sms
from sms.wording import paginate, septets, shorten

GRAMS = st.integers(min_value=0, max_value=10**9)


@given(GRAMS)
def test_kilograms_are_written_as_people_write_them_and_read_back_exactly(grams: int) -> None:
    written = sms.kg(grams)
    assert round(float(written) * 1000) == grams
    assert not written.endswith((".", ".0")) and written == written.strip()
    assert sms.is_gsm7(written)


def test_kilograms_examples() -> None:
    assert [sms.kg(g) for g in (4500, 250, 3000, 0, 1, 1200)] == ["4.5", "0.25", "3", "0", "0.001", "1.2"]


def test_lines_first_names_and_dates() -> None:
    lines = (sms.Line("PET", 4500), sms.Line("ALU", 1200))
    assert sms.describe_lines(lines) == "PET 4.5kg, ALU 1.2kg"
    assert sms.describe_lines(lines, " ") == "PET 4.5kg ALU 1.2kg"
    assert [sms.first_name(n) for n in ("Ada Okafor", "Tunde", "  ", "")] == ["Ada", "Tunde", "  ", ""]
    late = datetime(2026, 11, 4, 23, 30, tzinfo=UTC)  # already the 5th in Lagos
    assert sms.short_date(late, ZoneInfo("Africa/Lagos")) == "5 Nov"


@given(
    st.lists(st.text(alphabet="ABCDEFGHJK0123456789 ()", min_size=1, max_size=40), max_size=30),
    st.integers(min_value=20, max_value=300),
)
def test_a_list_fits_its_width_and_says_how_many_were_left_out(items: list[str], width: int) -> None:
    fitted = sms.fit_list(items, width)
    if fitted == f"{len(items)} stops":  # not even the first fits with its "+N more"
        assert items
        return
    assert len(fitted) <= width
    shown, _, more = fitted.partition("; +")
    kept = shown.split("; ") if shown else []
    assert kept == items[: len(kept)]
    if len(kept) < len(items):
        assert more == f"{len(items) - len(kept)} more"
    else:
        assert more == ""


def test_a_member_code_is_masked_for_anyone_who_checks_a_receipt() -> None:
    assert sms.mask_code("K4821X") == "K***1X"
    assert sms.mask_code("K12X") == "K*2X"


# Values as people type them, with the punctuation a cut can leave and GSM-7's two-septet characters.
TYPED = st.text(alphabet="ABCKRady0123456789 ,;:.-/&()[]~", max_size=80)
TRAILING = (" ", ",", ";", ":", "-", "/", "&", "+", ".")


def test_an_address_is_shortened_after_a_whole_word_without_the_punctuation_the_cut_leaves() -> None:
    assert shorten("112 Herbert Macaulay Road, Sabo Yaba", 30) == "112 Herbert Macaulay Road"
    assert shorten("12 Adeniyi St, Yaba, Lagos", 30) == "12 Adeniyi St, Yaba, Lagos"
    assert shorten("12 Adeniyi St., ", 30) == "12 Adeniyi St"
    assert shorten("  3   Oju\nSt  ", 30) == "3 Oju St"
    assert shorten("Plot 7 Àjàyí Crescent", 17) == "Plot 7 Ajàyi"  # à is GSM-7, í is not
    assert shorten("Oluwaseunfunmilayo", 8) == "Oluwaseu"  # one word longer than the width
    assert shorten("", 30) == ""
    assert shorten("[Gate] 4", 9) == "[Gate]" and shorten("[Gate] 4", 7) == "[Gate"  # "[" and "]" cost two


@given(TYPED, st.integers(min_value=1, max_value=60))
def test_a_shortened_value_fits_ends_at_a_word_and_not_on_punctuation(text: str, width: int) -> None:
    short = shorten(text, width)
    whole = " ".join(text.split())
    assert septets(short) <= width and sms.is_gsm7(short)
    assert not short.endswith(TRAILING)
    assert whole.startswith(short)
    if septets(whole.split()[0] if whole.split() else "") <= width:  # else the one word is cut
        rest = whole[len(short) :]
        assert rest == "" or rest[0] in TRAILING, (short, rest)


def test_pages_example() -> None:
    stops = ["K0001E 12 Adeniyi St (2 bags)", "K0002C 3 Oju St", "K0003A 9 Akoka Rd"]
    assert paginate(stops, 40) == [stops[:1], stops[1:]]
    assert paginate(stops, 46) == [stops[:2], stops[2:]]
    assert paginate(stops, 200) == [stops]
    assert paginate([], 200) == []


@given(st.lists(TYPED, max_size=40), st.integers(min_value=10, max_value=300))
def test_every_item_is_on_exactly_one_page_in_order_and_each_page_fits(items: list[str], width: int) -> None:
    pages = paginate(items, width)
    expected = [item if septets(item) <= width else shorten(item, width) for item in items]
    assert [item for page in pages for item in page] == expected
    assert all(page for page in pages)
    for number, page in enumerate(pages):
        assert septets("; ".join(page)) <= width
        if number:  # a page starts only with what did not fit on the one before
            assert septets("; ".join([*pages[number - 1], page[0]])) > width
