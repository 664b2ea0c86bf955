"""Kolekt's replies in the households' languages, as gettext catalogues (Babel's tools).

English is the source: ``sms.templates.EN``, one template per key. Each other language has one
catalogue, ``sms/locale/<locale>/LC_MESSAGES/messages.po``, in which every message's context
(``msgctxt``) is the template's key and its ``msgid`` the English template, so a translator works
in Poedit, Weblate or any gettext tool, and an English template that changes marks its
translations fuzzy until a translator has looked again. Fuzzy and empty translations are never
sent (the English is, and a test forbids that for every language). docs/translations.md says how
to contribute or correct a translation.

    python -m sms.locale extract   # sms/locale/messages.pot from the English templates
    python -m sms.locale update    # each .po brought in line with it (an English change: fuzzy)
    python -m sms.locale compile   # each .po compiled to its .mo (the set-up does it, so CI too)
    python -m sms.locale stats     # what each catalogue covers

A catalogue whose ``.mo`` is missing or older than its ``.po`` is compiled in memory when it is
first needed, so a checkout that skipped ``compile`` still answers in every language.
"""

from __future__ import annotations

import gettext
import io
import logging
import string
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import NamedTuple

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
TEMPLATE_FILE = LOCALE_DIR / f"{DOMAIN}.pot"
# Kolekt's language codes (LANG) and their gettext locales; English is the source.
LOCALES: Mapping[str, str] = {"PCM": "pcm", "YO": "yo", "HA": "ha", "IG": "ig"}
# What a catalogue's header says until a native speaker has read it through.
AWAITING_REVIEW = "awaiting a native speaker's review"
_WIDTH = 100  # how .po lines are wrapped (stable diffs)
# The files' dates stay put, so that only a change of words changes them (git has the history).
STABLE_DATE = datetime(2026, 12, 3, tzinfo=UTC)
_PEOPLE = {
    "msgid_bugs_address": "the Kolekt team (docs/translations.md)",
    "last_translator": "drafted by the Kolekt team, " + AWAITING_REVIEW,
    "language_team": "Kolekt translators (docs/translations.md)",
}


def po_path(language: str) -> Path:
    return LOCALE_DIR / LOCALES[language] / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as po:
        return read_po(po, locale=LOCALES[language], domain=DOMAIN)


def translated(catalogue: Catalog) -> dict[str, str]:
    """Its usable translations by key: neither fuzzy nor empty."""
    return {
        str(message.context): str(message.string)
        for message in catalogue
        if message.id and message.context and message.string and not message.fuzzy
    }


@cache
def _translations(language: str) -> gettext.NullTranslations:
    po, mo = po_path(language), mo_path(language)
    if not po.exists():
        log.error("no catalogue for %s at %s: its replies go out in English", language, po)
        return gettext.NullTranslations()
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as compiled:
            return gettext.GNUTranslations(compiled)
    buffer = io.BytesIO()
    write_mo(buffer, read(language), use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


_templates: dict[str, dict[str, str]] = {}


def templates(language: str, source: Mapping[str, str]) -> Mapping[str, str]:
    """Every template of ``source`` (English, by key) in ``language``: the catalogue's translation,
    or the English where it has none (which a test forbids)."""
    found = _templates.get(language)
    if found is None or len(found) != len(source):
        translations = _translations(language)
        found = {key: translations.pgettext(key, english) for key, english in source.items()}
        _templates[language] = found
    return found


def translated_keys(language: str) -> set[str]:
    """The keys a language's catalogue translates (neither fuzzy nor empty)."""
    found = _keys.get(language)
    if found is None:
        found = _keys[language] = set(translated(read(language)))
    return found


_keys: dict[str, set[str]] = {}


def forget() -> None:
    """Read the catalogues again when next needed (after ``compile`` or an edit)."""
    _translations.cache_clear()
    _templates.clear()
    _keys.clear()


# --- the tools: extract, update, compile, stats -------------------------------------------------------


def _placeholders(text: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def template_catalogue(
    source: Mapping[str, str], widths: Mapping[str, int], budgets: Mapping[str, int]
) -> Catalog:
    """The messages to translate, each with a note for the translator: its segment budget, and the
    widest each of its values may be."""
    catalogue = Catalog(project="Kolekt", version="1", domain=DOMAIN, fuzzy=False, **_PEOPLE)
    for key, english in source.items():
        budget = budgets.get(key, 1)
        notes = [
            f"{key}: at most {budget * 160} characters ({budget} SMS) once the values are in; "
            "GSM-7 letters only (no tone marks or accents); keep {names} and command words as they are."
        ]
        values = _placeholders(english)
        if values:
            notes.append(
                "Values are at most: "
                + ", ".join(f"{name} {widths.get(name, 20)}" for name in dict.fromkeys(values))
            )
        catalogue.add(english, context=key, auto_comments=notes)
    return catalogue


def _header(language: str) -> str:
    names = {"PCM": "Nigerian Pidgin", "YO": "Yoruba", "HA": "Hausa", "IG": "Igbo"}
    return (
        f"# Kolekt's replies in {names[language]}.\n"
        f"# Status: {AWAITING_REVIEW}. Written without tone marks or accents: GSM-7 has\n"
        "# none, and one such letter would make a text cost two to three times as much.\n"
        "# How to correct or add a translation: docs/translations.md."
    )


def _write(path: Path, catalogue: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalogue, width=_WIDTH, omit_header=False, ignore_obsolete=True, include_previous=True)
    path.write_bytes(buffer.getvalue())


def extract() -> Catalog:
    from sms.templates import BUDGETS, EN, WIDTHS

    catalogue = template_catalogue(EN, WIDTHS, BUDGETS)
    catalogue.creation_date = STABLE_DATE
    _write(TEMPLATE_FILE, catalogue)
    return catalogue


def update() -> None:
    template = extract()
    for language, locale in LOCALES.items():
        path = po_path(language)
        old = (
            {str(message.context): message for message in read(language) if message.id}
            if path.exists()
            else {}
        )
        catalogue = Catalog(
            locale=locale, domain=DOMAIN, project="Kolekt", version="1", fuzzy=False, **_PEOPLE
        )
        catalogue.creation_date = STABLE_DATE
        catalogue.header_comment = _header(language)
        catalogue.revision_date = STABLE_DATE
        for message in template:
            if not message.id:
                continue
            before = old.get(str(message.context))
            flags: set[str] = set()
            previous: list[str] = []
            if before is not None and before.string and before.id != message.id:
                # The English changed: the translation is kept, marked for a translator to look again.
                flags, previous = {"fuzzy"}, [str(before.id)]
            elif before is not None:
                flags = set(before.flags)
            catalogue.add(
                message.id,
                before.string if before is not None else "",
                context=message.context,
                auto_comments=message.auto_comments,
                user_comments=before.user_comments if before is not None else (),
                flags=flags,
                previous_id=previous,
            )
        _write(path, catalogue)
    forget()


class Coverage(NamedTuple):
    language: str
    translated: int
    fuzzy: int
    missing: int
    total: int


def coverage(source: Mapping[str, str]) -> list[Coverage]:
    found = []
    for language in LOCALES:
        catalogue = read(language)
        done = translated(catalogue)
        fuzzy = sum(1 for message in catalogue if message.id and message.fuzzy and message.context in source)
        count = sum(
            1 for key in source if key in done and catalogue.get(source[key], context=key) is not None
        )
        found.append(Coverage(language, count, fuzzy, len(source) - count, len(source)))
    return found


def compile_all() -> list[Path]:
    written = []
    for language in LOCALES:
        path = mo_path(language)
        with path.open("wb") as compiled:
            write_mo(compiled, read(language), use_fuzzy=False)
        written.append(path)
    forget()
    return written


def main(arguments: list[str]) -> int:
    from sms.templates import EN

    if arguments == ["extract"]:
        extract()
        print(f"wrote {TEMPLATE_FILE.relative_to(LOCALE_DIR.parent.parent)}")
    elif arguments == ["update"]:
        update()
        print("updated " + ", ".join(str(po_path(language).relative_to(LOCALE_DIR)) for language in LOCALES))
    elif arguments in (["compile"], ["compile", "--quiet"]):
        for path in compile_all():
            if "--quiet" not in arguments:
                print(f"compiled {path.relative_to(LOCALE_DIR)}")
    elif arguments == ["stats"]:
        for row in coverage(EN):
            print(
                f"{row.language:4} {row.translated}/{row.total} translated, "
                f"{row.fuzzy} fuzzy, {row.missing} missing ({AWAITING_REVIEW})"
            )
    else:
        print("usage: python -m sms.locale extract|update|compile [--quiet]|stats", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
