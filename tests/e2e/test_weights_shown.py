"""A weight is shown the same way wherever it is shown: 2250 g is "2.25" and 1750 g is "1.75" in
a text, on every dashboard page (pickups, totals, charts, a transfer's cause, disputes, weigh-ins
and their gaps) and in the JSON API's grams, never rounded through a float ("2.2", "1.8")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
import sms
from service.models import materials_t
from service.reads import insights
from service.usecases.households import member_by_phone
from service.usecases.pickups import log_pickup
from service.usecases.roles import get_collector
from sms.commands import Line
from tests.e2e.api_helpers import Api
from tests.e2e.hub import Hub, open_dispute

ADA = "+2348031234567"


def exact(grams: int) -> str:
    """What the dashboard must show: the kg of ``grams`` exactly, whole kilos grouped."""
    return f"{Decimal(grams) / 1000:,f}"


class Logged:
    def __init__(self, hub: Hub) -> None:
        """Two pickups of Ada's by Musa, now, of materials the demo never logs: HDPE 2.25 kg and
        PAPER 1.75 kg (the newest)."""
        self.hub = hub

        def work(session: Session) -> list[tuple[int, str]]:
            ada, musa = member_by_phone(session, ADA), get_collector(session, 1)
            assert ada is not None and musa is not None
            now = datetime.now(UTC)
            made = [
                log_pickup(
                    session,
                    collector=musa,
                    household=ada,
                    lines=(Line(material, grams),),
                    occurred_at=now,
                    received_at=now,
                    channel="dashboard",
                    dedupe_key=f"test:{uuid.uuid4().hex}",
                )
                for material, grams in (("HDPE", 2250), ("PAPER", 1750))
            ]
            return [(logged.collection_id, logged.reference) for logged in made]

        (self.hdpe_id, self.hdpe), (self.paper_id, self.paper) = hub.read(work)
        self.names = dict(hub.read(lambda s: s.execute(select(materials_t.c.code, materials_t.c.name)).all()))


@pytest.fixture
def logged(hub: Hub) -> Logged:
    hub.seed()
    return Logged(hub)


def test_texts_say_what_the_dashboard_shows() -> None:
    assert sms.describe_lines([Line("HDPE", 2250), Line("PAPER", 1750)]) == "HDPE 2.25kg, PAPER 1.75kg"


def test_the_pickup_lists_show_exact_kg(logged: Logged) -> None:
    browser = logged.hub.signed_in("auditor")
    ada = logged.hub.read(lambda s: member_by_phone(s, ADA))
    assert ada is not None
    for url in (f"/dashboard/households/{ada.id}", "/dashboard/collectors/1"):
        page = browser.get(url)
        assert page.status_code == 200, url
        pickups = page.text.split('id="pickups"')[1].split("</table>")[0]
        for reference, line, total in (
            (logged.hdpe, "HDPE 2.25", "2.25"),
            (logged.paper, "PAPER 1.75", "1.75"),
        ):
            row = pickups.split(f"<code>{reference}</code>")[1].split("</tr>")[0]
            assert f"<td>{line}</td>" in row and f'<td class="num">{total}</td>' in row, (url, row)


def test_the_overview_totals_and_charts_are_exact(logged: Logged) -> None:
    hub = logged.hub
    page = hub.signed_in("auditor").get("/dashboard/")
    assert page.status_code == 200
    periods = page.text.split('<section class="period">')[1:]
    figures = hub.read(
        lambda s: [
            insights.figures(s, p) for p in insights.periods(datetime.now(UTC), hub.runtime.settings.zone)
        ]
    )
    assert len(periods) == len(figures) == 2
    for shown, f in zip(periods, figures, strict=True):
        assert f'<p class="big">{exact(f.grams)} kg</p>' in shown
        by_material = shown.split('aria-label="kg by material')[1].split("</svg>")[0]
        for code, grams in (("HDPE", "2.25"), ("PAPER", "1.75")):
            assert (logged.names[code], 2250 if code == "HDPE" else 1750) in f.kg_by_material
            bar = by_material.split(f">{logged.names[code][:18]}<")[1].split("</g>")[0]
            assert f">{grams} kg<" in bar, bar
        by_zone = shown.split('aria-label="kg by zone')[1].split("</svg>")[0]
        for zone, grams in f.kg_by_zone:
            assert f">{exact(grams)} kg<" in by_zone.split(f">{zone[:18]}<")[1].split("</g>")[0]


def test_a_transfers_cause_and_a_dispute_show_exact_kg(logged: Logged) -> None:
    hub = logged.hub
    credit = hub.read(
        lambda s: ledger.browse(
            s, ledger.TransferFilter(reference=f"pickup:{logged.hdpe_id}", code="pickup_credit")
        )
    )
    browser = hub.signed_in("auditor")
    page = browser.get(f"/dashboard/ledger/{credit[0].id}")
    assert page.status_code == 200
    assert "<dt>Weight</dt><dd>2.25 kg</dd>" in page.text
    dispute = open_dispute(hub, "it was more")  # the newest pickup: PAPER 1.75 kg
    disputes = (
        browser.get("/dashboard/disputes").text.split(f'id="dispute-{dispute}"')[1].split("</article>")[0]
    )
    assert logged.paper in disputes and "<dd>1.75 kg, " in disputes


def test_weigh_ins_and_their_gaps_are_exact(logged: Logged) -> None:
    hub = logged.hub
    operator = hub.signed_in("operator")
    day = datetime.now(UTC).astimezone(hub.runtime.settings.zone).date().isoformat()
    for material, typed in (("HDPE", "4"), ("PAPER", "1.25")):
        answer = operator.post(
            "/dashboard/weigh-ins", {"collector": "1", "day": day, "material": material, "kg": typed}
        )
        assert answer.status_code == 303, answer.text
    page = operator.get("/dashboard/weigh-ins").text
    assert "Weigh-in recorded: 1.25 kg of PAPER" in page
    for url, table_id in (("/dashboard/weigh-ins", "comparison"), ("/dashboard/collectors/1", "weigh-ins")):
        table = operator.get(url).text.split(f'id="{table_id}"')[1].split("</table>")[0]
        rows = {
            code: table.split(f"<td>{logged.names[code]}</td>")[1].split("</tr>")[0]
            for code in ("HDPE", "PAPER")
        }
        assert '<td class="num">2.25</td>' in rows["HDPE"] and '<td class="num">4</td>' in rows["HDPE"]
        assert "+1.75 kg (+78%)" in rows["HDPE"], rows["HDPE"]  # 4 kg weighed, 2.25 logged
        assert '<td class="num">1.75</td>' in rows["PAPER"] and '<td class="num">1.25</td>' in rows["PAPER"]
        assert "-0.5 kg (-29%)" in rows["PAPER"], rows["PAPER"]


def test_the_api_gives_exact_grams(api: Api, musa: str) -> None:
    logged = Logged(api.hub)
    for reference, material, grams in ((logged.hdpe, "HDPE", 2250), (logged.paper, "PAPER", 1750)):
        found = api.get(f"/pickups/{reference}", musa)
        assert found.status_code == 200, found.text
        body = found.json
        assert body is not None
        assert body["grams"] == grams and type(body["grams"]) is int
        assert [(line["material"], line["grams"]) for line in body["lines"]] == [(material, grams)]
        assert sms.kg(body["grams"]) == exact(grams)  # what the app shows (formatKg, the same)
