"""The API's reference data and records: households (listed, searched, registered), materials with
the rates in force, a collector's pickups and their totals by the programme's local day."""

from __future__ import annotations

import gzip
import json
import re
import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from service.models import collections_t, collectors_t, households_t, outbox_t, phones_t
from service.usecases.catalogue import add_material
from service.usecases.pickups import pickup_by_reference, reverse_pickup
from tests.e2e.api_helpers import (
    ADA,
    KEMI,
    MUSA,
    NEWCOMER,
    NGOZI,
    PARTNER,
    TUNDE,
    Api,
    bearer,
    error_of,
    new_id,
    pickup_op,
    wrong_check_letter,
)

LAGOS = ZoneInfo("Africa/Lagos")
YABA, SABO = 1, 2


def codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [household["code"] for household in response.json["households"]]


# --- households: listing and searching ---------------------------------------------------------------


def test_a_collector_lists_the_households_of_their_own_zone_only(api: Api, musa: str) -> None:
    response = api.get("/households", musa)
    assert response.json["next"] is None  # type: ignore[index]
    listed = response.json["households"]  # type: ignore[index]
    assert [h["code"] for h in listed] == [api.code(ADA), api.code(TUNDE)]
    assert listed[0] == {
        "code": api.code(ADA),
        "name": "Ada Okafor",
        "phone": ADA,
        "address": "12 Adeniyi St, Yaba",
        "zone_id": YABA,
        "status": "active",
        "language": "EN",
    }
    assert codes(api.get("/households", api.collector_token(KEMI))) == [api.code(NGOZI)]
    assert codes(api.get(f"/households?zone={YABA}", musa)) == [api.code(ADA), api.code(TUNDE)]
    error_of(api.get(f"/households?zone={SABO}", musa), 403, "forbidden")


def test_a_user_lists_every_zone_or_one(api: Api) -> None:
    token = api.user_token("auditor")
    assert codes(api.get("/households", token)) == [api.code(ADA), api.code(TUNDE), api.code(NGOZI)]
    assert codes(api.get(f"/households?zone={SABO}", token)) == [api.code(NGOZI)]
    assert codes(api.get("/households?zone=99", token)) == []


def test_keyset_pages_cover_every_household_of_the_zone_exactly_once(api: Api, musa: str) -> None:
    extra = api.add_households(YABA, 9)
    api.add_households(SABO, 3)
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        response = api.get("/households?limit=2" + (f"&after={after}" if after else ""), musa)
        page = codes(response)
        assert len(page) <= 2
        seen.extend(page)
        pages += 1
        after = response.json["next"]  # type: ignore[index]
        if after is None:
            break
        assert after.isdigit()
    assert seen == [api.code(ADA), api.code(TUNDE), *extra]
    assert pages == 6  # 11 households, 2 a page
    # The whole zone in one page, when the page is large enough; searching is paged the same way.
    assert codes(api.get("/households?limit=500", musa)) == seen
    first = api.get("/households?q=extra&limit=4", musa)
    assert codes(first) == extra[:4]
    rest = api.get(f"/households?q=extra&limit=500&after={first.json['next']}", musa)  # type: ignore[index]
    assert codes(rest) == extra[4:] and rest.json["next"] is None  # type: ignore[index]


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=ten", "after=-1", "after=x", "zone=0"])
def test_paging_parameters_out_of_bounds_are_422(api: Api, musa: str, query: str) -> None:
    error = error_of(api.get(f"/households?{query}", musa), 422, "unprocessable_entity")
    assert set(error["fields"]) == {query.split("=")[0]}


def test_households_are_found_by_code_phone_or_part_of_a_name(api: Api, musa: str) -> None:
    ada = api.code(ADA)
    for q in (ada, ada.lower(), f" {ada} "):
        assert codes(api.get(f"/households?q={q}", musa)) == [ada]
    assert codes(api.get(f"/households?q={wrong_check_letter(ada)}", musa)) == []
    for phone in ("08031234567", "%2B2348031234567", "2348031234567", "0803 123 4567", "0803-123-4567"):
        assert codes(api.get(f"/households?q={phone}", musa)) == [ada], phone
    assert codes(api.get("/households?q=okaf", musa)) == [ada]
    assert codes(api.get("/households?q=OKAFOR", musa)) == [ada]
    assert codes(api.get("/households?q=ba", musa)) == [api.code(TUNDE)]  # Tunde Bakare
    # Only the collector's zone is searched: Ngozi is in Sabo.
    assert codes(api.get("/households?q=ngozi", musa)) == []
    assert codes(api.get(f"/households?q={api.code(NGOZI)}", musa)) == []
    # LIKE's own characters are letters like any other here.
    assert codes(api.get("/households?q=%25", musa)) == []
    assert codes(api.get("/households?q=_", musa)) == []
    error_of(api.get("/households?q=" + "a" * 81, musa), 422)


def test_one_household_by_code(api: Api, musa: str) -> None:
    ada = api.code(ADA)
    response = api.get(f"/households/{ada.lower()}", musa)
    assert response.status_code == 200 and response.json["code"] == ada  # type: ignore[index]
    error_of(api.get(f"/households/{api.code(NGOZI)}", musa), 404, "not_found")  # another zone's
    error_of(api.get("/households/K99999", musa), 404, "not_found")
    error_of(api.get(f"/households/{wrong_check_letter(ada)}", musa), 404, "not_found")
    error_of(api.get("/households/" + "x" * 300, musa), 404, "not_found")
    user = api.user_token("auditor")
    assert api.get(f"/households/{api.code(NGOZI)}", user).json["phone"] == NGOZI  # type: ignore[index]


# --- households: registering ---------------------------------------------------------------------------


def test_a_collector_registers_a_household_once_and_it_is_welcomed_once(api: Api, musa: str) -> None:
    body = {"id": new_id(), "phone": "0807 111 2222", "name": "Bisi  Ade", "address": "3 Ojuelegba Rd"}
    households = api.count_households()
    response = api.post("/households", musa, json=body)
    assert response.status_code == 201, response.text
    made = response.json
    assert made is not None
    code = api.code(NEWCOMER)
    assert made == {
        "code": code,
        "name": "Bisi Ade",
        "phone": NEWCOMER,
        "address": "3 Ojuelegba Rd",
        "zone_id": YABA,
        "status": "active",
        "language": "EN",
    }
    (welcome,) = api.outbox(NEWCOMER)
    assert welcome == (
        f"Welcome to Kolekt, Bisi! Your code is {code}. Pickups in Yaba: Tue, Fri 8-12. "
        "Text BAL for points, HELP for help."
    )
    assert api.points(NEWCOMER) == 0  # its account is open
    again = api.post("/households", musa, json=body)
    assert again.status_code == 200 and again.json == made
    assert api.count_households() == households + 1
    assert len(api.outbox(NEWCOMER)) == 1
    # The answer said which id: another id for the same phone is a member already.
    error = error_of(api.post("/households", musa, json={**body, "id": new_id()}), 409, "already_registered")
    assert error["message"] == f"{NEWCOMER} is already {code} (Bisi Ade)."


def test_the_same_registration_sent_twice_at_once_makes_one_household(api: Api) -> None:
    """A phone's retry racing its first send (a slow link), from an integration's token (no
    collector's lock to queue behind): one is created, the other finds it."""
    token = api.user_token("operator")
    body = {"id": new_id(), "phone": NEWCOMER, "name": "Bisi Ade", "zone_id": YABA}
    households = api.count_households()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send() -> None:
        client = api.app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/v1/households", json=body, headers=bearer(token)).status_code)

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200, 201]
    assert api.count_households() == households + 1
    assert len(api.outbox(NEWCOMER)) == 1


def test_registering_a_members_phone_is_409_and_changes_nothing(api: Api, musa: str) -> None:
    households = api.count_households()
    for phone in (ADA, "08063456789"):  # another zone's member too
        error_of(api.post("/households", musa, json={"id": new_id(), "phone": phone, "name": "X"}), 409)
    assert api.count_households() == households
    assert api.outbox(ADA, "welcome") == [] and api.outbox(NGOZI, "welcome") == []


@pytest.mark.parametrize(
    ("phone", "name", "field"),
    [
        (KEMI, "Kemi", "phone"),
        (PARTNER, "Shop", "phone"),
        ("123456", "Nobody", "phone"),
        (NEWCOMER, "  ", "name"),
    ],
)
def test_a_household_that_cannot_be_registered_is_422_with_the_field(
    api: Api, musa: str, phone: str, name: str, field: str
) -> None:
    households = api.count_households()
    error = error_of(api.post("/households", musa, json={"id": new_id(), "phone": phone, "name": name}), 422)
    assert list(error["fields"]) == [field]
    assert error["fields"][field] == [error["message"]]
    assert api.count_households() == households
    assert api.outbox(phone) == []


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"id", "phone", "name"}),
        ({"id": "nope", "phone": NEWCOMER, "name": "X"}, {"id"}),
        ({"id": new_id(), "phone": NEWCOMER, "name": "X" * 81}, {"name"}),
        ({"id": new_id(), "phone": NEWCOMER, "name": "X", "address": "a" * 161}, {"address"}),
        ({"id": new_id(), "phone": 2348071112222, "name": "X"}, {"phone"}),
        ({"id": new_id(), "phone": NEWCOMER, "name": "X", "colour": "red"}, {"colour"}),
        ({"id": new_id(), "phone": NEWCOMER, "name": "X", "language": "FR"}, {"language"}),
        ({"id": new_id(), "phone": NEWCOMER, "name": "X", "language": "yo"}, {"language"}),
        ({"id": new_id(), "phone": NEWCOMER, "name": "X", "language": None}, {"language"}),
    ],
)
def test_a_registration_body_that_cannot_be_read_is_422(
    api: Api, musa: str, body: Any, fields: set[str]
) -> None:
    households = api.count_households()
    error = error_of(api.post("/households", musa, json=body), 422, "unprocessable_entity")
    assert set(error["fields"]) == fields
    assert api.outbox(NEWCOMER) == []
    assert api.count_households() == households
    assert api.read(lambda s: s.execute(select(phones_t).where(phones_t.c.number == NEWCOMER)).all()) == []


def test_a_household_registered_with_its_language_is_welcomed_in_it(api: Api, musa: str) -> None:
    body = {"id": new_id(), "phone": NEWCOMER, "name": "Musa Bello", "language": "HA"}
    response = api.post("/households", musa, json=body)
    assert response.status_code == 201, response.text
    assert response.json["language"] == "HA"  # type: ignore[index]
    language = select(phones_t.c.language).where(phones_t.c.number == NEWCOMER)
    assert api.read(lambda s: s.execute(language).scalar()) == "HA"
    welcome = select(outbox_t.c.template, outbox_t.c.language).where(outbox_t.c.to_phone == NEWCOMER)
    assert [tuple(row) for row in api.read(lambda s: s.execute(welcome).all())] == [("welcome", "HA")]
    code = api.code(NEWCOMER)
    assert api.get(f"/households/{code}", musa).json["language"] == "HA"  # type: ignore[index]
    again = api.post("/households", musa, json=body)
    assert again.status_code == 200 and again.json == response.json


@pytest.mark.parametrize(
    ("field", "value"), [("name", "Bisi\x00Ade"), ("address", "3 \x00 Rd"), ("name", "Bisi \udc00")]
)
def test_a_household_with_text_the_database_cannot_keep_is_422(
    api: Api, musa: str, field: str, value: str
) -> None:
    body = {"id": new_id(), "phone": NEWCOMER, "name": "Bisi Ade", field: value}
    error = error_of(api.post("/households", musa, json=body), 422)
    assert list(error["fields"]) == [field]
    assert api.outbox(NEWCOMER) == []


def test_searching_and_looking_up_with_a_nul_is_refused_or_finds_nothing(api: Api, musa: str) -> None:
    error = error_of(api.get("/households?q=Ada%00", musa), 422)
    assert list(error["fields"]) == ["q"]
    error_of(api.get("/households/K0001%00", musa), 404)
    error_of(api.get("/pickups/AB%00C", musa), 404)


def test_who_may_register_households_and_where(api: Api, musa: str) -> None:
    body = {"id": new_id(), "phone": NEWCOMER, "name": "Bisi Ade"}
    error_of(api.post("/households", api.user_token("auditor"), json=body), 403, "forbidden")
    error_of(api.post("/households", musa, json={**body, "zone_id": SABO}), 403, "forbidden")
    operator = api.user_token("operator")
    error = error_of(api.post("/households", operator, json={**body, "zone_id": 99}), 422)
    assert list(error["fields"]) == ["zone_id"]
    assert api.outbox(NEWCOMER) == []
    response = api.post("/households", operator, json={**body, "zone_id": SABO})
    assert response.status_code == 201 and response.json["zone_id"] == SABO  # type: ignore[index]
    (welcome,) = api.outbox(NEWCOMER)
    assert "Pickups in Sabo: Wed, Sat 9-13." in welcome
    # Without a zone: welcomed all the same, told its day will follow.
    response = api.post(
        "/households", operator, json={"id": new_id(), "phone": "08071113333", "name": "Uche"}
    )
    assert response.status_code == 201 and response.json["zone_id"] is None  # type: ignore[index]
    (welcome,) = api.outbox("+2348071113333")
    assert "We will text your pickup day." in welcome


# --- materials ------------------------------------------------------------------------------------------


def test_materials_with_the_rates_in_force(api: Api, musa: str) -> None:
    with api.hub.session() as session:
        add_material(session, "TEXTILE", "Old clothes", ["CLOTHES"], datetime.now(UTC))
    response = api.get("/materials", musa)
    assert response.status_code == 200
    body = response.json
    assert body is not None
    assert abs(datetime.fromisoformat(body["as_of"]) - datetime.now(UTC)) < timedelta(minutes=5)
    found = {material["code"]: material for material in body["materials"]}
    assert set(found) == {"PET", "SACHET", "ALU", "HDPE", "PAPER", "GLASS", "TEXTILE"}
    assert found["PET"]["points_per_kg"] == 10 and found["PET"]["commission_per_kg"] == 2
    assert found["ALU"]["points_per_kg"] == 30 and found["ALU"]["commission_per_kg"] == 5
    assert "PET" in found["PET"]["words"]
    assert datetime.fromisoformat(found["PET"]["rate_from"]) == datetime(2026, 1, 1, tzinfo=LAGOS)
    assert found["TEXTILE"] == {
        "code": "TEXTILE",
        "name": "Old clothes",
        "words": ["CLOTHES", "TEXTILE"],
        "points_per_kg": None,
        "commission_per_kg": None,
        "rate_from": None,
    }


def test_a_collector_sees_their_own_commission(api: Api, musa: str) -> None:
    with api.hub.session() as session:
        session.execute(update(collectors_t).where(collectors_t.c.phone == MUSA).values(commission_per_kg=7))
        add_material(session, "TEXTILE", "Old clothes", [], datetime.now(UTC))

    def commissions(token: str) -> dict[str, int | None]:
        materials = api.get("/materials", token).json["materials"]  # type: ignore[index]
        return {m["code"]: m["commission_per_kg"] for m in materials}

    mine = commissions(musa)
    assert mine.pop("TEXTILE") is None  # no rate: nothing to earn
    assert set(mine.values()) == {7}
    assert commissions(api.collector_token(KEMI))["ALU"] == 5
    assert commissions(api.user_token("operator"))["ALU"] == 5


# --- pickups --------------------------------------------------------------------------------------------


def references_of(api: Api, collector_phone: str) -> list[str]:
    collector_id = api.collector_id(collector_phone)
    return list(
        api.read(
            lambda s: (
                s.execute(
                    select(collections_t.c.reference)
                    .where(collections_t.c.collector_id == collector_id)
                    .order_by(collections_t.c.id.desc())
                )
                .scalars()
                .all()
            )
        )
    )


def test_a_collector_pages_through_their_own_pickups_newest_first(api: Api, musa: str) -> None:
    (made,) = api.sync(musa, [pickup_op({"code": api.code(ADA)}, (("PET", 2000), ("ALU", 500)), seq=100001)])
    mine = references_of(api, MUSA)
    assert len(mine) > 5
    seen: list[str] = []
    before: str | None = None
    while True:
        response = api.get("/pickups?limit=3" + (f"&before={before}" if before else ""), musa)
        assert response.status_code == 200
        page = response.json["pickups"]  # type: ignore[index]
        assert 0 < len(page) <= 3
        assert {p["collector_id"] for p in page} == {api.collector_id(MUSA)}
        seen.extend(p["reference"] for p in page)
        before = response.json["next"]  # type: ignore[index]
        if before is None:
            break
    assert seen == mine
    newest = api.get("/pickups?limit=1", musa).json["pickups"][0]  # type: ignore[index]
    assert newest["reference"] == made["reference"]
    assert newest["household"] == {"code": api.code(ADA), "name": "Ada Okafor"}
    assert newest["channel"] == "app" and newest["status"] == "credited" and newest["seq"] == 100001
    assert (newest["grams"], newest["points"], newest["commission"]) == (2500, 35, 7)
    assert sorted(newest["lines"], key=lambda line: line["material"]) == [
        {"material": "ALU", "grams": 500, "points": 15},
        {"material": "PET", "grams": 2000, "points": 20},
    ]
    assert api.get(f"/pickups/{made['reference'].lower()}", musa).json == newest


def test_a_collector_sees_no_one_elses_pickups(api: Api, musa: str) -> None:
    kemis = references_of(api, KEMI)
    error_of(api.get(f"/pickups/{kemis[0]}", musa), 404, "not_found")
    error_of(api.get("/pickups/NOPE", musa), 404, "not_found")
    error_of(api.get(f"/pickups?collector={api.collector_id(KEMI)}", musa), 403, "forbidden")
    own = api.get(f"/pickups?collector={api.collector_id(MUSA)}&limit=500", musa)
    assert [p["reference"] for p in own.json["pickups"]] == references_of(api, MUSA)  # type: ignore[index]
    assert api.get(f"/pickups/{kemis[0]}", api.collector_token(KEMI)).status_code == 200


def test_a_user_sees_everyones_pickups_or_one_collectors(api: Api) -> None:
    token = api.user_token("auditor")
    every = api.get("/pickups?limit=500", token).json["pickups"]  # type: ignore[index]
    assert {p["reference"] for p in every} == {*references_of(api, MUSA), *references_of(api, KEMI)}
    kemi = api.get(f"/pickups?limit=500&collector={api.collector_id(KEMI)}", token).json  # type: ignore[index]
    assert [p["reference"] for p in kemi["pickups"]] == references_of(api, KEMI)
    assert api.get("/pickups?collector=999", token).json == {"pickups": [], "next": None}
    assert api.get(f"/pickups/{references_of(api, KEMI)[0]}", token).status_code == 200


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "before=0", "before=x", "collector=0"])
def test_pickup_paging_out_of_bounds_is_422(api: Api, musa: str, query: str) -> None:
    error = error_of(api.get(f"/pickups?{query}", musa), 422)
    assert set(error["fields"]) == {query.split("=")[0]}


# --- totals ---------------------------------------------------------------------------------------------


def local(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LAGOS)


def totals(api: Api, token: str, day: date, **query: Any) -> dict[str, Any]:
    params = "&".join(f"{k}={v}" for k, v in {"day": day.isoformat(), **query}.items())
    response = api.get(f"/totals?{params}", token)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json  # type: ignore[assignment]
    assert body["day"] == day.isoformat()
    return body


def minus(after: dict[str, Any], before: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        period: {key: after[period][key] - before[period][key] for key in after[period]}
        for period in ("today", "week", "month")
    }


def test_totals_count_pickups_by_the_local_day_and_leave_out_undone_ones(api: Api, musa: str) -> None:
    today = datetime.now(LAGOS).date()
    day, following = today - timedelta(days=3), today - timedelta(days=2)
    before = {d: totals(api, musa, d) for d in (day, following)}
    # Late on the day (22:30 UTC that day) and early the next (23:30 UTC the same UTC day).
    late, early, first_thing = (
        pickup_op({"code": api.code(ADA)}, (("PET", 1000),), occurred_at=local(day, 23, 30)),
        pickup_op({"code": api.code(ADA)}, (("PET", 2000),), occurred_at=local(following, 0, 30)),
        pickup_op({"code": api.code(TUNDE)}, (("ALU", 1000),), occurred_at=local(day, 0, 0)),
    )
    undone, reversed_ = (
        pickup_op({"code": api.code(ADA)}, (("PET", 4000),), occurred_at=local(day, 12, 0)),
        pickup_op({"code": api.code(ADA)}, (("PET", 8000),), occurred_at=local(day, 13, 0)),
    )
    results = api.sync(musa, [late, early, first_thing, undone, reversed_])
    assert [r["status"] for r in results] == ["created"] * 5
    (reply,) = api.text(MUSA, f"UNDO {results[3]['reference']}")
    assert reply.startswith(f"Undone {results[3]['reference']}")
    with api.hub.session() as session:
        pickup = pickup_by_reference(session, results[4]["reference"])
        assert pickup is not None
        reverse_pickup(session, pickup, status="reversed", actor="test", now=datetime.now(UTC))
    # Another collector's pickups are not Musa's.
    kemi = api.collector_token(KEMI)
    api.sync(kemi, [pickup_op({"code": api.code(NGOZI)}, (("PET", 9000),), occurred_at=local(day, 10, 0))])

    late_t = {"pickups": 1, "grams": 1000, "points": 10, "commission": 2}
    early_t = {"pickups": 1, "grams": 2000, "points": 20, "commission": 4}
    first_t = {"pickups": 1, "grams": 1000, "points": 30, "commission": 5}

    def add(*parts: dict[str, int]) -> dict[str, int]:
        return {key: sum(part[key] for part in parts) for key in late_t}

    on_day = minus(totals(api, musa, day), before[day])
    assert on_day == {
        "today": add(late_t, first_t),
        "week": add(late_t, first_t),
        "month": add(late_t, first_t),
    }
    next_day = minus(totals(api, musa, following), before[following])
    assert next_day["today"] == early_t
    same_week = following.weekday() != 0
    same_month = following.day != 1
    assert next_day["week"] == (add(late_t, first_t, early_t) if same_week else early_t)
    assert next_day["month"] == (add(late_t, first_t, early_t) if same_month else early_t)
    statuses = api.read(
        lambda s: (
            s.execute(
                select(collections_t.c.status).where(
                    collections_t.c.reference.in_([results[3]["reference"], results[4]["reference"]])
                )
            )
            .scalars()
            .all()
        )
    )
    assert sorted(statuses) == ["reversed", "undone"]  # they are there, and left out


def test_totals_default_to_today_and_users_may_ask_for_anyone(api: Api, musa: str) -> None:
    before = datetime.now(LAGOS).date()
    body = api.get("/totals", musa).json
    assert body is not None and body["day"] in {before.isoformat(), datetime.now(LAGOS).date().isoformat()}
    error_of(api.get(f"/totals?collector={api.collector_id(KEMI)}", musa), 403, "forbidden")
    error_of(api.get("/totals?day=2026-02-30", musa), 422, "unprocessable_entity")
    error_of(api.get("/totals?day=yesterday", musa), 422)
    for day in ("9999-12-31", "0001-01-01", "1969-12-31"):  # no next day, no Monday before
        assert list(error_of(api.get(f"/totals?day={day}", musa), 422)["fields"]) == ["day"]
    assert totals(api, musa, date(1970, 1, 1))["month"]["pickups"] == 0
    assert totals(api, musa, date(9998, 12, 31))["today"]["pickups"] == 0
    user = api.user_token("auditor")
    day = before - timedelta(days=1)
    everyone = totals(api, user, day)
    musa_only = totals(api, user, day, collector=api.collector_id(MUSA))
    kemi_only = totals(api, user, day, collector=api.collector_id(KEMI))
    for period in ("today", "week", "month"):
        assert everyone[period] == {
            key: musa_only[period][key] + kemi_only[period][key] for key in everyone[period]
        }
    assert totals(api, musa, day) == musa_only
    # The demo logged a pickup a day: the week and the month so far have at least the day's. A
    # week that began last month (the first days of a month) may hold more than the month.
    assert everyone["week"]["pickups"] >= everyone["today"]["pickups"]
    assert everyone["month"]["pickups"] >= everyone["today"]["pickups"]
    week_starts_this_month = (day - timedelta(days=day.weekday())).month == day.month
    assert (everyone["month"]["pickups"] >= everyone["week"]["pickups"]) or not week_starts_this_month


def test_a_suspended_household_is_shown_as_such(api: Api, musa: str) -> None:
    with api.hub.session() as session:
        session.execute(update(households_t).where(households_t.c.phone == TUNDE).values(status="suspended"))
    found = api.get(f"/households/{api.code(TUNDE)}", musa).json
    assert found is not None and found["status"] == "suspended"


def test_what_a_phone_downloads_is_compressed_and_no_secret_is(api: Api) -> None:
    """Lists and the app's files go compressed over a slow link; an answer holding a secret next
    to text the caller chose (the sign-in's token) does not, so its length tells nothing."""
    asked = {"Accept-Encoding": "gzip"}
    document = api.client.get("/api/v1/openapi.json", headers=asked)
    assert document.headers.get("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in document.headers["Vary"]
    assert json.loads(gzip.decompress(document.get_data())) == api.client.get("/api/v1/openapi.json").json
    api.set_pin()
    signed_in = api.post("/auth/token", json={"phone": MUSA, "pin": "4821"}, headers=asked)
    assert signed_in.status_code == 201 and "Content-Encoding" not in signed_in.headers
    shell = api.client.get("/app/", headers=asked)
    script = re.search(r'src="(/app/static/[^"]+\.js)"', shell.get_data(as_text=True))
    assert script is not None
    assert api.client.get(script.group(1), headers=asked).headers.get("Content-Encoding") == "gzip"
    assert "Content-Encoding" not in shell.headers  # the page itself: small, and left alone
