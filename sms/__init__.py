"""Kolekt's SMS language: parsing what people type, reply templates, segment counting and gateways.

Pure functions and adapters only: nothing here imports Flask, the database or the ledger.
"""

from .commands import LANGUAGES, Command, Line, Member, ParseError, Role
from .days import Day, Moment, Weekdays
from .grammar import DEFAULT_VOCABULARY, Vocabulary, parse, reserved_words
from .gsm import Segments, fits, is_gsm7, segments, to_gsm7
from .impact import UNITS, Recycled, RecycledList, about_kg
from .member_codes import looks_like_member_code, mask_code, member_code, parse_member_code
from .phones import mask_phone, normalise_phone
from .templates import LANGUAGE_NAMES, Word, render
from .wording import describe_lines, first_name, fit_list, kg, quoted, short_date

__all__ = [
    "DEFAULT_VOCABULARY",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "UNITS",
    "Command",
    "Day",
    "Line",
    "Member",
    "Moment",
    "ParseError",
    "Recycled",
    "RecycledList",
    "Role",
    "Segments",
    "Vocabulary",
    "Weekdays",
    "Word",
    "about_kg",
    "describe_lines",
    "first_name",
    "fit_list",
    "fits",
    "is_gsm7",
    "kg",
    "looks_like_member_code",
    "mask_code",
    "mask_phone",
    "member_code",
    "normalise_phone",
    "parse",
    "parse_member_code",
    "quoted",
    "render",
    "reserved_words",
    "segments",
    "short_date",
    "to_gsm7",
]
