"""Small pieces every /api/v1 module shares: id parameters, pagination, the naive-time rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Path, Query
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

# Ids beyond what the columns hold would reach the database as overflow errors, not 404s.
MAX_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1
SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID, description="A subscriber id.")]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_BIG_ID, description="A delivery id.")]
Slug = Annotated[str, Path(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64, description="A topic slug.")]
SourceName = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="A source name.")]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Rows to skip.")]


def page_of(session: Session, query: Select[Any], limit: int, offset: int) -> tuple[Sequence[Any], int]:
    """One page of QUERY's rows and the total over all pages (one COUNT over the same filters)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return rows, total


def as_utc(moment: datetime | None) -> datetime | None:
    """Query-string times without an offset are read as UTC (time is UTC inside)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
