"""Digests end to end on real services: PostgreSQL, a Redis broker, a Celery worker subprocess
and an SMTP server receiving real messages. Exactly once, through retries, bounces and a
worker killed mid-batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dkim
import pytest
from celery.result import AsyncResult
from sqlalchemy import select

from config.settings import Settings
from service.storage import migrate
from service.storage.db import session_scope
from service.digests.run import plan
from service.ingest.poll import ingest_document
from service.storage.models import Delivery, Subscriber
from service.subscribers.preferences import Preferences
from service.subscribers.store import create_subscriber
from tests.conftest import make_settings
from tests.service.ingest.documents import hf_item, hf_json
from tests.support.cli import run_cli
from tests.support.dkim import SELECTOR, SENDER_DOMAIN, DkimKey
from tests.support.processes import celery_worker, kill_process_group
from tests.support.smtp_sink import SmtpSink
from workers.celery_app import create_app

pytestmark = pytest.mark.integration

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
# Today's list: these tests send at the real time, and a digest carries only the reader's days.
TODAY = datetime.now(UTC).date().isoformat()
PAPERS = [
    hf_item("2611.80001", "Two-bit quantization of large language models", 40, day=TODAY),
    hf_item("2611.80002", "Humanoid robot hands that learn from video", 12, "A robot learns dexterous manipulation.",
            day=TODAY),
    hf_item("2611.80003", "<script>alert(1)</script> agents <img src=x onerror=alert(1)>", 90, "Tool-using agents.",
            day=TODAY),
]


@pytest.fixture
def e2e(tmp_path: Path, fresh_pg_database_url: str, redis_url: str, smtp_sink: SmtpSink, dkim_key: DkimKey) -> Settings:
    settings = make_settings(
        tmp_path / "var",
        database_url=fresh_pg_database_url,
        broker_url=redis_url,
        mail_from=f"Papermail <digest@{SENDER_DOMAIN}>",
        dkim_domain=SENDER_DOMAIN,
        dkim_selector=SELECTOR,
        dkim_private_key_path=dkim_key.private_key_path,
        digest_batch_size=2,
        send_rate_per_second=500,
        delivery_retry_seconds=1,
        delivery_stale_minutes=1,
        **smtp_sink.settings_overrides(),
    )
    migrate.upgrade(settings)
    ingest_document(settings, hf_json(*PAPERS), source_name="hf-daily")
    return settings


@pytest.fixture
def worker(e2e: Settings, tmp_path: Path) -> Iterator[object]:
    with celery_worker(e2e, tmp_path, tmp_path / "worker.log", concurrency=1) as proc:
        yield proc


def add(settings: Settings, email: str, **prefs: object) -> None:
    with session_scope(settings) as session:
        create_subscriber(session, email, Preferences(send_hour=0, **prefs), confirmed=True, now=LONG_AGO)  # type: ignore[arg-type]


def enqueue_and_collect(settings: Settings, now: datetime) -> list[AsyncResult]:
    """Beat's planner tick, keeping each batch's result handle so the test can wait on it."""
    app = create_app(settings)
    results: list[AsyncResult] = []
    plan(settings, now, lambda ids, token: results.append(app.send_task("workers.tasks.send_digest_batch", args=[ids, token])))
    return results


def statuses(settings: Settings) -> dict[str, str]:
    with session_scope(settings) as session:
        query = select(Subscriber.email, Delivery.status).join(Delivery, Delivery.subscriber_id == Subscriber.id)
        return {email: status for email, status in session.execute(query)}


def test_due_subscribers_get_exactly_one_signed_digest(e2e: Settings, smtp_sink: SmtpSink, worker: object,
                                                        dkim_key: DkimKey) -> None:
    add(e2e, "alice@example.org", topics=["efficient-inference"])
    add(e2e, "bob@example.org", keywords=["robot"])
    add(e2e, "dave@example.org")
    add(e2e, "grey@example.org")
    add(e2e, "gone@example.org")
    smtp_sink.answer("grey@example.org", "451 4.7.1 Greylisted, try again later", times=1)
    smtp_sink.answer("gone@example.org", "550 5.1.1 No such user")

    now = datetime.now(UTC)
    for result in enqueue_and_collect(e2e, now):
        result.get(timeout=60)
    received = smtp_sink.wait_for(4, timeout=60)  # grey's arrives on the retry, a second later

    by_rcpt = {m.rcpt_tos[0]: m for m in received}
    assert sorted(by_rcpt) == ["alice@example.org", "bob@example.org", "dave@example.org", "grey@example.org"]
    assert len(received) == 4
    alice = by_rcpt["alice@example.org"].message
    assert "Two-bit quantization" in alice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Humanoid" not in alice.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    for message in received:  # signed over the exact bytes that arrived, List-Unsubscribe included
        assert dkim.verify(message.data, dnsfunc=dkim_key.dnsfunc())
        signature = message.message["DKIM-Signature"].replace(" ", "").replace("\r\n", "").lower()
        assert "list-unsubscribe:list-unsubscribe-post" in signature or (
            "list-unsubscribe" in signature and "list-unsubscribe-post" in signature
        )

    html = by_rcpt["dave@example.org"].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script" not in html.lower()
    assert "&lt;script&gt;" in html or "alert(1)" not in html

    assert statuses(e2e) == {
        "alice@example.org": "sent", "bob@example.org": "sent", "dave@example.org": "sent",
        "grey@example.org": "sent", "gone@example.org": "failed",
    }
    with session_scope(e2e) as session:
        gone = session.scalars(select(Subscriber).where(Subscriber.email == "gone@example.org")).one()
        assert gone.status == "suppressed"

    # The planner run again (the real CLI, as beat would) claims and enqueues nothing.
    again = run_cli(e2e, "digest", "plan", "--at", (now + timedelta(seconds=30)).isoformat())
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "claimed 0, re-enqueued 0 stale, enqueued 0 batches"
    assert len(smtp_sink.messages) == 4


def test_worker_killed_mid_batch_then_restarted(e2e: Settings, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    readers = [f"reader{n}@example.org" for n in range(6)]
    for address in readers:
        add(e2e, address)
    hold = smtp_sink.hold("reader3@example.org")  # second batch, second message

    now = datetime.now(UTC)
    with celery_worker(e2e, tmp_path, tmp_path / "worker1.log", concurrency=1) as first:
        enqueue_and_collect(e2e, now)
        assert hold.arrived.wait(60), "the worker never reached reader3"
        kill_process_group(first)  # SIGKILL while it waits for the server's answer
    hold.released.set()
    assert statuses(e2e)["reader3@example.org"] == "sending"

    with celery_worker(e2e, tmp_path, tmp_path / "worker2.log", concurrency=1):
        # The planner's next tick, past the stale timeout, re-enqueues what the dead worker held.
        for result in enqueue_and_collect(e2e, now + timedelta(minutes=2)):
            result.get(timeout=60)
        smtp_sink.wait_for(6, timeout=60)

    received = sorted(m.rcpt_tos[0] for m in smtp_sink.messages)
    assert received == readers  # exactly one each: none lost, none twice
    assert set(statuses(e2e).values()) == {"sent"}
