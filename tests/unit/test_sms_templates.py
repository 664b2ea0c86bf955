"""Every reply template, in every language, rendered with long realistic values: GSM-7 and
within its segment budget (a stray character would switch a message to UCS-2)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms import gsm, parse, ussd
from sms.commands import LANGUAGES, ParseError
from sms.templates import BUDGETS, EN, TEMPLATES, WIDTHS, render, template

# The longest and least GSM-friendly values a reply may be given.
LONG = {
    "programme": "Lagos Recycling Cooperative Programme",
    "name": "Ọláolúwa Adébáyọ̀-Ọ̀gúnlẹ́yẹ Chukwuemeka",
    "collector": "Babátúndé Olúwaṣeun “Tunde” Àjàyí",
    "code": "K123456789H",
    "member": "+2348031234567 (Ọláolúwa)",
    "zone": "Ìkòyí\u2013Obalende East Extension",
    "days": "Tue, Thu & Sat 08:00\u201312:00",
    "points": "12345678",
    "naira": "123456789",
    "balance": "99999999",
    "held": "99999999",
    "last": "+1234 on 30 Nov 2026",
    "lines": "PET 123.456kg, SACHET 99.999kg, ALU 88.888kg, HDPE 77.777kg, PAPER 66kg, GLASS 55kg",
    "ref": "ABCDEF",
    "seq": "#99999999",
    "text": "LOG K0001E PET 4.5 ALU 1.2 SACHET 3 ÀÁÂ “quoted” #12345678",
    "word": "€€€€€€€€€€€€€€€€€€€€ 😀",
    "command": "REDEEM",
    "material": "Ẹ̀rọ-ayélujára",
    "weight": "123456.7890",
    "limit": "200",
    "phone": "0803-123-4567-999",
    "language": "Yorùbá",
    "date": "Wed 30 Sep",
    "window": "08:00-12:00",
    "reason": "the scale at the hub shows 2.5 kg of PET, not 4.5 kg as the receipt says, so it stands",
    "reward": "Golden Penny Semovita 10kg bag",
    "item": "SEMOVITA10KG",
    "units": "1000000",
    "min": "1000000",
    "max": "1000000",
    "need": "99999999",
    "voucher": "ABCDE-FGHJK",
    "stars": "5",
    "count": "99999",
    "kg": "99999.999",
    "commission": "99999999",
    "hours": "168",
    "status": "rejected",
    "what": "redemption",
    "moves": "+12345 30 Nov ABCDEF, -12345 29 Nov ABCDEF, +12345 28 Nov ABCDEF, +99 27 Nov ABCDEF",
    "list": "1 AIRTIME 1 pt/NGN, 2 Golden Penny Semovita 10kg 4500 pts, 3 Peak Milk tin 900 pts, " * 4,
    "next": "Wed 30 Sep",
    "occasion": "Eid-el-Kabir public holiday (declared by the Federal Government)",
    "redeemed": "99999999",
    "members": "99999",
    "sent": "9999999",
    "failed": "99999",
    "disputes": "9999",
    "ledger": "unchecked",
    "page": "999",
    "pages": "999",
    "terms": "Lagos Recycling Cooperative terms: " + "points are credited at each pickup, " * 10,
    "rate": "123.45",
    "url": "https://recycling.example.org/terms-and-conditions",
    # cash-out: a bank name longer than its width (cut at a word to "First City Monument Bank"),
    # the account name at its full 40, a Yoruba day and a time, amounts with thousands commas
    "bank": "First City Monument Bank Plc",
    "account_name": "OKAFOR-NWANKWO ADAEZE CHINYERE OLUWASEUN ABIODUN",
    "masked": "****6789",
    "when": "Isegun 30/12 23:59",
    "choices": "First Bank of Nigeria, First City Monument Bank, FirstTrust Mortgage Bank",
    "why": "the bank refused the account name and number",
    "cap": "1,000,000",
    "left": "1,000,000",
    "step": "99999",
    "float": "123,456,789",
    "low": "1,000,000",
    # IMPACT and ZONE: more materials than fit, as RecycledList would say them unfitted
    "recycled": "PET 123.456kg (6,173 bottles), ALU 88.888kg (5,955 cans), SACHET 99.999kg (39,999 sachets)",
    "co2": "123,456",
    "rank": "999",
    "zones": "999",
    "change": "+1000%",
    "mine": "99999.999",
    "years": "100",
    "month": "12/2026",
    "question": "Which reward should we add next, abeg?",
    "vote_options": "1 Semovita 5kg, 2 Ọṣẹ (soap) bar, 3 MTN data 1GB",
    "choice": "3 MTN data 1GB",
    "numbers": "1, 2 or 3",
    # USSD screens: options listed one a line, more than fit; a route's stops
    "options": ussd.numbered(
        ["Ìkòyí\u2013Obalende East Extension", "Golden Penny Semovita 10kg bag 4500 pts"] * 5
    ),
    "materials": ussd.Lines(
        ["1 SEMOVITA10KG", "2 SACHET", "3 ALU", "4 HDPE", "5 PAPER", "6 GLASS", "9 Done"] * 2
    ),
    "stops": "K0001E Ada O., 12 Adeniyi Jones Avenue; K0002F Tunde B., 4 Ojo Rd; " * 4,
}


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


CASES = [(language, key) for language, templates in TEMPLATES.items() for key in templates]


@pytest.mark.parametrize(("language", "key"), CASES)
def test_every_template_is_gsm7_and_names_only_known_values(language: str, key: str) -> None:
    text = TEMPLATES[language][key]
    assert gsm.is_gsm7(text), [c for c in text if not gsm.is_gsm7(c)]
    assert placeholders(text) <= WIDTHS.keys()
    assert key in EN, "every key has its English template"


@pytest.mark.parametrize(("language", "key"), CASES)
def test_every_template_rendered_long_stays_gsm7_and_within_budget(language: str, key: str) -> None:
    values = {name: LONG[name] for name in placeholders(template(key, language))}
    reply = render(key, language, **values)
    counted = gsm.segments(reply)
    assert counted.encoding == "GSM-7", reply
    assert counted.count <= BUDGETS.get(key, 1), (len(reply), reply)


def test_values_are_made_gsm7_and_clipped() -> None:
    full_width = "K\uff14\uff18\uff12\uff11\uff38 \U0001f600"  # and an emoji
    reply = render("bad_member_code", "EN", code=full_width)
    assert reply == "No member K4821X. Check the code."
    assert render(
        "welcome",
        "EN",
        programme="Kolekt",
        name="Ọláolúwa Adébáyọ̀",
        code="K0007F",
        zone="Yaba",
        days="Tue 8-12",
    ).startswith("Welcome to Kolekt, Olaoluwa! Your code is K0007F.")


def test_every_reason_the_parser_gives_has_a_reply() -> None:
    grammar = (Path(__file__).resolve().parents[2] / "sms" / "grammar.py").read_text()
    reasons = set(re.findall(r'ParseError\(\s*"(\w+)"', grammar))
    assert reasons and reasons <= EN.keys(), reasons - EN.keys()


@given(
    st.text(max_size=300), st.sampled_from(["household", "collector", "partner"]), st.sampled_from(LANGUAGES)
)
def test_every_refusal_of_any_text_gets_a_gsm7_reply_within_two_segments(
    text: str, role: str, language: str
) -> None:
    result = parse(text, role)  # type: ignore[arg-type]
    if isinstance(result, ParseError):
        reply = render(result.reason, language, programme="Kolekt", **result.details)
        assert gsm.fits(reply, parts=2), reply
