"""Reading the audit log: filters and keyset pages for /admin/audit and GET /api/v1/audit.

Pages are newest first, keyed on the id (``before``: the last id of the page above), so every
page is an index range scan however deep. Filters: the actor (part of it), the action (its
beginning: ``subscriber.`` gives every subscriber action), the object (type, and id exactly),
and a time range (``since`` inclusive, ``until`` exclusive). The object filter uses
ix_audit_log_target; the time range ix_audit_log_at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service.storage.models import AuditLog

# What the log's rows are about (target_type), with the page each one's id links to.
OBJECT_PAGES = {
    "subscriber": "/admin/subscribers/{id}",
    "topic": "/admin/topics/{id}",
    "source": "/admin/sources/{id}",
    "admin_user": "/admin/users/{id}",
    "api_token": "/admin/tokens#token-{id}",
    "delivery": "/admin/deliveries/{id}",
}


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def filters(self) -> list[Any]:
        where: list[Any] = []
        if self.actor:
            where.append(func.lower(AuditLog.actor).contains(self.actor.lower(), autoescape=True))
        if self.action:
            where.append(AuditLog.action.startswith(self.action, autoescape=True))
        if self.target_type:
            where.append(AuditLog.target_type == self.target_type)
        if self.target_id:
            where.append(AuditLog.target_id == self.target_id)
        if self.since is not None:
            where.append(AuditLog.at >= self.since)
        if self.until is not None:
            where.append(AuditLog.at < self.until)
        return where

    def params(self) -> dict[str, str]:
        """The filters as query parameters, for links to other pages of the same search."""
        names = {"target_type": "type", "target_id": "id"}
        values = {names.get(k, k): (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(self).items()}
        return {k: v for k, v in values.items() if v}


@dataclass
class AuditPage:
    rows: Sequence[AuditLog]
    total: int
    next_before: int | None


def matching(query: AuditQuery) -> Select[Any]:
    return select(AuditLog).where(*query.filters())


def audit_page(session: Session, query: AuditQuery, *, before: int | None = None, size: int = 50,
               offset: int = 0) -> AuditPage:
    """One page, newest first: below id BEFORE (keyset), or past OFFSET rows (the API's pages)."""
    base = matching(query)
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    stmt = base if before is None else base.where(AuditLog.id < before)
    rows = list(session.scalars(stmt.order_by(AuditLog.id.desc()).offset(offset).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    return AuditPage(rows, total, rows[-1].id if more and rows else None)


def target_types(session: Session) -> list[str]:
    """The kinds of object the log has rows about (for the filter's choices)."""
    found = set(session.scalars(select(AuditLog.target_type).distinct()))
    return sorted(found | set(OBJECT_PAGES))


def object_link(target_type: str, target_id: str | None) -> str | None:
    """The admin page of the object a row is about, when it has one."""
    template = OBJECT_PAGES.get(target_type)
    return template.format(id=target_id) if template and target_id else None
