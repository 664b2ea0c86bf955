"""The households and collectors pages, and hub weigh-ins, through the dashboard as a hub uses it:
search, a household's page with its statement (running balances right on every page), a
collector's figures, recording a weigh-in (and a refused one that writes nothing)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger
from service.models import audit_log_t, collection_lines_t, collections_t, inbound_t, ratings_t, weigh_ins_t
from service.outbox import Outbox
from service.usecases import scales
from service.usecases.households import get_member, member_by_phone
from service.usecases.pickups import log_pickup, pickup_by_reference, reverse_pickup
from service.usecases.roles import get_collector
from service.web.dashboard import people_pages
from sms.commands import Line
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Browser, Hub, open_dispute

ADA = "+2348031234567"  # the demo's households
TUNDE = "+2348052345678"

_STATEMENT_ROW = re.compile(
    r'<tr data-transfer="(\d+)">.*?data-amount>([+-]\d+)</td>.*?data-balance>([\d,-]+)</td>', re.S
)
_OLDER = re.compile(r'href="([^"]*before=\d+[^"]*)"')


def household_id(hub: Hub, phone: str) -> int:
    member = hub.read(lambda s: member_by_phone(s, phone))
    assert member is not None
    return int(member.id)


def member_code(hub: Hub, phone: str) -> str:
    member = hub.read(lambda s: member_by_phone(s, phone))
    assert member is not None
    return str(member.member_code)


def today(hub: Hub) -> date:
    return datetime.now(UTC).astimezone(hub.runtime.settings.zone).date()


# --- households ------------------------------------------------------------------------------------


@pytest.fixture
def hub_seeded(hub: Hub) -> Hub:
    hub.seed()
    return hub


def found_names(browser: Browser, query: str) -> set[str]:
    page = browser.get("/dashboard/households", query_string={"q": query})
    assert page.status_code == 200
    table = page.text.split('id="households"')[1]
    return {name for name in ("Ada Okafor", "Tunde Bakare", "Ngozi Eze") if name in table}


def test_search_by_member_code_phone_or_name(hub_seeded: Hub) -> None:
    hub = hub_seeded
    browser = hub.signed_in("auditor")
    assert found_names(browser, member_code(hub, ADA)) == {"Ada Okafor"}
    assert found_names(browser, member_code(hub, ADA).lower()) == {"Ada Okafor"}
    for typed in ("0803 123 4567", "08031234567", "+234 803 123 4567", "2348031234567"):
        assert found_names(browser, typed) == {"Ada Okafor"}, typed
    assert found_names(browser, "okaf") == {"Ada Okafor"}
    assert found_names(browser, "TUNDE") == {"Tunde Bakare"}
    assert found_names(browser, "e") == {"Tunde Bakare", "Ngozi Eze"}  # "Ada Okafor" has no e
    assert found_names(browser, "nobody") == set()
    assert found_names(browser, "%") == set()  # a wildcard typed is a character, not "anything"
    assert found_names(browser, "") == {"Ada Okafor", "Tunde Bakare", "Ngozi Eze"}


def add_texts(hub: Hub, phone: str) -> None:
    def work(session: Session) -> None:
        now = datetime.now(UTC)
        session.execute(
            inbound_t.insert(),
            {
                "provider": "console",
                "provider_message_id": uuid.uuid4().hex,
                "sender": phone,
                "recipient": "KOLEKT",
                "body": "BAL please",
                "received_at": now - timedelta(minutes=5),
                "status": "processed",
                "command": "Balance",
            },
        )
        Outbox(session, now).write(phone, "Your balance is 1234 pts.", language="EN", template="balance")
        Outbox(session, now).write(TUNDE, "Not for Ada.", language="EN", template="balance")

    hub.read(work)


def test_the_household_page_shows_details_pickups_texts_and_disputes(hub_seeded: Hub) -> None:
    hub = hub_seeded
    add_texts(hub, ADA)
    dispute_id = open_dispute(hub, "my sack was heavier")  # the newest pickup: whose is it?
    disputed = hub.read(
        lambda s: s.execute(
            select(collections_t.c.household_id, collections_t.c.reference).where(
                collections_t.c.id
                == select(collections_t.c.id).order_by(collections_t.c.id.desc()).limit(1).scalar_subquery()
            )
        ).one()
    )
    owner = hub.read(lambda s: get_member(s, disputed.household_id))
    references = hub.read(
        lambda s: list(
            s.execute(
                select(collections_t.c.reference).where(collections_t.c.household_id == owner.id)
            ).scalars()
        )
    )
    browser = hub.signed_in("operator")
    page = browser.get(f"/dashboard/households/{owner.id}")
    assert page.status_code == 200
    text = page.text
    for fact in (owner.member_code, owner.name, owner.phone, owner.address):
        assert fact in text
    balance = hub.read(lambda s: ledger.balance(s, f"member:{owner.member_code}").credit_balance)
    assert f'data-figure="balance">{balance:,}<' in text
    pickups = text.split('id="pickups"')[1].split("</table>")[0]
    assert references and all(reference in pickups for reference in references)
    collector = hub.read(
        lambda s: get_collector(
            s,
            s.execute(
                select(collections_t.c.collector_id).where(collections_t.c.reference == disputed.reference)
            ).scalar_one(),
        )
    )
    assert "PET" in pickups and collector.name in pickups
    disputes = text.split('id="disputes"')[1].split("</article>")[0]
    assert "my sack was heavier" in disputes and disputed.reference in disputes and "open" in disputes
    assert dispute_id
    # Ada's texts, both ways, and nobody else's.
    ada = browser.get(f"/dashboard/households/{household_id(hub, ADA)}").text
    messages = ada.split('id="messages"')[1]
    assert "BAL please" in messages and "Balance" in messages
    assert "Your balance is 1234 pts." in messages
    assert "Not for Ada." not in messages
    # An operator may propose an adjustment to the account; an auditor is not offered it.
    assert f'href="/dashboard/adjustments?account=member:{owner.member_code}"' in text
    assert (
        "Propose an adjustment" not in hub.signed_in("auditor").get(f"/dashboard/households/{owner.id}").text
    )


def statement_rows(browser: Browser, url: str) -> tuple[list[tuple[int, int, int]], str | None]:
    page = browser.get(url)
    assert page.status_code == 200, url
    statement = page.text.split('id="statement"')[1].split("</table>")[0]
    rows = [
        (int(i), int(amount), int(balance.replace(",", "")))
        for i, amount, balance in _STATEMENT_ROW.findall(statement)
    ]
    older = _OLDER.search(page.text.split('id="statement"')[1].split('class="pager"')[1].split("</nav>")[0])
    return rows, older.group(1) if older else None


def test_the_statement_running_balance_is_right_on_every_page(
    hub_seeded: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = hub_seeded
    monkeypatch.setattr(people_pages, "STATEMENT_PAGE", 3)

    def more(session: Session) -> None:
        ada = member_by_phone(session, ADA)
        musa = get_collector(session, 1)
        assert ada is not None and musa is not None
        now = datetime.now(UTC)
        references = [
            log_pickup(
                session,
                collector=musa,
                household=ada,
                lines=(Line("PET", 1000 * (n + 1)), Line("ALU", 300)),
                occurred_at=now - timedelta(hours=n),
                received_at=now,
                channel="dashboard",
                dedupe_key=f"test:{uuid.uuid4().hex}",
            ).reference
            for n in range(3)
        ]
        found = pickup_by_reference(session, references[1])
        assert found is not None
        reverse_pickup(session, found, status="reversed", actor="test", now=now)  # a debit line

    hub.read(more)
    account = f"member:{member_code(hub, ADA)}"
    posted = hub.read(
        lambda s: [
            t for chunk in ledger.browse_chunks(s, ledger.TransferFilter(account=account)) for t in chunk
        ]
    )
    assert len(posted) >= 9  # the demo's 5 pickups, 3 more and a reversal: pages of 3, 3, 3, ...
    # What the statement must say: each transfer's signed amount and the balance after it.
    expected: list[tuple[int, int, int]] = []
    running = 0
    for t in sorted(posted, key=lambda t: t.id):
        signed = t.amount if t.credit == account else -t.amount
        running += signed
        expected.append((t.id, signed, running))
    expected.reverse()
    assert any(signed < 0 for _i, signed, _b in expected)

    browser = hub.signed_in("auditor")
    url: str | None = f"/dashboard/households/{household_id(hub, ADA)}"
    shown: list[tuple[int, int, int]] = []
    pages = 0
    while url:
        rows, url = statement_rows(browser, url)
        assert len(rows) == 3 or url is None  # a full page offers older ones (maybe none left)
        shown += rows
        pages += 1
    assert pages == len(expected) // 3 + 1
    assert shown == expected
    assert shown[0][2] == hub.read(lambda s: ledger.balance(s, account).credit_balance)
    # Every line links to its transfer's page.
    page = browser.get(f"/dashboard/households/{household_id(hub, ADA)}").text
    assert f'href="/dashboard/ledger/{expected[0][0]}"' in page


def test_an_unknown_household_or_collector_is_404(hub_seeded: Hub) -> None:
    browser = hub_seeded.signed_in("operator")
    assert browser.get("/dashboard/households/9999").status_code == 404
    assert browser.get("/dashboard/collectors/9999").status_code == 404
    assert browser.get("/dashboard/households/1?before=x").status_code == 422


# --- collectors ------------------------------------------------------------------------------------


def test_the_collector_pages_show_their_figures(hub_seeded: Hub) -> None:
    hub = hub_seeded
    zone = hub.runtime.settings.zone
    month_start = datetime.combine(today(hub).replace(day=1), datetime.min.time(), tzinfo=zone)
    since = datetime.combine(today(hub) - timedelta(days=29), datetime.min.time(), tzinfo=zone)

    def figures(session: Session) -> dict[str, Any]:
        rows = session.execute(
            select(collections_t).where(
                collections_t.c.collector_id == 1, collections_t.c.status == "credited"
            )
        ).all()
        this_month = [r for r in rows if r.received_at >= month_start]
        recent = [r.id for r in rows if r.occurred_at >= since]
        pet = session.execute(
            select(func.sum(collection_lines_t.c.grams)).where(
                collection_lines_t.c.collection_id.in_(recent), collection_lines_t.c.material_code == "PET"
            )
        ).scalar_one()
        return {
            "pickups": len(this_month),
            "grams": sum(r.grams for r in this_month),
            "commission": sum(r.commission for r in this_month),
            "balance": ledger.balance(session, "collector:1").credit_balance,
            "recent": recent,
            "pet": int(pet),
        }

    expected = hub.read(figures)
    first, second = expected["recent"][:2]
    hub.read(
        lambda s: s.execute(
            ratings_t.insert(),
            [
                {"collection_id": first, "collector_id": 1, "stars": 5, "rated_at": datetime.now(UTC)},
                {"collection_id": second, "collector_id": 1, "stars": 4, "rated_at": datetime.now(UTC)},
            ],
        )
    )
    browser = hub.signed_in("auditor")
    listing = browser.get("/dashboard/collectors")
    assert listing.status_code == 200
    row = listing.text.split('data-collector="1"')[1].split("</tr>")[0]
    assert "Musa Ibrahim" in row and "Yaba" in row and "+2348030000001" in row
    assert f"data-pickups>{expected['pickups']}<" in row
    assert f"data-kg>{Decimal(expected['grams']) / 1000:,f}<" in row  # exact kg: 2250 g is 2.25

    page = browser.get("/dashboard/collectors/1").text
    assert f'data-figure="kg-month">{Decimal(expected["grams"]) / 1000:,f} kg<' in page
    assert f'data-figure="pickups-month">{expected["pickups"]} pickups<' in page
    assert f'data-figure="commission-month">{expected["commission"]:,}<' in page
    assert f'data-figure="commission-balance">{expected["balance"]:,}<' in page
    assert expected["balance"] > 0
    assert 'data-figure="stars">4.5 ★<' in page and 'data-figure="ratings">2 ratings<' in page
    chart = page.split('class="bars"')[1].split("</svg>")[0]
    assert "PET bottles" in chart and f">{Decimal(expected['pet']) / 1000:,f}<" in chart
    pickups = page.split('id="pickups"')[1]
    assert "Ada Okafor" in pickups and "Ngozi Eze" not in pickups  # Ngozi's collector is Kemi


# --- weigh-ins -------------------------------------------------------------------------------------


def test_a_weigh_in_names_its_scale_and_a_scale_out_of_calibration_is_flagged(hub_seeded: Hub) -> None:
    hub = hub_seeded
    day = today(hub)
    hub.read(lambda s: scales.add_scale(s, "HUB-1", "Platform 300kg", "Yaba hub", datetime.now(UTC)))
    operator = hub.signed_in("operator")
    form = operator.get("/dashboard/weigh-ins").text
    assert '<option value="HUB-1" selected>HUB-1: Platform 300kg</option>' in form  # the only scale
    answer = operator.post(
        "/dashboard/weigh-ins",
        {"collector": "1", "day": day.isoformat(), "material": "PET", "kg": "4", "scale": "HUB-1"},
    )
    assert answer.status_code == 303, answer.text
    assert hub.read(lambda s: s.execute(select(weigh_ins_t.c.scale_id)).scalar_one()) is not None
    page = operator.get(answer.headers["Location"]).text
    assert "scale HUB-1 out of calibration" in page  # never calibrated
    hub.read(
        lambda s: scales.calibrate(s, "HUB-1", day, "Lagos W&M", "LWM-2026-9", day, now=datetime.now(UTC))
    )
    assert "out of calibration" not in operator.get(answer.headers["Location"]).text


def test_an_operator_records_a_weigh_in_and_it_is_compared(hub_seeded: Hub) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    day = today(hub).isoformat()
    answer = operator.post(
        "/dashboard/weigh-ins",
        {"collector": "1", "day": day, "material": "pet", "kg": "12.5", "note": "wet sacks"},
    )
    assert answer.status_code == 303, answer.text
    row = hub.read(lambda s: s.execute(select(weigh_ins_t)).one())
    assert (row.collector_id, row.day.isoformat(), row.material_code, row.grams, row.note) == (
        1,
        day,
        "PET",
        12_500,
        "wet sacks",
    )
    entry = hub.read(
        lambda s: s.execute(select(audit_log_t).where(audit_log_t.c.action == "weigh_in.record")).one()
    )
    assert entry.subject == f"weigh_in:{row.id}" and entry.actor == operator.email
    assert json.loads(entry.details) == {
        "collector": 1,
        "day": day,
        "material": "PET",
        "grams": 12_500,
        "note": "wet sacks",
    }
    page = operator.get(answer.headers["Location"])
    assert page.status_code == 200 and "Weigh-in recorded: 12.5 kg of PET" in page.text
    # Nothing of Musa's PET was logged today (the demo's pickups are on earlier days): flagged.
    compared = page.text.split('id="comparison"')[1]
    flagged = compared.split(f'data-row="{day} 1 PET"')[0].rsplit("<tr", 1)[1]
    assert 'class="flagged"' in flagged
    assert "12.5" in compared.split(f'data-row="{day} 1 PET"')[1].split("</tr>")[0]
    # The collector's page shows it too.
    assert 'class="flagged"' in operator.get("/dashboard/collectors/1").text.split('id="weigh-ins"')[1]


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"kg": "-3"}, "more than 0 kg"),
        ({"kg": "lots"}, "kg must be a number"),
        ({"kg": "2000.001"}, "at most 2,000 kg"),
        ({"day": "2999-01-01"}, "in the future"),
        ({"day": "yesterday"}, "a date like"),
        ({"material": "GOLD"}, "no material"),
        ({"collector": "999"}, "no collector 999"),
        ({"collector": ""}, "choose the collector"),
        ({"scale": "HUB-9"}, "no scale &#39;HUB-9&#39;"),
    ],
)
def test_a_refused_weigh_in_writes_nothing(hub_seeded: Hub, form: dict[str, str], reason: str) -> None:
    hub = hub_seeded
    operator = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    answer = operator.post(
        "/dashboard/weigh-ins",
        {"collector": "1", "day": today(hub).isoformat(), "material": "PET", "kg": "3"} | form,
    )
    assert answer.status_code == 422
    assert reason in answer.text
    assert 'id="comparison"' in answer.text  # the page again, with the form as typed
    assert snapshot(hub.runtime.engine) == before


def test_the_weigh_ins_page_lists_the_last_week_and_checks_its_filters(hub_seeded: Hub) -> None:
    hub = hub_seeded
    browser = hub.signed_in("auditor")
    page = browser.get("/dashboard/weigh-ins")
    assert page.status_code == 200
    first = (today(hub) - timedelta(days=6)).isoformat()
    assert (
        f'name="from" value="{first}"' in page.text
        and f'name="to" value="{today(hub).isoformat()}"' in page.text
    )
    assert "not weighed" in page.text  # the demo's pickups of the last week, none weighed
    assert 'id="record"' not in page.text  # an auditor records nothing
    assert browser.get("/dashboard/weigh-ins", query_string={"from": "soon"}).status_code == 422
    wide = {"from": "2026-01-01", "to": "2026-12-31"}
    assert "at most 62 days" in browser.get("/dashboard/weigh-ins", query_string=wide).text
    assert browser.get("/dashboard/weigh-ins", query_string={"collector": "x"}).status_code == 422
