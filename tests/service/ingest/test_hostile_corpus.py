"""feedparser's corpus of ill-formed, oddly encoded and hostile feeds, stored for real:
every file is either ingested or refused with a reason, never a crash, on PostgreSQL (which,
unlike SQLite, rejects NUL characters in text)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from service.storage import migrate
from service.storage.db import session_scope
from service.ingest.poll import ingest_document
from service.storage.models import Paper
from service.papers import SourceError
from tests.conftest import make_settings

pytestmark = pytest.mark.integration


def test_every_corpus_file_is_stored_or_refused(shared_fixtures: Path, pg_database_url: str, tmp_path: Path) -> None:
    settings: Settings = make_settings(tmp_path / "var", database_url=pg_database_url)
    migrate.upgrade(settings)
    files = sorted(p for p in (shared_fixtures / "feedparser").rglob("*.xml"))
    assert len(files) > 800
    refused: dict[str, str] = {}
    stored = rejected_items = 0
    for path in files:
        try:
            summary = ingest_document(settings, path.read_bytes(), source_name="corpus", fmt="auto")
        except SourceError as exc:
            refused[path.name] = str(exc)
            continue
        stored += summary.new + summary.updated + summary.unchanged
        rejected_items += summary.errors
        assert len(summary.reasons) == summary.errors
    # Most of the corpus tests one field at a time with no title: those items are rejected with a
    # reason; the documents themselves are nearly all readable.
    assert len(refused) < len(files) // 10, refused
    assert stored >= 30 and rejected_items > 500
    assert all(reason.strip() and "\n" not in reason for reason in refused.values())
    with session_scope(settings) as session:
        for title, abstract in session.execute(select(Paper.title, Paper.abstract)):
            for text in (title, abstract):
                assert "<script" not in text.lower()
                assert "\x00" not in text
