"""full-text search over papers' titles, abstracts and authors

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:00:00

SQLite: an FTS5 table over papers (external content: it keeps only the index, the text stays in
papers), kept in step by three triggers; authors are indexed as the names (the JSON list
unpacked with json_each), so "Müller" is found however the list was encoded. The delete command
of FTS5 must be given exactly what was indexed: every trigger computes the same values.
A later batch migration that *recreates* papers (SQLite's move-and-copy) drops these triggers
with the old table and must create them again; tests/service/catalog/test_search.py checks
they exist at head.

PostgreSQL: a GIN index over the weighted tsvector of the same three texts (title A,
abstract B, authors C). service/catalog/search.py queries with the very same expression, which
is what lets the planner use the index.
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

AUTHORS = "coalesce((SELECT group_concat(value, ', ') FROM json_each(CASE WHEN json_valid({row}.authors) " \
          "THEN {row}.authors ELSE '[]' END)), '')"
INSERT_NEW = ("INSERT INTO papers_fts(rowid, title, abstract, authors) "
              f"VALUES (new.id, new.title, coalesce(new.abstract, ''), {AUTHORS.format(row='new')});")
DELETE_OLD = ("INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors) "
              f"VALUES ('delete', old.id, old.title, coalesce(old.abstract, ''), {AUTHORS.format(row='old')});")
SQLITE_UP = [
    "CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, authors, content='papers', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN {INSERT_NEW} END",
    f"CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN {DELETE_OLD} END",
    f"CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors ON papers "
    f"BEGIN {DELETE_OLD} {INSERT_NEW} END",
    "INSERT INTO papers_fts(rowid, title, abstract, authors) "
    f"SELECT id, title, coalesce(abstract, ''), {AUTHORS.format(row='papers')} FROM papers",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS papers_fts_update",
    "DROP TRIGGER IF EXISTS papers_fts_delete",
    "DROP TRIGGER IF EXISTS papers_fts_insert",
    "DROP TABLE IF EXISTS papers_fts",
]
PG_DOCUMENT = (
    "setweight(to_tsvector('english', title), 'A') || "
    "setweight(to_tsvector('english', coalesce(abstract, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(authors::jsonb::text, '')), 'C')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"CREATE INDEX ix_papers_search ON papers USING gin (({PG_DOCUMENT}))")
    else:
        for statement in SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_papers_search")
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
