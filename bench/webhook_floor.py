"""The floor for bench/webhook.py: what any Flask webhook costs for the same signed Twilio text.

Served by the same gunicorn as the app (``bench.webhook_floor:app``), with the same environment:
it checks X-Twilio-Signature with twilio's RequestValidator and the same token over the same
public URL, INSERTs the text into its own table (one statement, one commit, through the same
engine and driver the app uses), pushes one job onto the same Redis (one LPUSH) and answers the
same empty TwiML. Nothing else: no parsing, no handler, no reply.
"""

from __future__ import annotations

import json
import os
from typing import Any

from flask import Flask, Response, abort, request
from redis import Redis
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, func
from twilio.request_validator import RequestValidator

from service.db import make_engine

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
QUEUE = "bench:floor:jobs"  # not an RQ queue: the drain never sees these

metadata = MetaData()
texts_t = Table(
    "bench_floor_texts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    # Unique, as any webhook that keeps texts keys them by the provider's id.
    Column("message_sid", String(64), nullable=False, unique=True),
    Column("sender", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_table(engine: Any) -> None:
    metadata.create_all(engine)


def create_app(environ: dict[str, str] | None = None) -> Flask:
    env = dict(os.environ if environ is None else environ)
    url = env["DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = make_engine(url)
    redis = Redis.from_url(env["REDIS_URL"])
    validator = RequestValidator(env["TWILIO_AUTH_TOKEN"])
    public = env["PUBLIC_BASE_URL"].rstrip("/")
    app = Flask("webhook_floor")

    @app.post("/sms/twilio/inbound")
    def inbound() -> Response:
        form = request.form
        if not validator.validate(public + request.path, form, request.headers.get("X-Twilio-Signature", "")):
            abort(403)
        sid, sender, body = form["MessageSid"], form["From"], form.get("Body", "")
        with engine.begin() as connection:
            connection.execute(texts_t.insert(), {"message_sid": sid, "sender": sender, "body": body})
        redis.lpush(QUEUE, json.dumps({"sid": sid, "from": sender}))
        return Response(EMPTY_TWIML, status=200, mimetype="text/xml")

    return app
