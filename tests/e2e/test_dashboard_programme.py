"""Programme settings from the dashboard: zones, changed collection days (the zone's households
are texted), materials and their words, rate versions, the rewards catalogue, and the message
templates previewed with their segment counts. Only an admin changes them; every change writes
its audit entry, and every refusal is a 422 with the reason and nothing written."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import select

from service.models import audit_log_t, day_changes_t, households_t, outbox_t, rates_t
from service.runtime import use
from service.usecases.catalogue import material_words, rates_in_force
from service.usecases.rewards import get_reward
from service.usecases.zones import zone_by_name
from sms.templates import EN
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Browser, Hub


def _local_today(hub: Hub) -> date:
    return datetime.now(hub.runtime.settings.zone).date()


def _weekday_ahead(hub: Hub, weekday: int) -> date:
    """The first ``weekday`` (Monday 0) at least two days after today, in the programme's zone."""
    day = _local_today(hub) + timedelta(days=2)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def _audit(hub: Hub, action: str) -> list[Any]:
    return list(
        hub.read(
            lambda s: s.execute(
                select(audit_log_t).where(audit_log_t.c.action == action).order_by(audit_log_t.c.id)
            ).all()
        )
    )


def _zone_id(hub: Hub, name: str) -> int:
    zone = hub.read(lambda s: zone_by_name(s, name))
    assert zone is not None
    return int(zone.id)


def _admin(hub: Hub) -> Browser:
    hub.seed()
    return hub.signed_in("admin")


def test_anyone_reads_the_settings_and_only_an_admin_sees_the_forms(hub: Hub) -> None:
    admin = _admin(hub)
    for role in ("operator", "auditor"):
        page = hub.signed_in(role).get("/dashboard/programme")
        assert page.status_code == 200
        for shown in ("Yaba", "Tue, Fri", "08:00-12:00", "PET", "AIRTIME", "Rice 1kg", "Africa/Lagos"):
            assert shown in page.text, shown
        assert "/dashboard/programme/zones" not in page.text  # no form posts anywhere
        assert "Only an admin changes these settings" in page.text
    page = admin.get("/dashboard/programme")
    for action in ("zones", "zones/reminders", "zones/day-changes", "materials", "rates", "rewards/update"):
        assert f'action="/dashboard/programme/{action}"' in page.text, action


def test_an_admin_adds_a_zone_and_sets_its_reminder_times(hub: Hub) -> None:
    admin = _admin(hub)
    added = admin.post(
        "/dashboard/programme/zones",
        {"name": " Ikeja  GRA ", "days": ["thu", "mon"], "start": "07:00", "end": "11:30"},  # type: ignore[dict-item]
    )
    assert added.status_code == 303, added.text
    zone = hub.read(lambda s: zone_by_name(s, "ikeja gra"))
    assert zone is not None and (zone.name, zone.days, zone.window) == ("Ikeja GRA", (0, 3), "07:00-11:30")
    (entry,) = _audit(hub, "programme.add_zone")
    assert (entry.actor, entry.subject) == (admin.email, f"zone:{zone.id}")
    assert json.loads(entry.details) == {"name": "Ikeja GRA", "schedule": "Mon, Thu 7-11:30"}
    assert "Zone Ikeja GRA added: Mon, Thu 7-11:30." in admin.get("/dashboard/programme").text

    timed = admin.post(
        "/dashboard/programme/zones/reminders", {"zone": str(zone.id), "evening": "17:30", "morning": "06:45"}
    )
    assert timed.status_code == 303
    zone = hub.read(lambda s: zone_by_name(s, "Ikeja GRA"))
    assert (f"{zone.remind_at:%H:%M}", f"{zone.morning_at:%H:%M}") == ("17:30", "06:45")
    (entry,) = _audit(hub, "programme.zone_reminders")
    assert json.loads(entry.details) == {"evening": "17:30", "morning": "06:45", "was": ["18:00", None]}

    admin.post(
        "/dashboard/programme/zones/reminders", {"zone": str(zone.id), "evening": "19:00", "morning": ""}
    )
    zone = hub.read(lambda s: zone_by_name(s, "Ikeja GRA"))
    assert (f"{zone.remind_at:%H:%M}", zone.morning_at) == ("19:00", None)


def test_a_changed_day_texts_the_zones_households_and_is_listed(hub: Hub, redis: Redis) -> None:
    use(hub.runtime)  # the jobs below run in this process, on the hub's database
    admin = _admin(hub)
    yaba = _zone_id(hub, "Yaba")
    tuesday = _weekday_ahead(hub, 1)
    response = admin.post(
        "/dashboard/programme/zones/day-changes",
        {"zone": str(yaba), "day": tuesday.isoformat(), "moved_to": "", "reason": "Sallah"},
    )
    assert response.status_code == 303, response.text
    change = hub.read(lambda s: s.execute(select(day_changes_t)).one())
    assert (change.zone_id, change.day, change.moved_to, change.created_by) == (
        yaba,
        tuesday,
        None,
        admin.email,
    )
    (entry,) = _audit(hub, "programme.change_day")
    assert entry.subject == f"zone:{yaba}"
    assert json.loads(entry.details) == {"day": tuesday.isoformat(), "moved_to": None, "reason": "Sallah"}

    # The notice run was queued with the change: a worker writes each household's text.
    SimpleWorker(
        [Queue(name, connection=redis) for name in ("high", "default", "low")], connection=redis
    ).work(burst=True)
    phones = set(
        hub.read(
            lambda s: s.execute(select(households_t.c.phone).where(households_t.c.zone_id == yaba)).scalars()
        )
    )
    texts = hub.read(
        lambda s: s.execute(
            select(outbox_t.c.to_phone, outbox_t.c.body).where(outbox_t.c.template == "collection_cancelled")
        ).all()
    )
    assert phones and {phone for phone, _ in texts} == phones and len(texts) == len(phones)
    label = f"{tuesday:%a} {tuesday.day} {tuesday:%b}"
    assert all(f"no Yaba collection on {label} (Sallah)" in body for _, body in texts)

    page = admin.get("/dashboard/programme")
    listed = page.text[page.text.index('id="changes"') :]
    assert f"{tuesday:%a %d %b %Y}" in listed and "cancelled" in listed and "Sallah" in listed

    friday = _weekday_ahead(hub, 4)
    moved = admin.post(
        "/dashboard/programme/zones/day-changes",
        {
            "zone": str(yaba),
            "day": friday.isoformat(),
            "moved_to": (friday + timedelta(1)).isoformat(),
            "reason": "Eid",
        },
    )
    assert moved.status_code == 303
    assert f"moved to {friday + timedelta(1):%a %d %b %Y}" in admin.get("/dashboard/programme").text


def test_an_admin_adds_a_material_and_words(hub: Hub) -> None:
    admin = _admin(hub)
    added = admin.post(
        "/dashboard/programme/materials", {"code": "zinc", "name": "Zinc", "words": "zincs, zinc can"}
    )
    assert added.status_code == 303, added.text
    words = hub.read(material_words)
    assert {word for word, code in words.items() if code == "ZINC"} == {"ZINC", "ZINCS", "ZINC CAN"}
    (entry,) = _audit(hub, "programme.add_material")
    assert entry.subject == "material:ZINC"
    assert json.loads(entry.details) == {"name": "Zinc", "words": ["ZINC", "ZINC CAN", "ZINCS"]}

    more = admin.post(
        "/dashboard/programme/materials/words", {"material": "PET", "words": "flask,\nwater bottle"}
    )
    assert more.status_code == 303
    words = hub.read(material_words)
    assert (words["FLASK"], words["WATER BOTTLE"]) == ("PET", "PET")
    (entry,) = _audit(hub, "programme.add_words")
    assert (entry.subject, json.loads(entry.details)) == (
        "material:PET",
        {"added": ["FLASK", "WATER BOTTLE"]},
    )
    page = admin.get("/dashboard/programme")
    assert "PET: added FLASK, WATER BOTTLE." in page.text and "ZINC CAN" in page.text


def test_an_admin_sets_a_rate_now_and_plans_one(hub: Hub) -> None:
    admin = _admin(hub)
    before = datetime.now(UTC)
    now_rate = admin.post("/dashboard/programme/rates", {"material": "PET", "points": "12", "commission": ""})
    assert now_rate.status_code == 303, now_rate.text
    in_force = hub.read(lambda s: rates_in_force(s, ["PET"], datetime.now(UTC)))["PET"]
    # The collectors' commission stays what it was when none is given.
    assert (in_force.points_per_kg, in_force.commission_per_kg) == (12, 2)
    assert before <= in_force.effective_from <= datetime.now(UTC)

    local = hub.runtime.settings.zone
    later = (datetime.now(local) + timedelta(days=3)).replace(hour=6, minute=0, second=0, microsecond=0)
    planned = admin.post(
        "/dashboard/programme/rates",
        {
            "material": "pet",
            "points": "15",
            "commission": "3",
            "effective_from": later.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert planned.status_code == 303
    row = hub.read(lambda s: s.execute(select(rates_t).where(rates_t.c.points_per_kg == 15)).one())
    assert (row.effective_from, row.commission_per_kg, row.created_by) == (later, 3, admin.email)
    entries = _audit(hub, "programme.set_rate")
    assert [json.loads(e.details)["points_per_kg"] for e in entries] == [12, 15]
    assert json.loads(entries[1].details)["effective_from"] == later.astimezone(UTC).isoformat()
    page = admin.get("/dashboard/programme")
    versions = page.text[page.text.index('id="rate-versions"') :]
    assert later.strftime("%Y-%m-%d %H:%M") in versions and "planned" in versions and "in force" in versions
    assert "replaced" in versions  # the demo's PET rate


def test_an_admin_adds_and_changes_rewards(hub: Hub) -> None:
    admin = _admin(hub)
    added = admin.post(
        "/dashboard/programme/rewards",
        {"code": "rice5", "name": "Rice 5kg", "kind": "goods", "price": "4000", "stock": "10"},
    )
    assert added.status_code == 303, added.text
    rice = hub.read(lambda s: get_reward(s, "RICE5"))
    assert (rice.name, rice.kind, rice.price, rice.stock, rice.min_units, rice.max_units, rice.active) == (
        "Rice 5kg",
        "goods",
        4000,
        10,
        1,
        5,
        True,
    )
    (entry,) = _audit(hub, "programme.add_reward")
    assert entry.subject == "reward:RICE5" and json.loads(entry.details)["price"] == 4000

    changed = admin.post(
        "/dashboard/programme/rewards/update",
        {"reward": "SOAP", "price": "175", "stock": "unlimited", "offered": "no"},
    )
    assert changed.status_code == 303
    soap = hub.read(lambda s: get_reward(s, "SOAP"))
    assert (soap.price, soap.stock, soap.active) == (175, None, False)
    (entry,) = _audit(hub, "programme.update_reward")
    assert json.loads(entry.details) == {"price": [150, 175], "stock": [200, None], "active": [True, False]}

    admin.post("/dashboard/programme/rewards/update", {"reward": "SOAP", "stock": "40", "offered": "yes"})
    soap = hub.read(lambda s: get_reward(s, "SOAP"))
    assert (soap.price, soap.stock, soap.active) == (175, 40, True)


def _tuesday(hub: Hub) -> str:
    return _weekday_ahead(hub, 1).isoformat()


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("zones", {"name": "Ikeja", "days": "funday", "start": "08:00", "end": "12:00"}, "days must be weekdays"),
    ("zones", {"name": "Ikeja", "start": "08:00", "end": "12:00"}, "tick the zone's collection days"),
    ("zones", {"name": "Ikeja", "days": "tue", "start": "12:00", "end": "08:00"}, "must end after it starts"),
    ("zones", {"name": "Ikeja", "days": "tue", "start": "8am", "end": "12:00"}, "must look like 08:00-12:00"),
    (
        "zones",
        {"name": " yaba ", "days": "tue", "start": "08:00", "end": "12:00"},
        "already a zone called yaba",
    ),
    ("zones", {"name": "", "days": "tue", "start": "08:00", "end": "12:00"}, "a zone needs a name"),
    ("zones/reminders", {"zone": "Yaba", "evening": "18:00", "morning": "13:00"}, "before the window ends"),
    (
        "zones/reminders",
        {"zone": "Yaba", "evening": "25:00", "morning": ""},
        "a time of day looks like 18:00",
    ),
    ("zones/reminders", {"zone": "999", "evening": "18:00", "morning": ""}, "choose one of the zones"),
    ("zones/day-changes", {"zone": "Yaba", "day": "2020-01-07", "reason": "x"}, "has passed"),
    ("zones/day-changes", {"zone": "Yaba", "day": "Tuesday", "reason": "x"}, "must be a date like"),
    ("zones/day-changes", {"zone": "Yaba", "day": "wed", "reason": "x"}, "is not a collection day in Yaba"),
    ("zones/day-changes", {"zone": "Yaba", "day": "tue", "reason": "  "}, "give a reason of 1 to 60"),
    (
        "zones/day-changes",
        {"zone": "Yaba", "day": "tue", "moved_to": "fri", "reason": "x"},
        "is a collection day",
    ),
    ("materials", {"code": "PET", "name": "Bottles", "words": ""}, "material PET exists already"),
    ("materials", {"code": "P", "name": "P", "words": ""}, "a material code is 2 to 12 letters"),
    ("materials", {"code": "ZINC", "name": "Zinc", "words": "zincs, bottle"}, "BOTTLE already means PET"),
    ("materials/words", {"material": "PET", "words": "bal"}, "BAL is a command word"),
    ("materials/words", {"material": "STEEL", "words": "steel"}, "no material STEEL"),
    ("materials/words", {"material": "SACHET", "words": "pure water, bottles"}, "BOTTLES already means PET"),
    ("materials/words", {"material": "SACHET", "words": "sachet 2"}, "a word is letters only"),
    ("materials/words", {"material": "SACHET", "words": " , "}, "type one or more words"),
    (
        "rates",
        {"material": "PET", "points": "11", "effective_from": "2020-01-01T08:00"},
        "a new rate applies from now or later",
    ),
    (
        "rates",
        {"material": "PET", "points": "11", "effective_from": "soon"},
        "must look like 2026-12-01 08:00",
    ),
    ("rates", {"material": "STEEL", "points": "11"}, "no material STEEL"),
    ("rates", {"material": "PET", "points": "ten"}, "points per kg must be a whole number"),
    ("rates", {"material": "PET", "points": "-1"}, "points per kg must be a whole number from 0"),
    (
        "rates",
        {"material": "PET", "points": "10", "commission": "x"},
        "commission per kg must be a whole number",
    ),
    (
        "rewards",
        {"code": "RICE5", "name": "Rice", "kind": "goods", "price": "0"},
        "the price must be a whole number from 1",
    ),
    (
        "rewards",
        {"code": "RICE5", "name": "Rice", "kind": "goods", "price": "lots"},
        "the price must be a whole number (not",
    ),
    ("rewards", {"code": "RICE5", "name": "Rice", "kind": "gold", "price": "9"}, "the kind must be one of"),
    (
        "rewards",
        {"code": "AIRTIME", "name": "Air", "kind": "airtime", "price": "1"},
        "already a reward AIRTIME",
    ),
    ("rewards", {"code": "12", "name": "Rice", "kind": "goods", "price": "9"}, "a reward code is 2 to 20"),
    ("rewards/update", {"reward": "SOAP", "price": "0"}, "the price must be a whole number from 1"),
    (
        "rewards/update",
        {"reward": "AIRTIME", "price": "1000001"},
        "the price must be a whole number from 1 to",
    ),
    ("rewards/update", {"reward": "SOAP", "stock": "lots"}, "the stock must be a whole number"),
    ("rewards/update", {"reward": "NOPE", "price": "5"}, "choose one of the rewards"),
    ("rewards/update", {"reward": "SOAP"}, "give a new price, a new stock"),
    ("rewards/update", {"reward": "SOAP", "offered": "maybe"}, "offered must be yes or no"),
]


ACTIONS = sorted({action for action, _, _ in REFUSALS})


@pytest.mark.parametrize("action", ACTIONS)
def test_every_refusal_is_422_with_the_reason_and_changes_nothing(hub: Hub, action: str) -> None:
    admin = _admin(hub)
    tuesday = _weekday_ahead(hub, 1)
    days = {"tue": tuesday, "wed": tuesday + timedelta(1), "fri": _weekday_ahead(hub, 4)}
    yaba = str(_zone_id(hub, "Yaba"))
    before = snapshot(hub.runtime.engine)
    for _, form, reason in (refusal for refusal in REFUSALS if refusal[0] == action):
        sent = {
            name: yaba if value == "Yaba" else days[value].isoformat() if value in days else value
            for name, value in form.items()
        }
        response = admin.post(f"/dashboard/programme/{action}", sent)
        assert response.status_code == 422, (form, response.text[:300])
        assert reason in html.unescape(response.text), (form, reason)
        assert "Programme settings" in response.text  # the page again, with what was typed
        assert snapshot(hub.runtime.engine) == before, form


def test_a_refused_form_keeps_what_was_typed(hub: Hub) -> None:
    admin = _admin(hub)
    response = admin.post(
        "/dashboard/programme/rewards", {"code": "RICE5", "name": "Rice 5kg", "kind": "goods", "price": "0"}
    )
    assert response.status_code == 422
    assert 'value="RICE5"' in response.text and 'value="Rice 5kg"' in response.text


def test_a_day_changed_twice_is_refused(hub: Hub) -> None:
    admin = _admin(hub)
    yaba = str(_zone_id(hub, "Yaba"))
    form = {"zone": yaba, "day": _tuesday(hub), "reason": "Sallah"}
    assert admin.post("/dashboard/programme/zones/day-changes", form).status_code == 303
    before = snapshot(hub.runtime.engine)
    again = admin.post("/dashboard/programme/zones/day-changes", {**form, "reason": "again"})
    assert again.status_code == 422 and "is already cancelled" in again.text
    assert snapshot(hub.runtime.engine) == before


def _row(page: str, key: str, language: str) -> str:
    found = re.search(rf'<tr id="t-{key}-{language}"[^>]*>.*?</tr>', page, re.S)
    assert found, (key, language)
    return found.group(0)


def test_the_template_preview_counts_every_templates_segments(hub: Hub) -> None:
    page = hub.signed_in("auditor").get("/dashboard/programme/templates")
    assert page.status_code == 200
    for key in EN:
        assert f'id="t-{key}-EN"' in page.text, key
    balance = _row(page.text, "balance", "EN")
    assert 'data-segments="1"' in balance and "GSM-7" in balance and 'class="long' not in balance
    assert "Kolekt: 1234567 pts (NGN 12345670)" in balance  # the programme's own name, long values
    # A long list takes two texts, within its budget: marked, not over budget.
    listed = _row(page.text, "rewards_list", "EN")
    assert 'data-segments="2"' in listed and 'class="long"' in listed and "over budget" not in listed
    assert "of 2" in listed
    # Every language has its own text for every reply: none falls back to English.
    assert "falls back to English" not in page.text
    assert "No member" not in _row(page.text, "bad_member_code", "HA")
    assert "0 over their budget" in page.text
