"""The audit log writer: who did what to which row, with the row before and after.

Snapshots are plain JSON (datetimes as ISO strings) so both SQLite and PostgreSQL store them
as they are, and an erase can find and scrub an address inside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from service.storage.models import AuditLog, utcnow

# Columns never copied into the log: secrets, and counters that change on every use.
_NEVER_LOGGED = frozenset({"password_hash", "token_hash", "failed_logins", "last_used_at", "last_login_at"})


def jsonable(value: Any) -> Any:
    """VALUE with datetimes, tuples and sets turned into what JSON holds."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    return value


def snapshot(row: object, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """FIELDS of an ORM row (default: every column but secrets) as a JSON-able dict."""
    if fields is None:
        table = row.__table__  # type: ignore[attr-defined]
        fields = [column.key for column in table.columns]
    return {name: jsonable(getattr(row, name)) for name in fields if name not in _NEVER_LOGGED}


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value differs: the log shows the change, not the whole row twice."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def record(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target_id: object | None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to SESSION (committed with the change it describes)."""
    entry = AuditLog(
        at=utcnow(),
        actor=actor[:320],
        action=action[:64],
        target_type=target_type[:32],
        target_id=None if target_id is None else str(target_id)[:64],
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    session.add(entry)
    return entry
