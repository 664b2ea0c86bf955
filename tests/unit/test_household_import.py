"""Reading and checking a households CSV, without a database: any bytes are read without raising
(a file it cannot take is one problem in words; a row it cannot register, that row's errors),
the encodings and separators spreadsheets write, and every row error the dry run shows."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.reads.exports import cell
from service.usecases import household_import as hi
from service.usecases.household_import import Lookups, RawRow, check_rows, read_csv

YABA, SABO = (1, "Yaba"), (2, "Sabo")
LOOKUPS = Lookups(
    zones={"yaba": YABA, "sabo": SABO},
    taken={
        "+2348031234567": "the number of household K1X (Ada Okafor)",
        "+2348030000001": "the number of collector Musa Ibrahim",
    },
    opted_out=frozenset({"+2348059998888"}),
)


def rows_of(text: str, encoding: str = "utf-8") -> tuple[RawRow, ...]:
    reading = read_csv(text.encode(encoding))
    assert reading.problem is None, reading.problem
    return reading.rows


def problem_of(data: bytes) -> str:
    reading = read_csv(data)
    assert reading.problem is not None and reading.rows == ()
    return reading.problem


# --- reading ---------------------------------------------------------------------------------------


def test_a_header_in_any_case_order_and_spacing_with_a_bom_and_semicolons() -> None:
    text = (
        "\ufeff Phone ;NAME;Zone;Lang uage;ADDRESS;Notes\n"
        "0803 123 4567; Ada   Okafor ;yaba;Yoruba;12 Adeniyi St;x\n"
    )
    reading = read_csv(text.encode("utf-8"))
    assert (reading.problem, reading.delimiter, reading.encoding, reading.ignored) == (
        None,
        ";",
        "UTF-8",
        ("Notes",),
    )
    assert reading.rows == (RawRow(2, "Ada Okafor", "0803 123 4567", "yaba", "Yoruba", "12 Adeniyi St"),)


def test_rows_are_numbered_as_the_spreadsheet_numbers_them_and_blank_rows_are_left_out() -> None:
    rows = rows_of('name,phone,zone\n\nAda,0803,Yaba\n,,\n"Bola\nAde",0805,Sabo\n   \nChi,0806,Yaba\n')
    assert [(row.line, row.name) for row in rows] == [(3, "Ada"), (5, "Bola Ade"), (7, "Chi")]


def test_optional_columns_may_be_missing_and_short_rows_are_padded() -> None:
    assert rows_of("zone,name,phone\nYaba,Ada\n") == (RawRow(2, "Ada", "", "Yaba", "", ""),)


def test_excels_windows_1252_is_read_when_the_file_is_not_utf8() -> None:
    reading = read_csv("name;phone;zone\nJosé Ñwankwo;0803 123 4567;Yaba\n".encode("cp1252"))
    assert reading.encoding == "Windows-1252" and reading.rows[0].name == "José Ñwankwo"


def test_utf16_with_its_bom_and_tabs_as_excel_saves_unicode_text() -> None:
    data = codecs.BOM_UTF16_LE + "name\tphone\tzone\r\nAda\t0803\tYaba\r\n".encode("utf-16-le")
    reading = read_csv(data)
    assert (reading.encoding, reading.delimiter) == ("UTF-16", "\t")
    assert reading.rows == (RawRow(2, "Ada", "0803", "Yaba"),)


def test_excels_sep_line_names_the_delimiter() -> None:
    reading = read_csv(b"sep=;\nname;phone;zone\nAda, Okafor;0803;Yaba\n")
    assert reading.rows == (RawRow(2, "Ada, Okafor", "0803", "Yaba"),)


def test_a_cell_an_export_quoted_is_read_as_it_was() -> None:
    [row] = rows_of("name,phone,zone\n'=Ada,'+2348031234567,Yaba\n")
    assert (row.name, row.phone) == ("=Ada", "+2348031234567")
    [row] = rows_of("name,phone,zone\nO'Neil,'0803,Yaba\n")
    assert (row.name, row.phone) == ("O'Neil", "'0803")  # not a quote an export made


@given(st.text(max_size=60).filter(lambda text: not text.startswith("'")))
def test_an_exported_cell_imports_as_it_was(text: str) -> None:
    assert hi._tidy(cell(text)) == hi._tidy(text)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "The file is empty"),
        (b"\n \n,,\n", "The file is empty"),
        (b"name,phone,zone\n", "no household under it"),
        (b"name,phone,zone\n,,\n", "no household under it"),
        (b"name,telephone,zone\nAda,0803,Yaba\n", "Missing: phone."),
        (
            b"Ada,0803,Yaba\n",
            "this file's first row has “Ada”, “0803”",
        ),
        (
            b"name,phone,zone,Phone\nAda,0803,Yaba,0805\n",
            "names the column “phone” twice",
        ),
        (b"name,phone,zone\n" + b"a" * (hi.MAX_BYTES), "larger than 2 MB"),
        (b'name,phone,zone\n"' + b"a" * 140_000 + b'",0803,Yaba\n', "Row 2 is not CSV that can be read"),
    ],
)
def test_a_file_that_cannot_be_read_is_one_problem_in_words(data: bytes, words: str) -> None:
    assert words in problem_of(data)


def test_at_most_5000_rows() -> None:
    rows = "".join(f"Person {n},0803{n:07d},Yaba\n" for n in range(hi.MAX_ROWS))
    assert len(rows_of("name,phone,zone\n" + rows)) == hi.MAX_ROWS
    assert "more than 5,000 rows" in problem_of(
        ("name,phone,zone\n" + rows + "One more,0805,Yaba\n").encode()
    )


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_read_without_raising(data: bytes) -> None:
    reading = read_csv(data)
    assert (reading.problem is None) == bool(reading.rows)
    for result in check_rows(reading.rows, LOOKUPS, "NG"):
        assert result.ok != bool(result.errors)


_CELL = st.text(max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(_CELL, _CELL, _CELL), min_size=1, max_size=20),
    st.sampled_from([",", ";"]),
    st.sampled_from(["utf-8", "utf-8-sig"]),
)
def test_what_a_spreadsheet_writes_is_read_back_cell_for_cell(
    cells: list[tuple[str, str, str]], delimiter: str, encoding: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["name", "phone", "zone"])
    writer.writerows(cells)
    reading = read_csv(buffer.getvalue().encode(encoding))
    expected = [
        (hi._tidy(name), hi._tidy(phone), hi._tidy(zone))
        for name, phone, zone in cells
        if hi._tidy(name) or hi._tidy(phone) or hi._tidy(zone)
    ]
    assert [(row.name, row.phone, row.zone) for row in reading.rows] == expected


# --- checking ----------------------------------------------------------------------------------------


def test_a_good_row_will_be_added_as_the_programme_writes_it() -> None:
    [result] = check_rows(
        [RawRow(2, "Bola Ade", "0805 222 3333", "SABO", "yoruba", "3 Main St")], LOOKUPS, "NG"
    )
    assert result.ok and result.errors == () and result.note is None
    assert result.household == hi.NewHousehold("Bola Ade", "+2348052223333", 2, "Sabo", "YO", "3 Main St")
    [plain] = check_rows([RawRow(2, "Bola Ade", "+234 805 222 3333", "Sabo")], LOOKUPS, "NG")
    assert plain.household is not None and (plain.household.language, plain.household.address) == (None, None)


@pytest.mark.parametrize(
    ("row", "errors"),
    [
        (RawRow(2, "", "08052223333", "Yaba"), ["no name"]),
        (RawRow(2, "x" * 81, "08052223333", "Yaba"), ["the name is longer than 80 characters"]),
        (RawRow(2, "Bola", "", "Yaba"), ["no phone number"]),
        (RawRow(2, "Bola", "0805 222", "Yaba"), ["“0805 222” is not a phone number"]),
        (
            RawRow(2, "Bola", "08031234567", "Yaba"),
            ["+2348031234567 is already the number of household K1X (Ada Okafor)"],
        ),
        (
            RawRow(2, "Bola", "08030000001", "Yaba"),
            ["+2348030000001 is already the number of collector Musa Ibrahim"],
        ),
        (RawRow(2, "Bola", "08052223333", ""), ["no zone"]),
        (RawRow(2, "Bola", "08052223333", "Ikeja"), ["there is no zone “Ikeja” (zones: Sabo, Yaba)"]),
        (
            RawRow(2, "Bola", "08052223333", "Yaba", "Klingon"),
            ["“Klingon” is not a language: EN (English), PCM (Pidgin), YO (Yoruba), HA (Hausa), IG (Igbo)"],
        ),
        (
            RawRow(2, "Bola", "08052223333", "Yaba", "", "y" * 161),
            ["the address is longer than 160 characters"],
        ),
        (
            RawRow(2, "", "12", "Ikeja"),
            ["no name", "“12” is not a phone number", "there is no zone “Ikeja” (zones: Sabo, Yaba)"],
        ),
    ],
)
def test_each_error_of_a_row(row: RawRow, errors: list[str]) -> None:
    [result] = check_rows([row], LOOKUPS, "NG")
    assert (result.ok, result.household, list(result.errors)) == (False, None, errors)


def test_a_number_twice_in_the_file_is_refused_from_its_second_row() -> None:
    rows = [
        RawRow(2, "Bola", "08052223333", "Yaba"),
        RawRow(3, "Chi", "0806 111 2222", "Yaba"),
        RawRow(4, "Bola again", "+234 805 222 3333", "Sabo"),
    ]
    results = check_rows(rows, LOOKUPS, "NG")
    assert [result.ok for result in results] == [True, True, False]
    assert results[2].errors == ("the same number as row 2",)


def test_a_number_that_opted_out_is_added_with_a_note() -> None:
    [result] = check_rows([RawRow(2, "Dayo", "08059998888", "Yaba")], LOOKUPS, "NG")
    assert result.ok and result.note == "the number opted out of texts (STOP): no welcome text"


def test_rows_travel_as_plain_values_and_nothing_else_is_taken() -> None:
    rows = (RawRow(2, "Bola", "0805", "Yaba", "YO", "3 Main St"), RawRow(9, "Chi", "0806", "Sabo"))
    assert hi.from_plain(hi.to_plain(rows)) == rows
    for junk in (
        None,
        {"rows": []},
        [[2, "a", "b"]],
        [["2", "a", "b", "c", "d", "e"]],
        [[2, "a", "b", "c", "d", 5]],
    ):
        with pytest.raises(ValueError, match="not a"):
            hi.from_plain(junk)
    with pytest.raises(ValueError, match="not a row"):
        hi.from_plain([[2, "a" * 201, "b", "c", "d", "e"]])
