"""How values are written in a text (``sms.wording``): kilograms, a pickup's lines, first names,
short dates and lists cut to fit, always GSM-7."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

import sms

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
