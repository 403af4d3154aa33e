"""delivery enqueue and due times

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 23:46:48.238589
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('batch_token', sa.String(length=32), nullable=True))
        batch_op.create_index('ix_deliveries_status_enqueued_at', ['status', 'enqueued_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_status_enqueued_at')
        batch_op.drop_column('batch_token')
        batch_op.drop_column('due_at')
        batch_op.drop_column('enqueued_at')

