"""An admin gives a zone new regular collection days from the dashboard: its households are
texted the new days and their next collection day, and requests for a dropped day move on."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from redis import Redis
from rq import Queue
from sqlalchemy import select, update

from service.jobs.registry import JOBS
from service.models import Phone, audit_log_t, households_t, outbox_t, pickup_requests_t, zones_t
from service.unit_of_work import Job
from service.usecases.zones import zone_by_name
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub


def _next_weekday(weekday: int) -> date:
    today = datetime.now(UTC).date() + timedelta(days=2)  # clear of today in any zone
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def test_new_days_are_texted_and_requests_move_to_a_collection_day(hub: Hub) -> None:
    hub.seed()
    yaba = hub.read(lambda s: zone_by_name(s, "Yaba"))
    tuesday = _next_weekday(1)  # a Yaba day now, not after the change
    ada, tunde = hub.read(
        lambda s: s.execute(
            select(households_t.c.id, households_t.c.phone)
            .where(households_t.c.zone_id == yaba.id)
            .order_by(households_t.c.id)
        ).all()
    )

    def prepare(s: object) -> None:
        s.execute(  # type: ignore[attr-defined]
            pickup_requests_t.insert().values(
                household_id=ada.id,
                collection_date=tuesday,
                zone_id=yaba.id,
                kind="pickup",
                created_at=datetime.now(UTC),
            )
        )
        s.execute(update(Phone).where(Phone.number == tunde.phone).values(opted_out_at=datetime.now(UTC)))  # type: ignore[attr-defined]

    hub.read(prepare)
    admin = hub.signed_in("admin")
    response = admin.post(
        "/dashboard/programme/zones/timetable",
        {"zone": str(yaba.id), "days": "wed", "start": "09:00", "end": "13:00"} | {},
        follow_redirects=True,
    )
    assert (
        response.status_code == 200
        and "Yaba is now Wed 9-13: 1 households texted, 1 requests moved" in response.text
    )
    row = hub.read(lambda s: s.execute(select(zones_t).where(zones_t.c.id == yaba.id)).one())
    assert (row.days, row.window_start, row.window_end) == ("wed", "09:00", "13:00")
    moved = hub.read(lambda s: s.execute(select(pickup_requests_t.c.collection_date)).scalar_one())
    assert moved == tuesday + timedelta(days=1)  # the Wednesday after
    texts = hub.read(
        lambda s: s.execute(
            select(outbox_t.c.to_phone, outbox_t.c.body).where(outbox_t.c.template == "zone_days_changed")
        ).all()
    )
    assert [t.to_phone for t in texts] == [ada.phone]  # Tunde opted out
    assert texts[0].body.startswith("Kolekt: Yaba collection is now Wed 9-13. Next one: Wed ")
    assert len(texts[0].body) <= 160
    queued = Queue(JOBS[Job.SEND_MESSAGES].queue, connection=Redis.from_url(hub.runtime.settings.redis_url))
    assert any(job.func_name.endswith("send_messages") for job in queued.jobs)
    entry = hub.read(
        lambda s: s.execute(
            select(audit_log_t).where(audit_log_t.c.action == "programme.zone_timetable")
        ).one()
    )
    assert entry.subject == f"zone:{yaba.id}" and '"was": "Tue, Fri 8-12"' in entry.details


def test_refusals_change_nothing(hub: Hub) -> None:
    hub.seed()
    yaba = hub.read(lambda s: zone_by_name(s, "Yaba"))
    admin = hub.signed_in("admin")
    before = snapshot(hub.runtime.engine)
    for form, message in (
        ({"days": ["tue", "fri"], "start": "08:00", "end": "12:00"}, "Yaba is already Tue, Fri 8-12"),
        ({"days": [], "start": "08:00", "end": "12:00"}, "day"),
        ({"days": ["mon"], "start": "12:00", "end": "08:00"}, "the window must end after it starts"),
        ({"days": ["mon"], "start": "08:00", "end": "12:00", "zone": "999"}, "choose one of the zones"),
    ):
        response = admin.post("/dashboard/programme/zones/timetable", {"zone": str(yaba.id), **form})  # type: ignore[dict-item]
        assert response.status_code == 422 and message in response.text, form
    assert snapshot(hub.runtime.engine) == before
