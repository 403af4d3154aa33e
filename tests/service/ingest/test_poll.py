"""Polling configured sources over real HTTP (a scripted server on loopback): conditional GET,
Retry-After, broken and empty feeds, health and backoff, one failing source never blocking another."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.settings import Settings, SourceConfig
from service.storage import migrate
from service.storage.db import session_scope
from service.ingest.health import source_health
from service.ingest.poll import claim_due_sources, poll_source
from service.storage.models import Paper, Source
from tests.conftest import make_settings
from tests.service.ingest.documents import arxiv_rss, hf_item, hf_json
from tests.support.http_server import Canned, ScriptedServer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 27, 6, tzinfo=UTC)
HF_BODY = hf_json(hf_item("2611.10001", "Quantized agents", 10), hf_item("2611.10002", "Robot hands", 4))
JSON = {"Content-Type": "application/json"}
RSS = {"Content-Type": "application/rss+xml"}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


@pytest.fixture
def polled(tmp_path: Path, server: ScriptedServer) -> Settings:
    settings = make_settings(
        tmp_path / "var",
        sources=[
            SourceConfig(name="hf", kind="hf_daily", url=server.url("/hf"), poll_interval_minutes=60),
            SourceConfig(name="rss", kind="arxiv_rss", url=server.url("/rss"), poll_interval_minutes=60),
        ],
    )
    migrate.upgrade(settings)
    return settings


def source(settings: Settings, name: str) -> Source:
    with session_scope(settings) as session:
        return session.scalars(select(Source).where(Source.name == name)).one()


def paper_count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(Paper)) or 0


def test_first_poll_stores_papers_and_validators(polled: Settings, server: ScriptedServer) -> None:
    server.script("/hf", Canned(200, HF_BODY, JSON | {"ETag": '"v1"', "Last-Modified": "Fri, 27 Nov 2026 05:00:00 GMT"}))
    summary = poll_source(polled, "hf", now=NOW)
    assert summary.line() == "hf: fetched 2, new 2, updated 0, unchanged 0, errors 0"
    row = source(polled, "hf")
    assert (row.etag, row.last_modified) == ('"v1"', "Fri, 27 Nov 2026 05:00:00 GMT")
    assert (row.items_last_poll, row.new_last_poll, row.consecutive_failures) == (2, 2, 0)
    assert row.last_success_at == NOW and row.next_poll_at == NOW + timedelta(hours=1)
    assert source_health(row, NOW, timedelta(hours=48)) == "ok"
    assert "papermail" in server.seen("/hf")[0].headers["User-Agent"]


def test_second_poll_is_conditional_and_304_does_no_work(polled: Settings, server: ScriptedServer) -> None:
    server.script(
        "/hf",
        Canned(200, HF_BODY, JSON | {"ETag": '"v1"', "Last-Modified": "Fri, 27 Nov 2026 05:00:00 GMT"}),
        Canned(304, b"", {"ETag": '"v1"'}),
    )
    poll_source(polled, "hf", now=NOW)
    later = NOW + timedelta(hours=1)
    summary = poll_source(polled, "hf", now=later)
    assert summary.status == "not_modified"
    assert (summary.new, summary.updated) == (0, 0)
    second = server.seen("/hf")[1].headers
    assert second["If-None-Match"] == '"v1"'
    assert second["If-Modified-Since"] == "Fri, 27 Nov 2026 05:00:00 GMT"
    row = source(polled, "hf")
    assert row.last_success_at == later and row.items_last_poll == 2  # what the last real poll saw
    assert paper_count(polled) == 2


def test_429_honours_retry_after(polled: Settings, server: ScriptedServer) -> None:
    server.script("/hf", Canned(429, b"slow down", {"Retry-After": "7200"}))
    summary = poll_source(polled, "hf", now=NOW)
    assert summary.status == "retry_later"
    row = source(polled, "hf")
    assert row.next_poll_at == NOW + timedelta(seconds=7200)
    assert row.consecutive_failures == 1
    assert "429" in (row.last_error or "")


def test_broken_source_backs_off_and_does_not_block_others(polled: Settings, server: ScriptedServer) -> None:
    server.script("/hf", Canned(200, b"<html><title>Oops</title><body>maintenance</body></html>", {"Content-Type": "text/html"}))
    server.script("/rss", Canned(200, arxiv_rss(("2611.20001", "new", "Speech codecs")), RSS))
    due = claim_due_sources(polled, NOW)
    assert due == ["hf", "rss"]
    results = {name: poll_source(polled, name, now=NOW) for name in due}
    assert results["hf"].status == "failed"
    assert results["rss"].new == 1
    assert claim_due_sources(polled, NOW + timedelta(minutes=1)) == []  # both pushed an interval ahead

    hf = source(polled, "hf")
    assert source_health(hf, NOW, timedelta(hours=48)) == "broken"
    assert hf.last_error and "html" in hf.last_error.lower()
    assert hf.next_poll_at == NOW + timedelta(hours=2)  # one failure: the interval doubled
    poll_source(polled, "hf", now=NOW + timedelta(hours=2))
    assert source(polled, "hf").next_poll_at == NOW + timedelta(hours=2) + timedelta(hours=4)

    server.script("/hf", Canned(200, HF_BODY, JSON))
    poll_source(polled, "hf", now=NOW + timedelta(hours=6))
    assert source(polled, "hf").consecutive_failures == 0
    assert paper_count(polled) == 3


def test_empty_day_is_healthy_not_broken(polled: Settings, server: ScriptedServer) -> None:
    server.script("/rss", Canned(200, arxiv_rss(), RSS))
    summary = poll_source(polled, "rss", now=NOW)
    assert summary.status == "ok" and summary.fetched == 0
    assert source_health(source(polled, "rss"), NOW, timedelta(hours=48)) == "empty"


def test_same_content_for_too_long_is_stale(polled: Settings, server: ScriptedServer) -> None:
    server.script("/hf", Canned(200, HF_BODY, JSON))
    poll_source(polled, "hf", now=NOW)
    three_days = NOW + timedelta(days=3)
    poll_source(polled, "hf", now=three_days)
    row = source(polled, "hf")
    assert row.content_changed_at == NOW
    assert source_health(row, three_days, timedelta(hours=polled.source_stale_hours)) == "stale"


def test_bad_items_are_recorded_on_the_source(polled: Settings, server: ScriptedServer) -> None:
    server.script("/hf", Canned(200, hf_json(hf_item("2611.30001", "Fine", 1), {"paper": {"title": "no id"}}), JSON))
    summary = poll_source(polled, "hf", now=NOW)
    assert (summary.new, summary.errors) == (1, 1)
    row = source(polled, "hf")
    assert row.errors_last_poll == 1
    assert row.last_error and "item 1" in row.last_error
