"""sms.ussd: reading Africa's Talking's ``text``, the answers a screen takes, and fitting a screen
(at most 182 GSM-7 characters, options one a line, a wrong answer's line above the screen)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sms import gsm, ussd


def test_text_is_every_answer_so_far() -> None:
    assert ussd.inputs("") == [] and ussd.inputs(None) == []
    assert ussd.inputs("1") == ["1"]
    assert ussd.inputs("4*1* 200 *1") == ["4", "1", "200", "1"]
    assert ussd.inputs("1**2") == ["1", "", "2"]  # just Send: an empty answer, to be refused


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="*"), min_size=1), min_size=1))
def test_answers_joined_by_star_read_back(answers: list[str]) -> None:
    assert ussd.inputs("*".join(answers)) == [answer.strip() for answer in answers]


def test_a_choice_is_ascii_digits_within_the_options() -> None:
    answers = ("1", "5", "0", "6", "01", "x", "", "²", "\u0661", " 1")
    assert [ussd.choice(answer, 5) for answer in answers] == [1, 5, None, None, 1] + [None] * 5


@given(st.text(max_size=12), st.integers(min_value=1, max_value=20))
def test_a_choice_never_fails_and_is_in_range(answer: str, count: int) -> None:
    chosen = ussd.choice(answer, count)
    assert chosen is None or 1 <= chosen <= count


def test_a_whole_number_may_have_thousands_commas() -> None:
    assert ussd.whole("500") == 500 and ussd.whole("1,500") == 1500 and ussd.whole("20,000") == 20000
    assert ussd.whole("1,000,000") == 1_000_000
    for wrong in ("1,5", "15,00", "4.5", "-5", "", "five", "²", "1234567890", ",100"):
        assert ussd.whole(wrong) is None, wrong


@given(st.text(max_size=20))
def test_whole_never_fails(answer: str) -> None:
    found = ussd.whole(answer)
    assert found is None or 0 <= found < 10**9


def test_options_are_one_a_line_and_only_whole_lines_fit() -> None:
    options = ussd.numbered(["Yaba", "Sabo", "Ìkòyí"])
    assert options.fit(100) == "1 Yaba\n2 Sabo\n3 Ikòyi"  # ò is GSM-7; Ì and í are not
    assert options.fit(13) == "1 Yaba\n2 Sabo"  # the third would not fit whole
    assert ussd.Lines(["x" * 30]).fit(10) == "x" * 10


@given(st.text(max_size=400), st.text(max_size=200), st.booleans())
def test_an_answer_is_con_or_end_gsm7_and_at_most_182(body: str, error: str, end: bool) -> None:
    screen = ussd.answer(ussd.with_error(error, body, "Try again, or 0 to go back."), end=end)
    assert screen.startswith("END " if end else "CON ")
    assert len(screen) <= ussd.MAX_SCREEN and gsm.is_gsm7(screen)


def test_a_wrong_answer_leads_the_same_screen_or_says_how_to_go_on() -> None:
    assert ussd.with_error("Choose one of the numbers.", "1 Join\n2 Terms", "again") == (
        "Choose one of the numbers.\n1 Join\n2 Terms"
    )
    long_screen = "x" * 175
    assert ussd.with_error("Wrong.", long_screen, "Try again, or 0 to go back.") == (
        "Wrong.\nTry again, or 0 to go back."
    )
