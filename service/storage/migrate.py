"""Alembic, driven from code: the migrations live in the package so they travel with the wheel."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from config.settings import Settings
from service.storage.db import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Not through set_main_option: configparser would choke on a '%' in a password.
    config.attributes["database_url"] = settings.effective_database_url
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


def current_revision(settings: Settings) -> str | None:
    with get_engine(settings).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()


def is_up_to_date(settings: Settings) -> bool:
    return current_revision(settings) == head_revision(settings)
