"""Prometheus's /metrics: texts in and out by status, the oldest queued text's age, queue depths,
failing and late jobs, the ledger's unsealed backlog; for a scraper on this machine, or one that
sends METRICS_TOKEN."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from redis import Redis

from service.jobs.registry import QUEUES
from service.reads import metrics
from tests.conftest import TWILIO_TEST_SETTINGS
from tests.e2e.helpers import twilio_text


def samples(body: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }


def test_metrics_count_texts_queues_and_the_ledger(make_app: Callable[..., Flask], redis: Redis) -> None:
    app = make_app(**TWILIO_TEST_SETTINGS)
    client = app.test_client()
    twilio_text(client, "JOIN Ada Okafor")
    twilio_text(client, "BAL")
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    found = samples(response.get_data(as_text=True))
    assert found['kolekt_inbound_texts{status="processed"}'] == 2
    assert found['kolekt_outbox_texts{status="queued"}'] == 2
    assert found["kolekt_outbox_oldest_queued_age_seconds"] >= 0
    assert found["kolekt_texts_sent_total"] == 0
    assert found["kolekt_ledger_unsealed_transfers"] >= 0
    assert found["kolekt_redis_up"] == 1
    assert {f'kolekt_queue_jobs{{queue="{name}"}}' for name in QUEUES} <= found.keys()
    assert found['kolekt_queue_jobs{queue="high"}'] == 2  # the two replies' send jobs
    assert found["kolekt_jobs_late"] == 0


def test_metrics_are_for_this_machine_or_the_token(make_app: Callable[..., Flask], redis: Redis) -> None:
    open_app = make_app()
    elsewhere = {"REMOTE_ADDR": "203.0.113.9"}
    response = open_app.test_client().get("/metrics", environ_base=elsewhere)
    assert response.status_code == 403 and "METRICS_TOKEN" in response.get_json()["error"]["message"]
    guarded = make_app(metrics_token="s3cret-scrape")
    client = guarded.test_client()
    assert client.get("/metrics").status_code == 401  # even from this machine, once a token is set
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape"}, environ_base=elsewhere)
    assert ok.status_code == 200 and b"kolekt_outbox_texts" in ok.data


def test_the_metrics_know_every_queue() -> None:
    assert metrics.QUEUES == QUEUES
