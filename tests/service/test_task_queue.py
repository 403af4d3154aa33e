"""TaskQueue puts work on the broker its caller was configured with: each task by name on its
own queue, JSON arguments, confirmations spaced at the send rate. Read back from a real
broker (the embedded filesystem one, and Redis)."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from config.settings import Settings
from service.task_queue import TaskQueue
from tests.conftest import make_settings

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["filesystem", pytest.param("redis", marks=pytest.mark.integration)])
def broker_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    overrides: dict[str, object] = {"send_rate_per_second": 4.0}
    if request.param == "redis":
        overrides["broker_url"] = request.getfixturevalue("redis_url")
    return make_settings(tmp_path / "var", **overrides)


@pytest.fixture
def task_queue(broker_settings: Settings) -> Iterator[TaskQueue]:
    tasks = TaskQueue(broker_settings)
    yield tasks
    if "celery" in tasks.__dict__:  # built on first use only
        tasks.celery.close()


def received(tasks: TaskQueue, name: str) -> list[dict[str, Any]]:
    """Every message waiting on queue NAME: task name, id, eta and positional arguments."""
    out: list[dict[str, Any]] = []
    with tasks.celery.connection_for_read() as connection, connection.SimpleQueue(name) as waiting:
        while True:
            try:
                message = waiting.get(timeout=0.5)
            except queue.Empty:
                return out
            args, kwargs, _ = message.payload
            out.append({"task": message.headers["task"], "id": message.headers["id"],
                        "eta": message.headers.get("eta"), "args": args, "kwargs": kwargs})
            message.ack()


def test_the_celery_app_is_built_on_first_use_from_the_callers_settings(task_queue: TaskQueue) -> None:
    assert "celery" not in task_queue.__dict__
    task_queue.poll_source("hf-daily")
    assert task_queue.celery.conf.broker_url == task_queue.settings.effective_broker_url


def test_each_task_goes_by_name_to_its_own_queue(task_queue: TaskQueue) -> None:
    poll_id = task_queue.poll_source("hf-daily")
    batch_id = task_queue.send_digest_batch([3, 5, 8], "token-1")
    mail_id = task_queue.send_transactional("welcome", 42)

    assert received(task_queue, "ingest") == [
        {"task": "workers.tasks.poll_source", "id": poll_id, "eta": None, "args": ["hf-daily"], "kwargs": {}},
    ]
    assert received(task_queue, "digests") == [
        {"task": "workers.tasks.send_digest_batch", "id": batch_id, "eta": None, "args": [[3, 5, 8], "token-1"],
         "kwargs": {}},
    ]
    assert received(task_queue, "transactional") == [
        {"task": "workers.tasks.send_transactional", "id": mail_id, "eta": None, "args": ["welcome", 42],
         "kwargs": {}},
    ]


def test_confirmations_are_spaced_at_the_send_rate_across_calls(task_queue: TaskQueue) -> None:
    with time_machine.travel(NOW, tick=False):
        assert task_queue.send_confirmations([11, 12, 13]) == 3
        assert task_queue.send_confirmations([14]) == 1
        assert task_queue.send_confirmations([]) == 0

    # (The filesystem broker orders files by the clock, which is frozen here: sort by id.)
    messages = sorted(received(task_queue, "transactional"), key=lambda m: m["args"][1])
    assert [m["args"] for m in messages] == [["confirm", 11], ["confirm", 12], ["confirm", 13], ["confirm", 14]]
    assert {m["task"] for m in messages} == {"workers.tasks.send_transactional"}
    # 4 a second: the first at once (no eta), then one every 0.25 s, the second call carrying on.
    assert messages[0]["eta"] is None
    delays = [datetime.fromisoformat(m["eta"]) - NOW for m in messages[1:]]
    assert delays == [timedelta(seconds=s) for s in (0.25, 0.5, 0.75)]


def test_work_lands_on_the_broker_of_the_callers_data_dir(tmp_path: Path) -> None:
    mine, other = TaskQueue(make_settings(tmp_path / "mine")), TaskQueue(make_settings(tmp_path / "other"))
    try:
        mine.send_transactional("links", 1)
        assert received(other, "transactional") == []
        assert [m["args"] for m in received(mine, "transactional")] == [["links", 1]]
    finally:
        mine.celery.close()
        other.celery.close()
