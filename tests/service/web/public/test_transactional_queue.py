"""The real path of a confirmation: web → `transactional` queue → a Celery worker → the outbox,
on the embedded filesystem broker and on Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from service.storage import migrate
from service.web.app import create_app
from tests.conftest import REPO_ROOT, make_settings
from tests.service.web.public.conftest import BASE, subscribe
from tests.support.outbox import wait_for_mail
from tests.support.processes import celery_worker

pytestmark = pytest.mark.integration


def _sign_up_through_the_worker(settings: Settings, tmp_path: Path) -> None:
    migrate.upgrade(settings)
    with celery_worker(settings, REPO_ROOT, tmp_path / "worker.log", concurrency=1):
        client = TestClient(create_app(settings), base_url=BASE, follow_redirects=False)
        assert subscribe(client, "bob@example.org").status_code == 303
        [message] = wait_for_mail(settings, lambda messages: len(messages) >= 1)
        assert (message["Subject"], message["To"]) == ("Confirm your subscription to papermail", "bob@example.org")
        assert f"{BASE}/confirm/" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "workers.tasks.send_transactional" in (tmp_path / "worker.log").read_text()


def test_confirmation_goes_through_a_worker_on_the_embedded_broker(tmp_path: Path) -> None:
    _sign_up_through_the_worker(make_settings(tmp_path / "var", mail_backend="outbox"), tmp_path)


def test_confirmation_goes_through_a_worker_on_redis(tmp_path: Path, redis_url: str) -> None:
    settings = make_settings(tmp_path / "var", mail_backend="outbox", broker_url=redis_url, result_backend=redis_url)
    _sign_up_through_the_worker(settings, tmp_path)
