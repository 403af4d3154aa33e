"""`papermail ingest`: files, URLs, configured sources, backfill; one clear line when unusable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from config.settings import Settings, SourceConfig
from tests.conftest import make_settings
from tests.service.ingest.documents import arxiv_rss, hf_item, hf_json
from tests.support.cli import run_cli
from tests.support.http_server import Canned, ScriptedServer

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as running:
        yield running


def test_file_then_same_file_again(settings: Settings, tmp_path: Path) -> None:
    document = tmp_path / "today.json"
    document.write_bytes(hf_json(hf_item("2611.40001", "Diffusion video", 3), hf_item("2611.40002", "Agents", 9)))
    first = run_cli(settings, "ingest", "--file", str(document))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "file: fetched 2, new 2, updated 0, unchanged 0, errors 0"
    again = run_cli(settings, "ingest", "--file", str(document), "--format", "hf")
    assert again.stdout.strip() == "file: fetched 2, new 0, updated 0, unchanged 2, errors 0"


def test_recorded_hf_feed(settings: Settings, shared_fixtures: Path) -> None:
    result = run_cli(settings, "ingest", "hf-daily", "--file", str(shared_fixtures / "feeds" / "hf_daily_papers_2026-06-12.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hf-daily: fetched 30, new 30,")


def test_rejected_items_are_listed_and_exit_is_zero(settings: Settings, tmp_path: Path) -> None:
    document = tmp_path / "mixed.json"
    document.write_bytes(hf_json(hf_item("2611.40003", "Fine", 1), {"paper": {"id": "2611.40004"}}))
    result = run_cli(settings, "ingest", "--file", str(document))
    assert result.returncode == 0
    assert "new 1" in result.stdout and "errors 1" in result.stdout
    assert "2611.40004" in result.stderr


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body>Service Unavailable</body></html>", "HTML"),
        (b'{"error": "Invalid', "JSON"),
        (b"\xff\xfe\x00garbage\x00", ""),
    ],
)
def test_unusable_document_is_one_line_and_exit_1(settings: Settings, tmp_path: Path, body: bytes, expected: str) -> None:
    document = tmp_path / "bad"
    document.write_bytes(body)
    result = run_cli(settings, "ingest", "--file", str(document))
    assert result.returncode == 1
    assert result.stderr.startswith("papermail: ") and result.stderr.count("\n") == 1
    assert expected.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_bad_usage_exits_2(settings: Settings, tmp_path: Path) -> None:
    for args, said in [
        (["ingest", "--file", str(tmp_path / "missing.json")], "cannot read"),
        (["ingest", "no-such-source"], "no source named"),
        (["ingest", "--format", "csv", "--file", "x"], "--format"),
        (["ingest", "--since", "yesterday"], "--since"),
        (["ingest", "--url", "file:///etc/passwd"], "http"),
    ]:
        result = run_cli(settings, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert said in result.stderr and "Traceback" not in result.stderr


def test_url(settings: Settings, server: ScriptedServer) -> None:
    server.script("/feed", Canned(200, arxiv_rss(("2611.40005", "new", "Speech")), {"Content-Type": "application/rss+xml"}))
    result = run_cli(settings, "ingest", "--url", server.url("/feed"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "127.0.0.1: fetched 1, new 1, updated 0, unchanged 0, errors 0"


def test_configured_sources_and_a_failing_one(tmp_path: Path, server: ScriptedServer) -> None:
    settings = make_settings(tmp_path / "var", sources=[
        SourceConfig(name="good", kind="arxiv_rss", url=server.url("/good")),
        SourceConfig(name="down", kind="hf_daily", url=server.url("/down")),
    ])
    server.script("/good", Canned(200, arxiv_rss(("2611.40006", "new", "RL")), {"Content-Type": "application/rss+xml"}))
    server.script("/down", Canned(500, b"boom"))
    result = run_cli(settings, "ingest")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "down: failed: " in lines[0] and "500" in lines[0]
    assert lines[1] == "good: fetched 1, new 1, updated 0, unchanged 0, errors 0"


def test_since_backfills_day_by_day_until_an_empty_page(tmp_path: Path, server: ScriptedServer) -> None:
    settings = make_settings(tmp_path / "var", sources=[
        SourceConfig(name="hf-daily", kind="hf_daily", url=server.url("/api/daily_papers") + "?sort=trending&limit=2"),
    ])
    # Every day: two pages of papers, then an empty page that ends paging.
    since = date.today() - timedelta(days=2)
    pages = [hf_json(hf_item(f"2611.5{d}00{p}", f"Paper {d}-{p}", 1)) for d in range(3) for p in range(2)]
    script = []
    for day in range(3):
        script += [Canned(200, pages[2 * day], {"Content-Type": "application/json"}),
                   Canned(200, pages[2 * day + 1], {"Content-Type": "application/json"}),
                   Canned(200, b"[]", {"Content-Type": "application/json"})]
    server.script("/api/daily_papers", *script)
    result = run_cli(settings, "ingest", "--since", since.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hf-daily: fetched 6, new 6, updated 0, unchanged 0, errors 0\n"  # no progress residue
    asked = [(r.query["date"], r.query["p"], r.query["sort"], r.query["limit"]) for r in server.seen("/api/daily_papers")]
    days = [(since + timedelta(days=d)).isoformat() for d in range(3)]
    assert asked == [(day, str(page), "trending", "2") for day in days for page in range(3)]


def test_since_stops_a_day_on_a_page_that_repeats_the_previous_one(tmp_path: Path, server: ScriptedServer) -> None:
    """A server that ignores `p` answers the same page forever: one repeat ends the day."""
    settings = make_settings(tmp_path / "var", sources=[
        SourceConfig(name="hf-daily", kind="hf_daily", url=server.url("/api/daily_papers")),
    ])
    since = date.today() - timedelta(days=3)
    same_page = hf_json(hf_item("2611.60001", "Always the same", 4), hf_item("2611.60002", "Me too", 2))
    server.script("/api/daily_papers", Canned(200, same_page, {"Content-Type": "application/json"}))
    result = run_cli(settings, "ingest", "--since", since.isoformat())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hf-daily: fetched 8, new 2, updated 0, unchanged 6, errors 0"
    # Four days, two requests each (the page and its repeat), not MAX_PAGES_PER_DAY each.
    assert len(server.seen("/api/daily_papers")) == 8
