"""Full-text search with the database's own index, on SQLite (FTS5) and PostgreSQL (tsvector):
kept in step with papers by the database, stemmed, every word needed, title hits first, and
whatever a reader types is a query, never an error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from config.settings import Settings
from service.catalog.search import clean_query, fts5_query, query_terms, search_hits
from service.storage.db import session_scope
from service.storage.models import Paper

NOW = datetime(2026, 6, 12, 8, 0, tzinfo=UTC)


def add(session: Session, title: str, abstract: str = "", authors: list[str] | None = None) -> int:
    paper = Paper(uid=f"test:{title}", title=title, abstract=abstract, authors=authors or [], first_seen_at=NOW)
    session.add(paper)
    session.flush()
    return paper.id


def found(settings: Settings, q: str) -> list[str]:
    """Titles matching Q, best match first."""
    with session_scope(settings) as session:
        hits = search_hits(session, clean_query(q))
        if hits is None:
            return []
        query = select(Paper.title).join(hits, hits.c.paper_id == Paper.id).order_by(hits.c.rank, Paper.id)
        return list(session.scalars(query))


def test_query_terms_and_the_fts5_expression() -> None:
    assert query_terms('sparse "mixture of experts" KV-cache, sparse') == ["sparse", "mixture of experts", "KV cache"]
    assert fts5_query('NEAR(a b) "x" * -y AND') == '"NEAR a" "b" "x" "y" "AND"'  # never FTS5 syntax
    assert fts5_query('"unclosed quote') == '"unclosed" "quote"'
    assert fts5_query("*** ---") is None and fts5_query("") is None
    assert clean_query("  a\x00b\n\tc  ") == "a b c" and len(clean_query("x" * 500)) == 200


@pytest.mark.integration
def test_the_index_follows_inserts_updates_and_deletes(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        paper_id = add(session, "Sparse attention kernels", "We make transformers faster.", ["Jürgen Müller"])
    assert found(db_settings, "kernel") == ["Sparse attention kernels"]  # stemmed
    assert found(db_settings, "transformer faster") == ["Sparse attention kernels"]
    assert found(db_settings, "Müller") == ["Sparse attention kernels"]  # authors are searched
    assert found(db_settings, "kernel robots") == []  # every word is needed
    with session_scope(db_settings) as session:
        session.execute(update(Paper).where(Paper.id == paper_id).values(title="Dense retrieval", authors=["Ada Lovelace"]))
    assert found(db_settings, "kernel") == [] and found(db_settings, "Müller") == []
    assert found(db_settings, "retrieval lovelace") == ["Dense retrieval"]
    with session_scope(db_settings) as session:
        session.execute(update(Paper).where(Paper.id == paper_id).values(upvotes=40))  # not a text change
        session.execute(delete(Paper).where(Paper.id == paper_id))
    assert found(db_settings, "retrieval") == []


@pytest.mark.integration
def test_title_hits_rank_first_and_phrases_are_phrases(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        add(session, "A survey of robots", "Agents for sparse rewards and attention to detail.")
        add(session, "Sparse attention for long contexts", "We study long documents.")
        add(session, "Memory for agents", "Sparse attention, again, in the abstract.")
    assert found(db_settings, "sparse attention")[0] == "Sparse attention for long contexts"
    assert set(found(db_settings, '"sparse attention"')) == {"Sparse attention for long contexts", "Memory for agents"}
    for hostile in ['"', "NEAR(", "*", "-", "AND OR NOT", "')--", "a:b", "title:sparse", "\x00", "ß" * 300]:
        found(db_settings, hostile)  # no error, whatever it finds


@pytest.mark.integration
def test_sqlite_triggers_exist_at_head(settings: Settings) -> None:
    """A later migration that recreates papers (SQLite's batch mode) drops these with the old
    table: this fails until it creates them again."""
    from service.storage import migrate

    migrate.upgrade(settings)
    with session_scope(settings) as session:
        names = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
    assert {"papers_fts_insert", "papers_fts_update", "papers_fts_delete"} <= names


@pytest.mark.integration
@pytest.mark.parametrize("db_settings", ["postgresql"], indirect=True)
def test_postgresql_search_uses_the_gin_index(db_settings: Settings) -> None:
    with session_scope(db_settings) as session:
        add(session, "Sparse attention kernels")
        session.execute(text("SET LOCAL enable_seqscan = off"))
        hits = search_hits(session, "sparse")
        assert hits is not None
        compiled = select(hits.c.paper_id).compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
    assert "ix_papers_search" in plan, plan
