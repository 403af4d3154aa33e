"""Paper sources: add, edit, enable or disable, ask for a poll now — from the admin and the API.

A stored source obeys the rules a configured one does (``config.settings.SourceConfig``: name,
kind, interval), and its URL is http(s). The caller brings the configured sources into the
table first (``service.ingest.poll.sync_sources``), so a name clash is seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import SourceConfig
from service.admin import audit
from service.storage.models import Source

EDITABLE = ("kind", "url", "poll_interval_minutes", "enabled")


class InvalidSource(ValueError):
    """One line, ``field: problem``; ``field`` alone for an API's error."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class SourceExists(ValueError):
    pass


def check_source(values: Mapping[str, Any]) -> None:
    """Raise InvalidSource unless VALUES (name and EDITABLE) make a source papermail can poll."""
    try:
        SourceConfig(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidSource(".".join(str(part) for part in error["loc"]), error["msg"]) from None
    if not str(values["url"]).startswith(("http://", "https://")):
        raise InvalidSource("url", "must be an http(s) URL")


def editable_values(source: Source) -> dict[str, Any]:
    return {field: getattr(source, field) for field in EDITABLE}


def add_source(session: Session, values: Mapping[str, Any], *, actor: str, now: datetime) -> Source:
    """A new source from VALUES (name and EDITABLE). Raises InvalidSource or SourceExists."""
    check_source(values)
    if session.scalars(select(Source.id).where(Source.name == values["name"])).first() is not None:
        raise SourceExists(f"a source {values['name']!r} exists already")
    source = Source(**values, created_at=now)
    session.add(source)
    session.flush()
    audit.record(session, actor, "source.create", "source", source.name, None, dict(values))
    return source


def _change(session: Session, source: Source, changes: Mapping[str, Any], actor: str, action: str) -> None:
    before = editable_values(source)
    for field, value in changes.items():
        setattr(source, field, value)
    if changes.get("enabled") or "poll_interval_minutes" in changes:
        source.next_poll_at = None  # due at beat's next tick, not after the old interval
    audit.record(session, actor, action, "source", source.name, *audit.changed(before, editable_values(source)))


def update_source(session: Session, source: Source, changes: Mapping[str, Any], *, actor: str) -> None:
    """Set CHANGES (a subset of EDITABLE). Raises InvalidSource, SOURCE untouched."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidSource(sorted(unknown)[0], "is not a field of a source one can edit")
    check_source({"name": source.name, **editable_values(source), **changes})
    _change(session, source, changes, actor, "source.update")


def set_source_enabled(session: Session, source: Source, enabled: bool, *, actor: str) -> None:
    """Poll SOURCE again (at the next tick), or stop polling it."""
    _change(session, source, {"enabled": enabled}, actor, "source.enable" if enabled else "source.disable")


def note_ingest_now(session: Session, source: Source, *, actor: str) -> None:
    """An operator asked for a poll of SOURCE now (the caller runs or enqueues it after the commit)."""
    audit.record(session, actor, "source.ingest_now", "source", source.name)
