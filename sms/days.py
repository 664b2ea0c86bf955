"""Days and weekdays as a text names them, in the reader's language: names of days and months from
CLDR (Babel), without their tone marks and accents, as every text is written
(docs/translations.md). A value said when the text is written, so that one reminder goes to
households of several languages each in its own."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import cache

from babel.dates import format_date, get_day_names

# Kolekt's languages as CLDR's locales.
_LOCALES = {"EN": "en", "PCM": "pcm", "YO": "yo", "HA": "ha", "IG": "ig"}
# (with its weekday, without): Yoruba's month names are long ("Osu Ope"), so its days are 1/12.
_FORMATS = {"YO": ("EEE d/M", "d/M")}
_DEFAULT_FORMATS = ("EEE d MMM", "d MMM")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(character for character in decomposed if not unicodedata.combining(character))


@cache
def say_day(day: date, language: str, weekday: bool = True) -> str:
    """ "Tue 1 Dec" (English), "Tal 1 Dis" (Hausa), "Isegun 1/12" (Yoruba); "1 Dec" without the
    weekday. English is written as it always was, by Python, not CLDR."""
    if language not in _LOCALES or language == "EN":
        return f"{day:%a} {day.day} {day:%b}" if weekday else f"{day.day} {day:%b}"
    with_weekday, without = _FORMATS.get(language, _DEFAULT_FORMATS)
    return _plain(format_date(day, with_weekday if weekday else without, locale=_LOCALES[language]))


@cache
def weekday_names(language: str) -> tuple[str, ...]:
    """Monday first."""
    if language not in _LOCALES or language == "EN":
        return ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    names = get_day_names("abbreviated", locale=_LOCALES[language])
    return tuple(_plain(names[day]) for day in range(7))


@dataclass(frozen=True)
class Day:
    """A day in a text: "Tue 1 Dec", or "1 Dec" without its weekday."""

    day: date
    weekday: bool = True

    def say(self, language: str) -> str:
        return say_day(self.day, language, self.weekday)

    def __str__(self) -> str:
        return self.say("EN")


@dataclass(frozen=True)
class Moment:
    """A day and a time in a text: "3 Dec 14:00" (the month in the reader's language)."""

    day: date
    time: str  # "14:00"

    def say(self, language: str) -> str:
        return f"{say_day(self.day, language, weekday=False)} {self.time}"

    def __str__(self) -> str:
        return self.say("EN")


@dataclass(frozen=True)
class Weekdays:
    """A zone's collection days and hours, as a welcome says them: "Tue, Fri 8-12"."""

    days: tuple[int, ...]  # Monday 0
    hours: str  # "8-12"

    def say(self, language: str) -> str:
        names = weekday_names(language)
        return f"{', '.join(names[day] for day in self.days)} {self.hours}"

    def __str__(self) -> str:
        return self.say("EN")
