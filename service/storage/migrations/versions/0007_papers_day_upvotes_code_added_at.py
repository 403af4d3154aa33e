"""papers.day_upvotes and papers.code_added_at: what a paper had on its day, for later news

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00

A paper that crosses a reader's upvote threshold after its day ("now trending"), or gets a code
link after it ("code released"), is sent to that reader once more. Both need what the paper had
on its day: existing rows take their current upvotes as their day's count and no code date, so
nothing already stored turns into news by this migration.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy of the table): on SQLite the full-text triggers of 0005
    # stay attached to papers.
    op.add_column('papers', sa.Column('day_upvotes', sa.Integer(), nullable=True))
    op.add_column('papers', sa.Column('code_added_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE papers SET day_upvotes = upvotes")


def downgrade() -> None:
    # SQLite (3.35+) drops a plain column in place, so again no copy that would lose the triggers.
    op.execute("ALTER TABLE papers DROP COLUMN code_added_at")
    op.execute("ALTER TABLE papers DROP COLUMN day_upvotes")
