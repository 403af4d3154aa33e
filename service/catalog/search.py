"""Search over titles, abstracts and authors with the database's own full-text index (migration
0005): SQLite's FTS5 table ``papers_fts``, PostgreSQL's GIN index over a weighted tsvector.

Both stem English words ("models" finds "model"), need every word of the query (a quoted phrase
as a phrase), and rank title hits above abstract hits above author hits. What a reader types is
never passed to FTS5's query syntax as is: :func:`fts5_query` quotes every word and phrase, so
``NEAR(``, ``*``, ``-`` or a stray quote are plain text, never an error.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Subquery, column, func, literal_column, select, table
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.storage.models import Paper

MAX_QUERY_CHARS = 200
MAX_TERMS = 12
_WORD = re.compile(r"[^\W_]+")
_CHUNK = re.compile(r'"([^"]*)"|(\S+)')
# bm25 weights of papers_fts's columns (title, abstract, authors): smaller rank is better.
FTS5_RANK = "bm25(papers_fts, 5.0, 1.0, 2.0)"
# Must stay the expression of ix_papers_search (migration 0005), or PostgreSQL scans every row.
PG_DOCUMENT = (
    "setweight(to_tsvector('english', papers.title), 'A') || "
    "setweight(to_tsvector('english', coalesce(papers.abstract, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(papers.authors::jsonb::text, '')), 'C')"
)
FTS_TABLE = table("papers_fts", column("rowid"))


def clean_query(q: str | None) -> str:
    """The query as searched: control characters dropped (PostgreSQL refuses a NUL), whitespace
    collapsed, cut at MAX_QUERY_CHARS."""
    printable = "".join(ch if ch.isprintable() else " " for ch in q or "")
    return " ".join(printable.split())[:MAX_QUERY_CHARS]


def query_terms(q: str) -> list[str]:
    """Words and phrases of Q: a quoted "phrase", or a hyphenated word, is one term of several
    words; punctuation is dropped (the index never holds it)."""
    terms = []
    for found in _CHUNK.finditer(q):
        words = _WORD.findall(found[1] if found[1] is not None else found[2])
        if words:
            terms.append(" ".join(words))
    return list(dict.fromkeys(terms))[:MAX_TERMS]


def fts5_query(q: str) -> str | None:
    """An FTS5 MATCH expression needing every term of Q; None when Q has no word at all."""
    terms = query_terms(q)
    return " ".join('"' + term.replace('"', '""') + '"' for term in terms) or None


def search_hits(session: Session, q: str) -> Subquery | None:
    """(paper_id, rank) of the papers matching Q, a smaller rank a better match; None when Q
    cannot match anything (no words in it)."""
    if not query_terms(q):
        return None
    if session.get_bind().dialect.name == "postgresql":
        document: ColumnElement[Any] = literal_column(PG_DOCUMENT)
        tsquery = func.websearch_to_tsquery(literal_column("'english'"), q)
        rank = -func.ts_rank(document, tsquery)
        return select(Paper.id.label("paper_id"), rank.label("rank")).where(document.op("@@")(tsquery)).subquery("hits")
    match = fts5_query(q)
    query = (
        select(FTS_TABLE.c.rowid.label("paper_id"), literal_column(FTS5_RANK).label("rank"))
        .select_from(FTS_TABLE)
        .where(literal_column("papers_fts").op("MATCH")(match))
    )
    return query.subquery("hits")
