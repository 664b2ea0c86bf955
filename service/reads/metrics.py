"""What Prometheus scrapes at /metrics: read from the database and Redis at each scrape, so every
web process answers the same (they keep nothing of their own) and nothing is lost on a restart.

Texts in and out by status, the oldest text still waiting to go, the RQ queues' depths and failed
jobs, the recurring jobs that are failing or late, and the ledger's transfers waiting to be
sealed. Counts over the inbox and outbox are indexed by status; a scrape every 15-60 s costs a
few milliseconds on a programme's tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import ledger
from service.models import inbound_t, job_runs_t, outbox_t
from service.usecases import job_runs

# RQ's queues, as service.jobs.registry names them (a test keeps the two equal).
QUEUES = ("high", "default", "low")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class KolektCollector(Collector):
    def __init__(self, sessions: sessionmaker[Session], redis: Redis, now: datetime) -> None:
        self.sessions = sessions
        self.redis = redis
        self.now = now

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as session:
            yield from self._texts(session)
            yield from self._jobs(session)
            backlog = GaugeMetricFamily(
                "kolekt_ledger_unsealed_transfers", "Transfers committed and not yet sealed into the chain"
            )
            backlog.add_metric([], ledger.pending_count(session))
            yield backlog
        yield from self._queues()

    def _texts(self, session: Session) -> Iterator[Metric]:
        inbound = GaugeMetricFamily("kolekt_inbound_texts", "Texts received, by status", labels=["status"])
        for status, count in session.execute(
            select(inbound_t.c.status, func.count()).group_by(inbound_t.c.status)
        ):
            inbound.add_metric([status], count)
        yield inbound
        outbox = GaugeMetricFamily("kolekt_outbox_texts", "Texts to send, by status", labels=["status"])
        for status, count in session.execute(
            select(outbox_t.c.status, func.count()).group_by(outbox_t.c.status)
        ):
            outbox.add_metric([status], count)
        yield outbox
        sent = CounterMetricFamily(
            "kolekt_texts_sent", "Texts handed to the gateway (rate() of it: sends per second)"
        )
        sent.add_metric(
            [], session.execute(select(func.count()).where(outbox_t.c.sent_at.is_not(None))).scalar_one()
        )
        yield sent
        oldest = session.execute(
            select(func.min(outbox_t.c.created_at)).where(outbox_t.c.status == "queued")
        ).scalar()
        age = GaugeMetricFamily(
            "kolekt_outbox_oldest_queued_age_seconds",
            "How long the oldest text still queued has waited (0: none)",
        )
        age.add_metric([], max(0.0, (self.now - oldest).total_seconds()) if oldest is not None else 0.0)
        yield age

    def _jobs(self, session: Session) -> Iterator[Metric]:
        failing = GaugeMetricFamily(
            "kolekt_job_failing", "1 when a recurring job's last run failed", labels=["job"]
        )
        for row in session.execute(
            select(job_runs_t.c.name, job_runs_t.c.last_ok_at, job_runs_t.c.last_failed_at)
        ):
            failed = row.last_failed_at is not None and (
                row.last_ok_at is None or row.last_failed_at > row.last_ok_at
            )
            failing.add_metric([row.name], 1 if failed else 0)
        yield failing
        late = GaugeMetricFamily("kolekt_jobs_late", "Recurring jobs that fell behind (/healthz says which)")
        late.add_metric([], len(job_runs.late(session, self.now)))
        yield late

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("kolekt_queue_jobs", "Jobs waiting in each RQ queue", labels=["queue"])
        failed = GaugeMetricFamily(
            "kolekt_queue_failed_jobs", "Jobs RQ gave up on, per queue", labels=["queue"]
        )
        up = GaugeMetricFamily("kolekt_redis_up", "1 when Redis answered this scrape")
        try:
            for name in QUEUES:
                queue = Queue(name, connection=self.redis)
                depth.add_metric([name], queue.count)
                failed.add_metric([name], queue.failed_job_registry.count)
            up.add_metric([], 1)
        except RedisError:
            up.add_metric([], 0)
        yield depth
        yield failed
        yield up


def exposition(sessions: sessionmaker[Session], redis: Redis, now: datetime) -> bytes:
    """The metrics in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KolektCollector(sessions, redis, now))
    return generate_latest(registry)
