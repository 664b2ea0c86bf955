"""The fault suite's machinery: a fake Twilio REST API that can fail, Kolekt's web app served over
HTTP, a load of signed webhooks and app syncs that retries as Twilio and the app do, and faults
scripted from a seed (PostgreSQL backends terminated in storms, Redis killed and started again,
a worker SIGKILLed mid-batch, the gateway answering 5xx, dropping the connection after taking a
message, or taking it and answering only after the sender stopped waiting)."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import requests
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from tests.conftest import twilio_signature

WEBHOOK = "/sms/twilio/inbound"
log = logging.getLogger(__name__)


@dataclass
class FakeTwilio:
    """Twilio's Messages resource: takes what is posted (unless told to fail), lists it back, and
    counts each outbox row it was handed (by the ``m=`` of its StatusCallback)."""

    rng: random.Random
    fail_rate: float = 0.0  # 503, nothing taken
    drop_rate: float = 0.0  # taken, then the connection closed with no answer
    slow_rate: float = 0.0  # taken, then answered only after ``slow_seconds`` (past the client's time-out)
    slow_seconds: float = 0.0
    taken: list[dict[str, str]] = field(default_factory=list)
    per_row: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)  # what it did wrong, how often
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def serve(self) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                with fake.lock:
                    roll = fake.rng.random()
                    if roll < fake.fail_rate:
                        fake.faults["503"] += 1
                        self._answer(503, {"code": 20500, "message": "Service unavailable", "status": 503})
                        return
                    message = {
                        "sid": "SM" + uuid.uuid4().hex,
                        "to": form.get("To", ""),
                        "body": form.get("Body", ""),
                        "status": "queued",
                        "date_created": format_datetime(datetime.now(UTC), usegmt=True),
                        "sent_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                    fake.taken.append(message)
                    callback = urlparse(form.get("StatusCallback", ""))
                    fake.per_row[parse_qs(callback.query).get("m", ["?"])[0]] += 1
                    dropped = roll < fake.fail_rate + fake.drop_rate
                    slow = not dropped and roll < fake.fail_rate + fake.drop_rate + fake.slow_rate
                    if dropped or slow:
                        fake.faults["dropped" if dropped else "answered late"] += 1
                if slow:
                    time.sleep(fake.slow_seconds)
                if dropped:
                    self.close_connection = True
                    self.connection.close()
                    return
                self._answer(201, message)

            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                to = query.get("To", [""])[0]
                after = query.get("DateSent>", [""])[0].replace("Z", "+00:00")
                size = int(query.get("PageSize", ["50"])[0])
                with fake.lock:
                    found = [
                        m
                        for m in reversed(fake.taken)
                        if m["to"] == to and (not after or m["sent_at"] >= after)
                    ][:size]
                self._answer(200, {"messages": found, "next_page_uri": None, "page_size": len(found)})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the sender stopped waiting (a slow answer)
                    self.close_connection = True

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return server


class WebServer:
    """The Flask app over real HTTP (threaded), as gunicorn's threads serve it."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@dataclass
class Load:
    """What the clients sent and what was accepted."""

    texts: dict[str, str] = field(default_factory=dict)  # MessageSid -> text, accepted
    refused_texts: list[str] = field(default_factory=list)  # never accepted after every retry
    pickups: dict[str, str] = field(default_factory=dict)  # app client id -> member code, answered
    unanswered_pickups: list[str] = field(default_factory=list)
    webhook_statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


def post_text(web: WebServer, public_url: str, token: str, sender: str, body: str, sid: str) -> int:
    """One signed Twilio webhook; the status, or 0 when the connection failed."""
    form = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+15005550006",
    }
    form["Body"] = body
    signature = twilio_signature(token, public_url + WEBHOOK, form)
    try:
        response = requests.post(
            web.url + WEBHOOK, data=form, headers={"X-Twilio-Signature": signature}, timeout=30
        )
    except requests.RequestException:
        return 0
    return response.status_code


def send_texts(
    web: WebServer,
    public_url: str,
    token: str,
    texts: list[tuple[str, str]],
    load: Load,
    *,
    retries: int = 5,
    pause: float = 0.0,
) -> None:
    """Each text posted as Twilio does with ``#rc=5&rp=ct,rt,5xx``: the same MessageSid again after
    a connection failure or a 5xx."""
    for sender, body in texts:
        time.sleep(pause)
        sid = "SM" + uuid.uuid4().hex
        for attempt in range(retries + 1):
            status = post_text(web, public_url, token, sender, body, sid)
            with load.lock:
                load.webhook_statuses[status] += 1
            if status == 200:
                with load.lock:
                    load.texts[sid] = body
                break
            if status not in (0, 500, 502, 503, 504) or attempt == retries:
                with load.lock:
                    load.refused_texts.append(body)
                break
            time.sleep(0.3 * (attempt + 1))


def sync_pickups(
    web: WebServer, token: str, batches: list[list[dict[str, Any]]], load: Load, pause: float = 0.0
) -> None:
    """The app's sync: each batch sent until answered (the phone keeps what is not), the same ids."""
    for batch in batches:
        time.sleep(pause)
        for _attempt in range(40):
            try:
                response = requests.post(
                    web.url + "/api/v1/sync",
                    json={"operations": batch},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
            except requests.RequestException:
                time.sleep(0.5)
                continue
            if response.status_code != 200:
                time.sleep(0.5)
                continue
            results = response.json()["results"]
            pending = [op for op, result in zip(batch, results, strict=True) if result["status"] == "retry"]
            with load.lock:
                for op, result in zip(batch, results, strict=True):
                    if result["status"] in ("created", "duplicate"):
                        load.pickups[op["id"]] = op["household"]["code"]
            if not pending:
                break
            batch = pending
            time.sleep(0.5)
        else:
            with load.lock:
                load.unanswered_pickups.extend(op["id"] for op in batch)


def backend_storm(database_url: str, stop: threading.Event, every: float = 0.1) -> int:
    """Terminate every other backend of the database every ``every`` seconds until ``stop``."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=1)
    killed = 0
    try:
        while not stop.is_set():
            try:
                with engine.connect() as connection:
                    killed += len(
                        connection.execute(
                            text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                            )
                        ).all()
                    )
                    connection.commit()
            except Exception as error:  # noqa: BLE001 - the storm goes on
                log.debug("storm: %s", error)
            stop.wait(every)
    finally:
        engine.dispose()
    return killed


def in_thread(work: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread
