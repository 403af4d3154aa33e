"""delivery_papers: no foreign keys on paper_id and subscriber_id

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:00:00

Every recorded send inserts about ten delivery_papers rows, and on PostgreSQL each foreign key
is a trigger that looks the parent row up and locks it (FOR KEY SHARE: a WAL record on the
paper's page, shared by every digest that holds the paper): 0.13 ms of the server's CPU per
digest, a third of what recording a send cost it. The two keys guarded nothing the ledger
does not: the paper ids come from the rows the worker just read, and papermail never deletes a
paper; the subscriber id is the delivery's own, and the rows still go with their subscriber
through delivery_id (delivery_papers → deliveries → subscribers, both ON DELETE CASCADE).
A paper deleted by hand now leaves its rows behind: harmless on PostgreSQL, whose ids are never
given out again; on SQLite a new paper may take the id of the newest one deleted (rowids), and
would then count as already sent to whoever got the deleted one.
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

KEYS = (
    ('fk_delivery_papers_paper_id_papers', 'papers', 'paper_id'),
    ('fk_delivery_papers_subscriber_id_subscribers', 'subscribers', 'subscriber_id'),
)


def upgrade() -> None:
    # SQLite rebuilds the table (batch mode, see env.py); no trigger is attached to this one.
    with op.batch_alter_table('delivery_papers', schema=None) as batch_op:
        for name, _table, _column in KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')


def downgrade() -> None:
    # Rows left behind by a paper or subscriber deleted by hand since would fail the keys' check.
    for _name, table, column in KEYS:
        op.execute(f"DELETE FROM delivery_papers WHERE {column} NOT IN (SELECT id FROM {table})")
    with op.batch_alter_table('delivery_papers', schema=None) as batch_op:
        for name, table, column in KEYS:
            batch_op.create_foreign_key(name, table, [column], ['id'], ondelete='CASCADE')
