"""The holds queue on the dashboard (issue 24), through the Flask test client: a pickup held
because the household lives at the collector's own address is listed with its signal and its
release day; an operator approves it (the points go on to the household, the commission to the
collector) or rejects it with a reason (both are reversed, both people texted); a hold is decided
once; an auditor reads the queue and decides nothing. The overview counts what waits, and the
collector's scorecard counts the week's held pickups."""

from __future__ import annotations

import html
import json
import re
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger
from service.accounts import HOLDS, collector_account, member_account
from service.models import audit_log_t, collections_t, collectors_t, holds_t, households_t, outbox_t
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub, held_pickup

OWN = "the household's address is the collector's own"
REASON = "the scale at the hub read 1 kg"


class Pickup(NamedTuple):
    reference: str
    collection_id: int
    points: int
    commission: int
    member: str  # its ledger account
    member_phone: str
    collector: str  # its ledger account
    collector_phone: str


def _pickup(hub: Hub, reference: str) -> Pickup:
    def work(session: Session) -> Pickup:
        row = session.execute(
            select(
                collections_t.c.id,
                collections_t.c.points,
                collections_t.c.commission,
                collections_t.c.collector_id,
                households_t.c.member_code,
                households_t.c.phone,
                collectors_t.c.phone.label("collector_phone"),
            )
            .join(households_t, households_t.c.id == collections_t.c.household_id)
            .join(collectors_t, collectors_t.c.id == collections_t.c.collector_id)
            .where(collections_t.c.reference == reference)
        ).one()
        return Pickup(
            reference,
            row.id,
            row.points,
            row.commission,
            member_account(row.member_code),
            row.phone,
            collector_account(row.collector_id),
            row.collector_phone,
        )

    return hub.read(work)  # type: ignore[no-any-return]


def _balance(hub: Hub, account: str) -> int:
    return int(hub.read(lambda s: ledger.balance(s, account).credit_balance))


def _balances(hub: Hub, p: Pickup) -> tuple[int, int, int]:
    return _balance(hub, p.member), _balance(hub, p.collector), _balance(hub, HOLDS)


def _texts(hub: Hub, template: str) -> list[tuple[str, str]]:
    """(to, body) of every text of ``template`` in the outbox."""
    rows = hub.read(
        lambda s: s.execute(
            select(outbox_t.c.to_phone, outbox_t.c.body)
            .where(outbox_t.c.template == template)
            .order_by(outbox_t.c.id)
        ).all()
    )
    return [(str(to), str(body)) for to, body in rows]


def _audit(hub: Hub, action: str) -> list[Any]:
    return list(
        hub.read(lambda s: s.execute(select(audit_log_t).where(audit_log_t.c.action == action)).all())
    )


def _hold(hub: Hub, p: Pickup) -> Any:
    return hub.read(
        lambda s: s.execute(select(holds_t).where(holds_t.c.collection_id == p.collection_id)).one()
    )


def _status(hub: Hub, p: Pickup) -> str:
    return str(
        hub.read(
            lambda s: s.execute(
                select(collections_t.c.status).where(collections_t.c.id == p.collection_id)
            ).scalar_one()
        )
    )


def _text(response: Any) -> str:
    return html.unescape(response.text)


def _queued(page: str, reference: str) -> bool:
    return f'id="hold-{reference}"' in page


def _decided(page: str) -> list[list[str]]:
    """The cells of each row of "Decided lately"."""
    table = page.split('id="holds-decided"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def _held(hub: Hub) -> tuple[Pickup, tuple[int, int, int]]:
    """The demo programme, its balances, then a pickup held (the ``own`` signal)."""
    hub.seed()
    household = hub.read(
        lambda s: s.execute(select(households_t.c.member_code).where(households_t.c.id == 1)).scalar_one()
    )
    before = (
        _balance(hub, member_account(household)),
        _balance(hub, collector_account(1)),
        _balance(hub, HOLDS),
    )
    return _pickup(hub, held_pickup(hub)), before


def test_the_queue_lists_a_held_pickup_with_its_signal_and_release_day(hub: Hub) -> None:
    p, before = _held(hub)
    # Held: nothing reached the household or the collector; it all waits in the holds account.
    assert p.points > 0 and p.commission > 0
    assert _balances(hub, p) == (before[0], before[1], before[2] + p.points + p.commission)
    release_on = _hold(hub, p).release_on
    operator = hub.signed_in("operator")
    page = operator.get("/dashboard/holds")
    assert page.status_code == 200
    text = _text(page)
    assert "1 waiting" in text and _queued(text, p.reference)
    article = text.split(f'id="hold-{p.reference}"', 1)[1].split("</article>", 1)[0]
    assert f"<strong>own</strong>: {OWN}" in article
    assert f"released undecided on {release_on.isoformat()}" in article
    assert f"Approve: credit {p.points} pts" in article
    assert f"/dashboard/holds/{p.reference}/approve" in article
    assert f"/dashboard/holds/{p.reference}/reject" in article
    assert _decided(text) == [["None yet."]]


def test_an_operator_approves_a_hold_and_the_household_and_collector_are_credited(hub: Hub) -> None:
    p, before = _held(hub)
    operator = hub.signed_in("operator")
    response = operator.post(f"/dashboard/holds/{p.reference}/approve")
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard/holds")
    page = _text(operator.get("/dashboard/holds"))
    assert f"Pickup {p.reference} approved: {p.points} pts to the household. It was texted." in page
    # The points on to the household, the commission to the collector, nothing left held.
    assert _balances(hub, p) == (before[0] + p.points, before[1] + p.commission, before[2])
    hold = _hold(hub, p)
    assert (hold.status, hold.decided_by, hold.reason) == ("approved", operator.email, None)
    assert _status(hub, p) == "credited"
    approved = _texts(hub, "hold_approved")
    assert [to for to, _ in approved] == [p.member_phone]
    assert p.reference in approved[0][1] and f"+{p.points}" in approved[0][1]
    assert _texts(hub, "hold_rejected") == [] and _texts(hub, "hold_rejected_collector") == []
    (entry,) = _audit(hub, "hold.approve")
    assert (entry.actor, entry.subject) == (operator.email, f"pickup:{p.collection_id}")
    assert json.loads(entry.details) == {"ref": p.reference, "points": p.points}
    # Out of the queue, into "Decided lately".
    assert not _queued(page, p.reference) and "0 waiting" in page and "No pickups are held." in page
    (row,) = _decided(page)
    assert row[:6] == [
        p.reference,
        p.member.partition(":")[2],
        "Musa Ibrahim",
        str(p.points),
        "approved",
        operator.email,
    ]
    assert row[7] == ""


def test_a_rejection_without_a_reason_is_refused_and_changes_nothing(hub: Hub) -> None:
    p, _ = _held(hub)
    operator = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    for form, message in (
        ({"reason": "   "}, "a rejection needs a reason: the household is told it"),
        ({}, "a rejection needs a reason: the household is told it"),
        ({"reason": "x" * 161}, "the reason is 161 characters; 160 at most"),
        ({"reason": "weighed ₦ wrong"}, "a character a basic phone may not show"),
    ):
        response = operator.post(f"/dashboard/holds/{p.reference}/reject", form)
        assert response.status_code == 422, form
        text = _text(response)
        assert message in text, form
        assert _queued(text, p.reference)  # the queue again, the hold still in it
    assert snapshot(hub.runtime.engine) == before


def test_an_operator_rejects_a_hold_with_a_reason_and_both_are_texted(hub: Hub) -> None:
    p, before = _held(hub)
    operator = hub.signed_in("operator")
    response = operator.post(f"/dashboard/holds/{p.reference}/reject", {"reason": f"  {REASON}  "})
    assert response.status_code == 303
    page = _text(operator.get("/dashboard/holds"))
    assert f"Pickup {p.reference} rejected: its points went back." in page
    # Reversed: the household and the collector as before the hold, the holds account too.
    assert _balances(hub, p) == before
    hold = _hold(hub, p)
    assert (hold.status, hold.decided_by, hold.reason) == ("rejected", operator.email, REASON)
    assert _status(hub, p) == "rejected"
    reversals = hub.read(
        lambda s: [t for t in ledger.transfers_for(s, f"pickup:{p.collection_id}") if t.reverses is not None]
    )
    assert sorted(t.amount for t in reversals) == sorted((p.points, p.commission))
    assert {t.debit for t in reversals} == {HOLDS}
    household = _texts(hub, "hold_rejected")
    collector = _texts(hub, "hold_rejected_collector")
    assert [to for to, _ in household] == [p.member_phone]
    assert [to for to, _ in collector] == [p.collector_phone]
    assert household[0][1].endswith(REASON) and p.reference in household[0][1]
    assert collector[0][1].endswith(REASON) and p.member.partition(":")[2] in collector[0][1]
    assert _texts(hub, "hold_approved") == []
    (entry,) = _audit(hub, "hold.reject")
    assert (entry.actor, entry.subject) == (operator.email, f"pickup:{p.collection_id}")
    assert json.loads(entry.details) == {"ref": p.reference, "reason": REASON}
    assert not _queued(page, p.reference)
    (row,) = _decided(page)
    assert (row[0], row[4], row[5], row[7]) == (p.reference, "rejected", operator.email, REASON)


def test_a_hold_is_decided_once(hub: Hub) -> None:
    p, _ = _held(hub)
    first, second = hub.signed_in("operator"), hub.signed_in("admin")
    assert first.post(f"/dashboard/holds/{p.reference}/approve").status_code == 303
    balances = _balances(hub, p)
    before = snapshot(hub.runtime.engine)
    for action, form in (("approve", {}), ("reject", {"reason": REASON})):
        for browser in (first, second):
            response = browser.post(f"/dashboard/holds/{p.reference}/{action}", form)
            assert response.status_code == 422, (action, browser.email)
            assert f"the hold on {p.reference} was approved already" in _text(response)
    assert snapshot(hub.runtime.engine) == before
    assert _balances(hub, p) == balances
    assert len(_texts(hub, "hold_approved")) == 1 and len(_audit(hub, "hold.approve")) == 1


def test_a_rejected_hold_cannot_then_be_approved(hub: Hub) -> None:
    p, before_hold = _held(hub)
    operator = hub.signed_in("operator")
    assert operator.post(f"/dashboard/holds/{p.reference}/reject", {"reason": REASON}).status_code == 303
    before = snapshot(hub.runtime.engine)
    again = operator.post(f"/dashboard/holds/{p.reference}/approve")
    assert again.status_code == 422 and f"the hold on {p.reference} was rejected already" in _text(again)
    assert snapshot(hub.runtime.engine) == before
    assert _balances(hub, p) == before_hold


def test_an_unknown_pickup_has_no_hold(hub: Hub) -> None:
    hub.seed()
    operator = hub.signed_in("operator")
    credited = hub.read(
        lambda s: s.execute(
            select(collections_t.c.reference).where(collections_t.c.status == "credited").limit(1)
        ).scalar_one()
    )
    before = snapshot(hub.runtime.engine)
    for reference in ("ZZZZ", credited):  # no such pickup; a pickup credited without a hold
        response = operator.post(f"/dashboard/holds/{reference}/approve")
        assert response.status_code == 422 and f"no hold on pickup {reference}" in _text(response)
    assert snapshot(hub.runtime.engine) == before


def test_an_auditor_reads_the_queue_but_cannot_decide(hub: Hub) -> None:
    p, before_hold = _held(hub)
    auditor = hub.signed_in("auditor")
    page = auditor.get("/dashboard/holds")
    assert page.status_code == 200
    text = _text(page)
    assert _queued(text, p.reference) and OWN in text
    assert "Approve:" not in text and "/approve" not in text and "/reject" not in text
    assert 'name="reason"' not in text
    before = snapshot(hub.runtime.engine)
    assert auditor.post(f"/dashboard/holds/{p.reference}/approve").status_code == 403
    assert auditor.post(f"/dashboard/holds/{p.reference}/reject", {"reason": REASON}).status_code == 403
    assert snapshot(hub.runtime.engine) == before
    assert _balances(hub, p)[0] == before_hold[0]
    # The same page for an operator has the buttons: the check above is of the role, not the page.
    assert f"/dashboard/holds/{p.reference}/approve" in hub.signed_in("operator").get("/dashboard/holds").text


def _needs_action(page: str) -> str:
    return page.split('id="needs-action"', 1)[1].split("</section>", 1)[0]


def test_the_overview_counts_the_held_pickups_to_check(hub: Hub) -> None:
    hub.seed()
    operator = hub.signed_in("operator")
    assert "held pickups to check" not in _needs_action(_text(operator.get("/dashboard/")))
    first = _pickup(hub, held_pickup(hub))
    held_pickup(hub, household_id=2)
    section = _needs_action(_text(operator.get("/dashboard/")))
    found = re.search(
        r'<a href="([^"]+)"><strong data-figure="dashboard.holds">(\d+)</strong> held pickups to check</a>',
        section,
    )
    assert found and found.groups() == ("/dashboard/holds", "2")
    assert operator.post(f"/dashboard/holds/{first.reference}/approve").status_code == 303
    section = _needs_action(_text(operator.get("/dashboard/")))
    assert '<strong data-figure="dashboard.holds">1</strong> held pickups to check' in section


def _scorecard_week(page: str) -> dict[str, str]:
    """This week's row of the scorecard (the newest first), by column heading."""
    table = page.split('id="scorecard-weeks"', 1)[1].split("</table>", 1)[0]
    heads = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th[^>]*>(.*?)</th>", table, re.S)]
    body = table.split("<tbody>", 1)[1]
    row = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return dict(zip(heads, cells, strict=True))


def test_the_collectors_scorecard_counts_the_weeks_held_pickups(hub: Hub) -> None:
    hub.seed()
    operator = hub.signed_in("operator")
    empty = _scorecard_week(_text(operator.get("/dashboard/collectors/1")))
    assert (empty["Held"], empty["Rejected"], empty["With signals"].split()[0]) == ("0", "0", "0")
    first = _pickup(hub, held_pickup(hub))
    held_pickup(hub, household_id=2)
    page = _text(operator.get("/dashboard/collectors/1"))
    assert 'id="scorecard"' in page and 'id="scorecard-habits"' in page
    week = _scorecard_week(page)
    assert (week["Held"], week["Rejected"], week["With signals"].split()[0]) == ("2", "0", "2")
    assert "own 2" in week["Signals"]  # (the second, seconds after the first, is too fast too)
    assert int(week["Pickups"]) == int(empty["Pickups"]) + 2
    assert operator.post(f"/dashboard/holds/{first.reference}/reject", {"reason": REASON}).status_code == 303
    week = _scorecard_week(_text(operator.get("/dashboard/collectors/1")))
    assert (week["Held"], week["Rejected"]) == ("2", "1")
    # Another collector's scorecard counts none of them.
    other = _scorecard_week(_text(operator.get("/dashboard/collectors/2")))
    assert (other["Held"], other["Rejected"]) == ("0", "0")
