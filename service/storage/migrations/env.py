"""Alembic environment: the URL comes from Settings (via service.storage.migrate), never from an ini file."""

from __future__ import annotations

from alembic import context

from service.storage.db import make_engine
from service.storage.models import Base, is_search_object

config = context.config
url = config.attributes["database_url"]

engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        # The full-text search objects are the database's own (see models.SEARCH_OBJECTS).
        include_name=lambda name, _type, _parents: not is_search_object(name),
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
