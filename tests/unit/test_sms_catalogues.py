"""The translations (sms/locale, ``sms.catalogues``): made from the English templates, complete in
every language (no reply falls back to English), each keeping its English's values, marked as
awaiting a native speaker's review, and read the same from a compiled ``.mo`` as from the ``.po``."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from sms import catalogues
from sms.templates import BUDGETS, EN, WIDTHS, render, template

LANGUAGES = list(catalogues.LOCALES)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_the_template_file_holds_every_english_template_as_it_is_now() -> None:
    with catalogues.TEMPLATE_FILE.open("rb") as pot:
        on_disk = [(m.context, m.id) for m in read_po(pot) if m.id]
    made = [(m.context, m.id) for m in catalogues.template_catalogue(EN, WIDTHS, BUDGETS) if m.id]
    assert on_disk == made, "run: python -m sms.locale update, then translate what it marks"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_reply_falls_back_to_english(language: str) -> None:
    catalogue = catalogues.read(language)
    done = catalogues.translated(catalogue)
    untranslated = [key for key in EN if key not in done]
    outdated = [key for key in EN if catalogue.get(EN[key], context=key) is None]
    assert (untranslated, outdated) == ([], []), f"{language}: translate these keys"
    fuzzy = [m.context for m in catalogue if m.id and m.fuzzy]
    assert fuzzy == [], f"{language}: their English changed; check and drop the fuzzy flag"


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_translation_keeps_its_englishs_values(language: str) -> None:
    wrong = {
        key: sorted(placeholders(text) ^ placeholders(EN[key]))
        for key, text in catalogues.translated(catalogues.read(language)).items()
        if key in EN and placeholders(text) != placeholders(EN[key])
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_are_not_english_left_in_place(language: str) -> None:
    """A translation the same as its English is a template copied, not translated: allowed only
    where the English holds no words of its own ("{terms}") or, in Pidgin, where Pidgin says it
    the same way (a few)."""
    same = [
        key
        for key, text in catalogues.translated(catalogues.read(language)).items()
        if key in EN and text == EN[key] and re.search(r"\b[a-z]{3,}\b", re.sub(r"\{\w+\}", "", text))
    ]
    assert len(same) <= (12 if language == "PCM" else 0), same


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_says_it_awaits_a_native_speakers_review(language: str) -> None:
    header = catalogues.po_path(language).read_text().split("msgid", 1)[0]
    assert catalogues.AWAITING_REVIEW in header or "Reviewed by" in header


def test_the_replies_are_read_alike_from_the_compiled_catalogue_and_the_po(tmp_path: Path) -> None:
    catalogues.compile_all()
    compiled = {language: dict(catalogues.templates(language, EN)) for language in LANGUAGES}
    for language in LANGUAGES:
        catalogues.mo_path(language).unlink()
    catalogues.forget()
    try:
        for language in LANGUAGES:
            assert dict(catalogues.templates(language, EN)) == compiled[language]
    finally:
        catalogues.compile_all()


def test_a_language_kolekt_does_not_know_is_answered_in_english() -> None:
    assert template("bad_ref", "XX") == EN["bad_ref"]
    assert render("bad_member_code", "XX", code="K4821X") == "No member K4821X. Check the code."


def test_a_yoruba_reply_comes_from_its_catalogue() -> None:
    assert (
        render("language_set", "YO", programme="Kolekt", language="Yoruba")
        == "O dara, Kolekt yoo ma ko si o ni Yoruba."
    )
