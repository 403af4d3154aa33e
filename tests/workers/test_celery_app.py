"""The Celery app follows Settings: broker, reliability switches, queues and routes."""

from __future__ import annotations

import pytest

from config.settings import Settings
from tests.conftest import make_settings
from workers.celery_app import QUEUES, REDIS_VISIBILITY_TIMEOUT_SECONDS, create_app


def test_embedded_broker_is_filesystem_under_data_dir(settings: Settings) -> None:
    app = create_app(settings)
    assert app.conf.broker_url == "filesystem://"
    options = app.conf.broker_transport_options
    assert options["data_folder_in"] == options["data_folder_out"] == str(settings.data_dir.resolve() / "broker" / "queue")
    assert options["polling_interval"] <= 0.5
    assert (settings.data_dir / "broker" / "queue").is_dir()
    assert app.conf.result_backend.startswith("file://")


def test_redis_broker_has_long_visibility_timeout(tmp_path: object) -> None:
    app = create_app(make_settings(tmp_path, broker_url="redis://127.0.0.1:6379/3"))  # type: ignore[arg-type]
    assert app.conf.broker_url == "redis://127.0.0.1:6379/3"
    assert app.conf.broker_transport_options["visibility_timeout"] == REDIS_VISIBILITY_TIMEOUT_SECONDS
    assert app.conf.result_backend == "redis://127.0.0.1:6379/3"


def test_reliability_switches(settings: Settings) -> None:
    conf = create_app(settings).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]


def test_each_queue_has_its_own_exchange_and_routing_key(settings: Settings) -> None:
    queues = {q.name: q for q in create_app(settings).conf.task_queues}
    assert set(queues) == set(QUEUES)
    for name, queue in queues.items():
        assert queue.exchange.name == name
        assert queue.routing_key == name


def test_routes_point_at_known_queues(settings: Settings) -> None:
    app = create_app(settings)
    for route in app.conf.task_routes.values():
        assert route["queue"] in QUEUES


def test_beat_schedule_names_registered_tasks(settings: Settings) -> None:
    app = create_app(settings)
    app.loader.import_default_modules()
    for entry in app.conf.beat_schedule.values():
        assert entry["task"] in app.tasks


def test_a_worker_pool_process_freezes_what_outlives_its_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.digests import deliver
    from workers import tasks

    monkeypatch.setattr(deliver, "_full_every", 0)  # put back after the test: tests keep the usual GC
    monkeypatch.setattr(tasks, "delivery_tools", lambda: None)
    tasks._build_delivery_tools()
    assert deliver._full_every > 0
