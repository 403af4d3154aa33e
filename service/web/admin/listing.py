"""The subscriber list's query: search, filters, sort and keyset pages that stay fast at
100,000 rows and more.

Pages are keyset pages (``after``/``before`` a row id), never OFFSET: each page is an index
range scan whatever its depth. Sorts are by id (creation order; the primary key) or by
address (its unique index); status filters use ix_subscribers_status_id. An address search
(``LIKE '%part%'``) and the topic filter scan, which at 100,000 rows is tens of milliseconds.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.storage.models import Subscriber
from service.topics.followers import has_topic

STATUSES = ("pending", "active", "paused", "unsubscribed", "suppressed", "erased")
FREQUENCIES = ("daily", "weekdays", "weekly")
SORTS = {"newest": ("id", True), "oldest": ("id", False), "email": ("email", False), "email-desc": ("email", True)}
SORT_LABELS = {"newest": "Newest first", "oldest": "Oldest first", "email": "Address A–Z", "email-desc": "Address Z–A"}


@dataclass(frozen=True)
class SubscriberQuery:
    q: str = ""
    status: str = ""  # empty: every status but erased tombstones
    topic: str = ""
    frequency: str = ""
    sort: str = "newest"

    @classmethod
    def from_params(cls, params: Mapping[str, str], topics: Collection[str]) -> SubscriberQuery:
        """Unknown values are dropped, not errors: a stale bookmark still shows a list."""
        def pick(name: str, allowed: Collection[str], default: str = "") -> str:
            value = params.get(name, "")
            return value if value in allowed else default

        return cls(q=" ".join(params.get("q", "").split())[:320].lower(), status=pick("status", STATUSES),
                   topic=pick("topic", topics), frequency=pick("frequency", FREQUENCIES),
                   sort=pick("sort", SORTS, "newest"))

    def params(self, **extra: Any) -> dict[str, Any]:
        values = {k: v for k, v in asdict(self).items() if v and not (k == "sort" and v == "newest")}
        return {**values, **{k: v for k, v in extra.items() if v is not None}}


def filtered(session: Session, query: SubscriberQuery) -> Select[Any]:
    stmt = select(Subscriber)
    if query.q:
        stmt = stmt.where(Subscriber.email.contains(query.q, autoescape=True))
    stmt = stmt.where(Subscriber.status == query.status if query.status else Subscriber.status != "erased")
    if query.frequency:
        stmt = stmt.where(Subscriber.frequency == query.frequency)
    if query.topic:
        stmt = stmt.where(has_topic(session, query.topic))
    return stmt


@dataclass
class SubscriberPage:
    rows: Sequence[Subscriber]
    total: int
    next_after: int | None
    prev_before: int | None


def subscriber_page(session: Session, query: SubscriberQuery, *, after: int | None = None,
                    before: int | None = None, size: int = 50) -> SubscriberPage:
    """One page after row AFTER (or before row BEFORE), in QUERY's sort."""
    name, descending = SORTS[query.sort]
    column = getattr(Subscriber, name)
    base = filtered(session, query)
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    backwards = before is not None
    cursor = before if backwards else after
    stmt = base
    if cursor is not None:
        # The cursor row's sort value; ids and addresses are unique, so (value) alone orders.
        value = cursor if name == "id" else select(column).where(Subscriber.id == cursor).scalar_subquery()
        stmt = stmt.where(column < value if descending != backwards else column > value)
    ascending = descending == backwards
    stmt = stmt.order_by(column.asc() if ascending else column.desc()).limit(size + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        return SubscriberPage(rows, total, rows[-1].id if rows else None, rows[0].id if more and rows else None)
    return SubscriberPage(rows, total, rows[-1].id if more else None, rows[0].id if after is not None and rows else None)
