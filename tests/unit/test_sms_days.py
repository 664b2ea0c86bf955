"""Days and weekdays in a text, in the reader's language (sms/days.py): GSM-7, without tone marks,
within the width a reply gives a date, and English as it always was."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms import LANGUAGES, Day, Weekdays, gsm, render
from sms.templates import WIDTHS


def test_english_days_are_written_as_before() -> None:
    assert str(Day(date(2026, 12, 1))) == "Tue 1 Dec"
    assert Day(date(2026, 11, 5), weekday=False).say("EN") == "5 Nov"
    assert Weekdays((1, 4), "8-12").say("EN") == "Tue, Fri 8-12"


@pytest.mark.parametrize(
    ("language", "said"),
    [("HA", "Tal 1 Dis"), ("IG", "Tiu 1 Dis"), ("PCM", "Tiu 1 Dis"), ("YO", "Isegun 1/12")],
)
def test_a_day_is_said_in_the_readers_language(language: str, said: str) -> None:
    assert Day(date(2026, 12, 1)).say(language) == said


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31)), st.sampled_from(LANGUAGES))
def test_every_day_in_every_language_is_plain_gsm7_and_fits(day: date, language: str) -> None:
    for said in (Day(day).say(language), Day(day, weekday=False).say(language)):
        assert gsm.is_gsm7(said) and said.isascii(), said
        assert len(said) <= WIDTHS["date"], said


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_weekday_is_named_in_every_language(language: str) -> None:
    said = Weekdays(tuple(range(7)), "8-12").say(language)
    assert said.isascii() and len(said.split(", ")) == 7


def test_a_reply_says_its_day_in_its_own_language() -> None:
    values = {"programme": "Kolekt", "zone": "Yaba", "date": Day(date(2026, 12, 1)), "window": "08:00-12:00"}
    assert "Tue 1 Dec" in render("reminder_eve", "EN", **values)
    assert "Tal 1 Dis" in render("reminder_eve", "HA", **values)
