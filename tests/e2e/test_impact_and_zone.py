"""IMPACT and ZONE end to end through signed Twilio webhooks (issue 23): what a household's
pickups add up to, in its language and one segment, and its zone's month among the others,
with no one else's personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

import sms
from service.db import transaction
from service.models import Household, Suggestion
from service.usecases.zones import add_zone
from tests.e2e import test_field_flows as flows
from tests.e2e.helpers import sessions
from tests.e2e.test_field_flows import (
    ADA,
    BOLA,
    STRANGER,
    TUNDE,
    age_pickup,
    code_of,
    last_reference,
    only_reply,
    say,
)

app = flows.app  # the programme the field flows use: Yaba, Tunde, rates for PET, ALU and SACHET


def test_a_stranger_is_asked_to_join_and_a_new_member_has_nothing_yet(app: Flask) -> None:
    assert only_reply(app, STRANGER, "IMPACT").startswith("You are not in Kolekt yet.")
    assert only_reply(app, STRANGER, "ZONE").startswith("You are not in Kolekt yet.")
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    assert only_reply(app, ADA, "impact") == (
        "Kolekt: no pickups yet. Once a collector logs your first, text IMPACT to see what you recycled."
    )


def test_impact_adds_up_the_credited_pickups_and_what_they_mean(app: Flask) -> None:
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    code = code_of(app, ADA)
    say(app, TUNDE, f"LOG {code} PET 4.5 ALU 1.2 #1")
    say(app, TUNDE, f"LOG {code} PET 2 #2")
    say(app, TUNDE, f"UNDO {last_reference(app)}")  # undone: it counts for nothing
    # PET 4.5 kg: 225 bottles at 50 a kg; ALU 1.2 kg: 80 cans at 67 a kg (80.4, whole cans);
    # CO2e 4.5 x 1,150 g + 1.2 x 10,060 g = 17,247 g, about 17 kg; 45 + 36 points.
    reply = only_reply(app, ADA, "IMPACT")
    assert reply == (
        "Kolekt: since you joined, PET 4.5kg (225 bottles), ALU 1.2kg (80 cans). About 17kg CO2e saved "
        "and 81 pts earned. Thank you!"
    )
    assert sms.segments(reply).count == 1 and sms.is_gsm7(reply)
    say(app, ADA, "LANG YO")
    yoruba = only_reply(app, ADA, "IMPACT")
    assert "PET 4.5kg (225 igo), ALU 1.2kg (80 agolo)" in yoruba and "81 pts" in yoruba
    assert sms.segments(yoruba).count == 1 and sms.is_gsm7(yoruba)


def test_zone_gives_the_month_the_rank_and_the_change_and_nobody_s_details(app: Flask) -> None:
    with transaction(sessions(app)) as session:
        add_zone(session, "Surulere", "mon,thu", "08:00-12:00", datetime.now(UTC))
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    say(app, BOLA, "JOIN Bola Bello, Yaba")
    ada, bola = code_of(app, ADA), code_of(app, BOLA)
    assert (
        only_reply(app, ADA, "ZONE") == "Kolekt Yaba: 0kg recycled this month, no. 1 of 2 zones. Thank you!"
    )
    say(app, TUNDE, f"LOG {ada} PET 4 #1")
    age_pickup(app, last_reference(app), timedelta(days=40))  # last month's (or the one before)
    say(app, TUNDE, f"LOG {bola} PET 5 #2")
    reply = only_reply(app, ADA, "ZONE")
    assert reply.startswith("Kolekt Yaba: 5kg recycled this month, no. 1 of 2 zones")
    for private in ("Bola", "Ada", bola, BOLA, ada):
        assert private not in reply
    collector = only_reply(app, TUNDE, "ZONE")
    assert collector == "Kolekt Yaba: 5kg this month, no. 1 of 2 zones. You: 5kg in 1 pickups."


def test_zone_without_a_zone_says_so(app: Flask) -> None:
    say(app, ADA, "JOIN Ada Okafor")
    with transaction(sessions(app)) as session:
        session.execute(update(Household).where(Household.phone == ADA).values(zone_id=None))
    assert only_reply(app, ADA, "ZONE") == (
        "Kolekt: you are not in a zone yet, so there is no zone total. The hub will text your pickup day."
    )


def test_statement_on_and_off_by_text(app: Flask) -> None:
    assert only_reply(app, STRANGER, "STATEMENT ON").startswith("You are not in Kolekt yet.")
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    assert only_reply(app, ADA, "statement") == (
        "Kolekt: text STATEMENT ON for a statement of your month by SMS early each month, "
        "STATEMENT OFF to stop it."
    )
    assert only_reply(app, ADA, "STATEMENT ON") == (
        "Kolekt: OK, a statement of your month will come by SMS early each month. "
        "Text STATEMENT OFF to stop it."
    )
    with transaction(sessions(app)) as session:
        asked = session.execute(
            select(Household.monthly_statement).where(Household.phone == ADA)
        ).scalar_one()
    assert asked is True
    assert only_reply(app, ADA, "statement off").startswith("Kolekt: OK, no more monthly statements.")
    with transaction(sessions(app)) as session:
        asked = session.execute(
            select(Household.monthly_statement).where(Household.phone == ADA)
        ).scalar_one()
    assert asked is False


def test_suggest_by_text_is_kept_and_thanked_for(app: Flask) -> None:
    assert only_reply(app, STRANGER, "SUGGEST rice").startswith("You are not in Kolekt yet.")
    say(app, ADA, "JOIN Ada Okafor, Yaba")
    assert only_reply(app, ADA, "SUGGEST") == (
        "Tell us your idea for a reward after SUGGEST, e.g. SUGGEST rice or SUGGEST school books."
    )
    for idea in ("rice", "school books", "soap"):
        assert only_reply(app, ADA, f"suggest {idea}") == (
            "Kolekt: thank you, Ada! Your idea for a reward is with the hub, who read every one."
        )
    assert only_reply(app, ADA, "SUGGEST beans") == (
        "Kolekt: thank you, that makes 3 ideas today. Send more tomorrow."
    )
    with transaction(sessions(app)) as session:
        kept = session.execute(select(Suggestion.text).order_by(Suggestion.id)).scalars().all()
    assert kept == ["rice", "school books", "soap"]
