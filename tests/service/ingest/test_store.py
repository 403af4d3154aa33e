"""Storing parsed papers on SQLite and PostgreSQL: one row per paper, merged across sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from service.storage.db import session_scope
from service.ingest.poll import ingest_document
from service.storage.models import Paper, PaperTopic, Topic
from service.papers import SourceError
from tests.service.ingest.documents import arxiv_atom, arxiv_rss, hf_item, hf_json

pytestmark = pytest.mark.integration

MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)


def paper(settings: Settings, arxiv_id: str) -> Paper:
    with session_scope(settings) as session:
        return session.scalars(select(Paper).where(Paper.arxiv_id == arxiv_id)).one()


def count(settings: Settings) -> int:
    with session_scope(settings) as session:
        return session.scalar(select(func.count()).select_from(Paper)) or 0


def topics_of(settings: Settings, arxiv_id: str) -> set[str]:
    with session_scope(settings) as session:
        query = select(Topic.slug).join(PaperTopic).join(Paper).where(Paper.arxiv_id == arxiv_id)
        return set(session.scalars(query))


def test_hf_and_arxiv_records_become_one_row(db_settings: Settings) -> None:
    hf = ingest_document(db_settings, hf_json(hf_item("2611.00001", "Two-bit LLMs", 42)), source_name="hf-daily", now=MONDAY)
    assert (hf.new, hf.updated) == (1, 0)
    later = MONDAY + timedelta(hours=3)
    ax = ingest_document(db_settings, arxiv_atom("2611.00001", 2, "Two-Bit LLMs: Quantization"), source_name="arxiv", now=later)
    assert (ax.new, ax.updated) == (0, 1)

    assert count(db_settings) == 1
    merged = paper(db_settings, "2611.00001")
    assert merged.uid == "arxiv:2611.00001"
    assert merged.title == "Two-Bit LLMs: Quantization"  # arXiv's record
    assert merged.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert merged.categories == ["cs.LG", "cs.CL"] and merged.primary_category == "cs.LG"
    assert merged.arxiv_version == 2
    assert merged.pdf_url is not None and "2611.00001" in merged.pdf_url
    assert merged.upvotes == 42  # HF's signal
    assert merged.organization == "Example Lab"
    assert merged.github_repo == "https://github.com/example/quant"
    assert merged.hf_url == "https://huggingface.co/papers/2611.00001"
    assert merged.source_names == ["hf-daily", "arxiv"]
    assert merged.first_seen_at == MONDAY
    assert merged.updated_at == later


def test_latest_upvotes_win_and_first_seen_never_moves(db_settings: Settings) -> None:
    ingest_document(db_settings, hf_json(hf_item("2611.00002", "Agents", 5)), source_name="hf-daily", now=MONDAY)
    again = ingest_document(
        db_settings, hf_json(hf_item("2611.00002", "Agents", 80)), source_name="hf-daily", now=MONDAY + timedelta(days=2)
    )
    assert (again.new, again.updated) == (0, 1)
    row = paper(db_settings, "2611.00002")
    assert row.upvotes == 80
    assert row.first_seen_at == MONDAY


def test_replace_announcement_updates_but_does_not_renew(db_settings: Settings) -> None:
    ingest_document(db_settings, arxiv_rss(("2611.00003", "new", "Old title")), source_name="arxiv", now=MONDAY)
    replaced = ingest_document(
        db_settings, arxiv_rss(("2611.00003", "replace", "New title")), source_name="arxiv", now=MONDAY + timedelta(days=9)
    )
    assert (replaced.new, replaced.updated) == (0, 1)
    row = paper(db_settings, "2611.00003")
    assert row.title == "New title"
    assert row.first_seen_at == MONDAY


def test_unchanged_repoll_writes_nothing(db_settings: Settings) -> None:
    document = hf_json(hf_item("2611.00004", "Robots", 1))
    ingest_document(db_settings, document, source_name="hf-daily", now=MONDAY)
    again = ingest_document(db_settings, document, source_name="hf-daily", now=MONDAY + timedelta(hours=1))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 1)
    assert paper(db_settings, "2611.00004").updated_at == MONDAY


def test_papers_are_classified_into_topics(db_settings: Settings) -> None:
    title = "Two-bit quantization of large language models"
    ingest_document(db_settings, hf_json(hf_item("2611.00005", title, 3)), source_name="hf-daily", now=MONDAY)
    assert {"llm", "efficient-inference"} <= topics_of(db_settings, "2611.00005")


def test_a_bad_item_beside_good_ones_is_reported_and_the_good_ones_stored(db_settings: Settings) -> None:
    broken = {"paper": {"id": "2611.00007", "summary": "no title"}}
    summary = ingest_document(
        db_settings, hf_json(hf_item("2611.00006", "Fine", 1), broken), source_name="hf-daily", now=MONDAY
    )
    assert (summary.new, summary.errors) == (1, 1)
    assert "2611.00007" in summary.reasons[0]
    assert count(db_settings) == 1


def test_an_unusable_document_stores_nothing(db_settings: Settings) -> None:
    with pytest.raises(SourceError):
        ingest_document(db_settings, b"<html><body>502 Bad Gateway</body></html>", source_name="x", now=MONDAY)
    with pytest.raises(SourceError):
        ingest_document(db_settings, b'[{"paper": {"id": "2611.0', source_name="x", now=MONDAY)
    assert count(db_settings) == 0


def test_taxonomy_change_reclassifies_on_next_ingest(db_settings: Settings) -> None:
    ingest_document(db_settings, hf_json(hf_item("2611.00008", "Zebra stripes", 1, "Zebra stripes.")), source_name="hf", now=MONDAY)
    assert topics_of(db_settings, "2611.00008") == set()
    with session_scope(db_settings) as session:
        theory = session.scalars(select(Topic).where(Topic.slug == "theory")).one()
        theory.keywords = [*theory.keywords, "zebra stripes"]
    ingest_document(db_settings, hf_json(), source_name="hf", now=MONDAY)
    assert topics_of(db_settings, "2611.00008") == {"theory"}
