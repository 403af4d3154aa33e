"""`papermail subscribers import FILE.csv [--dry-run] [--confirmed]` and `subscribers export`."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.storage.db import session_scope
from service.storage.models import Subscriber
from tests.support.cli import run_cli

pytestmark = pytest.mark.integration

CSV = """email,topics,keywords,frequency,send_hour
alice@example.org,llm,diffusion; "mixture of experts",weekly,7
not-an-address,,,,
bob@example.org,no-such-topic,,,
carol@example.org,agents,,daily,
alice@example.org,,,,
"""


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def statuses(settings: Settings) -> dict[str, str]:
    with session_scope(settings) as session:
        return {s.email: s.status for s in session.scalars(select(Subscriber))}


def test_dry_run_reports_row_by_row_and_writes_nothing(settings: Settings, csv_file: Path) -> None:
    result = run_cli(settings, "subscribers", "import", str(csv_file), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "dry run: would import 2 (2 pending); skipped 3 (duplicate 1, invalid address 1, unknown topic 1)")
    assert "line 3: invalid address" in result.stderr
    assert "line 4: unknown topic" in result.stderr and "no-such-topic" in result.stderr
    assert "line 6: duplicate: alice@example.org is also on line 2" in result.stderr
    assert statuses(settings) == {}


def test_import_pending_queues_confirmation_mails(settings: Settings, csv_file: Path) -> None:
    result = run_cli(settings, "subscribers", "import", str(csv_file))
    assert result.returncode == 0, result.stderr
    assert "imported 2 (2 pending)" in result.stdout and "2 confirmation mails queued" in result.stdout
    assert statuses(settings) == {"alice@example.org": "pending", "carol@example.org": "pending"}
    messages = list((settings.broker_dir / "queue").glob("*.transactional.msg"))
    assert len(messages) == 2 and all(b"workers.tasks.send_transactional" in m.read_bytes() for m in messages)
    again = run_cli(settings, "subscribers", "import", str(csv_file))
    assert "imported 0" in again.stdout and "duplicate 3" in again.stdout


def test_import_confirmed_then_export(settings: Settings, csv_file: Path) -> None:
    result = run_cli(settings, "subscribers", "import", str(csv_file), "--confirmed")
    assert "imported 2 (2 active)" in result.stdout, result.stderr
    assert not (settings.broker_dir / "queue").exists() or not list((settings.broker_dir / "queue").glob("*.msg"))
    exported = run_cli(settings, "subscribers", "export")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines() == [
        "email,topics,keywords,exclude,authors,frequency,timezone,send_hour,status,"
        "weekly_day,max_papers,min_upvotes,empty_digest,sources",
        "alice@example.org,llm,diffusion; mixture of experts,,,weekly,UTC,7,active,mon,10,0,skip,",
        "carol@example.org,agents,,,,daily,UTC,8,active,mon,10,0,skip,",
    ]


@pytest.mark.parametrize(("content", "message"), [
    ("topics,keywords\nllm,x\n", "no 'email' column"), ("name,email\n", "unknown column(s) 'name'"), ("", "empty"),
])
def test_unusable_file_is_one_line_and_exit_2(settings: Settings, tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run_cli(settings, "subscribers", "import", str(path))
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_missing_file(settings: Settings, tmp_path: Path) -> None:
    result = run_cli(settings, "subscribers", "import", str(tmp_path / "nope.csv"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_update_mode_updates_existing_and_mails_only_new(settings: Settings, tmp_path: Path) -> None:
    added = run_cli(settings, "subscribers", "add", "alice@example.org", "--confirmed", "--keyword", "diffusion")
    assert added.returncode == 0, added.stderr
    path = tmp_path / "update.csv"
    path.write_text("email,keywords\nalice@example.org,robots\nzed@example.org,agents\n", encoding="utf-8")
    result = run_cli(settings, "subscribers", "import", str(path), "--update")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("imported 1 (1 pending); updated 1 existing (0 unchanged); skipped 0; "
                                     "1 confirmation mails queued")
    assert statuses(settings) == {"alice@example.org": "active", "zed@example.org": "pending"}
    with session_scope(settings) as session:
        alice = session.scalars(select(Subscriber).where(Subscriber.email == "alice@example.org")).one()
        assert alice.preferences["keywords"] == ["robots"]
    assert len(list((settings.broker_dir / "queue").glob("*.transactional.msg"))) == 1  # zed's, not alice's
