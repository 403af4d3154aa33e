"""votes, seeds and paper term counts (the learned profile's inputs)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('term_counts', sa.JSON(), nullable=True))
    op.create_table(
        'votes',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('paper_id', sa.Integer(), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name='fk_votes_paper_id_papers', ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name='fk_votes_subscriber_id_subscribers',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_votes'),
        sa.UniqueConstraint('subscriber_id', 'paper_id', name='uq_votes_subscriber_paper'),
    )
    op.create_index('ix_votes_paper_id', 'votes', ['paper_id'], unique=False)
    op.create_table(
        'seeds',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('ref', sa.String(length=1024), nullable=False),
        sa.Column('paper_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['paper_id'], ['papers.id'], name='fk_seeds_paper_id_papers', ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name='fk_seeds_subscriber_id_subscribers',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_seeds'),
        sa.UniqueConstraint('subscriber_id', 'kind', 'ref', name='uq_seeds_subscriber_kind_ref'),
    )
    op.create_index('ix_seeds_paper_id', 'seeds', ['paper_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_seeds_paper_id', table_name='seeds')
    op.drop_table('seeds')
    op.drop_index('ix_votes_paper_id', table_name='votes')
    op.drop_table('votes')
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_column('term_counts')
