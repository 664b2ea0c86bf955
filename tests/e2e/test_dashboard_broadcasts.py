"""Broadcasts through the dashboard: compose to a zone, a list or everyone, preview (per language,
after opt-outs, with segments and cost), send; a big one proposed by one operator and approved by
another (or rejected, or cancelled); every refusal a 422 that writes nothing; auditors read only."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update
from werkzeug.test import TestResponse

from service.models import audit_log_t, broadcast_messages_t, broadcasts_t, outbox_t, phones_t
from service.usecases.households import member_by_phone
from service.usecases.zones import zone_by_name
from tests.e2e.hub import Browser, Hub

ADA, TUNDE, NGOZI = "+2348031234567", "+2348052345678", "+2348063456789"  # Yaba, Yaba, Sabo
TEXT = "Kolekt: Yaba collection moves to Saturday 5 Dec, 8-12. Put your bags out by 8."
PIDGIN = "Kolekt: Yaba collection don move go Saturday 5 Dec, 8-12."
_HIDDEN = re.compile(r'name="(key|seen)" value="([^"]*)"')


@pytest.fixture
def hub(make_app: Callable[..., Flask]) -> Hub:
    """The seeded demo (Ada and Tunde in Yaba, Ngozi in Sabo); above 2 households a broadcast
    waits for approval."""
    made = Hub(make_app(broadcast_approval_above=2))
    made.seed()
    return made


def page_text(response: TestResponse) -> str:
    return html.unescape(response.text)


def hidden(response: TestResponse) -> dict[str, str]:
    return dict(_HIDDEN.findall(response.text))


def yaba(hub: Hub) -> int:
    found = hub.read(lambda s: zone_by_name(s, "Yaba"))
    return int(found.id)


def form(hub: Hub, **values: str) -> dict[str, str]:
    return {"audience": "zone", "zone": str(yaba(hub)), "text_EN": TEXT, **values}


def preview(browser: Browser, values: dict[str, str]) -> TestResponse:
    """Open the page (the form's key), then Preview: the page again with the preview."""
    key = hidden(browser.get("/dashboard/broadcasts"))["key"]
    response = browser.post("/dashboard/broadcasts", {**values, "key": key, "action": "preview"})
    assert response.status_code == 200, page_text(response)
    return response


def send(browser: Browser, values: dict[str, str]) -> TestResponse:
    """Preview, then press the button under it (the same form, with what the preview saw)."""
    shown = hidden(preview(browser, values))
    return browser.post("/dashboard/broadcasts", {**values, **shown, "action": "send"})


def rows(hub: Hub, table: Any = broadcasts_t) -> list[Any]:
    return list(hub.read(lambda s: s.execute(select(table)).all()))


def audited(hub: Hub) -> list[tuple[str, str, str]]:
    return [
        tuple(row)
        for row in hub.read(
            lambda s: s.execute(
                select(audit_log_t.c.action, audit_log_t.c.subject, audit_log_t.c.actor)
                .where(audit_log_t.c.action.startswith("broadcast."))
                .order_by(audit_log_t.c.id)
            ).all()
        )
    ]


def texts_to(hub: Hub) -> dict[str, str]:
    return dict(
        hub.read(
            lambda s: s.execute(
                select(outbox_t.c.to_phone, outbox_t.c.body).where(outbox_t.c.kind == "broadcast")
            ).all()
        )
    )


def proposed_broadcast(hub: Hub, proposer_email: str) -> int:
    """A broadcast to everyone waiting for approval (for tests that need one to open or act on)."""
    from service.unit_of_work import UnitOfWork
    from service.usecases import broadcasts, users
    from tests.fakes import FakeQueue

    def work(session: Any) -> int:
        proposer = users.user_by_email(session, proposer_email)
        assert proposer is not None
        settings = hub.runtime.settings.with_changes(broadcast_approval_above=0)
        draft = broadcasts.compose(session, settings, audience="everyone", texts={"EN": TEXT})
        uow = UnitOfWork(session, settings, FakeQueue(), datetime.now(UTC))
        return broadcasts.submit(uow, draft, proposer.id, uuid.uuid4().hex).broadcast_id

    return int(hub.read(work))


# --- compose, preview, send ---------------------------------------------------------------------------


def test_an_operator_previews_a_zone_broadcast_then_sends_it(hub: Hub) -> None:
    operator = hub.signed_in("operator")
    hub.read(lambda s: s.execute(update(phones_t).where(phones_t.c.number == TUNDE).values(language="PCM")))
    shown = preview(operator, form(hub, text_PCM=PIDGIN, text_YO=""))
    text = page_text(shown)
    assert 'id="preview-recipients">2<' in text and 'id="preview-segments">2<' in text
    assert "NGN 8.00" in text  # 2 segments at 400 kobo
    assert "Left out: 0 opted out (STOP), 0 suspended." in text
    assert "Send to 2 households" in text and rows(hub) == []  # a preview writes nothing

    response = operator.post(
        "/dashboard/broadcasts", {**form(hub, text_PCM=PIDGIN), **hidden(shown), "action": "send"}
    )
    assert response.status_code == 303
    (made,) = rows(hub)
    assert response.headers["Location"].endswith(f"/dashboard/broadcasts/{made.id}")
    assert (made.status, made.recipients, made.segments, made.cost_kobo, made.decided_by) == (
        "sent",
        2,
        2,
        800,
        None,
    )
    assert texts_to(hub) == {ADA: TEXT, TUNDE: PIDGIN}
    assert audited(hub) == [("broadcast.send", f"broadcast:{made.id}", operator.email)]

    page = operator.get(f"/dashboard/broadcasts/{made.id}", follow_redirects=True)
    text = page_text(page)
    assert f"Broadcast {made.id} sent to 2 households." in text  # the flash
    assert 'id="audience">Zone Yaba<' in text and "not needed (2 households)" in text
    assert "<td>queued</td>" in text and PIDGIN in text
    listed = page_text(operator.get("/dashboard/broadcasts"))
    assert f'href="/dashboard/broadcasts/{made.id}"' in listed and "Zone Yaba" in listed


def test_opted_out_and_suspended_households_are_left_out(hub: Hub) -> None:
    operator = hub.signed_in("admin")  # an admin broadcasts as an operator does
    hub.read(
        lambda s: s.execute(
            update(phones_t).where(phones_t.c.number == TUNDE).values(opted_out_at=datetime.now(UTC))
        )
    )
    response = send(operator, form(hub))
    assert response.status_code == 303
    assert texts_to(hub) == {ADA: TEXT}
    (made,) = rows(hub)
    assert (made.recipients, made.opted_out, made.suspended) == (1, 1, 0)


def test_a_list_of_member_codes_and_numbers(hub: Hub) -> None:
    operator = hub.signed_in("operator")
    ada = hub.read(lambda s: member_by_phone(s, ADA))
    values = {"audience": "list", "members": f"{ada.member_code.lower()}\n0806 345 6789", "text_EN": TEXT}
    assert send(operator, values).status_code == 303
    assert texts_to(hub) == {ADA: TEXT, NGOZI: TEXT}
    (made,) = rows(hub)
    page = page_text(operator.get(f"/dashboard/broadcasts/{made.id}"))
    assert "A list of 2 households" in page and ada.member_code in page


def test_the_same_form_sent_twice_sends_once(hub: Hub) -> None:
    operator = hub.signed_in("operator")
    values = form(hub)
    shown = hidden(preview(operator, values))
    first = operator.post("/dashboard/broadcasts", {**values, **shown, "action": "send"})
    again = operator.post("/dashboard/broadcasts", {**values, **shown, "action": "send"})
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(rows(hub)) == 1 and len(texts_to(hub)) == 2
    assert "was made by this form already (sent): nothing new" in page_text(
        operator.get(again.headers["Location"])
    )
    assert len(audited(hub)) == 1


def test_a_send_of_what_the_preview_did_not_show_is_refused(hub: Hub) -> None:
    operator = hub.signed_in("operator")
    shown = hidden(preview(operator, form(hub)))
    edited = operator.post(
        "/dashboard/broadcasts", {**form(hub, text_EN=TEXT + " Thanks."), **shown, "action": "send"}
    )
    assert edited.status_code == 422
    assert "changed since the preview: check this one, then send" in page_text(edited)
    unseen = operator.post("/dashboard/broadcasts", {**form(hub), "key": shown["key"], "action": "send"})
    assert unseen.status_code == 422
    keyless = operator.post("/dashboard/broadcasts", {**form(hub), "seen": shown["seen"], "action": "send"})
    assert keyless.status_code == 422 and "this form is out of date" in page_text(keyless)
    assert rows(hub) == [] and texts_to(hub) == {}


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"text_EN": ""}, "write the English text"),
        ({"audience": "street"}, "choose who gets it"),
        ({"zone": ""}, "choose the zone that gets it"),
        ({"zone": "999"}, "there is no zone '999'"),
        ({"audience": "list", "members": "K0000\n12345"}, "not a member code or phone number: K0000, 12345"),
        ({"audience": "list", "members": "08099999999"}, "no household has +2348099999999"),
        ({"text_EN": "x" * 470}, "470 characters, 4 texts; a broadcast is at most 3"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(hub: Hub, values: dict[str, str], message: str) -> None:
    operator = hub.signed_in("operator")
    for action in ("preview", "send"):
        response = operator.post("/dashboard/broadcasts", {**form(hub), **values, "action": action})
        assert response.status_code == 422, action
        assert message in page_text(response)
    assert rows(hub) == [] and texts_to(hub) == {} and audited(hub) == []


def test_smart_quotes_are_refused_where_they_are_and_the_fix_is_offered(hub: Hub) -> None:
    operator = hub.signed_in("operator")
    typed = form(hub, text_EN="Kolekt: don\u2019t miss \u201cSaturday\u201d")
    refused = operator.post("/dashboard/broadcasts", {**typed, "action": "preview"})
    text = page_text(refused)
    assert refused.status_code == 422
    assert "the English text has “\u2019” (right single quotation mark) at character 12" in text
    assert "Use the suggested text" in text and 'Kolekt: don\'t miss "Saturday"' in text
    fixed = operator.post("/dashboard/broadcasts", {**typed, "key": hidden(refused)["key"], "action": "fix"})
    assert fixed.status_code == 200
    assert '>Kolekt: don\'t miss "Saturday"</textarea>' in page_text(
        fixed
    ) and "Send to 2 households" in page_text(fixed)
    assert rows(hub) == []


# --- maker-checker -----------------------------------------------------------------------------------


def propose_everyone(hub: Hub, maker: Browser) -> int:
    response = send(maker, {"audience": "everyone", "text_EN": TEXT})
    assert response.status_code == 303
    (made,) = rows(hub)
    assert (made.status, made.recipients) == ("proposed", 3)
    return int(made.id)


def test_a_big_broadcast_waits_for_a_second_operator(hub: Hub) -> None:
    maker, checker = hub.signed_in("operator"), hub.signed_in("operator")
    shown = page_text(preview(maker, {"audience": "everyone", "text_EN": TEXT}))
    assert "Propose to 3 households" in shown and "another operator must approve it" in shown
    broadcast_id = propose_everyone(hub, maker)
    assert texts_to(hub) == {}
    mine = page_text(maker.get(f"/dashboard/broadcasts/{broadcast_id}"))
    assert "proposed: another operator must approve it before it is sent" in mine
    assert "Approve and send" not in mine and "Cancel it" in mine
    refused = maker.post(f"/dashboard/broadcasts/{broadcast_id}/approve")
    assert refused.status_code == 422 and "a different operator must approve it" in page_text(refused)

    theirs = page_text(checker.get(f"/dashboard/broadcasts/{broadcast_id}"))
    assert "Approve and send" in theirs and "Cancel it" not in theirs
    assert 'id="preview-total">3 households, 3 segments, NGN 12.00' in theirs
    approved = checker.post(f"/dashboard/broadcasts/{broadcast_id}/approve")
    assert approved.status_code == 303
    assert texts_to(hub) == {ADA: TEXT, TUNDE: TEXT, NGOZI: TEXT}
    (made,) = rows(hub)
    assert made.status == "sent" and made.decided_by is not None
    page = page_text(checker.get(approved.headers["Location"]))
    assert f"Broadcast {broadcast_id} approved and sent to 3 households." in page
    assert f'id="approved-by">{checker.email}' in page

    again = checker.post(f"/dashboard/broadcasts/{broadcast_id}/approve")
    assert again.status_code == 422 and f"broadcast {broadcast_id} was sent already" in page_text(again)
    assert len(rows(hub, broadcast_messages_t)) == 3
    assert audited(hub) == [
        ("broadcast.propose", f"broadcast:{broadcast_id}", maker.email),
        ("broadcast.approve", f"broadcast:{broadcast_id}", checker.email),
    ]


def test_reject_with_a_reason_or_cancel_ones_own(hub: Hub) -> None:
    maker, checker = hub.signed_in("operator"), hub.signed_in("operator")
    first = propose_everyone(hub, maker)
    assert checker.post(f"/dashboard/broadcasts/{first}/reject", {"note": "  "}).status_code == 422
    assert maker.post(f"/dashboard/broadcasts/{first}/reject", {"note": "mine"}).status_code == 422
    assert checker.post(f"/dashboard/broadcasts/{first}/cancel").status_code == 422
    assert checker.post(f"/dashboard/broadcasts/{first}/reject", {"note": "wrong day"}).status_code == 303
    page = page_text(maker.get(f"/dashboard/broadcasts/{first}"))
    assert "Rejected by" in page and "wrong day" in page
    assert maker.post(f"/dashboard/broadcasts/{first}/cancel").status_code == 422  # decided already

    second_form = {"audience": "everyone", "text_EN": TEXT + " Again."}
    assert send(maker, second_form).status_code == 303
    second = max(row.id for row in rows(hub))
    assert maker.post(f"/dashboard/broadcasts/{second}/cancel").status_code == 303
    assert checker.post(f"/dashboard/broadcasts/{second}/approve").status_code == 422
    assert {row.id: row.status for row in rows(hub)} == {first: "rejected", second: "cancelled"}
    assert texts_to(hub) == {}
    assert [action for action, *_ in audited(hub)] == [
        "broadcast.propose",
        "broadcast.reject",
        "broadcast.propose",
        "broadcast.cancel",
    ]


# --- who may --------------------------------------------------------------------------------------------


def test_auditors_read_and_change_nothing(hub: Hub) -> None:
    broadcast_id = proposed_broadcast(hub, hub.add_user("operator"))
    auditor = hub.signed_in("auditor")
    listed = auditor.get("/dashboard/broadcasts")
    assert listed.status_code == 200 and 'id="compose"' not in listed.text
    page = auditor.get(f"/dashboard/broadcasts/{broadcast_id}")
    assert page.status_code == 200 and "Approve and send" not in page.text
    for path, data in (
        ("/dashboard/broadcasts", {**form(hub), "action": "preview"}),
        (f"/dashboard/broadcasts/{broadcast_id}/approve", {}),
        (f"/dashboard/broadcasts/{broadcast_id}/reject", {"note": "no"}),
        (f"/dashboard/broadcasts/{broadcast_id}/cancel", {}),
    ):
        assert auditor.post(path, data).status_code == 403, path
    (made,) = rows(hub)
    assert made.status == "proposed" and texts_to(hub) == {}


def test_unknown_broadcasts_are_404_and_forms_need_their_token(hub: Hub) -> None:
    operator = hub.signed_in("operator")
    assert operator.get("/dashboard/broadcasts/999").status_code == 404
    for step in ("approve", "reject", "cancel"):
        assert operator.post(f"/dashboard/broadcasts/999/{step}", {"note": "x"}).status_code == 404
    assert (
        operator.post("/dashboard/broadcasts", {**form(hub), "action": "preview"}, csrf=False).status_code
        == 400
    )
    signed_out = hub.browser()
    assert signed_out.get("/dashboard/broadcasts").status_code == 302
