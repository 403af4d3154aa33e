"""admin and API token roles, the bounce and complaint log, an index for an object's audit history

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 13:00:00

Existing admins and tokens become owners (what they could do until now); the bounce log starts
empty (earlier bounces left only their subscriber's suppression and audit rows).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), server_default='owner', nullable=False))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), server_default='owner', nullable=False))
    op.create_index('ix_audit_log_target', 'audit_log', ['target_type', 'target_id'], unique=False)
    op.create_table(
        'bounces',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('subscriber_id', sa.Integer(), nullable=True),
        sa.Column('delivery_id', BIG_ID, nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=32), nullable=False),
        sa.Column('diagnostic', sa.Text(), nullable=False),
        sa.Column('outcome', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name='fk_bounces_delivery_id_deliveries',
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['subscriber_id'], ['subscribers.id'], name='fk_bounces_subscriber_id_subscribers',
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name='pk_bounces'),
    )
    op.create_index('ix_bounces_at', 'bounces', ['at'], unique=False)
    op.create_index('ix_bounces_address', 'bounces', ['address'], unique=False)
    op.create_index('ix_bounces_subscriber_id', 'bounces', ['subscriber_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_bounces_subscriber_id', table_name='bounces')
    op.drop_index('ix_bounces_address', table_name='bounces')
    op.drop_index('ix_bounces_at', table_name='bounces')
    op.drop_table('bounces')
    op.drop_index('ix_audit_log_target', table_name='audit_log')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('role')
    with op.batch_alter_table('admin_users', schema=None) as batch_op:
        batch_op.drop_column('role')
