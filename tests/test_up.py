"""`papermail up` on a fresh directory: web answers, a task round-trips through the broker."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from tests.conftest import make_settings
from tests.support.processes import free_port, papermail_process, wait_for_http
from workers.celery_app import create_app

pytestmark = pytest.mark.integration


def run_up_and_round_trip(child: Settings, settings: Settings, cwd: Path) -> None:
    """Start `papermail up` with CHILD's environment; talk to it as SETTINGS describe it."""
    port = free_port()
    log = cwd / "up.log"
    with papermail_process(["up", "--port", str(port)], child, cwd, log) as proc:
        health = wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, log, timeout=20)
        assert health.json()["status"] == "ok"
        assert f"http://127.0.0.1:{port}/" in log.read_text()

        # The test process talks to the same broker as the worker that `up` started.
        client = create_app(settings)
        result = client.send_task("workers.tasks.ping", args=["round-trip"])
        answer = result.get(timeout=30)
        assert answer["payload"] == "round-trip"
        assert answer["pid"] != proc.pid  # computed by the worker, not by us


def test_up_on_embedded_defaults(tmp_path: Path) -> None:
    """No settings at all: SQLite + filesystem broker under ./var of the working directory."""
    nothing_set = Settings(_env_file=None)  # type: ignore[call-arg]
    run_up_and_round_trip(nothing_set, make_settings(tmp_path / "var"), tmp_path)
    assert (tmp_path / "var" / "papermail.sqlite3").exists()
    assert (tmp_path / "var" / "broker" / "queue").is_dir()


def test_up_on_redis_and_postgresql(tmp_path: Path, redis_url: str, pg_database_url: str) -> None:
    settings = make_settings(tmp_path / "var", broker_url=redis_url, database_url=pg_database_url)
    run_up_and_round_trip(settings, settings, tmp_path)
    assert not (tmp_path / "var" / "papermail.sqlite3").exists()
