"""deliveries: a sent digest's papers and reasons on the delivery's row; no delivery_papers

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:00:00

A send inserted about ten delivery_papers rows, each with its primary-key entry and one in
ix_delivery_papers_subscriber_paper: twenty index entries and ten heap rows, besides the
delivery's own update, most of what recording a send cost PostgreSQL. The digest's papers now
go on the delivery's row, written by the update that records it sent: ``paper_ids`` (in rank
order), ``reasons`` (one record per paper, aligned with them) and ``last_paper_id`` (their
highest id); on PostgreSQL the reasons are compressed with LZ4 where it has it. Which papers a
reader already got is read through a partial index on (subscriber_id, last_paper_id): only a
delivery whose highest paper id is at least the lowest one asked about can hold any of them,
and as ids grow with time that is a reader's last few deliveries.

Both ways carry the rows over: upgrade gathers each delivery's rows in rank order; downgrade
unfolds the lists back into rows (rank = position, from 1).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

INDEX = 'ix_deliveries_subscriber_last_paper'
SENT = sa.text('last_paper_id IS NOT NULL')

# SQLite 3.40 orders no aggregate's input: each list is gathered from an ordered subquery, which
# SQLite never flattens into an aggregate (the query flattener's rule 16).
_GATHER_SQLITE = """
    UPDATE deliveries SET
        paper_ids = (SELECT json_group_array(paper_id) FROM (
            SELECT paper_id FROM delivery_papers WHERE delivery_id = deliveries.id ORDER BY rank, paper_id)),
        reasons = (SELECT json_group_array(json(reasons)) FROM (
            SELECT reasons FROM delivery_papers WHERE delivery_id = deliveries.id ORDER BY rank, paper_id)),
        last_paper_id = (SELECT max(paper_id) FROM delivery_papers WHERE delivery_id = deliveries.id)
    WHERE id IN (SELECT delivery_id FROM delivery_papers)
"""
_GATHER_PG = """
    UPDATE deliveries SET paper_ids = gathered.ids, reasons = gathered.reasons, last_paper_id = gathered.last
    FROM (SELECT delivery_id, json_agg(paper_id ORDER BY rank, paper_id) AS ids,
                 json_agg(reasons ORDER BY rank, paper_id) AS reasons, max(paper_id) AS last
          FROM delivery_papers GROUP BY delivery_id) AS gathered
    WHERE deliveries.id = gathered.delivery_id
"""
# An erased reader's deliveries keep their ids without reasons: their rows get '{}', as before.
_UNFOLD_SQLITE = """
    INSERT INTO delivery_papers (delivery_id, paper_id, subscriber_id, rank, reasons)
    SELECT d.id, paper.value, d.subscriber_id, paper.key + 1,
           coalesce(json_extract(d.reasons, '$[' || paper.key || ']'), '{}')
    FROM deliveries AS d, json_each(d.paper_ids) AS paper
    WHERE d.paper_ids IS NOT NULL
"""
_UNFOLD_PG = """
    INSERT INTO delivery_papers (delivery_id, paper_id, subscriber_id, rank, reasons)
    SELECT d.id, paper.id::integer, d.subscriber_id, paper.rank,
           coalesce(d.reasons -> (paper.rank::integer - 1), '{}'::json)
    FROM deliveries AS d, json_array_elements_text(d.paper_ids) WITH ORDINALITY AS paper(id, rank)
    WHERE d.paper_ids IS NOT NULL
"""


def sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def lz4() -> bool:
    """Whether this PostgreSQL compresses with LZ4 (14 and later, when built with it)."""
    query = "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    return bool(op.get_bind().scalar(sa.text(query)))


def upgrade() -> None:
    # Added columns need no rebuild of deliveries on SQLite (a rebuild would drop the table,
    # and with it, through ON DELETE CASCADE, the rows still to be carried over).
    op.add_column('deliveries', sa.Column('paper_ids', sa.JSON(), nullable=True))
    op.add_column('deliveries', sa.Column('reasons', sa.JSON(), nullable=True))
    op.add_column('deliveries', sa.Column('last_paper_id', sa.Integer(), nullable=True))
    if not sqlite() and lz4():
        # A digest's reasons (3 KB) make the row long enough to compress: LZ4 did it for 10 µs less
        # of the server's CPU a send than the default pglz, to much the same size (bench/ledger.py).
        op.execute('ALTER TABLE deliveries ALTER COLUMN reasons SET COMPRESSION lz4')
    op.execute(_GATHER_SQLITE if sqlite() else _GATHER_PG)
    op.create_index(INDEX, 'deliveries', ['subscriber_id', 'last_paper_id'], unique=False,
                    postgresql_where=SENT, sqlite_where=SENT)
    op.drop_index('ix_delivery_papers_subscriber_paper', table_name='delivery_papers')
    op.drop_table('delivery_papers')


def downgrade() -> None:
    # As migration 0008 left it: a foreign key on delivery_id only.
    op.create_table(
        'delivery_papers',
        sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('paper_id', sa.Integer(), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('reasons', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'],
                                name=op.f('fk_delivery_papers_delivery_id_deliveries'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('delivery_id', 'paper_id', name=op.f('pk_delivery_papers')),
    )
    op.create_index('ix_delivery_papers_subscriber_paper', 'delivery_papers', ['subscriber_id', 'paper_id'],
                    unique=False)
    op.execute(_UNFOLD_SQLITE if sqlite() else _UNFOLD_PG)
    op.drop_index(INDEX, table_name='deliveries')
    # Not in batch mode: SQLite (3.35 and later) drops a column in place, where rebuilding
    # deliveries would delete, through ON DELETE CASCADE, the rows just unfolded.
    for column in ('last_paper_id', 'reasons', 'paper_ids'):
        op.drop_column('deliveries', column)
