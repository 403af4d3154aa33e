"""/healthz reports the database and the broker; /metrics speaks Prometheus."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage import migrate
from service.web.app import create_app
from tests.conftest import make_settings
from tests.support.processes import free_port


def test_healthy_on_embedded_defaults(settings: Settings) -> None:
    migrate.upgrade(settings)
    response = TestClient(create_app(settings)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"ok": True}, "broker": {"ok": True, "kind": "filesystem"}},
        "sources": {},
    }


def test_source_health_is_detail_not_status(settings: Settings) -> None:
    from datetime import UTC, datetime

    from service.storage.db import session_scope
    from service.storage.models import Source

    migrate.upgrade(settings)
    with session_scope(settings) as session:
        now = datetime.now(UTC)
        session.add(Source(name="down", kind="feed", url="http://x", last_attempt_at=now, consecutive_failures=3))
        session.add(Source(name="quiet", kind="feed", url="http://y", last_attempt_at=now, items_last_poll=0))
    response = TestClient(create_app(settings)).get("/healthz")
    assert response.status_code == 200
    assert response.json()["sources"] == {"down": "broken", "quiet": "empty"}


def test_database_down_is_503(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    settings = make_settings(tmp_path, database_url=f"postgresql+psycopg://postgres@127.0.0.1:{closed}/x")
    response = TestClient(create_app(settings)).get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["broker"]["ok"] is True


def test_broker_down_is_503(settings: Settings, tmp_path: Path) -> None:
    migrate.upgrade(settings)
    closed = free_port()
    down = make_settings(settings.data_dir, broker_url=f"redis://127.0.0.1:{closed}/0")
    response = TestClient(create_app(down)).get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {
        "ok": False, "kind": "redis", "error": response.json()["checks"]["broker"]["error"],
    }
    assert "Connection" in response.json()["checks"]["broker"]["error"]


def test_metrics_count_requests_by_route(settings: Settings) -> None:
    migrate.upgrade(settings)
    client = TestClient(create_app(settings))
    client.get("/healthz")
    text = client.get("/metrics").text
    assert 'papermail_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "papermail_http_request_seconds_bucket" in text
