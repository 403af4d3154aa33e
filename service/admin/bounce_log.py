"""Reading the bounce log: /admin/bounces, GET /api/v1/bounces, a subscriber's history and the
dashboard's counts. Newest first, keyed on the id like the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from service.storage.models import Bounce

KINDS = ("hard", "soft", "complaint")
SOURCES = ("smtp", "webhook", "inbound")


@dataclass(frozen=True)
class BounceQuery:
    kind: str = ""
    source: str = ""
    address: str = ""  # part of it
    subscriber_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def filters(self) -> list[Any]:
        where: list[Any] = []
        if self.kind:
            where.append(Bounce.kind == self.kind)
        if self.source:
            where.append(Bounce.source == self.source)
        if self.address:
            where.append(Bounce.address.contains(self.address.lower(), autoescape=True))
        if self.subscriber_id is not None:
            where.append(Bounce.subscriber_id == self.subscriber_id)
        if self.since is not None:
            where.append(Bounce.at >= self.since)
        if self.until is not None:
            where.append(Bounce.at < self.until)
        return where


@dataclass
class BouncePage:
    rows: Sequence[Bounce]
    total: int
    next_before: int | None


def bounce_page(session: Session, query: BounceQuery, *, before: int | None = None, size: int = 50,
                offset: int = 0) -> BouncePage:
    base = select(Bounce).where(*query.filters())
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    stmt = base if before is None else base.where(Bounce.id < before)
    rows = list(session.scalars(stmt.order_by(Bounce.id.desc()).offset(offset).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return BouncePage(rows, total, rows[-1].id if more and rows else None)


def history_of(session: Session, subscriber_id: int, address: str, limit: int = 50) -> list[Bounce]:
    """A subscriber's bounces and complaints: those matched to them, and those for their
    address that came before it was known (an unknown address then)."""
    stmt = (select(Bounce).where(or_(Bounce.subscriber_id == subscriber_id, Bounce.address == address.lower()))
            .order_by(Bounce.id.desc()).limit(limit))
    return list(session.scalars(stmt))


def counts_since(session: Session, since: datetime) -> dict[str, int]:
    """Bounces and complaints per kind since SINCE (every kind present, zero or not)."""
    found = dict(session.execute(select(Bounce.kind, func.count()).where(Bounce.at >= since)
                                 .group_by(Bounce.kind)).all())
    return {kind: int(found.get(kind, 0)) for kind in KINDS}
