"""The operator's figures for /metrics, read from the database when Prometheus scrapes: what
every worker, planner and receiver did, whichever process did it, with no multiprocess mode.

``read_figures`` runs one aggregate query per family (each an index or a small-table scan);
``families`` turns the figures into Prometheus metric families (pure). Counters here are row
counts, so pruning or erasing rows lowers them: Prometheus' rate() reads that as a reset.
Failed and skipped digests are counted by reason class (``dashboard.failure_class``, the
dashboard's grouping), never by their raw text, which names the address.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, get_args

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from service.admin.bounce_log import KINDS, SOURCES
from service.admin.dashboard import failure_class
from service.digests.plan import unheld
from service.ingest.health import Health, source_health
from service.storage.models import Bounce, Delivery, Paper, Source, Subscriber
from service.subscribers.store import STATUSES

WAITING = ("claimed", "sending")
HEALTHS: tuple[Health, ...] = get_args(Health)
RELAY_STATES = ("closed", "open", "probing", "unknown")

# The same few texts come back on every scrape: classify each once.
reason_class = lru_cache(maxsize=4096)(failure_class)


@dataclass(frozen=True)
class SourceFigures:
    name: str
    health: Health
    last_success_age: float | None  # seconds; None when it never succeeded
    consecutive_failures: int
    enabled: bool


@dataclass(frozen=True)
class Figures:
    deliveries: Mapping[str, int]  # rows per status
    oldest_waiting: Mapping[str, float]  # per waiting status: seconds since its oldest row was claimed
    due: int  # waiting rows no live worker or queue holds (the sweep's next catch)
    failed: Mapping[str, int]  # per reason class
    skipped: Mapping[str, int]  # per reason class
    bounces: Mapping[tuple[str, str], int]  # per (kind, source)
    papers: Mapping[str, int]  # per source name
    sources: Sequence[SourceFigures]
    subscribers: Mapping[str, int]  # per status


def by_reason(rows: Iterable[tuple[str, str | None, int]]) -> tuple[dict[str, int], dict[str, int]]:
    """(status, error, count) rows → failed and skipped counts per reason class (pure)."""
    out: dict[str, Counter[str]] = {"failed": Counter(), "skipped": Counter()}
    for status, error, count in rows:
        out[status][reason_class(error)] += count
    return dict(out["failed"]), dict(out["skipped"])


def per_source(rows: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    """(source_names as JSON text, papers) rows → papers per source name (pure). Grouped on the
    raw text, a handful of distinct lists, because unnesting JSON in SQL parses every row's."""
    out: Counter[str] = Counter()
    for names, count in rows:
        try:
            parsed = json.loads(names or "[]")
        except ValueError:
            continue
        for name in set(parsed) if isinstance(parsed, list) else ():
            out[str(name)] += count
    return dict(out)


def read_figures(session: Session, now: datetime, *, lease: timedelta, stale: timedelta,
                 source_stale: timedelta) -> Figures:
    """LEASE and STALE as the sweep judges a delivery unheld; SOURCE_STALE as /healthz judges a source."""
    # Counts and oldest claims per status come from the (status, claimed_at) index alone.
    deliveries, oldest = {}, {}
    for status, count, first in session.execute(
            select(Delivery.status, func.count(), func.min(Delivery.claimed_at)).group_by(Delivery.status)):
        deliveries[status] = count
        if status in WAITING and first is not None:
            oldest[status] = max((now - _aware(first, now)).total_seconds(), 0.0)
    due = session.scalar(select(func.count()).select_from(Delivery).where(unheld(now, lease, stale))) or 0
    # One row per distinct text, which names its address: as many rows as failed readers at worst.
    failed, skipped = by_reason((status, error, count) for status, error, count in session.execute(
        select(Delivery.status, Delivery.error, func.count())
        .where(Delivery.status.in_(("failed", "skipped"))).group_by(Delivery.status, Delivery.error)))
    bounces = {(kind, source): count for kind, source, count in session.execute(
        select(Bounce.kind, Bounce.source, func.count()).group_by(Bounce.kind, Bounce.source))}
    papers = per_source((names, count) for names, count in session.execute(
        select(cast(Paper.source_names, Text), func.count()).group_by(cast(Paper.source_names, Text))))
    sources = [
        SourceFigures(s.name, source_health(s, now, source_stale),
                      None if s.last_success_at is None else max((now - s.last_success_at).total_seconds(), 0.0),
                      s.consecutive_failures, s.enabled)
        for s in session.scalars(select(Source).order_by(Source.name))
    ]
    subscribers = {status: count for status, count in session.execute(
        select(Subscriber.status, func.count()).group_by(Subscriber.status))}
    return Figures(deliveries, oldest, due, failed, skipped, bounces, papers, sources, subscribers)


def _aware(moment: datetime, now: datetime) -> datetime:
    """An aggregate skips the column's type, so SQLite hands back a naive UTC time (or text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=now.tzinfo)


def families(figures: Figures) -> list[Metric]:
    """The figures as Prometheus families (pure)."""
    sent = CounterMetricFamily("papermail_digests_sent", "Digests the mail backend accepted")
    sent.add_metric([], figures.deliveries.get("sent", 0))
    failed = CounterMetricFamily("papermail_digests_failed", "Digests given up on, per reason class",
                                 labels=["reason_class"])
    for reason, count in sorted(figures.failed.items()):
        failed.add_metric([reason], count)
    skipped = CounterMetricFamily("papermail_digests_skipped", "Digests not sent on purpose, per reason class",
                                  labels=["reason_class"])
    for reason, count in sorted(figures.skipped.items()):
        skipped.add_metric([reason], count)
    waiting = GaugeMetricFamily("papermail_deliveries_waiting", "Deliveries claimed and not yet sent, failed or "
                                "skipped: claimed (queued or waiting for a retry), sending (a worker holds them)",
                                labels=["state"])
    oldest = GaugeMetricFamily("papermail_deliveries_oldest_waiting_seconds",
                               "Age of the oldest waiting delivery's claim, per state", labels=["state"])
    for state in WAITING:
        waiting.add_metric([state], figures.deliveries.get(state, 0))
        oldest.add_metric([state], figures.oldest_waiting.get(state, 0.0))
    due = GaugeMetricFamily("papermail_deliveries_due", "Waiting deliveries due now that no live worker or queue "
                            "holds: the sweep re-enqueues them; staying above 0 means no worker is sweeping",
                            value=figures.due)
    bounces = CounterMetricFamily("papermail_bounces", "Bounces and complaints heard of, per kind "
                                  "(hard, soft, complaint) and source (smtp, webhook, inbound)", labels=["kind", "source"])
    # Every kind and source, at 0 before its first bounce: rate() and alerts need the series to exist.
    for kind, source in sorted({(k, s) for k in KINDS for s in SOURCES} | set(figures.bounces)):
        bounces.add_metric([kind, source], figures.bounces.get((kind, source), 0))
    papers = CounterMetricFamily("papermail_papers_ingested", "Papers stored, per source that reported them "
                                 "(a paper from two sources counts in both)", labels=["source"])
    for name, count in sorted(figures.papers.items()):
        papers.add_metric([name], count)
    return [sent, failed, skipped, waiting, oldest, due, bounces, papers,
            *source_families(figures.sources), subscriber_family(figures.subscribers)]


def source_families(sources: Sequence[SourceFigures]) -> list[Metric]:
    age = GaugeMetricFamily("papermail_source_last_success_age_seconds",
                            "Seconds since each enabled source's last successful poll (absent before the first)",
                            labels=["source"])
    health = GaugeMetricFamily("papermail_source_health", "Each enabled source's health: 1 for its current one of "
                               "never, ok, empty, stale, broken", labels=["source", "health"])
    failures = GaugeMetricFamily("papermail_source_consecutive_failures", "Failed polls in a row, per enabled source",
                                 labels=["source"])
    for source in sources:
        if not source.enabled:  # a source switched off on purpose must not page anyone
            continue
        if source.last_success_age is not None:
            age.add_metric([source.name], source.last_success_age)
        for name in HEALTHS:
            health.add_metric([source.name, name], 1.0 if name == source.health else 0.0)
        failures.add_metric([source.name], source.consecutive_failures)
    return [age, health, failures]


def subscriber_family(by_status: Mapping[str, int]) -> Metric:
    family = GaugeMetricFamily("papermail_subscribers", "Subscribers per status", labels=["status"])
    for status in (*STATUSES, *sorted(set(by_status) - set(STATUSES))):
        family.add_metric([status], by_status.get(status, 0))
    return family


def relay_family(status: Mapping[str, Any]) -> Metric:
    """The relay breaker as /healthz reports it (``service.mail.breaker.relay_status``): 1 for
    its current state, 0 for the others."""
    family = GaugeMetricFamily("papermail_relay_breaker_state", "The SMTP relay's circuit breaker as the workers "
                               "share it: 1 for the current state (closed, open, probing; unknown when its store "
                               "cannot be read)", labels=["state"])
    current = status.get("state", "unknown")
    for state in RELAY_STATES:
        family.add_metric([state], 1.0 if state == current else 0.0)
    return family
