"""Decisions made from the dashboard: disputes upheld or rejected (both parties texted), and
manual adjustments under maker-checker (posted only when a second operator approves)."""

from __future__ import annotations

from sqlalchemy import select

import ledger
from service.models import adjustments_t, audit_log_t, collections_t, disputes_t, households_t, outbox_t
from tests.e2e.conftest import snapshot
from tests.e2e.hub import Hub, open_dispute, propose_adjustment


def _texts(hub: Hub, template: str) -> list[str]:
    return list(
        hub.read(
            lambda s: s.execute(select(outbox_t.c.to_phone).where(outbox_t.c.template == template)).scalars()
        )
    )


def test_an_operator_upholds_a_dispute_and_both_parties_are_texted(hub: Hub) -> None:
    hub.seed()
    dispute = open_dispute(hub)
    operator = hub.signed_in("operator")
    queue = operator.get("/dashboard/disputes")
    assert f"Dispute {dispute}" in queue.text and "they weighed less" in queue.text
    response = operator.post(f"/dashboard/disputes/{dispute}/uphold")
    assert response.status_code == 303
    row = hub.read(lambda s: s.execute(select(disputes_t).where(disputes_t.c.id == dispute)).one())
    assert (row.status, row.decided_by) == ("upheld", operator.email)
    status = hub.read(
        lambda s: s.execute(
            select(collections_t.c.status).where(collections_t.c.id == row.collection_id)
        ).scalar_one()
    )
    assert status == "reversed"
    assert len(_texts(hub, "dispute_upheld")) == 1 and len(_texts(hub, "dispute_upheld_collector")) == 1
    entry = hub.read(
        lambda s: s.execute(select(audit_log_t).where(audit_log_t.c.action == "dispute.uphold")).one()
    )
    assert (entry.actor, entry.subject) == (operator.email, f"dispute:{dispute}")
    page = operator.get("/dashboard/disputes")
    assert f'id="dispute-{dispute}"' not in page.text and "upheld" in page.text


def test_a_rejection_needs_a_reason_and_then_texts_it(hub: Hub) -> None:
    hub.seed()
    dispute = open_dispute(hub)
    operator = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    empty = operator.post(f"/dashboard/disputes/{dispute}/reject", {"reason": "   "})
    assert empty.status_code == 422 and "a rejection needs a reason" in empty.text
    assert snapshot(hub.runtime.engine) == before
    done = operator.post(f"/dashboard/disputes/{dispute}/reject", {"reason": "scale checked at the hub"})
    assert done.status_code == 303
    bodies = hub.read(
        lambda s: list(
            s.execute(select(outbox_t.c.body).where(outbox_t.c.template == "dispute_rejected")).scalars()
        )
    )
    assert len(bodies) == 1 and bodies[0].endswith("scale checked at the hub")
    again = operator.post(f"/dashboard/disputes/{dispute}/uphold")
    assert again.status_code == 422 and "was rejected already" in again.text


def test_an_unknown_dispute_is_422_and_changes_nothing(hub: Hub) -> None:
    operator = hub.signed_in("admin")
    before = snapshot(hub.runtime.engine)
    response = operator.post("/dashboard/disputes/999/uphold")
    assert response.status_code == 422 and "no dispute 999" in response.text
    assert snapshot(hub.runtime.engine) == before


def _member(hub: Hub) -> tuple[str, str]:
    row = hub.read(
        lambda s: s.execute(
            select(households_t.c.member_code, households_t.c.phone).order_by(households_t.c.id)
        ).first()
    )
    return f"member:{row.member_code}", row.phone


def test_maker_checker_an_adjustment_is_posted_only_when_another_operator_approves(hub: Hub) -> None:
    hub.seed()
    account, phone = _member(hub)
    maker, checker = hub.signed_in("operator"), hub.signed_in("operator")
    start = hub.read(lambda s: ledger.balance(s, account).credit_balance)
    proposed = maker.post(
        "/dashboard/adjustments",
        {"account": account.partition(":")[2].lower(), "amount": "+40", "reason": "scale read 4 kg more"},
    )
    assert proposed.status_code == 303
    adjustment = hub.read(lambda s: s.execute(select(adjustments_t)).one())
    assert (adjustment.account_code, adjustment.amount, adjustment.status) == (account, 40, "proposed")
    assert hub.read(lambda s: ledger.balance(s, account).credit_balance) == start  # nothing posted yet

    own = maker.get("/dashboard/adjustments")
    assert "Approve and post" not in own.text and "Withdraw" in own.text
    before = snapshot(hub.runtime.engine)
    refused = maker.post(f"/dashboard/adjustments/{adjustment.id}/approve")
    assert refused.status_code == 422 and "a different operator must approve it" in refused.text
    assert snapshot(hub.runtime.engine) == before

    approved = checker.post(f"/dashboard/adjustments/{adjustment.id}/approve")
    assert approved.status_code == 303
    assert hub.read(lambda s: ledger.balance(s, account).credit_balance) == start + 40
    done = hub.read(lambda s: s.execute(select(adjustments_t)).one())
    posted = hub.read(lambda s: ledger.get_transfer(s, done.transfer_id))
    assert (done.status, posted.code, posted.amount, posted.credit, posted.reference) == (
        "approved", "adjustment", 40, account, f"adjustment:{adjustment.id}",
    )  # fmt: skip
    assert _texts(hub, "adjustment_credit") == [phone]
    actions = hub.read(
        lambda s: list(
            s.execute(
                select(audit_log_t.c.action, audit_log_t.c.actor).where(
                    audit_log_t.c.action.startswith("adjustment.")
                )
            ).all()
        )
    )
    assert [tuple(a) for a in actions] == [
        ("adjustment.propose", maker.email),
        ("adjustment.approve", checker.email),
    ]
    again = checker.post(f"/dashboard/adjustments/{adjustment.id}/approve")
    assert again.status_code == 422 and "was approved already" in again.text


def test_a_debit_beyond_the_balance_is_refused_at_approval(hub: Hub) -> None:
    hub.seed()
    account, _ = _member(hub)
    maker = hub.add_user("operator")
    held = hub.read(lambda s: ledger.balance(s, account).credit_balance)
    adjustment = propose_adjustment(hub, maker, amount=-(held + 1), account=account)
    checker = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    response = checker.post(f"/dashboard/adjustments/{adjustment}/approve")
    assert response.status_code == 422 and f"holds {held:,} points" in response.text
    assert snapshot(hub.runtime.engine) == before


def test_reject_needs_a_note_and_withdraw_is_the_proposers(hub: Hub) -> None:
    hub.seed()
    maker = hub.signed_in("operator")
    other = hub.signed_in("admin")
    first = propose_adjustment(hub, maker.email)
    second = propose_adjustment(hub, maker.email)
    assert other.post(f"/dashboard/adjustments/{first}/reject", {"note": " "}).status_code == 422
    assert other.post(f"/dashboard/adjustments/{first}/withdraw").status_code == 422
    assert maker.post(f"/dashboard/adjustments/{first}/reject", {"note": "mine"}).status_code == 422
    assert other.post(f"/dashboard/adjustments/{first}/reject", {"note": "no weigh-in"}).status_code == 303
    assert maker.post(f"/dashboard/adjustments/{second}/withdraw").status_code == 303
    rows = hub.read(
        lambda s: s.execute(
            select(adjustments_t.c.status, adjustments_t.c.decision_note).order_by(adjustments_t.c.id)
        ).all()
    )
    assert [tuple(r) for r in rows] == [("rejected", "no weigh-in"), ("withdrawn", None)]


def test_proposals_are_checked(hub: Hub) -> None:
    hub.seed()
    maker = hub.signed_in("operator")
    before = snapshot(hub.runtime.engine)
    for form, message in (
        ({"account": "member:NOPE", "amount": "5", "reason": "a good reason"}, "there is no account"),
        ({"account": "programme:issuance", "amount": "5", "reason": "a good reason"}, "only a household"),
        ({"account": "collector:1", "amount": "0", "reason": "a good reason"}, "from 1 to 1,000,000"),
        ({"account": "collector:1", "amount": "2.5", "reason": "a good reason"}, "whole number of points"),
        ({"account": "collector:1", "amount": "5", "reason": "no"}, "say why"),
        ({"account": "collector:1", "amount": "5", "reason": "x" * 161}, "at most 160"),
    ):
        response = maker.post("/dashboard/adjustments", form)
        assert response.status_code == 422 and message in response.text, form
        assert form["amount"] in response.text  # the form keeps what was typed
    assert snapshot(hub.runtime.engine) == before


def test_the_database_itself_refuses_a_self_approval(hub: Hub) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    hub.seed()
    maker = hub.add_user("operator")
    adjustment = propose_adjustment(hub, maker)

    def self_approve(s: object) -> None:
        proposer = s.execute(select(adjustments_t.c.proposed_by)).scalar_one()  # type: ignore[attr-defined]
        s.execute(adjustments_t.update().where(adjustments_t.c.id == adjustment).values(decided_by=proposer))  # type: ignore[attr-defined]

    with pytest.raises(IntegrityError):
        hub.read(self_approve)
