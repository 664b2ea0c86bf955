"""The dashboard's kilograms (``kg`` in every template): the text's exact form (``sms.kg``), whole
kilos grouped by thousands, read back to the very gram; never a float's rounding."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

import sms
from service.web.dashboard.base import kg

WHOLE = re.compile(r"^\d{1,3}(,\d{3})*$")


@given(st.integers(min_value=-(10**15), max_value=10**15), st.booleans())
def test_every_weight_reads_back_to_its_grams_and_matches_the_text(grams: int, signed: bool) -> None:
    shown = kg(grams, signed=signed)
    assert Decimal(shown.replace(",", "")) * 1000 == grams
    sign = "-" if grams < 0 else "+" if signed and grams > 0 else ""
    assert shown.startswith(sign) and not shown[len(sign) :].startswith(("+", "-"))
    whole, point, fraction = shown[len(sign) :].partition(".")
    assert WHOLE.match(whole), shown
    assert f"{whole.replace(',', '')}{point}{fraction}" == sms.kg(abs(grams))


def test_weights_as_the_issue_saw_them() -> None:
    assert [kg(g) for g in (2250, 1750, 4500, 250, 3000, 0, 1, 1005)] == [
        "2.25",
        "1.75",
        "4.5",
        "0.25",
        "3",
        "0",
        "0.001",
        "1.005",
    ]
    assert [kg(g) for g in (999_999, 1_000_000, 1_234_500, 123_456_789)] == [
        "999.999",
        "1,000",
        "1,234.5",
        "123,456.789",
    ]
    assert kg(None) == ""
    assert [kg(g, signed=True) for g in (1750, -500, 0, -1_234_500)] == ["+1.75", "-0.5", "0", "-1,234.5"]
    assert kg(-2250) == "-2.25"
