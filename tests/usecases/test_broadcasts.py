"""Broadcasts as use cases: what an operator may write (GSM-7 only, English required), who gets it
(per language, opt-outs and suspended households left out), what it costs, and that it is written
once: at once when small, on a second operator's approval when big, never twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import sms
from service.models import broadcast_messages_t, broadcasts_t, households_t, outbox_t, phones_t
from service.reads import broadcasts as reads
from service.settings import Settings
from service.unit_of_work import UnitOfWork
from service.usecases import broadcasts as use
from service.usecases.households import Member, register_household
from service.usecases.phones import ensure_phone
from service.usecases.users import add_user
from service.usecases.zones import add_zone
from tests.fakes import FakeQueue
from tests.usecases.conftest import MONDAY, World

ENGLISH = "Kolekt: Yaba collection moves to Saturday 28 Nov, 8-12. Put your bags out by 8."
PIDGIN = "Kolekt: Yaba collection don move go Saturday 28 Nov, 8-12."


def key() -> str:
    return uuid.uuid4().hex


def household(session: Session, phone: str, zone_id: int | None, language: str = "EN") -> Member:
    ensure_phone(session, phone, MONDAY)
    session.execute(update(phones_t).where(phones_t.c.number == phone).values(language=language))
    return register_household(session, phone, f"House {phone[-3:]}", None, "test", MONDAY, zone_id=zone_id)


@pytest.fixture
def street(session: Session, world: World) -> dict[str, Member]:
    """Yaba: Ada (English, from ``world``), a Pidgin, a Yoruba and a Hausa household, one whose
    number sent STOP and a suspended one; Sabo: one household."""
    yaba = world.zone.id
    people = {
        "ada": world.ada,
        "pcm": household(session, "+2348031000002", yaba, "PCM"),
        "yo": household(session, "+2348031000003", yaba, "YO"),
        "ha": household(session, "+2348031000004", yaba, "HA"),
        "stopped": household(session, "+2348031000005", yaba),
        "suspended": household(session, "+2348031000006", yaba),
        "sabo": household(
            session, "+2348031000007", add_zone(session, "Sabo", "wed", "09:00-13:00", MONDAY).id
        ),
    }
    session.execute(
        update(phones_t).where(phones_t.c.number == people["stopped"].phone).values(opted_out_at=MONDAY)
    )
    session.execute(
        update(households_t).where(households_t.c.id == people["suspended"].id).values(status="suspended")
    )
    return people


@pytest.fixture
def operators(session: Session) -> tuple[int, int]:
    """Two operators: a maker and a checker."""
    made = [
        add_user(session, f"op{n}.{uuid.uuid4().hex[:6]}@hub.example", "a long password", "operator", MONDAY)
        for n in (1, 2)
    ]
    return made[0].id, made[1].id


def draft(session: Session, settings: Settings, zone_id: int, **texts: str) -> use.Draft:
    return use.compose(session, settings, audience="zone", zone=str(zone_id), texts=texts or {"EN": ENGLISH})


def outbox_rows(session: Session) -> list[tuple[str, str, str, str, str, bool]]:
    return [
        tuple(row)
        for row in session.execute(
            select(
                outbox_t.c.to_phone,
                outbox_t.c.body,
                outbox_t.c.language,
                outbox_t.c.kind,
                outbox_t.c.template,
                outbox_t.c.reply,
            ).order_by(outbox_t.c.id)
        )
    ]


# --- what may be written ------------------------------------------------------------------------------


def test_english_is_required_and_the_other_languages_are_optional(
    session: Session, settings: Settings, world: World
) -> None:
    with pytest.raises(use.BroadcastError, match="write the English text"):
        draft(session, settings, world.zone.id, PCM=PIDGIN)
    made = draft(session, settings, world.zone.id, EN=f"  {ENGLISH}\r\nThanks.  ", PCM=PIDGIN, YO="   ")
    assert made.texts == {"EN": f"{ENGLISH}\nThanks.", "PCM": PIDGIN}  # blank ones left out
    assert made.text_for("PCM") == ("PCM", PIDGIN)
    assert made.text_for("YO") == ("EN", f"{ENGLISH}\nThanks.")  # no Yoruba text: the English one


def test_a_character_outside_gsm7_is_refused_with_its_place_and_a_fix(
    session: Session, settings: Settings, world: World
) -> None:
    with pytest.raises(use.BroadcastError) as refused:
        draft(session, settings, world.zone.id, EN="Kolekt: don\u2019t miss Saturday", YO="Ẹ ku ọjọ")
    message = str(refused.value)
    assert "the English text has “\u2019” (right single quotation mark) at character 12" in message
    assert "UCS-2 (70 characters a part, not 160) (the Yoruba text too); use the suggested text" in message
    assert refused.value.fixed == {"EN": "Kolekt: don't miss Saturday", "YO": "E ku ojo"}
    # The fix is sendable as it stands.
    assert draft(session, settings, world.zone.id, **refused.value.fixed).texts == refused.value.fixed

    with pytest.raises(use.BroadcastError) as only_yoruba:
        draft(session, settings, world.zone.id, EN="Kolekt: collection Saturday", YO="Ẹ ku ọjọ Satide")
    assert "the Yoruba text has “Ẹ” (latin capital letter e with dot below) at character 1, " in str(
        only_yoruba.value
    )
    assert "“ọ” (latin small letter o with dot below) at character 6" in str(only_yoruba.value)


def test_a_text_of_more_than_three_segments_is_refused(
    session: Session, settings: Settings, world: World
) -> None:
    assert draft(session, settings, world.zone.id, EN="x" * 459).texts["EN"] == "x" * 459
    with pytest.raises(use.BroadcastError, match="460 characters, 4 texts; a broadcast is at most 3"):
        draft(session, settings, world.zone.id, EN="x" * 460)


def test_the_audience_is_a_known_zone_a_list_of_households_or_everyone(
    session: Session, settings: Settings, street: dict[str, Member]
) -> None:
    def compose(audience: str, **form: str) -> use.Audience:
        return use.compose(session, settings, audience=audience, texts={"EN": ENGLISH}, **form).audience

    with pytest.raises(use.BroadcastError, match="choose who gets it"):
        compose("street")
    with pytest.raises(use.BroadcastError, match="choose the zone"):
        compose("zone")
    with pytest.raises(use.BroadcastError, match="there is no zone '999'"):
        compose("zone", zone="999")
    assert compose("everyone") == use.Audience("everyone")
    ada, pcm = street["ada"], street["pcm"]
    listed = compose("list", members=f"{ada.member_code.lower()}\n0803 100 0002, {ada.phone};\n\n")
    assert listed == use.Audience("list", members=(ada.member_code, pcm.member_code))  # Ada once
    with pytest.raises(use.BroadcastError, match="list the households"):
        compose("list", members=" \n ")
    with pytest.raises(use.BroadcastError, match="not a member code or phone number: hello"):
        compose("list", members=f"{ada.member_code}\nhello")
    with pytest.raises(
        use.BroadcastError, match=rf"no household has \+2348099999999, {sms.member_code(9999)}"
    ):
        compose("list", members=f"08099999999\n{sms.member_code(9999)}")


# --- who gets what ----------------------------------------------------------------------------------


def test_the_preview_counts_households_per_language_after_opt_outs_with_segments_and_cost(
    session: Session, settings: Settings, world: World, street: dict[str, Member]
) -> None:
    long_pidgin = "Kolekt: " + "wetin " * 30  # 188 characters: two segments
    made = draft(session, settings, world.zone.id, EN=ENGLISH, PCM=long_pidgin)
    seen = use.preview(session, settings.with_changes(sms_segment_cost_kobo=450), made, MONDAY)
    assert seen.groups == [
        use.Group("EN", 1, "EN", 1),
        use.Group("PCM", 1, "PCM", 2),
        use.Group("YO", 1, "EN", 1),
        use.Group("HA", 1, "EN", 1),
    ]
    assert (seen.recipients, seen.opted_out, seen.suspended, seen.segments) == (4, 1, 1, 5)
    assert (seen.cost_kobo, seen.cost) == (2250, "NGN 22.50")
    assert {language: counted.count for language, counted in seen.texts.items()} == {"EN": 1, "PCM": 2}
    assert (seen.needs_approval, seen.quiet_until) == (False, None)
    assert use.preview(
        session, settings.with_changes(broadcast_approval_above=3), made, MONDAY
    ).needs_approval
    assert not use.preview(
        session, settings.with_changes(broadcast_approval_above=4), made, MONDAY
    ).needs_approval


def test_naira_are_exact() -> None:
    assert [use.naira(kobo) for kobo in (0, 5, 400, 123450, 100_000_001)] == [
        "NGN 0.00",
        "NGN 0.05",
        "NGN 4.00",
        "NGN 1,234.50",
        "NGN 1,000,000.01",
    ]


# --- sending, once ----------------------------------------------------------------------------------


def test_a_small_broadcast_is_sent_at_once_one_text_per_household_in_its_language(
    session: Session,
    settings: Settings,
    queue: FakeQueue,
    uow: Callable[..., UnitOfWork],
    world: World,
    street: dict[str, Member],
    operators: tuple[int, int],
) -> None:
    maker, _ = operators
    work = uow()
    done = use.submit(work, draft(session, settings, world.zone.id, EN=ENGLISH, PCM=PIDGIN), maker, key())
    assert (done.status, done.recipients, done.repeated) == ("sent", 4, False)
    assert outbox_rows(session) == [
        (street["ada"].phone, ENGLISH, "EN", "broadcast", "broadcast", False),
        (street["pcm"].phone, PIDGIN, "PCM", "broadcast", "broadcast", False),
        (street["yo"].phone, ENGLISH, "EN", "broadcast", "broadcast", False),
        (street["ha"].phone, ENGLISH, "EN", "broadcast", "broadcast", False),
    ]
    keyed = session.execute(
        select(broadcast_messages_t.c.household_id, broadcast_messages_t.c.outbox_id)
    ).all()
    assert {row.household_id for row in keyed} == {street[who].id for who in ("ada", "pcm", "yo", "ha")}
    assert sorted(row.outbox_id for row in keyed) == sorted(work.outbox.written)
    # Sent in bulk once committed (paced by the send limit), not one job per text.
    assert queue.bulk == []
    work.enqueue()
    assert queue.bulk == [(work.outbox.written, None)] and queue.sent == []
    found = reads.get_broadcast(session, done.broadcast_id)
    assert found is not None
    assert (found.status, found.sent_at, found.decided_by, found.recipients, found.segments) == (
        "sent",
        MONDAY,
        None,
        4,
        4,
    )
    assert (found.opted_out, found.suspended, found.cost_kobo, found.audience) == (1, 1, 1600, "Zone Yaba")
    assert reads.delivery(session, done.broadcast_id) == {"queued": 4}


def test_in_quiet_hours_the_texts_wait_for_their_end(
    session: Session, settings: Settings, queue: FakeQueue, world: World, operators: tuple[int, int]
) -> None:
    late = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 22:30 in Lagos
    quiet = settings.with_changes(quiet_hours="21:00-07:00")
    work = UnitOfWork(session, quiet, queue, late)
    made = draft(session, quiet, world.zone.id)
    morning = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 07:00 in Lagos
    assert use.preview(session, quiet, made, late).quiet_until == morning
    use.submit(work, made, operators[0], key())
    work.enqueue()
    assert queue.bulk == [(work.outbox.written, morning)]
    due = session.execute(select(outbox_t.c.next_attempt_at)).scalars().all()
    assert due == [morning]


def test_a_big_broadcast_waits_for_a_second_operator_whose_approval_sends_it_once(
    session: Session,
    settings: Settings,
    queue: FakeQueue,
    world: World,
    street: dict[str, Member],
    operators: tuple[int, int],
) -> None:
    maker, checker = operators
    strict = settings.with_changes(broadcast_approval_above=3)
    made = use.compose(session, strict, audience="everyone", texts={"EN": ENGLISH})
    proposed = use.submit(UnitOfWork(session, strict, queue, MONDAY), made, maker, key())
    assert (proposed.status, proposed.recipients) == ("proposed", 5)  # Sabo's household too
    assert outbox_rows(session) == []

    later = MONDAY + timedelta(hours=1)
    with pytest.raises(use.BroadcastError, match="a different operator must approve it: you proposed it"):
        use.approve(UnitOfWork(session, strict, queue, later), proposed.broadcast_id, maker)
    with pytest.raises(use.BroadcastError, match="cancel your own proposal"):
        use.reject(session, proposed.broadcast_id, maker, "no", later)
    work = UnitOfWork(session, strict, queue, later)
    sent = use.approve(work, proposed.broadcast_id, checker)
    assert sent.recipients == 5 and len(outbox_rows(session)) == 5
    found = reads.get_broadcast(session, proposed.broadcast_id)
    assert found is not None
    assert (found.status, found.decided_by, found.decided_at, found.sent_at) == (
        "sent",
        checker,
        later,
        later,
    )

    # Never twice: approving again, rejecting or cancelling it now all refuse and write nothing.
    for step in (
        lambda: use.approve(UnitOfWork(session, strict, queue, later), proposed.broadcast_id, checker),
        lambda: use.reject(session, proposed.broadcast_id, checker, "too late", later),
        lambda: use.cancel(session, proposed.broadcast_id, maker, later),
    ):
        with pytest.raises(use.BroadcastError, match=f"broadcast {proposed.broadcast_id} was sent already"):
            step()
    assert len(outbox_rows(session)) == 5


def test_the_same_form_sent_twice_makes_one_broadcast(
    session: Session,
    settings: Settings,
    uow: Callable[..., UnitOfWork],
    world: World,
    operators: tuple[int, int],
) -> None:
    made, form_key = draft(session, settings, world.zone.id), key()
    first = use.submit(uow(), made, operators[0], form_key)
    again = use.submit(uow(), made, operators[0], form_key)
    assert again == use.Submitted(first.broadcast_id, "sent", 1, repeated=True)
    assert session.execute(select(func.count()).select_from(broadcasts_t)).scalar_one() == 1
    assert len(outbox_rows(session)) == 1
    with pytest.raises(use.BroadcastError, match="this form is out of date"):
        use.submit(uow(), made, operators[0], "not-a-key")


def test_the_database_keys_each_households_text_once(
    session: Session,
    settings: Settings,
    uow: Callable[..., UnitOfWork],
    world: World,
    operators: tuple[int, int],
) -> None:
    done = use.submit(uow(), draft(session, settings, world.zone.id), operators[0], key())
    (outbox_id,) = session.execute(select(outbox_t.c.id)).scalars()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            broadcast_messages_t.insert().values(
                broadcast_id=done.broadcast_id, household_id=world.ada.id, outbox_id=outbox_id + 1000
            )
        )
    with pytest.raises(IntegrityError), session.begin_nested():  # four eyes, in the schema too
        session.execute(
            update(broadcasts_t).where(broadcasts_t.c.id == done.broadcast_id).values(decided_by=operators[0])
        )


def test_reject_and_cancel_send_nothing(
    session: Session,
    settings: Settings,
    queue: FakeQueue,
    world: World,
    street: dict[str, Member],
    operators: tuple[int, int],
) -> None:
    maker, checker = operators
    strict = settings.with_changes(broadcast_approval_above=0)
    made = draft(session, strict, world.zone.id)
    first = use.submit(UnitOfWork(session, strict, queue, MONDAY), made, maker, key())
    second = use.submit(UnitOfWork(session, strict, queue, MONDAY), made, maker, key())
    with pytest.raises(use.BroadcastError, match="say why"):
        use.reject(session, first.broadcast_id, checker, "   ", MONDAY)
    use.reject(session, first.broadcast_id, checker, "  wrong   day ", MONDAY)
    with pytest.raises(use.BroadcastError, match="only who proposed it can cancel it"):
        use.cancel(session, second.broadcast_id, checker, MONDAY)
    use.cancel(session, second.broadcast_id, maker, MONDAY)
    rejected, cancelled = (reads.get_broadcast(session, b.broadcast_id) for b in (first, second))
    assert rejected is not None and cancelled is not None
    assert (rejected.status, rejected.decided_by, rejected.decision_note) == (
        "rejected",
        checker,
        "wrong day",
    )
    assert (cancelled.status, cancelled.decided_by, cancelled.decided_at) == ("cancelled", None, MONDAY)
    with pytest.raises(use.BroadcastError, match=f"broadcast {first.broadcast_id} was rejected already"):
        use.approve(UnitOfWork(session, strict, queue, MONDAY), first.broadcast_id, checker)
    with pytest.raises(use.BroadcastError, match="there is no broadcast 999999"):
        use.approve(UnitOfWork(session, strict, queue, MONDAY), 999999, checker)
    assert outbox_rows(session) == []
    assert [b.id for b in reads.broadcasts(session)] == [second.broadcast_id, first.broadcast_id]
    assert reads.broadcasts(session, status="proposed") == []


def test_nobody_to_send_to_is_refused(
    session: Session,
    settings: Settings,
    uow: Callable[..., UnitOfWork],
    world: World,
    operators: tuple[int, int],
) -> None:
    session.execute(update(phones_t).where(phones_t.c.number == world.ada.phone).values(opted_out_at=MONDAY))
    made = draft(session, settings, world.zone.id)
    assert use.preview(session, settings, made, MONDAY).opted_out == 1
    with pytest.raises(use.BroadcastError, match="nobody would get it"):
        use.submit(uow(), made, operators[0], key())
    assert session.execute(select(func.count()).select_from(broadcasts_t)).scalar_one() == 0
