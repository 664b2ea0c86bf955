"""What the cash-out tests on real stores share: the app served on a port of its own (so the fake
Paystack can post its webhooks to it), the settings that point Kolekt at the fake, a real RQ
worker in burst mode, and the books checked after every scenario: the ledger verifies, and each
household's points are what it was credited minus its paid and unfinished payouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

import ledger
from service.accounts import PAYOUTS_PAID, PAYOUTS_PENDING, member_account
from service.models import Household, OutboxMessage, Payout, payout_accounts_t
from tests.fake_paystack import FakePaystack

UNFINISHED = ("held", "sending", "pending")


def paystack_settings(fake: FakePaystack, timeout: int = 5) -> dict[str, object]:
    """Settings that send cash-out through the fake (its test secret key, ``sk_test_...``)."""
    assert fake.secret_key.startswith("sk_test_")
    return {
        "payout_provider": "paystack",
        "paystack_secret_key": fake.secret_key,
        "paystack_api_base_url": fake.url,
        "paystack_timeout_seconds": timeout,
    }


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 (threaded, as gunicorn serves it); yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g}s for {what}")
        time.sleep(0.05)


def work(redis: Redis, until: Callable[[], bool], what: str = "the jobs", timeout: float = 30.0) -> None:
    """A real RQ worker in burst mode (with its scheduler, for retries), again and again until
    ``until()``: a webhook the fake posts comes a moment after the job that made the transfer."""
    queues = [Queue(name, connection=redis) for name in ("high", "default", "low")]

    def done() -> bool:
        SimpleWorker(queues, connection=redis).work(burst=True, with_scheduler=True)
        return until()

    wait_for(done, what, timeout)


def payout_rows(session: Session) -> list[Payout]:
    return list(session.execute(select(Payout).order_by(Payout.id)).scalars())


def templates_to(session: Session, phone: str) -> list[str]:
    return list(
        session.execute(
            select(OutboxMessage.template).where(OutboxMessage.to_phone == phone).order_by(OutboxMessage.id)
        ).scalars()
    )


def bodies_to(session: Session, phone: str, template: str) -> list[str]:
    return list(
        session.execute(
            select(OutboxMessage.body)
            .where(OutboxMessage.to_phone == phone, OutboxMessage.template == template)
            .order_by(OutboxMessage.id)
        ).scalars()
    )


def check_books(session: Session, credited: dict[str, int]) -> dict[str, Any]:
    """After a scenario: the ledger verifies (sealed first, as ``ledger verify`` does); each
    household's points (phone -> points credited) equal credits - paid - unfinished payouts; the
    programme's payouts accounts hold exactly the paid and the unfinished points; no balance is
    below zero. Answers the figures."""
    ledger.seal_all(session)
    report = ledger.verify(session, workers=1)
    assert report.ok, report.problem
    figures: dict[str, Any] = {}
    for phone, points in credited.items():
        household = session.execute(select(Household).where(Household.phone == phone)).scalar_one()

        def points_in(*statuses: str, household_id: int = household.id) -> int:
            return int(
                session.execute(
                    select(func.coalesce(func.sum(Payout.points), 0)).where(
                        Payout.household_id == household_id, Payout.status.in_(statuses)
                    )
                ).scalar_one()
            )

        balance = ledger.balance(session, member_account(household.member_code)).credit_balance
        paid, unfinished = points_in("paid"), points_in(*UNFINISHED)
        assert balance == points - paid - unfinished, (phone, balance, points, paid, unfinished)
        assert balance >= 0
        figures[phone] = {"balance": balance, "paid": paid, "unfinished": unfinished}
    all_paid = session.execute(
        select(func.coalesce(func.sum(Payout.points), 0)).where(Payout.status == "paid")
    ).scalar_one()
    all_unfinished = session.execute(
        select(func.coalesce(func.sum(Payout.points), 0)).where(Payout.status.in_(UNFINISHED))
    ).scalar_one()
    assert ledger.balance(session, PAYOUTS_PAID).credit_balance == all_paid
    assert ledger.balance(session, PAYOUTS_PENDING).credit_balance == all_unfinished
    return figures


def saved_accounts(session: Session, household_id: int | None = None) -> list[tuple[Any, ...]]:
    """(status, bank code, number, name, registered by) of every cash-out account saved, oldest
    first: of one household, or of all."""
    query = select(
        payout_accounts_t.c.status,
        payout_accounts_t.c.bank_code,
        payout_accounts_t.c.account_number,
        payout_accounts_t.c.account_name,
        payout_accounts_t.c.registered_by,
    ).order_by(payout_accounts_t.c.id)
    if household_id is not None:
        query = query.where(payout_accounts_t.c.household_id == household_id)
    return [tuple(row) for row in session.execute(query).all()]
