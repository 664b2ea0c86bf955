"""Every SMS template previewed, in each language, with the widest real values: its segments and
its encoding, so an operator sees before a text goes out whether it still fits one GSM-7 segment."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import NamedTuple

from flask import render_template
from flask.typing import ResponseReturnValue

import sms
from service.web.dashboard.base import ANYONE, blueprint, requires, settings
from sms import catalogues
from sms.templates import BUDGETS, EN, LANGUAGE_NAMES, TEMPLATES, WIDTHS, render, template

# Long but real values: the widest names, places and numbers a reply meets (cut to their widths,
# made GSM-7, as in every real text). A value without a sample here fills its whole width.
SAMPLES: Mapping[str, str] = {
    "name": "Ọláolúwa Adébáyọ̀-Ọ̀gúnlẹ́yẹ",
    "collector": "Babátúndé Àjàyí",
    "code": "K123456H",
    "member": "+2348031234567",
    "zone": "Ìkòyí-Obalende East",
    "days": "Tue, Thu, Sat 8-12",
    "points": "1234567",
    "naira": "12345670",
    "balance": "9876543",
    "last": "+1234 on 30 Nov",
    "lines": "PET 12.5kg, SACHET 9.75kg, ALU 8.8kg, HDPE 7.5kg, PAPER 6kg",
    "ref": "7F2KQ9",
    "word": "Gbogbo-ẹ̀ ti ṣe",
    "command": "REDEEM",
    "material": "CARDBOARD",
    "weight": "12345.678",
    "limit": "200",
    "phone": "+2348031234567",
    "language": "Yoruba",
    "date": "Wed 30 Sep",
    "window": "08:00-12:00",
    "reason": "the hub's scale shows 2.5 kg of PET, not 4.5 kg as the receipt says, so the pickup stands",
    "reward": "Golden Penny Semovita 10kg",
    "item": "SEMOVITA10KG",
    "units": "5000",
    "min": "100",
    "max": "5000",
    "need": "12345678",
    "voucher": "ABCDE-FGHJK",
    "stars": "5",
    "count": "12345",
    "kg": "12345.678",
    "commission": "1234567",
    "hours": "168",
    "status": "rejected",
    "what": "redemption",
    "moves": "+1234 30 Nov 7F2KQ9, -250 29 Nov AB12CD, +480 28 Nov ZX98YU, +99 27 Nov QW34ER",
    "list": "1 Airtime 1 pt/NGN, 2 Golden Penny Semovita 4500 pts, 3 Peak Milk tin 900 pts, "
    "4 Bar soap 150 pts, 5 Rice 5kg 4000 pts, 6 Indomie carton 5200 pts, 7 Kerosene 5L 3000 pts, "
    "8 Notebook 300 pts",
    "next": "Fri 2 Oct",
    "occasion": "Eid-el-Kabir public holiday",
    "redeemed": "1234567",
    "members": "12345",
    "sent": "1234567",
    "failed": "12345",
    "disputes": "1234",
    "ledger": "OK",
}


class Preview(NamedTuple):
    key: str
    language: str
    own: bool  # False: the language has no text for the key, English is sent
    text: str
    segments: sms.Segments
    budget: int

    @property
    def long(self) -> bool:
        """Costs more than one plain text (highlighted)."""
        return self.segments.count > 1 or self.segments.encoding != "GSM-7"

    @property
    def over_budget(self) -> bool:
        return self.segments.count > self.budget or self.segments.encoding != "GSM-7"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def previews(programme_name: str) -> list[list[Preview]]:
    """Every template key (English's order), each in every language; ``own`` when the language's
    catalogue has it (else it would go out in English)."""
    found = []
    own = {
        language: set(EN) if language == "EN" else catalogues.translated_keys(language)
        for language in TEMPLATES
    }
    for key in EN:
        rows = []
        for language in TEMPLATES:
            values = {
                name: programme_name if name == "programme" else SAMPLES.get(name, "8" * WIDTHS.get(name, 20))
                for name in _placeholders(template(key, language))
            }
            text = render(key, language, **values)
            rows.append(
                Preview(key, language, key in own[language], text, sms.segments(text), BUDGETS.get(key, 1))
            )
        found.append(rows)
    return found


@blueprint.get("/programme/templates")
@requires(*ANYONE)
def template_preview() -> ResponseReturnValue:
    found = previews(settings().programme_name)
    flat = [row for rows in found for row in rows if row.own]
    return render_template(
        "dashboard/programme_templates.html",
        previews=found,
        languages=list(TEMPLATES),
        long=[row for row in flat if row.long],
        over=[row for row in flat if row.over_budget],
        count=len(flat),
        without=[name for code, name in LANGUAGE_NAMES.items() if code not in TEMPLATES],
        missing=sum(1 for rows in found for row in rows if not row.own),
    )
