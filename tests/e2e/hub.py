"""The dashboard as the tests use it: signed-in browsers (Flask test clients) of each role.

Each ``Hub`` has an app on a new migrated database, its own made-up client address (the sign-in
rate limit counts per address, and must not carry from one test to the next), and signs users
in through the real sign-in form with their CSRF token.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from service.cli.demo import seed_demo
from service.db import transaction
from service.runtime import Runtime
from service.usecases import users

BASE = "https://hub.example"
PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """One browser: its cookies, its address, its CSRF token."""

    def __init__(self, app: Flask, address: str) -> None:
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address
        self._token: str | None = None
        self.email: str | None = None

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, base_url=BASE, **kwargs)

    def token(self) -> str:
        if self._token is None:
            # The sign-in page, or for a signed-in browser the page it is sent to instead.
            found = _TOKEN.search(self.get("/dashboard/sign-in", follow_redirects=True).text)
            assert found, "no CSRF token on the page"
            self._token = found.group(1)
        return self._token

    def post(
        self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token()
        headers = {"Referer": f"{BASE}/dashboard/", **kwargs.pop("headers", {})}
        response = self.client.post(path, data=form, base_url=BASE, headers=headers, **kwargs)
        if path == "/dashboard/sign-out":
            self._token = None  # the session, and its token, ended
        return response

    def sign_in(self, email: str, password: str = PASSWORD) -> TestResponse:
        response = self.post("/dashboard/sign-in", {"email": email, "password": password})
        if response.status_code == 302:
            self.email = email
            self._token = None  # a new session: a new token
        return response


class Hub:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.runtime: Runtime = app.extensions["kolekt.runtime"]
        self._address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        self._count = 0

    def session(self) -> Any:
        return transaction(self.runtime.sessions)

    def add_user(self, role: str, email: str | None = None, password: str = PASSWORD) -> str:
        self._count += 1
        # Unique across tests too: the sign-in limit per email outlives a test in Redis.
        email = email or f"{role}{self._count}.{self._address.replace('.', '-')}@hub.example"
        with self.session() as session:
            users.add_user(session, email, password, role, datetime.now(UTC))
        return email

    def browser(self) -> Browser:
        return Browser(self.app, self._address)

    def signed_in(self, role: str, email: str | None = None) -> Browser:
        browser = self.browser()
        response = browser.sign_in(self.add_user(role, email))
        assert response.status_code == 302, response.text
        return browser

    def seed(self) -> None:
        with self.session() as session:
            seed_demo(session)

    def read(self, work: Callable[[Session], Any]) -> Any:
        with self.session() as session:
            return work(session)

    def count(self, table: Any, *where: Any) -> int:
        return int(
            self.read(lambda s: s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())
        )


def open_dispute(hub: Hub, reason: str = "they weighed less") -> int:
    """A household's NO on the newest demo pickup still credited and undisputed."""
    from service.models import collections_t, disputes_t
    from service.usecases.disputes import open_dispute as open_one
    from service.usecases.pickups import pickup_by_reference

    def work(session: Session) -> int:
        reference = session.execute(
            select(collections_t.c.reference)
            .where(
                collections_t.c.status == "credited",
                collections_t.c.id.not_in(select(disputes_t.c.collection_id)),
            )
            .order_by(collections_t.c.id.desc())
            .limit(1)
        ).scalar_one()
        pickup = pickup_by_reference(session, reference)
        assert pickup is not None
        return open_one(session, pickup, reason, datetime.now(UTC), None)

    return int(hub.read(work))


def held_pickup(hub: Hub, collector_id: int = 1, household_id: int = 1, kg: int = 3) -> str:
    """A pickup credited as held: the household lives at the collector's own address (the
    ``own`` signal). Its receipt reference."""
    from zoneinfo import ZoneInfo

    from service.models import collectors_t, households_t
    from service.usecases.households import get_member
    from service.usecases.pickups import log_pickup
    from service.usecases.roles import get_collector
    from service.usecases.screening import Screening
    from sms import Line

    def work(session: Session) -> str:
        session.execute(
            collectors_t.update().where(collectors_t.c.id == collector_id).values(home_address="3 Held Close")
        )
        session.execute(
            households_t.update().where(households_t.c.id == household_id).values(address="3 Held Close")
        )
        collector, now = get_collector(session, collector_id), datetime.now(UTC)
        assert collector is not None
        logged = log_pickup(
            session,
            collector=collector,
            household=get_member(session, household_id),
            lines=[Line("PET", kg * 1000)],
            occurred_at=now,
            received_at=now,
            channel="dashboard",
            dedupe_key=f"test:held:{random.random()}",
            any_zone=True,
            screening=Screening(ZoneInfo("Africa/Lagos"), 7),
        )
        assert logged.held
        return logged.reference

    return str(hub.read(work))


def propose_adjustment(hub: Hub, proposer_email: str, amount: int = 25, account: str | None = None) -> int:
    from service.models import households_t
    from service.usecases import adjustments

    def work(session: Session) -> int:
        code = (
            account
            or "member:"
            + session.execute(
                select(households_t.c.member_code).order_by(households_t.c.id).limit(1)
            ).scalar_one()
        )
        proposer = users.user_by_email(session, proposer_email)
        assert proposer is not None
        return adjustments.propose(
            session, proposer.id, code, str(amount), "scale at the hub read more", datetime.now(UTC)
        )

    return int(hub.read(work))
