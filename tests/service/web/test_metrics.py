"""/metrics: the installation's figures read from the database at scrape time (a worker's
sends show in the web process), failures and skips by reason class, bounces, papers and
sources, the relay breaker; HTTP requests labelled by their full route template."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from config.settings import Settings
from service.actions.bounces import log_bounce
from service.admin.metrics import by_reason
from service.digests.run import plan, run_foreground
from service.ingest.poll import ingest_document
from service.mail import DeliveryError, fail_recipient
from service.mail.breaker import BreakerState, snapshot_path, write_snapshot
from service.mail.toolkit import DeliveryTools
from service.storage import migrate
from service.storage.db import get_engine, session_scope
from service.storage.models import Source
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from service.web.app import create_app
from service.web.metrics import install as install_metrics
from tests.conftest import make_settings
from tests.service.ingest.documents import hf_item, hf_json
from tests.support.processes import celery_worker, free_port
from tests.support.smtp_sink import SmtpSink
from workers.celery_app import create_app as create_celery_app

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
TODAY = datetime.now(UTC).date().isoformat()  # the worker sends at the real time
THURSDAY, FRIDAY_0800 = datetime(2026, 11, 26, 12, tzinfo=UTC), datetime(2026, 11, 27, 8, tzinfo=UTC)


def papers(day: str) -> bytes:
    return hf_json(hf_item("2611.90001", "Two-bit quantization of large language models", 40, day=day),
                   hf_item("2611.90002", "Humanoid robot hands that learn from video", 12, "A robot learns.", day=day))


REFUSED = "SMTP 550 5.1.1 at RCPT TO (permanent)"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def add(settings: Settings, email: str, **prefs: object) -> None:
    with session_scope(settings) as session:
        create_subscriber(session, email, Preferences(send_hour=0, **prefs), confirmed=True, now=LONG_AGO)


@pytest.fixture
def relay(tmp_path: Path, smtp_sink: SmtpSink) -> Settings:
    settings = make_settings(tmp_path / "var", send_rate_per_second=500, **smtp_sink.settings_overrides())
    migrate.upgrade(settings)
    ingest_document(settings, papers(TODAY), source_name="hf-daily")
    return settings


@pytest.mark.integration
def test_a_workers_sends_show_in_the_web_processes_metrics(relay: Settings, smtp_sink: SmtpSink,
                                                         tmp_path: Path) -> None:
    add(relay, "alice@example.org")  # trending: gets one
    add(relay, "gone@example.org")
    add(relay, "quiet@example.org", keywords=["zebra"])  # nothing matches: skipped
    smtp_sink.answer("gone@example.org", "550 5.1.1 No such user")
    web = TestClient(create_app(relay))
    before = scrape(web)
    assert value(before, "papermail_digests_sent_total") == 0

    with celery_worker(relay, tmp_path, tmp_path / "worker.log", concurrency=1):
        celery = create_celery_app(relay)
        results = []
        plan(relay, datetime.now(UTC),
             lambda ids, token: results.append(celery.send_task("workers.tasks.send_digest_batch", args=[ids, token])))
        done = [result.get(timeout=60) for result in results]
    assert sum(d["sent"] for d in done) == 1 and [m.rcpt_tos for m in smtp_sink.wait_for(1, timeout=30)] == [
        ["alice@example.org"]]

    after = scrape(web)  # the same web app, its process never sent anything
    assert value(after, "papermail_digests_sent_total") == 1
    assert value(after, "papermail_digests_failed_total", reason_class=REFUSED) == 1
    assert value(after, "papermail_digests_skipped_total", reason_class="nothing new matched") == 1
    assert value(after, "papermail_bounces_total", kind="hard", source="smtp") == 1
    assert value(after, "papermail_deliveries_waiting", state="claimed") == 0
    assert value(after, "papermail_relay_breaker_state", state="closed") == 1
    assert value(after, "papermail_subscribers", status="suppressed") == 1  # the hard bounce


def run(settings: Settings, now: datetime) -> None:
    run_foreground(settings, now, DeliveryTools.from_settings(settings), sleep=lambda s: None)


@pytest.mark.integration
def test_failures_and_skips_count_by_reason_class_not_by_address(db_settings: Settings) -> None:
    ingest_document(db_settings, papers("2026-11-26"), source_name="hf-daily", now=THURSDAY)
    for name in ("gone", "lost"):  # two readers, one cause
        add(db_settings, f"{name}@example.org")
        fail_recipient(f"{name}@example.org", DeliveryError(
            f"SMTP server refused RCPT TO for {name}@example.org: 550 5.1.1 No such user", permanent=True, code=550))
    add(db_settings, "quiet@example.org", keywords=["zebra"])
    add(db_settings, "alice@example.org")
    run(db_settings, FRIDAY_0800)
    with session_scope(db_settings) as session:
        log_bounce(session, kind="complaint", address="alice@example.org", source="webhook", outcome="suppressed")

    samples = scrape(TestClient(create_app(db_settings)))
    failed = {labels: v for (name, labels), v in samples.items() if name == "papermail_digests_failed_total"}
    assert failed == {(("reason_class", REFUSED),): 2}
    assert value(samples, "papermail_digests_skipped_total", reason_class="nothing new matched") == 1
    assert value(samples, "papermail_digests_sent_total") == 1
    assert value(samples, "papermail_bounces_total", kind="complaint", source="webhook") == 1
    assert value(samples, "papermail_papers_ingested_total", source="hf-daily") == 2


def test_reason_classes_are_the_dashboards() -> None:
    failed, skipped = by_reason([
        ("failed", "DeliveryError: SMTP server refused RCPT TO for a@x.org: 550 5.1.1 No such user", 3),
        ("failed", "DeliveryError: SMTP server refused RCPT TO for b@y.org: 550 5.1.1 Unknown", 2),
        ("failed", "ConnectionRefusedError: [Errno 111] Connection refused", 1),
        ("skipped", "subscriber no longer active", 4),
        ("skipped", None, 1),
    ])
    assert failed == {REFUSED: 5, "the mail relay could not be reached (ConnectionRefusedError)": 1}
    assert skipped == {"subscriber no longer active": 4, "no reason recorded": 1}


def test_waiting_deliveries_and_sources(settings: Settings) -> None:
    migrate.upgrade(settings)
    now = datetime.now(UTC)
    with session_scope(settings) as session:
        session.add(Source(name="hf", kind="hf_daily", url="http://x", last_attempt_at=now,
                           last_success_at=now - timedelta(seconds=90), items_last_poll=3, content_changed_at=now))
        session.add(Source(name="new", kind="feed", url="http://y"))
        session.add(Source(name="off", kind="feed", url="http://z", enabled=False, last_attempt_at=now,
                           last_success_at=now - timedelta(days=30), items_last_poll=3))
    add(settings, "alice@example.org")
    plan(settings, now, lambda ids, token: None)  # claimed, never sent: no worker took it

    samples = scrape(TestClient(create_app(settings)))
    assert value(samples, "papermail_deliveries_waiting", state="claimed") == 1
    assert value(samples, "papermail_deliveries_waiting", state="sending") == 0
    assert value(samples, "papermail_deliveries_due") == 0  # queued a moment ago: not lost yet
    age = value(samples, "papermail_source_last_success_age_seconds", source="hf")
    assert age is not None and 90 <= age < 150
    assert value(samples, "papermail_source_last_success_age_seconds", source="new") is None  # never succeeded
    assert value(samples, "papermail_source_health", source="new", health="never") == 1
    assert value(samples, "papermail_source_health", source="hf", health="ok") == 1
    assert value(samples, "papermail_source_health", source="hf", health="broken") == 0
    assert not [k for k in samples if ("source", "off") in k[1]]  # switched off: pages nobody
    assert value(samples, "papermail_relay_breaker_state", state="closed") is None  # no relay: memory backend


def test_the_breaker_state_is_read_as_healthz_reads_it(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "var", mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=free_port())
    migrate.upgrade(settings)
    client = TestClient(create_app(settings))
    assert value(scrape(client), "papermail_relay_breaker_state", state="closed") == 1
    now = time.time()
    write_snapshot(snapshot_path(settings), BreakerState(failures=3, open_until=now + 60, pause=1.0, opened_at=now,
                                                         reason="connection refused"))
    samples = scrape(client)
    assert client.get("/healthz").json()["relay"]["state"] == "open"
    assert {state: value(samples, "papermail_relay_breaker_state", state=state)
            for state in ("closed", "open", "probing", "unknown")} == {
        "closed": 0, "open": 1, "probing": 0, "unknown": 0}


def test_routes_are_labelled_by_their_full_template(settings: Settings) -> None:
    """HTTP counters live in the process's default registry, counted by every test before this
    one: what this test's requests add is measured, not the totals."""
    migrate.upgrade(settings)
    client = TestClient(create_app(settings))
    requests = "papermail_http_requests_total"
    labels = [dict(method="GET", route="/api/v1/subscribers/{subscriber_id}", status="401"),
              dict(method="GET", route="/static/{path}", status="200"),
              dict(method="GET", route="unmatched", status="404")]
    before = scrape(client)
    assert client.get("/api/v1/subscribers/12").status_code == 401  # refused, but routed
    assert client.get("/static/papermail.css").status_code == 200
    assert client.get("/no/such/page").status_code == 404
    samples = scrape(client)
    for wanted in labels:
        assert (value(samples, requests, **wanted) or 0) - (value(before, requests, **wanted) or 0) == 1, wanted
    routes = {dict(found).get("route") for name, found in samples if name == requests}
    assert "/subscribers/{subscriber_id}" not in routes  # the API's own part of the path, alone


def test_a_mounted_apps_routes_keep_the_mount_path(settings: Settings) -> None:
    app = FastAPI()
    app.state.settings = settings
    install_metrics(app)
    inner = FastAPI()
    inner.add_api_route("/items/{item_id}", lambda item_id: {"id": item_id})
    app.mount("/tools", inner)
    client = TestClient(app)
    assert client.get("/tools/items/3").status_code == 200
    samples = scrape(client)
    assert value(samples, "papermail_http_requests_total", method="GET", route="/tools/items/{item_id}",
                 status="200") == 1


def test_database_down_still_answers(tmp_path: Path) -> None:
    closed = free_port()
    settings = make_settings(tmp_path / "var", database_url=f"postgresql+psycopg://postgres@127.0.0.1:{closed}/x")
    samples = scrape(TestClient(create_app(settings)))
    assert value(samples, "papermail_metrics_database_up") == 0
    assert value(samples, "papermail_digests_sent_total") is None


@pytest.fixture
def statements(settings: Settings) -> Iterator[list[str]]:
    migrate.upgrade(settings)
    seen: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    engine = get_engine(settings)
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_a_scrape_costs_one_query_per_family(settings: Settings, statements: list[str]) -> None:
    client = TestClient(create_app(settings))
    statements.clear()
    samples = scrape(client)
    assert value(samples, "papermail_metrics_database_up") == 1
    # deliveries per status, due, failed+skipped texts, bounces, papers per source, sources, subscribers
    assert len(statements) == 7, statements
