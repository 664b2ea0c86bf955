"""``POST /api/v1/sync``: what a collector's app did offline, each operation done once, in its own
transaction, with an answer of its own (created, duplicate, refused with a reason, or retry), and
the same pickup counted once whether it came by the app, by a LOG text with its #seq, or both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

import service.usecases.sync
import sms
from service.models import collection_lines_t, collections_t, households_t, outbox_t, phones_t
from service.usecases.catalogue import add_material
from tests.e2e.api_helpers import (
    ADA,
    KEMI,
    MUSA,
    NEWCOMER,
    NGOZI,
    PARTNER,
    TUNDE,
    Api,
    error_of,
    household_op,
    new_id,
    pickup_op,
    wrong_check_letter,
)

# PET 4.5 kg at 10 points a kg and ALU 1.2 kg at 30: 45 + 36 points; commission 2 and 5 a kg: 9 + 6.
PET_AND_ALU = (("PET", 4500), ("ALU", 1200))


def by_code(api: Api, phone: str) -> dict[str, str]:
    return {"code": api.code(phone)}


def test_a_pickup_is_credited_once_and_the_household_gets_its_receipt(api: Api, musa: str) -> None:
    before, commission_before, transfers = api.points(ADA), api.commission(), api.transfers()
    operation = pickup_op(by_code(api, ADA), PET_AND_ALU)
    (result,) = api.sync(musa, [operation])
    assert result["status"] == "created", result
    assert result["id"] == operation["id"] and result["type"] == "pickup"
    assert result["points"] == 81
    reference = result["reference"]
    assert result["household"] == {
        "code": api.code(ADA),
        "name": "Ada Okafor",
        "phone": ADA,
        "address": "12 Adeniyi St, Yaba",
        "zone_id": 1,
        "status": "active",
        "language": "EN",
    }
    assert api.points(ADA) == before + 81
    assert api.commission() == commission_before + 15
    assert api.transfers() == transfers + 2
    (receipt,) = [body for body in api.outbox(ADA, "receipt") if reference in body]
    assert receipt.startswith("Kolekt: +81 pts from Musa (PET 4.5kg, ALU 1.2kg).")
    assert f"Bal {before + 81}." in receipt
    (row,) = [row for row in api.pickups_of(ADA) if row.reference == reference]
    assert (row.channel, row.grams, row.points, row.seq) == ("app", 5700, 81, None)

    # The same batch again (the answer was lost on the way): the same pickup, nothing new.
    receipts = len(api.outbox(ADA))
    (again,) = api.sync(musa, [operation])
    assert again["status"] == "duplicate", again
    assert again["reference"] == reference and again["points"] == 81
    assert again["original"]["reference"] == reference
    assert again["original"]["channel"] == "app"
    assert datetime.fromisoformat(again["original"]["occurred_at"]) == datetime.fromisoformat(
        operation["occurred_at"]
    )
    assert api.points(ADA) == before + 81
    assert api.transfers() == transfers + 2
    assert len(api.outbox(ADA)) == receipts


def test_the_same_batch_twice_is_all_duplicates(api: Api, musa: str) -> None:
    operations = [
        household_op(NEWCOMER, "Bisi Ade"),
        pickup_op(by_code(api, ADA)),
        pickup_op(by_code(api, TUNDE), (("SACHET", 3000),)),
    ]
    operations.append(pickup_op({"id": operations[0]["id"]}, (("ALU", 500),)))
    first = api.sync(musa, operations)
    assert [r["status"] for r in first] == ["created"] * 4, first
    counts = (api.count_households(), api.count_pickups(), api.transfers(), api.hub.count(households_t))
    second = api.sync(musa, operations)
    assert [r["status"] for r in second] == ["duplicate"] * 4, second
    assert [r.get("reference") for r in second] == [r.get("reference") for r in first]
    assert second[0]["household"] == first[0]["household"]
    assert (
        api.count_households(),
        api.count_pickups(),
        api.transfers(),
        api.hub.count(households_t),
    ) == counts


def test_a_bad_operation_is_refused_alone_and_the_others_are_done(api: Api, musa: str) -> None:
    now = datetime.now(UTC)
    with api.hub.session() as session:
        session.execute(update(households_t).where(households_t.c.phone == TUNDE).values(status="suspended"))
        add_material(session, "TEXTILE", "Old clothes", ["CLOTHES"], now)
    ada = by_code(api, ADA)
    bad: list[tuple[dict[str, Any], str]] = [
        (
            {"type": "pickup", "id": new_id(), "household": ada, "lines": [{"material": "PET", "grams": 0}]},
            "invalid",
        ),
        (pickup_op({"code": "K99999"}), "bad_member_code"),
        (pickup_op({"code": wrong_check_letter(api.code(ADA))}), "bad_member_code"),
        (pickup_op({"phone": "08077777777"}), "unknown_member_phone"),
        (pickup_op(by_code(api, TUNDE)), "member_suspended"),
        (pickup_op(ada, (("STEEL", 1000),)), "unknown_material"),
        (pickup_op(ada, (("TEXTILE", 1000),)), "no_rate"),
        (pickup_op(ada, (("PET", 200_001),)), "weight_too_large"),
        (pickup_op(ada, (("PET", 150_000), ("PET", 60_000))), "weight_too_large"),
        (pickup_op(ada, occurred_at=now + timedelta(minutes=10)), "in_future"),
        (pickup_op(ada, occurred_at=now - timedelta(days=31)), "too_old"),
        (pickup_op({"id": new_id()}), "unknown_household"),
        (household_op("123456", "Nobody"), "bad_phone"),
        (household_op(KEMI, "Kemi"), "not_a_member_phone"),
        (household_op(PARTNER, "The shop"), "not_a_member_phone"),
        (household_op(NEWCOMER, "   "), "bad_name"),
    ]
    good = [
        pickup_op(ada, (("PET", 1000),)),
        pickup_op({"phone": "0803 123 4567"}, (("PET", 2000),), occurred_at=now + timedelta(minutes=4)),
        pickup_op(ada, (("PET", 3000),), occurred_at=now - timedelta(days=29)),
    ]
    operations = [good[0], *(op for op, _ in bad), good[1], good[2]]
    before, pickups, households = api.points(ADA), api.count_pickups(), api.count_households()
    results = api.sync(musa, operations)
    assert [r["status"] for r in results] == ["created", *["refused"] * len(bad), "created", "created"]
    for result, (operation, code) in zip(results[1:-2], bad, strict=True):
        assert result["id"] == operation["id"] and result["type"] == operation["type"]
        assert result["reason"]["code"] == code, result
        assert result["reason"]["message"], result
        assert "reference" not in result and "original" not in result
    assert results[1]["fields"] == {
        "lines.0.grams": ["Must be greater than or equal to 1 and less than or equal to 10000000."]
    }
    assert results[2]["reason"]["message"] == "No member K99999. Check the code."
    assert (
        results[10]["reason"]["message"]
        == "The time of this pickup is in the future. Check the phone's clock."
    )
    assert results[8]["reason"]["message"] == "PET is over 200 kg for one line. Check the weight."
    assert api.points(ADA) == before + 10 + 20 + 30
    assert api.count_pickups() == pickups + 3
    assert api.count_households() == households
    assert api.outbox(NEWCOMER) == [] and api.outbox(KEMI) == []


def test_operations_that_cannot_be_read_are_refused_with_what_was_wrong(api: Api, musa: str) -> None:
    operations: list[Any] = [
        "a string",
        17,
        None,
        {"type": "banana", "id": new_id()},
        {"type": "pickup", "id": "not-a-uuid", "occurred_at": "yesterday", "household": {}, "lines": []},
        {"type": "household", "id": new_id(), "phone": "08031112222", "lines": []},
        {
            "type": "pickup",
            "id": new_id(),
            "occurred_at": "2026-01-01T10:00:00",
            "household": {"code": "K1"},
            "lines": [{"material": "PET", "grams": 4.5}],
        },
        {
            "type": "pickup",
            "id": new_id(),
            "occurred_at": datetime.now(UTC).isoformat(),
            "household": {"code": "K0001", "phone": ADA},
            "lines": [{"material": "PET", "grams": 100}] * 11,
        },
    ]
    results = api.sync(musa, operations)
    assert all(r["status"] == "refused" and r["reason"]["code"] == "invalid" for r in results), results
    assert [r["id"] for r in results[:3]] == [None, None, None]
    assert [r["type"] for r in results[:4]] == [None, None, None, None]
    assert results[3]["id"] == operations[3]["id"]
    assert set(results[3]["fields"]) == {"type"}
    assert set(results[4]["fields"]) == {"id", "occurred_at", "household._schema", "lines"}
    assert results[4]["id"] == "not-a-uuid"  # echoed, so the app can find the item it sent
    # The fields of the wrong type are checked once the fields themselves can be read.
    assert set(results[5]["fields"]) == {"lines"}
    assert set(results[6]["fields"]) == {"occurred_at", "lines.0.grams"}
    assert set(results[7]["fields"]) == {"household._schema", "lines"}
    assert api.count_pickups() == api.read(lambda s: len(s.execute(select(collections_t.c.id)).all()))


def test_text_the_database_cannot_keep_is_refused_not_retried_for_ever(api: Api, musa: str) -> None:
    operations = [
        household_op(NEWCOMER, "Bisi\x00Ade"),
        household_op(NEWCOMER, "Bisi", "\ud83d 3 Rd"),
        pickup_op({"code": "K0001\x00"}),
        pickup_op(by_code(api, ADA), (("PET\x00", 1000),)),
    ]
    results = api.sync(musa, operations)
    assert [(r["status"], r["reason"]["code"]) for r in results] == [("refused", "invalid")] * 4, results
    assert [set(r["fields"]) for r in results] == [
        {"name"},
        {"address"},
        {"household.code"},
        {"lines.0.material"},
    ]
    assert api.outbox(NEWCOMER) == []


def test_a_new_household_and_its_pickups_in_one_batch(api: Api, musa: str) -> None:
    household = household_op("0807 111 2222", "  Bisi   Ade ", "3 Ojuelegba Rd")
    pickup = pickup_op({"id": household["id"]}, PET_AND_ALU)
    created, credited = api.sync(musa, [household, pickup])
    assert created["status"] == "created" and created["type"] == "household", created
    code = api.code(NEWCOMER)
    assert created["household"] == {
        "code": code,
        "name": "Bisi Ade",
        "phone": NEWCOMER,
        "address": "3 Ojuelegba Rd",
        "zone_id": 1,  # Musa's zone
        "status": "active",
        "language": "EN",
    }
    assert credited["status"] == "created" and credited["household"]["code"] == code
    assert api.points(NEWCOMER) == 81
    (welcome,) = api.outbox(NEWCOMER, "welcome")
    assert f"Your code is {code}. Pickups in Yaba: Tue, Fri 8-12." in welcome
    assert len(api.outbox(NEWCOMER, "receipt")) == 1
    # A later batch may name it by that id too (the pickup was queued behind a full batch).
    (later,) = api.sync(musa, [pickup_op({"id": household["id"]}, (("PET", 1000),))])
    assert later["status"] == "created" and api.points(NEWCOMER) == 91


def texts_to(api: Api, phone: str) -> list[tuple[str, str]]:
    """The texts written to ``phone``: (template, language), oldest first."""
    query = select(outbox_t.c.template, outbox_t.c.language).where(outbox_t.c.to_phone == phone)
    return [tuple(row) for row in api.read(lambda s: s.execute(query.order_by(outbox_t.c.id)).all())]


def language_of_phone(api: Api, phone: str) -> str | None:
    query = select(phones_t.c.language).where(phones_t.c.number == phone)
    found: str | None = api.read(lambda s: s.execute(query).scalar())
    return found


def test_a_household_registered_in_hausa_is_welcomed_and_texted_in_hausa(api: Api, musa: str) -> None:
    household = {**household_op("0807 111 2222", "Musa Bello", "4 Herbert Macaulay Way"), "language": "HA"}
    created, credited = api.sync(musa, [household, pickup_op({"id": household["id"]}, PET_AND_ALU)])
    assert created["status"] == "created", created
    assert created["household"]["language"] == "HA"
    assert credited["status"] == "created" and credited["household"]["language"] == "HA", credited
    # Its phone is Hausa before its welcome is written: the welcome and the receipt go in Hausa.
    assert language_of_phone(api, NEWCOMER) == "HA"
    assert texts_to(api, NEWCOMER) == [("welcome", "HA"), ("receipt", "HA")]
    (welcome,) = api.outbox(NEWCOMER, "welcome")
    assert api.code(NEWCOMER) in welcome
    # Read back, the household says its language.
    one = api.get(f"/households/{api.code(NEWCOMER)}", musa)
    assert one.status_code == 200 and one.json["language"] == "HA"  # type: ignore[index]
    listed = api.get(f"/households?q={api.code(NEWCOMER)}", musa).json["households"]  # type: ignore[index]
    assert [h["language"] for h in listed] == ["HA"]
    # Sent again, it is the same household, and nothing is texted again.
    (again,) = api.sync(musa, [household])
    assert again["status"] == "duplicate" and again["household"]["language"] == "HA", again
    assert len(texts_to(api, NEWCOMER)) == 2


def test_every_language_is_taken(api: Api, musa: str) -> None:
    phones = {language: f"+23480711100{n:02d}" for n, language in enumerate(sms.LANGUAGES)}
    operations = [
        {**household_op(phone, f"Member {language}"), "language": language}
        for language, phone in phones.items()
    ]
    results = api.sync(musa, operations)
    assert [r["status"] for r in results] == ["created"] * len(phones), results
    assert [r["household"]["language"] for r in results] == list(sms.LANGUAGES)
    for language, phone in phones.items():
        assert language_of_phone(api, phone) == language
        assert texts_to(api, phone) == [("welcome", language)]


def test_without_a_language_a_phone_keeps_the_one_it_chose_and_a_given_one_wins(api: Api, musa: str) -> None:
    """A number that texted LANG before it was registered keeps its language when the collector
    gives none; a language the collector gives is the household's."""
    other = "+2348071113333"
    api.text(NEWCOMER, "LANG PCM")
    api.text(other, "LANG YO")
    kept, given = api.sync(
        musa, [household_op(NEWCOMER, "Bisi Ade"), {**household_op(other, "Chidi Obi"), "language": "IG"}]
    )
    assert kept["status"] == given["status"] == "created", (kept, given)
    assert kept["household"]["language"] == "PCM" and language_of_phone(api, NEWCOMER) == "PCM"
    assert api.outbox(NEWCOMER, "welcome") and texts_to(api, NEWCOMER)[-1] == ("welcome", "PCM")
    assert given["household"]["language"] == "IG" and language_of_phone(api, other) == "IG"
    assert texts_to(api, other)[-1] == ("welcome", "IG")
    # A number never heard of and given none: English, as before.
    (plain,) = api.sync(musa, [household_op("+2348071114444", "Tayo Ade")])
    assert plain["household"]["language"] == "EN"
    assert texts_to(api, "+2348071114444") == [("welcome", "EN")]


def test_a_members_phone_registered_again_with_a_language_keeps_its_own(api: Api, musa: str) -> None:
    (found,) = api.sync(musa, [{**household_op(ADA, "Ada O."), "language": "YO"}])
    assert found["status"] == "duplicate" and found["household"]["language"] == "EN", found
    assert language_of_phone(api, ADA) == "EN"
    assert api.outbox(ADA, "welcome") == []


@pytest.mark.parametrize("language", ["FR", "ha", "Hausa", "", " HA", 5, None, ["HA"]])
def test_a_household_in_a_language_we_do_not_text_is_refused_and_nothing_is_written(
    api: Api, musa: str, language: Any
) -> None:
    household = {**household_op(NEWCOMER, "Bisi Ade"), "language": language}
    pickup = pickup_op({"id": household["id"]}, PET_AND_ALU)
    households, pickups, transfers = api.count_households(), api.count_pickups(), api.transfers()
    refused, not_found = api.sync(musa, [household, pickup])
    assert refused["status"] == "refused" and refused["reason"]["code"] == "invalid", refused
    assert (refused["id"], refused["type"]) == (household["id"], "household")
    assert set(refused["fields"]) == {"language"}, refused
    assert "household" not in refused
    assert not_found["status"] == "refused", not_found
    assert not_found["reason"]["code"] == "unknown_household"
    assert (api.count_households(), api.count_pickups(), api.transfers()) == (households, pickups, transfers)
    assert texts_to(api, NEWCOMER) == []
    assert language_of_phone(api, NEWCOMER) is None  # not even the phone's row


def test_a_pickup_has_no_language(api: Api, musa: str) -> None:
    (result,) = api.sync(musa, [{**pickup_op(by_code(api, ADA)), "language": "HA"}])
    assert result["status"] == "refused" and set(result["fields"]) == {"language"}, result
    assert language_of_phone(api, ADA) == "EN"


def test_a_new_household_whose_phone_is_a_member_is_that_member(api: Api, musa: str) -> None:
    household = household_op("08031234567", "Ada O.")
    pickup = pickup_op({"id": household["id"]}, (("PET", 2000),))
    before, households = api.points(ADA), api.count_households()
    found, credited = api.sync(musa, [household, pickup])
    assert found["status"] == "duplicate" and found["household"]["code"] == api.code(ADA), found
    assert found["household"]["name"] == "Ada Okafor"  # as registered, not as typed again
    assert credited["status"] == "created", credited
    assert credited["household"]["code"] == api.code(ADA)
    assert api.points(ADA) == before + 20
    assert api.count_households() == households
    assert api.outbox(ADA, "welcome") == []
    # And in a later batch (this one was cut short, or the pickup had to be retried).
    (later,) = api.sync(musa, [pickup_op({"id": household["id"]}, (("PET", 1000),))])
    assert later["status"] == "created", later
    assert later["household"]["code"] == api.code(ADA)
    assert api.points(ADA) == before + 30


def test_two_collectors_register_the_same_new_phone(api: Api, musa: str) -> None:
    """Kemi (Sabo) registers a phone Musa (Yaba) registered a moment before: she is told it is a
    member of another zone, and nothing of that household; her pickup for it is not credited."""
    kemi = api.collector_token(KEMI)
    first, second = household_op(NEWCOMER, "Bisi Ade"), household_op(NEWCOMER, "Bisi A")
    (made,) = api.sync(musa, [first])
    found, credited = api.sync(kemi, [second, pickup_op({"id": second["id"]}, (("PET", 1000),))])
    assert made["status"] == "created"
    assert found["status"] == "refused" and found["reason"]["code"] == "member_elsewhere", found
    assert "household" not in found and "Bisi" not in str(found)
    assert made["household"]["code"] not in str(found)
    assert credited["status"] == "refused" and credited["reason"]["code"] == "unknown_household", credited
    assert api.points(NEWCOMER) == 0
    assert len(api.outbox(NEWCOMER, "welcome")) == 1


def test_a_collector_cannot_sync_or_read_another_zones_household(api: Api, musa: str) -> None:
    """Issue 17, finding 5: a Yaba collector's pickup for a Sabo household is refused, and the
    answer carries nothing of that household (GET /households/{code} is 404 for it too)."""
    sabo = api.code(NGOZI)
    before = api.points(NGOZI)
    (refused,) = api.sync(musa, [pickup_op({"code": sabo}, (("PET", 2000),))])
    assert refused["status"] == "refused" and refused["reason"]["code"] == "not_your_household", refused
    assert "household" not in refused
    assert "Ngozi" not in str(refused) and NGOZI not in str(refused)
    assert api.points(NGOZI) == before


def test_a_log_text_first_then_the_same_pickup_synced_is_counted_once(api: Api, musa: str) -> None:
    seq = api.get("/me", musa).json["seq_base"] + 1  # type: ignore[index]
    code, before = api.code(ADA), api.points(ADA)
    (reply,) = api.text(MUSA, f"LOG {code} PET 4.5 ALU 1.2 #{seq}")
    (sms_pickup,) = [row for row in api.pickups_of(ADA) if row.seq == seq]
    assert sms_pickup.channel == "sms" and sms_pickup.reference in reply
    assert api.points(ADA) == before + 81
    receipts = len(api.outbox(ADA, "receipt"))

    (result,) = api.sync(musa, [pickup_op({"code": code}, PET_AND_ALU, seq=seq)])
    assert result["status"] == "duplicate", result
    assert result["reference"] == sms_pickup.reference
    assert result["original"]["reference"] == sms_pickup.reference
    assert result["original"]["channel"] == "sms"
    assert api.points(ADA) == before + 81
    assert [row.seq for row in api.pickups_of(ADA)].count(seq) == 1
    assert len(api.outbox(ADA, "receipt")) == receipts


def test_a_pickup_synced_first_then_its_log_text_is_counted_once(api: Api, musa: str) -> None:
    seq = api.get("/me", musa).json["seq_base"] + 2  # type: ignore[index]
    code, before = api.code(ADA), api.points(ADA)
    (result,) = api.sync(musa, [pickup_op({"code": code}, PET_AND_ALU, seq=seq)])
    assert result["status"] == "created", result
    receipts = len(api.outbox(ADA, "receipt"))
    (reply,) = api.text(MUSA, f"LOG {code} PET 4.5 ALU 1.2 #{seq}")
    assert reply.startswith(f"Already logged as {result['reference']} on ")
    assert reply.endswith(f"{code} 81 pts. Nothing added.")
    assert api.points(ADA) == before + 81
    assert [row.seq for row in api.pickups_of(ADA)].count(seq) == 1
    assert len(api.outbox(ADA, "receipt")) == receipts


def test_a_seq_already_on_another_pickup_is_refused_not_taken_for_a_duplicate(api: Api, musa: str) -> None:
    seq = api.get("/me", musa).json["seq_base"] + 3  # type: ignore[index]
    (reply,) = api.text(MUSA, f"LOG {api.code(ADA)} PET 4.5 #{seq}")
    (taken,) = [row for row in api.pickups_of(ADA) if row.seq == seq]
    assert taken.reference in reply
    tunde, ada = api.points(TUNDE), api.points(ADA)
    other_household = pickup_op(by_code(api, TUNDE), (("PET", 4500),), seq=seq)
    other_weight = pickup_op(by_code(api, ADA), (("PET", 5000),), seq=seq)
    # The same weight in all, but not the same materials: not the same pickup either.
    other_materials = pickup_op(by_code(api, ADA), (("PET", 3000), ("ALU", 1500)), seq=seq)
    results = api.sync(musa, [other_household, other_weight, other_materials])
    for result, named in zip(results, (TUNDE, ADA, ADA), strict=True):
        assert result["status"] == "refused" and result["reason"]["code"] == "seq_taken", result
        assert result["reason"]["message"] == (
            f"Another pickup of yours ({taken.reference}, {api.code(ADA)}) already has #{seq}. "
            f"Nothing was logged for {api.code(named)}. Give this pickup a new number, or ask the hub."
        )
    assert (api.points(TUNDE), api.points(ADA)) == (tunde, ada)
    # Another collector's same number is theirs.
    kemi = api.collector_token(KEMI)
    (theirs,) = api.sync(kemi, [pickup_op(by_code(api, NGOZI), seq=seq)])
    assert theirs["status"] == "created", theirs


def test_the_same_material_twice_in_one_pickup_is_added_up(api: Api, musa: str) -> None:
    (result,) = api.sync(musa, [pickup_op(by_code(api, ADA), (("PET", 2000), ("ALU", 1000), ("pet", 2500)))])
    assert result["status"] == "created" and result["points"] == 45 + 30
    lines = api.read(
        lambda s: s.execute(
            select(
                collection_lines_t.c.material_code, collection_lines_t.c.grams, collection_lines_t.c.points
            )
            .join(collections_t, collections_t.c.id == collection_lines_t.c.collection_id)
            .where(collections_t.c.reference == result["reference"])
            .order_by(collection_lines_t.c.material_code)
        ).all()
    )
    assert [tuple(line) for line in lines] == [("ALU", 1000, 30), ("PET", 4500, 45)]


def test_only_collectors_sync(api: Api) -> None:
    for role in ("admin", "operator", "auditor"):
        token = api.user_token(role)
        error_of(
            api.post("/sync", token, json={"operations": [pickup_op({"code": "K0001"})]}), 403, "forbidden"
        )
    assert api.count_pickups() == api.read(lambda s: len(s.execute(select(collections_t.c.id)).all()))


@pytest.mark.parametrize(
    "body",
    [
        {"operations": []},
        {"operations": [{"type": "household"}] * 101},
        {},
        {"operations": {"type": "pickup"}},
        {"operations": None},
        [],
    ],
)
def test_a_batch_that_cannot_be_read_is_422(api: Api, musa: str, body: Any) -> None:
    error = error_of(api.post("/sync", musa, json=body), 422, "unprocessable_entity")
    assert set(error["fields"]) <= {"operations", "_schema"}


def test_a_batch_of_a_hundred_is_taken(api: Api, musa: str) -> None:
    operations = [pickup_op(by_code(api, ADA), (("PET", 100 + i),)) for i in range(100)]
    before = api.points(ADA)
    results = api.sync(musa, operations)
    assert [r["status"] for r in results] == ["created"] * 100
    assert api.points(ADA) == before + sum(r["points"] for r in results)


def test_a_database_failure_in_one_operation_is_retry_and_loses_nothing_else(
    api: Api, musa: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real: Callable[..., Any] = service.usecases.sync.log_from_app
    operations = [pickup_op(by_code(api, ADA), (("PET", grams),)) for grams in (1000, 2000, 3000)]
    failing = operations[1]["id"]

    def log_from_app(uow: Any, collector: Any, operation: Any, **options: Any) -> Any:
        done = real(uow, collector, operation, **options)
        if operation.client_id == failing:  # the work was done, then the transaction fails
            raise OperationalError("COMMIT", {}, Exception("disk I/O error"))
        return done

    monkeypatch.setattr(service.usecases.sync, "log_from_app", log_from_app)
    before, receipts = api.points(ADA), len(api.outbox(ADA))
    results = api.sync(musa, operations)
    assert [r["status"] for r in results] == ["created", "retry", "created"], results
    assert results[1]["reason"] == {
        "code": "try_again",
        "message": "The server could not take this just now. It will be sent again.",
    }
    assert "reference" not in results[1]
    assert api.points(ADA) == before + 10 + 30
    assert len(api.outbox(ADA)) == receipts + 2
    monkeypatch.undo()
    again = api.sync(musa, operations)
    assert [r["status"] for r in again] == ["duplicate", "created", "duplicate"], again
    assert api.points(ADA) == before + 60


def test_a_collector_whose_token_ends_mid_queue_must_sign_in_again(api: Api, musa: str) -> None:
    api.set_pin(MUSA, "5930")
    error_of(api.post("/sync", musa, json={"operations": [pickup_op(by_code(api, ADA))]}), 401)


def test_syncs_are_limited_per_token(api: Api, musa: str) -> None:
    body = {"operations": ["nothing"]}
    for _ in range(60):
        assert api.post("/sync", musa, json=body).status_code == 200
    response = api.post("/sync", musa, json=body)
    error_of(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) > 0
    assert api.post("/sync", api.collector_token(), json=body).status_code == 200
