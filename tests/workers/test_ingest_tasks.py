"""Beat's polling tick through a real worker: due sources are polled, each on its own task."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import SourceConfig
from service.storage import migrate
from service.storage.db import session_scope
from service.storage.models import Paper, Source
from tests.conftest import make_settings
from tests.service.ingest.documents import hf_item, hf_json
from tests.support.http_server import Canned, ScriptedServer
from tests.support.processes import celery_worker
from workers.celery_app import create_app

pytestmark = pytest.mark.integration


def test_poll_due_sources_fans_out_to_the_worker(tmp_path: Path) -> None:
    with ScriptedServer() as server:
        server.script("/hf", Canned(200, hf_json(hf_item("2611.60001", "LLM agents", 5)), {"Content-Type": "application/json"}))
        server.script("/rss", Canned(503, b"down", {"Retry-After": "600"}))
        settings = make_settings(tmp_path / "var", sources=[
            SourceConfig(name="hf", kind="hf_daily", url=server.url("/hf")),
            SourceConfig(name="rss", kind="arxiv_rss", url=server.url("/rss")),
        ])
        migrate.upgrade(settings)
        with celery_worker(settings, tmp_path, tmp_path / "worker.log"):
            app = create_app(settings)
            polls = app.send_task("workers.tasks.poll_due_sources").get(timeout=60)
            assert sorted(polls) == ["hf", "rss"]
            # Each poll is its own task: wait for each by its own result.
            lines = {name: app.AsyncResult(task_id).get(timeout=60) for name, task_id in polls.items()}
            assert app.send_task("workers.tasks.poll_due_sources").get(timeout=60) == {}  # not due again yet
        assert lines["hf"] == "hf: fetched 1, new 1, updated 0, unchanged 0, errors 0"
        assert lines["rss"].startswith("rss: retry later: ")
        with session_scope(settings) as session:
            assert session.scalars(select(Paper.arxiv_id)).all() == ["2611.60001"]
            rss = session.scalars(select(Source).where(Source.name == "rss")).one()
            assert rss.consecutive_failures >= 1
