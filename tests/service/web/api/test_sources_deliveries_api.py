"""/api/v1/sources, /deliveries and /stats: edits, queued work on the real (filesystem) broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Delivery, Subscriber
from tests.service.web.api.conftest import assert_error


def queued(settings: Settings, queue: str) -> list[Path]:
    """Messages the filesystem broker holds for QUEUE."""
    return sorted((settings.broker_dir / "queue").glob(f"*.{queue}.msg"))


def test_sources_list_create_edit_and_toggle(client: TestClient) -> None:
    names = [s["name"] for s in client.get("/api/v1/sources").json()]
    assert "hf-daily" in names  # configured sources are listed
    body = {"name": "lab-blog", "kind": "feed", "url": "https://example.org/feed.xml", "poll_interval_minutes": 30}
    created = client.post("/api/v1/sources", json=body)
    assert created.status_code == 201 and created.json()["health"] == "never"
    assert_error(client.post("/api/v1/sources", json=body), 409, "conflict")
    ftp = {**body, "name": "x2", "url": "ftp://example.org/"}
    assert_error(client.post("/api/v1/sources", json=ftp), 422, "invalid")
    edited = client.patch("/api/v1/sources/lab-blog", json={"poll_interval_minutes": 90})
    assert edited.json()["poll_interval_minutes"] == 90
    assert client.post("/api/v1/sources/lab-blog/disable").json()["enabled"] is False
    assert client.post("/api/v1/sources/lab-blog/enable").json()["enabled"] is True
    assert_error(client.post("/api/v1/sources/nope/disable"), 404, "not_found")


def test_ingest_now_queues_a_poll(client: TestClient, settings: Settings) -> None:
    response = client.post("/api/v1/sources/hf-daily/ingest-now")
    assert response.status_code == 202 and response.json()["task_id"]
    messages = queued(settings, "ingest")
    assert len(messages) == 1
    assert b"workers.tasks.poll_source" in messages[0].read_bytes()


def add_delivery(settings: Settings, email: str, status: str, claimed_at: datetime,
                 subscriber_status: str = "active") -> int:
    with session_scope(settings) as session:
        subscriber = Subscriber(email=email, status=subscriber_status)
        session.add(subscriber)
        session.flush()
        delivery = Delivery(subscriber_id=subscriber.id, period=claimed_at.date().isoformat(), status=status,
                            claimed_at=claimed_at, attempts=6,
                            error="SMTPError: 451 try later" if status == "failed" else None)
        session.add(delivery)
        session.flush()
        return delivery.id


def test_deliveries_filter_and_retry(client: TestClient, settings: Settings) -> None:
    now = datetime.now(UTC)
    failed = add_delivery(settings, "alice@example.org", "failed", now - timedelta(days=1))
    add_delivery(settings, "bob@example.org", "sent", now - timedelta(days=3))
    gone = add_delivery(settings, "carol@example.org", "failed", now, subscriber_status="unsubscribed")

    page = client.get("/api/v1/deliveries", params={"status": "failed"}).json()
    assert page["total"] == 2 and [d["id"] for d in page["items"]] == [gone, failed]  # newest first
    two_days_ago = now - timedelta(days=2)
    naive = client.get("/api/v1/deliveries", params={"since": two_days_ago.replace(tzinfo=None).isoformat()})
    assert naive.json()["total"] == 2  # no offset: read as UTC
    assert client.get("/api/v1/deliveries", params={"until": two_days_ago.isoformat()}).json()["total"] == 1

    retried = client.post(f"/api/v1/deliveries/{failed}/retry")
    assert retried.status_code == 202, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("claimed", 0)
    assert retried.json()["enqueued_at"] is not None
    messages = queued(settings, "digests")
    assert len(messages) == 1 and b"workers.tasks.send_digest_batch" in messages[0].read_bytes()
    assert_error(client.post(f"/api/v1/deliveries/{failed}/retry"), 409, "conflict")  # not failed any more
    assert_error(client.post(f"/api/v1/deliveries/{gone}/retry"), 409, "conflict")  # subscriber left
    assert_error(client.get("/api/v1/deliveries/999"), 404, "not_found")


def test_stats_count_by_status_and_day(client: TestClient, settings: Settings) -> None:
    now = datetime.now(UTC)
    add_delivery(settings, "alice@example.org", "failed", now)
    add_delivery(settings, "bob@example.org", "sent", now)
    stats = client.get("/api/v1/stats").json()
    assert stats["subscribers_by_status"] == {"active": 2}
    assert stats["deliveries_by_status"] == {"failed": 1, "sent": 1}
    assert len(stats["deliveries_per_day"]) == 30
    assert stats["deliveries_per_day"][-1] == {"day": now.date().isoformat(), "sent": 1, "failed": 1}
