"""Opting out is exact, never guessed: only a whole message that is an opt-out word stops a
number's texts. In a programme that pays in airtime, "TOP UP" is one of the likeliest texts, and
the reader used to take it (and SHOP, STEP, ...) for STOP, one typo away."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms import parse
from sms.commands import Join, ParseError, Start, Stop, TopUp
from sms.grammar import OPT_IN_WORDS, OPT_OUT_WORDS, whole_word

COMMON = ("TOP", "TOP UP", "TOPUP", "SHOP", "STEP", "STOCK", "SPOT", "POST", "STORE")
LETTERS = string.ascii_uppercase + " "


def one_edit(word: str) -> set[str]:
    """Every word one edit away: a letter (or space) added, dropped or changed, or two neighbours
    swapped."""
    found = set()
    for i in range(len(word) + 1):
        found.update(word[:i] + letter + word[i:] for letter in LETTERS)
    for i in range(len(word)):
        found.add(word[:i] + word[i + 1 :])
        found.update(word[:i] + letter + word[i + 1 :] for letter in LETTERS)
    for i in range(len(word) - 1):
        found.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    found.discard(word)
    return found


def neighbours(word: str) -> set[str]:
    """One and two edits away; those that are themselves an opt-out word (SHOP -> STOP) left out:
    whoever types STOP means it."""
    near = one_edit(word)
    for each in list(near):
        near |= one_edit(each)
    return {text for text in near if whole_word(text) not in OPT_OUT_WORDS}


@pytest.mark.parametrize("word", COMMON)
def test_no_neighbour_of_a_common_word_opts_anyone_out(word: str) -> None:
    walked = neighbours(word)
    assert len(walked) > 1000
    assert [text for text in walked if isinstance(parse(text), Stop)] == []
    # A collector's commands differ, not how opting out is read: their one-edit neighbours suffice.
    near = one_edit(word) - {text for text in one_edit(word) if whole_word(text) in OPT_OUT_WORDS}
    assert [text for text in near if isinstance(parse(text, "collector"), Stop)] == []


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", " Stop. ", "STOP!", "Stop all", "UNSUBSCRIBE", "cancel", "End", "QUIT", "DURO", "Tsaya"],
)
def test_an_opt_out_word_as_the_whole_message_opts_out(text: str) -> None:
    assert isinstance(parse(text), Stop)
    assert isinstance(parse(text, "collector"), Stop)


@pytest.mark.parametrize("text", ["STOP please", "stop sending", "CANCEL pickup", "END of day", "Quit it"])
def test_an_opt_out_word_that_begins_a_longer_text_is_explained_not_obeyed(text: str) -> None:
    found = parse(text)
    assert isinstance(found, ParseError) and found.reason == "stop_alone", found


@pytest.mark.parametrize("text", ["TOP UP", "Top-up", "topup 200", "TOP", "top up my line", "AIRTIME"])
def test_top_up_asks_how_to_get_airtime(text: str) -> None:
    assert parse(text) == TopUp()


@pytest.mark.parametrize("text", ["START", "start", "Unstop", "YES", "BERE", "Fara", "malite"])
def test_opting_back_in_is_the_whole_message_too(text: str) -> None:
    assert isinstance(parse(text), Start)


@pytest.mark.parametrize("text", ["STAR", "STARTT", "SATRT"])
def test_a_typo_never_opts_in_either(text: str) -> None:
    assert not isinstance(parse(text), Start)


def test_the_opt_words_are_read_only_whole() -> None:
    assert set(OPT_OUT_WORDS).isdisjoint(OPT_IN_WORDS)
    assert whole_word("Stop 2") is None and whole_word("S-T-O-P") == "STOP"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("JOIN Ada Okafor", None),
        ("DARAPO Ade Bello", "YO"),
        ("Shiga Musa Bello", "HA"),
        ("SONYE Ngozi", "IG"),
    ],
)
def test_join_in_a_languages_word_carries_the_language(text: str, language: str | None) -> None:
    found = parse(text)
    assert isinstance(found, Join) and found.language == language


@given(st.text(max_size=30))
def test_only_a_whole_opt_out_word_ever_opts_out(text: str) -> None:
    if isinstance(parse(text), Stop):
        from sms.grammar import clean

        assert whole_word(clean(text)) in OPT_OUT_WORDS
