"""The subscribers who chose a topic: found by the slug in their preferences, and moved when
the topic is renamed, merged or removed (service.actions.topics), so no preference is left
pointing at a topic that is gone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import cast, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from service.storage.models import Subscriber


def has_topic(session: Session, slug: str) -> Any:
    """Subscribers whose preferences list topic SLUG (JSON: each database its own way)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(Subscriber.preferences, JSONB)["topics"].has_key(slug)  # noqa: W601 - the JSONB ? operator
    items = func.json_each(Subscriber.preferences, "$.topics").table_valued("value")
    return exists(select(literal_column("1")).select_from(items).where(items.c.value == slug))


def followers(session: Session, slug: str) -> Any:
    """The query for every subscriber (erased tombstones aside) who follows SLUG."""
    return select(Subscriber).where(has_topic(session, slug), Subscriber.status != "erased").order_by(Subscriber.id)


def follower_count(session: Session, slug: str) -> int:
    query = select(func.count()).select_from(Subscriber).where(has_topic(session, slug), Subscriber.status != "erased")
    return session.scalar(query) or 0


def replaced(topics: list[str], slug: str, into: str | None) -> list[str]:
    """Pure: TOPICS with SLUG taken out, or put as INTO where it stood (once, if INTO was there)."""
    out: list[str] = []
    for topic in topics:
        new = into if topic == slug else topic
        if new is not None and new not in out:
            out.append(new)
    return out
