"""papers.announced_on: the day a paper's source announced it

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:40:00

Existing rows get the day of their published_at (else of first_seen_at): the best the stored
data says; ingestion sets it from the source from now on.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announced_on', sa.Date(), nullable=True))
        batch_op.create_index('ix_papers_announced_on', ['announced_on'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE papers SET announced_on = (COALESCE(published_at, first_seen_at) AT TIME ZONE 'UTC')::date")
    else:
        op.execute("UPDATE papers SET announced_on = date(COALESCE(published_at, first_seen_at))")


def downgrade() -> None:
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_index('ix_papers_announced_on')
        batch_op.drop_column('announced_on')
