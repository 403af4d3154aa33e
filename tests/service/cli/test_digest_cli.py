"""`papermail digest preview | run | plan` and `papermail demo`, as a user runs them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from config.settings import Settings
from service.mail import list_outbox
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def with_fixture_papers(settings: Settings, shared_fixtures: Path, tmp_path: Path) -> Settings:
    """The recorded HF day as if it were today's list: a digest carries only the reader's days
    (as it is, June 12's file would be old news, never sent)."""
    items = json.loads((shared_fixtures / "feeds" / "hf_daily_papers_2026-06-12.json").read_bytes())
    today = f"{datetime.now(UTC).date().isoformat()}T00:00:00.000Z"
    for item in items:
        item["paper"]["submittedOnDailyAt"] = today
    feed = tmp_path / "hf_daily_today.json"
    feed.write_text(json.dumps(items))
    assert run_cli(settings, "ingest", "hf-daily", "--file", str(feed)).returncode == 0
    return settings


def test_preview_explains_each_paper_on_the_recorded_papers(with_fixture_papers: Settings) -> None:
    run_cli(with_fixture_papers, "subscribers", "add", "alice@example.org", "--topic", "efficient-inference",
            "--keyword", '"KV cache"', "--confirmed")
    result = run_cli(with_fixture_papers, "digest", "preview", "alice@example.org", "--format", "text")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("Subject: ")
    whys = [line.strip() for line in text.splitlines() if line.strip().startswith("Why:")]
    assert whys, text
    assert all("Efficient inference" in why or "KV cache" in why for why in whys)
    assert any("'KV cache' in the" in why for why in whys)  # every reason names its evidence


def test_preview_json_is_the_ranking_as_data(with_fixture_papers: Settings) -> None:
    run_cli(with_fixture_papers, "subscribers", "add", "erin@example.org", "--topic", "efficient-inference",
            "--keyword", "speculative decoding", "--max-papers", "3", "--confirmed")
    shown = run_cli(with_fixture_papers, "digest", "preview", "erin@example.org", "--format", "json")
    assert shown.returncode == 0, shown.stderr
    papers = json.loads(shown.stdout)["papers"]
    assert 0 < len(papers) <= 3
    for paper in papers:
        assert set(paper) >= {"arxiv_id", "title", "score", "parts", "reasons"} and paper["reasons"]
        assert abs(sum(paper["parts"].values()) - paper["score"]) < 1e-9
    assert [p["score"] for p in papers] == sorted((p["score"] for p in papers), reverse=True)
    assert papers[0]["title"].startswith("VIA-SD") and "'speculative decoding' in the title" in papers[0]["reasons"][0]
    every = json.loads(run_cli(with_fixture_papers, "digest", "preview", "erin@example.org", "--format", "json",
                               "--limit", "0").stdout)["papers"]
    assert len(every) > 3 and every[:3] == papers
    wrong = run_cli(with_fixture_papers, "digest", "preview", "erin@example.org", "--limit", "2")
    assert wrong.returncode == 2 and "--limit" in wrong.stderr


def test_preview_html_to_a_file(with_fixture_papers: Settings, tmp_path: Path) -> None:
    run_cli(with_fixture_papers, "subscribers", "add", "dave@example.org", "--confirmed")
    out = tmp_path / "dave.html"
    result = run_cli(with_fixture_papers, "digest", "preview", "dave@example.org", "--format", "html", "--out", str(out))
    assert result.returncode == 0, result.stderr
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<mj-" not in html and "{{" not in html


def test_preview_of_an_unknown_address_is_one_line(settings: Settings) -> None:
    result = run_cli(settings, "digest", "preview", "nobody@example.org")
    assert result.returncode == 2 and "no subscriber" in result.stderr


def test_run_sends_what_is_due_once(with_fixture_papers: Settings) -> None:
    outbox_settings = with_fixture_papers.model_copy(update={"mail_backend": "outbox"})
    # Confirmed now, sending at the top of the next hour: due from then on, with today's papers.
    send_at = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    run_cli(outbox_settings, "subscribers", "add", "dave@example.org", "--confirmed", "--send-hour", str(send_at.hour))
    early = run_cli(outbox_settings, "digest", "run", "--at", (send_at - timedelta(minutes=1)).isoformat())
    assert early.stdout == "claimed 0, sent 0, skipped 0, failed 0, deferred 0\n"  # no blank line before it
    due = run_cli(outbox_settings, "digest", "run", "--at", send_at.isoformat())
    assert due.returncode == 0, due.stderr
    assert due.stdout.strip().splitlines()[-1] == "claimed 1, sent 1, skipped 0, failed 0, deferred 0"
    again = run_cli(outbox_settings, "digest", "run", "--at", (send_at + timedelta(hours=1)).isoformat())
    assert again.stdout.strip().splitlines()[-1] == "claimed 0, sent 0, skipped 0, failed 0, deferred 0"
    [entry] = list_outbox(outbox_settings.outbox_dir)
    message = message_from_bytes(entry.read_bytes(), policy=policy.default)
    assert message["To"] == "dave@example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_bad_at_is_one_line(settings: Settings) -> None:
    for command in ("run", "plan"):
        result = run_cli(settings, "digest", command, "--at", "next tuesday")
        assert result.returncode == 2 and "--at" in result.stderr


def test_demo_fills_the_outbox_and_is_idempotent(tmp_path: Path) -> None:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path / "var", mail_backend="smtp")  # the demo still only writes the outbox
    first = run_cli(settings, "demo")
    assert first.returncode == 0, first.stderr
    assert "digests: 5 sent to the outbox" in first.stdout
    entries = list_outbox(settings.outbox_dir)
    assert len(entries) == 5
    assert {str(e.message()["To"]) for e in entries} == {
        "alice@example.org", "bob@example.org", "carol@example.org", "dave@example.org", "erin@example.org"
    }
    assert "nothing new" not in first.stdout
    second = run_cli(settings, "demo")
    assert "digests: 0 sent" in second.stdout
    assert len(list_outbox(settings.outbox_dir)) == 5
    # The second run says why it added and sent nothing, and how to start over.
    assert "0 added; 5 were already there" in second.stdout
    assert "each demo reader already has today's digest (5 sent by earlier runs" in second.stdout
    assert "PAPERMAIL_DATA_DIR=./var-demo make demo" in second.stdout


def test_run_over_the_pool_sends_each_digest_once(with_fixture_papers: Settings, tmp_path: Path) -> None:
    # Seven readers in batches of two: four batches, the first sent by `digest run` itself, the
    # rest by the two children it forks.
    site = with_fixture_papers.model_copy(update={"mail_backend": "outbox", "digest_batch_size": 2})
    send_at = (datetime.now(UTC) + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    readers = [f"reader{i}@example.org" for i in range(7)]
    rows = tmp_path / "readers.csv"
    rows.write_text("email,send_hour\n" + "".join(f"{r},{send_at.hour}\n" for r in readers))
    assert run_cli(site, "subscribers", "import", str(rows), "--confirmed").returncode == 0
    due = run_cli(site, "digest", "run", "--at", send_at.isoformat(), "--processes", "2")
    assert due.returncode == 0, due.stderr
    assert due.stdout.strip().splitlines()[-1] == "claimed 7, sent 7, skipped 0, failed 0, deferred 0"
    again = run_cli(site, "digest", "run", "--at", send_at.isoformat(), "--processes", "2")
    assert again.stdout.strip().splitlines()[-1] == "claimed 0, sent 0, skipped 0, failed 0, deferred 0"
    assert sorted(str(e.message()["To"]) for e in list_outbox(site.outbox_dir)) == readers
