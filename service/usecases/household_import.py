"""Households from a spreadsheet: a CSV read and checked row by row (the dry run, which writes
nothing), then the good rows registered together in one unit of work, each as the CLI's and a
collector's registration is (``households.register_household``: its member code and account),
and welcomed by text in its language (``households.welcome``, through the outbox).

Reading is pure: bytes in, rows out, and it never raises whatever the bytes are; a file it cannot
take at all (too big, no header, a column missing) is a ``Reading`` with a ``problem``. A row
that cannot be registered is a ``Checked`` with its errors; the good rows are carried to the
write as plain values (``to_plain``/``from_plain``) and checked again there, against the
database as it is then: a number taken meanwhile is left out, not registered twice.

The file: UTF-8 (with or without a byte-order mark), else Windows-1252 (what Excel saves as
"CSV"); commas or semicolons (or tabs) between cells, found from the header row; the header row
names the columns, in any order, case and spacing: ``name``, ``phone``, ``zone``, and optionally
``language`` and ``address``. Other columns are left out (and said so).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import sms
from service.models import collectors_t, households_t, partners_t, phones_t
from service.unit_of_work import UnitOfWork
from service.usecases.households import Member, register_household, welcome
from service.usecases.phones import ensure_phone, set_language
from service.usecases.zones import zones

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
NAME_LENGTH = 80
ADDRESS_LENGTH = 160
COLUMNS = ("name", "phone", "zone", "language", "address")
REQUIRED = ("name", "phone", "zone")
JOINED_VIA = "import"
# A cell is kept to this many characters: enough to see it, and longer than any value allowed
# (so a too-long name is still refused as too long).
CELL_LENGTH = 200
# What an export puts before a cell a spreadsheet would run as a formula (``reads.exports.cell``):
# taken off again, so an exported file imports as it was.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TOO_MANY = f"The file has more than {MAX_ROWS:,} rows: split it into smaller files."
_LOOKUP_CHUNK = 500
_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060\x00"))
# A language by its code or its English name, as the LANG command takes it.
LANGUAGE_WORDS: Mapping[str, str] = {
    **{code: code for code in sms.LANGUAGES},
    **{name.upper(): code for code, name in sms.LANGUAGE_NAMES.items()},
}


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRow:
    """One data row as the file has it, its cells tidied (spaces collapsed, at most
    ``CELL_LENGTH`` characters); ``line`` is its row number in a spreadsheet (the header's is 1)."""

    line: int
    name: str
    phone: str
    zone: str
    language: str = ""
    address: str = ""


@dataclass(frozen=True)
class Reading:
    rows: tuple[RawRow, ...] = ()
    problem: str | None = None  # the whole file is refused: why, in a sentence
    encoding: str = "UTF-8"
    delimiter: str = ","
    ignored: tuple[str, ...] = ()  # columns the header names that are not read


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding's name: UTF-8 (a BOM is dropped), UTF-16 with its BOM, else
    Windows-1252, else Latin-1 (which takes any bytes)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    for encoding, called in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return data.decode(encoding), called
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "Latin-1"


def _delimiter(header_line: str) -> str:
    counts = {mark: header_line.count(mark) for mark in (",", ";", "\t")}
    best = max(counts, key=lambda mark: counts[mark])
    return best if counts[best] else ","


def _tidy(text: str) -> str:
    text = text.translate(_INVISIBLE)
    if text[:1] == "'" and text[1:2] in FORMULA_STARTS:
        text = text[1:]
    return " ".join(text.split())[:CELL_LENGTH]


def _column(text: str) -> str:
    return "".join(text.translate(_INVISIBLE).split()).lower()


def _quoted(texts: Iterable[str], limit: int = 8) -> str:
    shown = [f"“{text[:30]}”" for text in texts]
    return ", ".join(shown[:limit]) + (f" and {len(shown) - limit} more" if len(shown) > limit else "")


def _first_line(text: str) -> str:
    return next((line for line in io.StringIO(text) if line.strip()), "")


def read_csv(data: bytes) -> Reading:
    """The file's data rows, or why the whole file cannot be read. Never raises."""
    if len(data) > MAX_BYTES:
        return Reading(
            problem=f"The file is larger than {MAX_BYTES // 1024 // 1024} MB: split it into smaller files."
        )
    text, encoding = decode(data)
    text = text.replace("\x00", "")
    first = _first_line(text).strip()
    # Excel's "sep=;" line names the delimiter; it is no row of the sheet.
    excel_sep = first.lower().startswith("sep=") and len(first) == 5
    delimiter = first[4] if excel_sep else _delimiter(first)
    filled: list[tuple[int, list[str]]] = []  # (row number, cells) of the rows not blank
    number = 0
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        if excel_sep:
            next(reader, None)
        for record in reader:
            number += 1
            if any(cell.strip() for cell in record):
                filled.append((number, record))
                if len(filled) > MAX_ROWS + 1:  # the header, and one row too many
                    return Reading(problem=TOO_MANY)
    except csv.Error as error:
        return Reading(problem=f"Row {number + 1} is not CSV that can be read ({error}).")
    return _rows(filled, encoding, delimiter)


def _rows(filled: list[tuple[int, list[str]]], encoding: str, delimiter: str) -> Reading:
    if not filled:
        return Reading(
            problem="The file is empty: it needs a header row (name, phone, zone) and a row per household."
        )
    header_cells = filled[0][1]
    header = [_column(cell) for cell in header_cells]
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in COLUMNS:
            if name in positions:
                return Reading(problem=f"The header row names the column “{name}” twice.")
            positions[name] = index
    missing = [name for name in REQUIRED if name not in positions]
    if missing:
        found = [cell.strip() for cell in header_cells if cell.strip()]
        return Reading(
            problem="The first row must name the columns name, phone and zone (language and address may "
            f"follow); this file's first row has {_quoted(found)}. Missing: {', '.join(missing)}."
        )
    ignored = tuple(
        cell.strip()[:30]
        for cell, name in zip(header_cells, header, strict=True)
        if name and name not in COLUMNS
    )
    rows: list[RawRow] = []
    for number, record in filled[1:]:
        cells = {name: _tidy(record[i]) if i < len(record) else "" for name, i in positions.items()}
        if any(cells.values()):  # a row with nothing in the columns read is left out
            rows.append(RawRow(number, **{name: cells.get(name, "") for name in COLUMNS}))
    if not rows:
        return Reading(problem="The file has a header row but no household under it.")
    return Reading(tuple(rows), None, encoding, delimiter, ignored)


# --- checking ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewHousehold:
    """What a good row registers."""

    name: str
    phone: str  # E.164
    zone_id: int
    zone: str
    language: str | None
    address: str | None


@dataclass(frozen=True)
class Checked:
    row: RawRow
    household: NewHousehold | None
    errors: tuple[str, ...] = ()
    note: str | None = None  # good, but worth knowing (the number opted out of texts)

    @property
    def ok(self) -> bool:
        return self.household is not None


@dataclass(frozen=True)
class Lookups:
    """What the checks need from the database: the zones (by lower-case name: ``(id, name)``),
    whose each number already is (E.164: words for it), and the numbers that opted out."""

    zones: Mapping[str, tuple[int, str]]
    taken: Mapping[str, str]
    opted_out: frozenset[str] = frozenset()


def _language(text: str) -> str | None:
    return LANGUAGE_WORDS.get(text.upper())


def check_rows(rows: Sequence[RawRow], lookups: Lookups, region: str) -> list[Checked]:
    """Each row with what it will register, or every reason it cannot be. Pure."""
    seen: dict[str, int] = {}
    zone_names = sorted(name for _, name in lookups.zones.values())
    checked = []
    for row in rows:
        errors = []
        if not row.name:
            errors.append("no name")
        elif len(row.name) > NAME_LENGTH:
            errors.append(f"the name is longer than {NAME_LENGTH} characters")
        phone = sms.normalise_phone(row.phone, region) if row.phone else None
        if not row.phone:
            errors.append("no phone number")
        elif phone is None:
            errors.append(f"“{row.phone[:24]}” is not a phone number")
        elif phone in seen:
            errors.append(f"the same number as row {seen[phone]}")
        elif phone in lookups.taken:
            errors.append(f"{phone} is already {lookups.taken[phone]}")
        if phone is not None:
            seen.setdefault(phone, row.line)
        zone = lookups.zones.get(row.zone.casefold()) if row.zone else None
        if not row.zone:
            errors.append("no zone")
        elif zone is None:
            errors.append(
                f"there is no zone “{row.zone[:40]}” (zones: {', '.join(zone_names) or 'none yet'})"
            )
        language = _language(row.language) if row.language else None
        if row.language and language is None:
            errors.append(
                f"“{row.language[:20]}” is not a language: "
                + ", ".join(f"{code} ({name})" for code, name in sms.LANGUAGE_NAMES.items())
            )
        if len(row.address) > ADDRESS_LENGTH:
            errors.append(f"the address is longer than {ADDRESS_LENGTH} characters")
        if errors or phone is None or zone is None:
            checked.append(Checked(row, None, tuple(errors)))
            continue
        household = NewHousehold(row.name, phone, zone[0], zone[1], language, row.address or None)
        note = "the number opted out of texts (STOP): no welcome text" if phone in lookups.opted_out else None
        checked.append(Checked(row, household, (), note))
    return checked


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _LOOKUP_CHUNK):
        yield items[start : start + _LOOKUP_CHUNK]


def lookups(session: Session, rows: Sequence[RawRow], region: str) -> Lookups:
    """The zones, and who holds each number the rows name (households, collectors, shops)."""
    phones = sorted({phone for row in rows if (phone := sms.normalise_phone(row.phone, region))})
    taken: dict[str, str] = {}
    opted_out: set[str] = set()
    h, c, p = households_t.c, collectors_t.c, partners_t.c
    for some in _chunks(phones):
        for phone, name in session.execute(select(p.phone, p.name).where(p.phone.in_(some))):
            taken[phone] = f"the number of partner shop {name}"
        for phone, name in session.execute(select(c.phone, c.name).where(c.phone.in_(some))):
            taken[phone] = f"the number of collector {name}"
        for phone, code, name in session.execute(
            select(h.phone, h.member_code, h.name).where(h.phone.in_(some))
        ):
            taken[phone] = f"the number of household {code or ''} ({name})".replace("  ", " ")
        opted_out.update(
            session.execute(
                select(phones_t.c.number).where(
                    phones_t.c.number.in_(some), phones_t.c.opted_out_at.is_not(None)
                )
            ).scalars()
        )
    by_name = {zone.name.casefold(): (zone.id, zone.name) for zone in zones(session)}
    return Lookups(by_name, taken, frozenset(opted_out))


def dry_run(session: Session, rows: Sequence[RawRow], region: str) -> list[Checked]:
    """Each row's result against the database as it is now; nothing is written."""
    return check_rows(rows, lookups(session, rows, region), region)


# --- carrying the good rows to the write ------------------------------------------------------------


def to_plain(rows: Iterable[RawRow]) -> list[list[object]]:
    return [[row.line, row.name, row.phone, row.zone, row.language, row.address] for row in rows]


def from_plain(data: object) -> tuple[RawRow, ...]:
    """``to_plain``'s rows back; ``ValueError`` for anything else."""
    if not isinstance(data, list) or len(data) > MAX_ROWS:
        raise ValueError("not a list of rows")
    rows = []
    for item in data:
        if not (
            isinstance(item, list)
            and len(item) == 6
            and isinstance(item[0], int)
            and all(isinstance(cell, str) and len(cell) <= CELL_LENGTH for cell in item[1:])
        ):
            raise ValueError("not a row")
        rows.append(RawRow(item[0], *item[1:]))
    return tuple(rows)


# --- writing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    added: tuple[tuple[RawRow, Member], ...]
    left_out: tuple[Checked, ...]  # rows that no longer pass (a number taken since the dry run)


def import_households(uow: UnitOfWork, rows: Sequence[RawRow], region: str) -> Imported:
    """Check ``rows`` again in this unit of work and register every one that passes: its phone's
    row (its language, when the row gives one), the household with its member code and account,
    and the welcome text in its language. The caller commits them all together."""
    session, now = uow.session, uow.now
    added = []
    left_out = []
    for result in dry_run(session, rows, region):
        new = result.household
        if new is None:
            left_out.append(result)
            continue
        ensure_phone(session, new.phone, now)
        if new.language is not None:
            set_language(session, new.phone, new.language, now)
        member = register_household(
            session, new.phone, new.name, new.address, JOINED_VIA, now, zone_id=new.zone_id
        )
        welcome(uow, member)
        added.append((result.row, member))
    return Imported(tuple(added), tuple(left_out))
